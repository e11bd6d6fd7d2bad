package intake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/supplywatch/supplywatch/procure"
)

// sliceFeed hands out messages, then blocks until ctx ends; it records the
// commits.
type sliceFeed struct {
	mu        sync.Mutex
	msgs      []Message
	committed []string
	drained   chan struct{}
}

func (f *sliceFeed) Next(ctx context.Context) (Message, error) {
	f.mu.Lock()
	if len(f.msgs) == 0 {
		f.mu.Unlock()
		<-ctx.Done()
		return Message{}, ctx.Err()
	}
	m := f.msgs[0]
	f.msgs = f.msgs[1:]
	f.mu.Unlock()
	m.Commit = func(context.Context) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.committed = append(f.committed, m.ID)
		if len(f.msgs) == 0 {
			close(f.drained)
		}
		return nil
	}
	return m, nil
}

// TestConsumeGivesUpAndMovesOn: a document whose store keeps failing is
// tried MaxAttempts times (once when the failure is deterministic), then
// dead-lettered whole and committed; the documents after it are taken.
func TestConsumeGivesUpAndMovesOn(t *testing.T) {
	defer goleak.VerifyNone(t)
	good, err := os.ReadFile(filepath.Join(samplesDir(t), "x12-855-nodex12-1.edi"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	tries := map[string]int{}
	var dead []procure.Rejection
	var published int
	errDisk := errors.New("disk full")
	deps := Deps{
		RawStore: RawStoreFunc(func(_ context.Context, d RawDocument) error {
			mu.Lock()
			defer mu.Unlock()
			body := string(d.Body)
			tries[body]++
			switch {
			case strings.HasPrefix(body, "transient"):
				return errors.New("connection reset")
			case strings.HasPrefix(body, "deterministic"):
				return errDisk
			}
			return nil
		}),
		Publisher: PublisherFunc(func(_ context.Context, evs []procure.Received) error {
			mu.Lock()
			defer mu.Unlock()
			published += len(evs)
			return nil
		}),
		DeadLetter: DeadLetterFunc(func(_ context.Context, rs []procure.Rejection) error {
			mu.Lock()
			defer mu.Unlock()
			dead = append(dead, rs...)
			return nil
		}),
	}
	feed := &sliceFeed{drained: make(chan struct{}), msgs: []Message{
		{ID: "raw/0/1", Body: []byte("transient document"), Topic: "raw", Offset: 1},
		{ID: "raw/0/2", Body: []byte("deterministic document"), Topic: "raw", Offset: 2},
		{ID: "raw/0/3", Body: good, Topic: "raw", Offset: 3},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := FeedConfig{Scope: Scope{Tenant: "acme"}, MaxAttempts: 3, Backoff: time.Millisecond,
		Transient: func(err error) bool { return !errors.Is(err, errDisk) }}
	go func() { done <- newIntake(t, deps).Consume(ctx, feed, cfg) }()
	select {
	case <-feed.drained:
	case <-time.After(10 * time.Second):
		t.Fatal("the feed did not get past the failing documents")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if tries["transient document"] != 3 || tries["deterministic document"] != 1 {
		t.Fatalf("tries %v: want 3 for the transient failure, 1 for the deterministic one", tries)
	}
	if strings.Join(feed.committed, ",") != "raw/0/1,raw/0/2,raw/0/3" || published == 0 {
		t.Fatalf("committed %v, published %d", feed.committed, published)
	}
	var whole []procure.Rejection
	for _, r := range dead {
		if r.Topic == "raw" {
			whole = append(whole, r)
		}
	}
	if len(whole) != 2 || !strings.Contains(whole[0].Reason, "not processed after 3 attempts: ") || !strings.Contains(whole[1].Reason, "disk full") ||
		whole[0].InputID != "b2b:raw/0/1" || whole[0].Offset != 1 || whole[0].Tenant != "acme" || whole[0].RawSHA256 == "" || string(whole[1].Raw) != "deterministic document" {
		t.Fatalf("dead letters %+v", whole)
	}
}
