package kafka

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"
)

// TestLagMonitorFromCommittedOffsets: the lag of every partition is the
// distance from the group's committed offset (or the first offset, with
// none committed) to the end; readiness fails once a partition has had lag
// and no commit for stall_after, names it, and recovers with the next
// commit; and fails when the broker cannot be asked for stall_after.
func TestLagMonitorFromCommittedOffsets(t *testing.T) {
	const topic, group = "lagged", "lag-group"
	b, err := StartEmbedded("127.0.0.1:0", "", 2, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := Config{Brokers: b.Addrs(), Topic: topic, Partitions: 2}
	cfg.Defaults()

	w := &kafkago.Writer{Addr: kafkago.TCP(b.Addrs()...), Topic: topic, BatchTimeout: time.Millisecond,
		Balancer: kafkago.BalancerFunc(func(m kafkago.Message, _ ...int) int { return int(m.Key[0] - '0') })}
	defer w.Close()
	// 5 records on partition 0, 3 on partition 1.
	var msgs []kafkago.Message
	for i := range 8 {
		msgs = append(msgs, kafkago.Message{Key: []byte{byte('0' + min(1, i/5))}, Value: []byte("x")})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	client := &kafkago.Client{Addr: kafkago.TCP(b.Addrs()...)}
	commit := func(p int, offset int64) {
		t.Helper()
		resp, err := client.OffsetCommit(ctx, &kafkago.OffsetCommitRequest{GroupID: group, GenerationID: -1,
			Topics: map[string][]kafkago.OffsetCommit{topic: {{Partition: p, Offset: offset}}}})
		if err == nil {
			for _, p := range resp.Topics[topic] {
				err = p.Error
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	commit(0, 2) // partition 1: nothing committed

	reg := prometheus.NewRegistry()
	metrics := NewLagMetrics(reg)
	const stallAfter = 1500 * time.Millisecond
	mon, err := cfg.NewLagMonitor(topic, group, stallAfter, metrics, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { mon.Run(mctx); close(done) }()
	defer func() { stop(); <-done }()

	lag := func(p string) float64 { return testutil.ToFloat64(metrics.lag.WithLabelValues(topic, group, p)) }
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: lag %v %v, ready %v", what, lag("0"), lag("1"), mon.Ready())
			}
		}
	}
	waitFor("lag 3 and 3", func() bool { return lag("0") == 3 && lag("1") == 3 })
	if err := mon.Ready(); err != nil {
		t.Fatalf("ready within stall_after: %v", err)
	}

	// Partition 1 catches up; partition 0 stays behind with no commit.
	commit(1, 3)
	waitFor("stalled", func() bool { return mon.Ready() != nil })
	if err := mon.Ready().Error(); !strings.Contains(err, "partition 0: 3 behind, committed offset 2 unchanged") || strings.Contains(err, "partition 1") {
		t.Errorf("readiness error %q: want partition 0 named, not partition 1", err)
	}
	if lag("1") != 0 {
		t.Errorf("partition 1 lag %v after its commit, want 0", lag("1"))
	}
	if v := testutil.ToFloat64(metrics.stalled.WithLabelValues(topic, group)); v != 1 {
		t.Errorf("stalled gauge %v, want 1", v)
	}
	// A commit is progress, even short of the end.
	commit(0, 4)
	waitFor("ready after a commit", func() bool { return mon.Ready() == nil && lag("0") == 1 })

	// The broker gone: not ready once nothing was measured for stall_after.
	b.Close()
	waitFor("not measured", func() bool { err := mon.Ready(); return err != nil && strings.Contains(err.Error(), "not measured") })
}
