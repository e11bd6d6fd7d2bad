package collector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/procure"
)

func receivedEvent(t *testing.T, id string) *procure.Received {
	t.Helper()
	raw := []byte(ev(id, "acme"))
	e, err := procure.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &procure.Received{Event: e, Raw: raw, Channel: procure.ChannelHTTP, ReceivedAt: time.Now()}
}

// Issue 15 item 1: with nothing else waiting to join, a batch is written at
// once, not when the flush interval (here 10 s) ends; under load, batches
// stay large; every item is answered only once stored.
func TestWriterFlushesWhenNoOneElseIsComing(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, collector.WriterConfig{FlushInterval: time.Minute, BatchSize: 1000}, "")
	ctx := context.Background()
	submit := func(id string) <-chan collector.Outcome {
		done := make(chan collector.Outcome, 1)
		if err := p.writer.Submit(ctx, collector.Item{Event: receivedEvent(t, id), Done: func(o collector.Outcome) { done <- o }}); err != nil {
			t.Fatal(err)
		}
		return done
	}
	start := time.Now()
	select {
	case <-submit("alone-1"):
	case <-time.After(30 * time.Second):
		t.Fatal("a lone item waited for the flush interval (1 minute)")
	}
	if rows, _ := stored(t, p.direct); rows != 1 {
		t.Fatalf("answered before stored: %d rows", rows)
	}
	t.Logf("a lone item stored and answered in %s", time.Since(start).Round(time.Millisecond))

	// 20 senders of 250 items each, as fast as they can.
	const senders, each = 20, 250
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last <-chan collector.Outcome
			for i := range each {
				last = submit(fmt.Sprintf("load-%d-%d", s, i))
			}
			<-last
		}()
	}
	wg.Wait()
	rows, ids := stored(t, p.direct)
	if rows != 1+senders*each || ids != rows {
		t.Fatalf("%d rows, %d ids, want %d", rows, ids, 1+senders*each)
	}
	batches := histogramCount(t, p, "supplywatch_writer_batch_rows")
	if batches > senders*each/20 {
		t.Errorf("%d items under load went out in %d batches: batches stay small", senders*each, batches)
	}
	t.Logf("%d items under load in %d batches", senders*each, batches-1)
}

func histogramCount(t *testing.T, p *pipeline, name string) uint64 {
	t.Helper()
	mfs, err := p.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

// writer.max_queued_bytes: what is submitted and not yet stored is bounded
// in bytes; Submit waits beyond it and goes on once the bytes are stored.
func TestWriterBoundsQueuedBytes(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, collector.WriterConfig{FlushInterval: 20 * time.Millisecond, MaxQueuedBytes: 4000, MaxBackoff: 100 * time.Millisecond}, "")
	p.ch.Cut()
	ctx := context.Background()
	// Charged: the raw bytes and a fixed overhead per item.
	first := receivedEvent(t, "q-1")
	first.Raw = append([]byte(nil), first.Raw...)
	if err := p.writer.Submit(ctx, collector.Item{Event: first}); err != nil {
		t.Fatal(err)
	}
	var n int
	for n = 2; n < 100; n++ {
		sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := p.writer.Submit(sctx, collector.Item{Event: receivedEvent(t, fmt.Sprintf("q-%d", n))})
		cancel()
		if err != nil {
			break
		}
	}
	if n == 100 {
		t.Fatal("Submit never waited with ClickHouse down and 4,000 bytes allowed")
	}
	t.Logf("%d items submitted before Submit waited", n-1)
	p.ch.Restore()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := p.writer.Submit(sctx, collector.Item{Event: receivedEvent(t, "q-last")}); err != nil {
		t.Fatalf("Submit after the queued bytes were stored: %v", err)
	}
	waitFor(t, 20*time.Second, "every submitted event stored", func() bool { _, ids := stored(t, p.direct); return ids == uint64(n) })
}

// writer.rejoin_wait: OTLP exporters each send one request at a time and
// the next as soon as the last is answered. A batch waits for the clients
// the previous batch answered, so that three exporters share an insert
// instead of taking turns in batches of one and two requests (issue 15:
// ClickHouse's cost is mostly per insert).
func TestWriterWaitsForTheClientsItJustAnswered(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, collector.WriterConfig{FlushInterval: time.Minute}, "")
	ctx := context.Background()
	const clients, rounds = 3, 20
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				done := make(chan collector.Outcome, 1)
				spans := []procure.Span{{Tenant: "acme", TraceID: fmt.Sprintf("%032x", c*1000+r), SpanID: fmt.Sprintf("%016x", c*1000+r), Name: "export", StartTime: time.Now()}}
				if err := p.writer.Submit(ctx, collector.Item{Spans: spans, Done: func(o collector.Outcome) { done <- o }}); err != nil {
					t.Error(err)
					return
				}
				if o := <-done; o != collector.Stored {
					t.Errorf("outcome %v", o)
				}
				// An exporter encodes its next request before sending it,
				// each in its own time: longer than the writer's linger
				// (1 ms), and not all alike.
				time.Sleep(time.Duration(2+2*c+r%3) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	var n uint64
	if err := p.direct.Conn().QueryRow(ctx, "SELECT count() FROM "+p.direct.Database()+".spans_v2").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != clients*rounds {
		t.Fatalf("%d spans stored, want %d", n, clients*rounds)
	}
	// Taking turns makes batches of one and two requests (39 for 60 with
	// rejoin_wait off); waiting for the answered clients, batches of
	// three (20).
	batches := histogramCount(t, p, "supplywatch_writer_batch_rows")
	if batches > clients*rounds/2 {
		t.Errorf("%d requests of %d clients in %d batches: the clients took turns", clients*rounds, clients, batches)
	}
	t.Logf("%d requests of %d clients in %d batches", clients*rounds, clients, batches)
}
