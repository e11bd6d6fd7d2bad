package collector_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/procure"
	"go.opentelemetry.io/otel/trace/noop"
)

// gatedStore is the real ClickHouse store whose first insert of the first
// batch (the one starting with an id ending in -000) waits for gate (or for
// its context to end), and which counts the inserts running at once and
// those finished.
type gatedStore struct {
	collector.EventStore
	gate chan struct{}

	mu                     sync.Mutex
	gated                  bool
	running, most, settled int
}

func (g *gatedStore) InsertEvents(ctx context.Context, evs []procure.Received) error {
	g.mu.Lock()
	first := !g.gated && len(evs) > 0 && strings.HasSuffix(evs[0].Event.ID, "-000")
	g.gated = g.gated || first
	g.running++
	g.most = max(g.most, g.running)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.running--
		g.settled++
		g.mu.Unlock()
	}()
	if first {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.EventStore.InsertEvents(ctx, evs)
}

func (g *gatedStore) counts() (most, settled int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.most, g.settled
}

// inflightWriter is a Writer of full batches of 100 only (the flush
// interval is a minute, no linger) into a fresh database through
// gatedStore.
type inflightWriter struct {
	w      *collector.Writer
	store  *gatedStore
	direct *clickhouse.Store
	stop   func()

	mu       sync.Mutex
	answered []string // ids in the order their Done was called
	outcomes map[string][]collector.Outcome
}

func newInflightWriter(t *testing.T) *inflightWriter {
	t.Helper()
	return newInflightWriterLinger(t, -1)
}

// newInflightWriterLinger is newInflightWriter with writer.linger.
func newInflightWriterLinger(t *testing.T, linger time.Duration) *inflightWriter {
	t.Helper()
	ctx := context.Background()
	conn, db, addr := chtest.DB(t)
	log := slog.New(slog.DiscardHandler)
	if err := clickhouse.Migrate(ctx, conn, clickhouse.Config{Database: db, RetentionDays: 30}, log); err != nil {
		t.Fatal(err)
	}
	native, err := clickhouse.OpenNative(ctx, clickhouse.Config{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(native.Close)
	direct := clickhouse.NewStore(conn, db).WithNative(native)
	iw := &inflightWriter{store: &gatedStore{EventStore: direct, gate: make(chan struct{})}, direct: direct, outcomes: map[string][]collector.Outcome{}}
	m := collector.NewMetrics(prometheus.NewRegistry())
	iw.w = collector.NewWriter(collector.WriterConfig{BatchSize: 100, FlushInterval: time.Minute, Linger: linger, MaxBackoff: 100 * time.Millisecond, InsertsInFlight: 2}, iw.store, nil, log, m, noop.NewTracerProvider().Tracer(""))
	rctx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); iw.w.Run(rctx, 20*time.Second) }()
	var once sync.Once
	iw.stop = func() { once.Do(func() { cancel(); <-ran }) }
	t.Cleanup(func() {
		select {
		case <-iw.store.gate:
		default:
			close(iw.store.gate)
		}
		iw.stop()
	})
	return iw
}

// submit queues events of these ids, in order, each recording its outcome
// (from any goroutine: a failure is an Error, and ends the submitting).
func (iw *inflightWriter) submit(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		raw := []byte(ev(id, "acme"))
		e, err := procure.Decode(raw)
		if err != nil {
			t.Error(err)
			return
		}
		r := &procure.Received{Event: e, Raw: raw, Channel: procure.ChannelHTTP, ReceivedAt: time.Now()}
		err = iw.w.Submit(context.Background(), collector.Item{Event: r, Done: func(o collector.Outcome) {
			iw.mu.Lock()
			iw.answered = append(iw.answered, id)
			iw.outcomes[id] = append(iw.outcomes[id], o)
			iw.mu.Unlock()
		}})
		if err != nil {
			t.Error(err)
			return
		}
	}
}

func (iw *inflightWriter) answeredIDs() []string {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	return append([]string(nil), iw.answered...)
}

func ids(prefix string, from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprintf("%s-%03d", prefix, i))
	}
	return s
}

func sameOrder(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d items answered, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("item %d answered was %s, want %s: items are answered out of the order they were taken", i, got[i], want[i])
		}
	}
}

