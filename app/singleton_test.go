package app

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
)

// Of two processes' singletons one runs; when it stops, the other takes
// over.
func TestSingletonRunsInOneProcessAndIsTakenOver(t *testing.T) {
	url := pgtest.URL(t)
	pools := make([]*pgxpool.Pool, 2)
	for i := range pools {
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pools[i] = p
	}
	var running, maxRunning, runs atomic.Int32
	var runsBy [2]atomic.Int32
	counted := func(ctx context.Context) error {
		runs.Add(1)
		n := running.Add(1)
		if n > maxRunning.Load() {
			maxRunning.Store(n)
		}
		<-ctx.Done()
		running.Add(-1)
		return nil
	}
	part := func(i int) Runner {
		return RunnerFunc(func(ctx context.Context) error {
			runsBy[i].Add(1)
			return counted(ctx)
		})
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctxs := make([]context.CancelFunc, 2)
	done := make([]chan struct{}, 2)
	for i := range pools {
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[i], done[i] = cancel, make(chan struct{})
		go func() {
			singleton(pools[i], 42, 50*time.Millisecond, part(i), log).Run(ctx)
			close(done[i])
		}()
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("one to run", func() bool { return running.Load() == 1 })
	time.Sleep(300 * time.Millisecond) // the other keeps trying meanwhile
	if maxRunning.Load() != 1 || runs.Load() != 1 {
		t.Fatalf("%d ran at once, %d runs; want one", maxRunning.Load(), runs.Load())
	}
	// The holder stops; the other takes over.
	holder := 0
	if runsBy[1].Load() == 1 {
		holder = 1
	}
	other := 1 - holder
	ctxs[holder]()
	<-done[holder]
	waitFor("the other to take over", func() bool { return runsBy[other].Load() == 1 && running.Load() == 1 })
	ctxs[other]()
	<-done[other]
	if maxRunning.Load() != 1 {
		t.Errorf("%d ran at once", maxRunning.Load())
	}
}
