package kafka

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// TestReaderFetchesMessagesAndCommitsOnlyWhatItIsGiven: a fetched record
// arrives as a Message with its topic, partition, offset, key, value,
// headers, time and the partition's end; Fetch commits nothing, so a
// reader of the same group after a Commit of the first two records gets
// the third again, and with no Commit at all everything again.
func TestReaderFetchesMessagesAndCommitsOnlyWhatItIsGiven(t *testing.T) {
	const topic = "consumed"
	b, err := StartEmbedded("127.0.0.1:0", "", 1, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := Config{Brokers: b.Addrs(), Topic: topic, Partitions: 1}
	cfg.Defaults()
	w, err := cfg.NewWriter(topic)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sent := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	var msgs []kafkago.Message
	for i := range 3 {
		msgs = append(msgs, kafkago.Message{Key: []byte("k" + strconv.Itoa(i)), Value: []byte("v" + strconv.Itoa(i)), Time: sent,
			Headers: []kafkago.Header{{Key: HeaderChannel, Value: []byte("http")}, {Key: HeaderReceivedAt, Value: []byte(strconv.FormatInt(sent.UnixMilli(), 10))}}})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	fetch := func(group string, n int) []Message {
		t.Helper()
		r, err := cfg.NewReader(topic, group, slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out []Message
		for len(out) < n {
			m, err := r.Fetch(ctx)
			if err != nil {
				t.Fatalf("fetch %d of %d: %v", len(out)+1, n, err)
			}
			out = append(out, m)
		}
		if len(out) == 3 {
			if err := r.Commit(ctx, out[:2]...); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}

	got := fetch("g", 3)
	for i, m := range got {
		if m.Topic != topic || m.Partition != 0 || m.Offset != int64(i) || string(m.Key) != "k"+strconv.Itoa(i) || string(m.Value) != "v"+strconv.Itoa(i) {
			t.Errorf("record %d: %s/%d/%d %q=%q", i, m.Topic, m.Partition, m.Offset, m.Key, m.Value)
		}
		if m.Header(HeaderChannel) != "http" || m.Header("absent") != "" || !m.ReceivedAt().Equal(sent) || !m.Time.Equal(sent) || m.HighWaterMark != 3 {
			t.Errorf("record %d: headers %v, received at %s, time %s, high watermark %d; want http, %s, 3", i, m.Headers, m.ReceivedAt(), m.Time, m.HighWaterMark, sent)
		}
	}
	if again := fetch("g", 1); again[0].Offset != 2 {
		t.Errorf("after committing offsets 0 and 1 the group reads offset %d, want 2", again[0].Offset)
	}
	// The reader above committed nothing: the group starts there again.
	if again := fetch("g", 1); again[0].Offset != 2 {
		t.Errorf("a fetch without commit moved the group to offset %d, want 2", again[0].Offset)
	}
	// A fresh group, never committed, starts at the first record.
	if first := fetch("other", 1); first[0].Offset != 0 {
		t.Errorf("a new group starts at offset %d, want 0", first[0].Offset)
	}
}

func TestBrokerFailureAndMessageErrors(t *testing.T) {
	for _, tc := range []struct {
		err       error
		transient bool
		reason    string
		ok        bool
	}{
		{kafkago.MessageSizeTooLarge, false, "size", true},
		{kafkago.InvalidRecord, false, "encoding", true},
		{kafkago.RequestTimedOut, true, "timeout", true},
		{kafkago.LeaderNotAvailable, true, "overload", true},
		{kafkago.SASLAuthenticationFailed, true, "unavailable", true},
		{kafkago.InvalidTopic, false, "rejected", true},
		{errors.New("dial tcp: connection refused"), false, "", false},
	} {
		transient, reason, ok := BrokerFailure(tc.err)
		if transient != tc.transient || reason != tc.reason || ok != tc.ok {
			t.Errorf("%v: %v %q %v, want %v %q %v", tc.err, transient, reason, ok, tc.transient, tc.reason, tc.ok)
		}
	}
	errs, ok := MessageErrors(errors.Join(errors.New("publish"), kafkago.WriteErrors{nil, kafkago.MessageSizeTooLarge}))
	if !ok || len(errs) != 2 || errs[0] != nil || !errors.Is(errs[1], kafkago.MessageSizeTooLarge) {
		t.Errorf("message errors of a partial publish: %v %v", errs, ok)
	}
	if _, ok := MessageErrors(kafkago.MessageSizeTooLarge); ok {
		t.Error("a whole failure read as a partial one")
	}
}