// writer.inserts_in_flight: while one full batch is being stored the next
// full batch is written beside it, yet no item of the second is answered
// before every item of the first (a Kafka offset is committed only once
// all before it are stored).
func TestWriterWritesTheNextFullBatchBesideTheOneInFlight(t *testing.T) {
	t.Parallel()
	iw := newInflightWriter(t)
	all := ids("f", 0, 300)
	go iw.submit(t, all...)
	waitFor(t, 30*time.Second, "the second batch stored while the first waits", func() bool { _, settled := iw.store.counts(); return settled >= 1 })
	if most, _ := iw.store.counts(); most != 2 {
		t.Fatalf("%d inserts at once, want 2", most)
	}
	time.Sleep(200 * time.Millisecond)
	if got := iw.answeredIDs(); len(got) > 0 {
		t.Fatalf("%d items answered (first %s) while the first batch is not stored", len(got), got[0])
	}
	close(iw.store.gate)
	waitFor(t, 30*time.Second, "every item answered", func() bool { return len(iw.answeredIDs()) == len(all) })
	sameOrder(t, iw.answeredIDs(), all)
	if most, _ := iw.store.counts(); most > 2 {
		t.Errorf("%d inserts at once, want at most 2", most)
	}
	for _, id := range all {
		if o := iw.outcomes[id]; len(o) != 1 || o[0] != collector.Stored {
			t.Fatalf("%s: outcomes %v, want one stored", id, o)
		}
	}
	if rows, n := stored(t, iw.direct); rows != 300 || n != 300 {
		t.Fatalf("%d rows, %d ids stored, want 300 of each", rows, n)
	}
}

// A full batch holding an event of the batch in flight waits for it: the
// duplicate check before an insert sees only what is stored, so written
// beside it the event would be stored twice.
func TestWriterWaitsForTheBatchInFlightThatHoldsTheSameEvent(t *testing.T) {
	t.Parallel()
	iw := newInflightWriter(t)
	first, second := ids("d", 0, 100), ids("d", 50, 150)
	go iw.submit(t, append(append([]string(nil), first...), second...)...)
	time.Sleep(time.Second)
	if most, settled := iw.store.counts(); most != 1 || settled != 0 {
		t.Fatalf("%d inserts at once and %d finished while the first batch waits; the second holds 50 of its events and must wait", most, settled)
	}
	close(iw.store.gate)
	waitFor(t, 30*time.Second, "every item answered", func() bool { return len(iw.answeredIDs()) == 200 })
	sameOrder(t, iw.answeredIDs(), append(append([]string(nil), first...), second...))
	for _, id := range ids("d", 50, 100) {
		if o := iw.outcomes[id]; len(o) != 2 || o[0] != collector.Stored || o[1] != collector.Duplicate {
			t.Fatalf("%s: outcomes %v, want stored then duplicate", id, o)
		}
	}
	if rows, n := stored(t, iw.direct); rows != 150 || n != 150 {
		t.Fatalf("%d rows, %d ids stored, want 150 of each", rows, n)
	}
}

// At shutdown with two batches in flight, the first not stored: nothing is
// answered out of order and nothing is lost or stored twice. The drain
// writes the first and finds the second stored.
func TestShutdownWithTwoBatchesInFlightAnswersInOrder(t *testing.T) {
	t.Parallel()
	iw := newInflightWriter(t)
	all := ids("s", 0, 200)
	iw.submit(t, all...)
	waitFor(t, 30*time.Second, "the second batch stored while the first waits", func() bool { _, settled := iw.store.counts(); return settled >= 1 })
	iw.stop() // the first insert ends with the context; drain writes both
	sameOrder(t, iw.answeredIDs(), all)
	for _, id := range all {
		want := collector.Stored
		if id >= "s-100" {
			want = collector.Duplicate // stored beside the first, found by the drain
		}
		if o := iw.outcomes[id]; len(o) != 1 || o[0] != want {
			t.Fatalf("%s: outcomes %v, want %v", id, o, want)
		}
	}
	if rows, n := stored(t, iw.direct); rows != 200 || n != 200 {
		t.Fatalf("%d rows, %d ids stored, want 200 of each", rows, n)
	}
}

// A batch whose linger ends while a write is in flight is not written as
// it is: it keeps filling until the write is stored, and a backlog's
// inserts stay full (a partial insert costs the server nearly a full
// one's CPU).
func TestWriterKeepsFillingTheBatchWhileAWriteIsInFlight(t *testing.T) {
	t.Parallel()
	iw := newInflightWriterLinger(t, time.Millisecond)
	iw.submit(t, ids("l", 0, 100)...) // full: written, its insert held
	for _, id := range ids("l", 100, 130) {
		iw.submit(t, id)
		time.Sleep(5 * time.Millisecond) // the linger ends between items
	}
	time.Sleep(200 * time.Millisecond)
	if most, settled := iw.store.counts(); most != 1 || settled != 0 {
		t.Fatalf("%d inserts at once, %d finished: the items after the full batch were written before it was stored", most, settled)
	}
	iw.submit(t, ids("l", 130, 200)...) // the second batch is full: written beside the first
	waitFor(t, 30*time.Second, "the second batch stored while the first waits", func() bool { _, settled := iw.store.counts(); return settled >= 1 })
	close(iw.store.gate)
	waitFor(t, 30*time.Second, "every item answered", func() bool { return len(iw.answeredIDs()) == 200 })
	sameOrder(t, iw.answeredIDs(), ids("l", 0, 200))
	if _, settled := iw.store.counts(); settled != 2 {
		t.Errorf("%d inserts for two full batches, want 2", settled)
	}
	if rows, n := stored(t, iw.direct); rows != 200 || n != 200 {
		t.Fatalf("%d rows, %d ids stored, want 200 of each", rows, n)
	}
}
