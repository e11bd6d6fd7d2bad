package clustertest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/clickhouse/clustertest"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/simulator"
)

// chtest.Main makes the binary the engine child when asked to be (both the
// cluster's servers and the single reference server are chdb children).
func TestMain(m *testing.M) { chtest.Main(m) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// A two-shard cluster of embedded servers takes the collector's writes,
// the console's reads and the KPI refresh through the Distributed tables:
// the rows are spread over both shards, and every read (the timeline of a
// document whose events are on both shards, the KPI values after a full
// build and after an incremental refresh) gives what a single server given
// the same events gives.
//
// The cluster is unreplicated (clickhouse.replicated: false): the embedded
// engine has no Keeper, so neither Replicated tables nor ON CLUSTER run on
// it. Those are only parsed (clickhouse/cluster_test.go).
func TestTwoShardsStoreReadAndRefreshLikeOneServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // generous: the machine may be loaded
	defer cancel()
	shards := clustertest.Start(t, 2)
	no := false
	cfg := clickhouse.Config{Addr: shards.Addrs[:1], Database: "supplywatch", Cluster: clustertest.Name, Replicated: &no, RetentionDays: 3650}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := clickhouse.Migrate(ctx, conn, cfg, discard); err != nil {
		t.Fatalf("migrate the cluster: %v", err)
	}
	// Migrating again finds everything applied on every server.
	if err := clickhouse.Migrate(ctx, conn, cfg, discard); err != nil {
		t.Fatalf("migrate the cluster again: %v", err)
	}
	cl, err := clickhouse.OpenCluster(ctx, conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	perShard := make([]driver.Conn, len(shards.Addrs))
	for i, a := range shards.Addrs {
		one := cfg
		one.Addr = []string{a}
		if perShard[i], err = clickhouse.Open(ctx, one); err != nil {
			t.Fatal(err)
		}
		defer perShard[i].Close()
		// Each server loaded its configuration file: its own macros, the
		// cluster of both.
		var shard string
		var n uint64
		if err := perShard[i].QueryRow(ctx, "SELECT getMacro('shard'), (SELECT count() FROM system.clusters WHERE cluster = ?)", clustertest.Name).Scan(&shard, &n); err != nil {
			t.Fatal(err)
		}
		if shard != fmt.Sprint(i+1) || n != 2 {
			t.Fatalf("server %d: macro shard %q, %d servers in the cluster; want %d and 2", i+1, shard, n, i+1)
		}
	}

	// The reference: one server, the single-node schema.
	ref, refDB, refAddr := chtest.DB(t)
	if err := clickhouse.Migrate(ctx, ref, clickhouse.Config{Database: refDB, RetentionDays: 3650}, discard); err != nil {
		t.Fatal(err)
	}

	evs, end := simulated(t)
	cut := len(evs) * 3 / 4
	first, second := evs[:cut], slices.Clone(evs[cut:])
	// The rest also cancels some ASNs of the first part and moves the
	// due dates of some orders: the refresh must delete their entity rows,
	// and the rows of the cells (day, plant, supplier) they move out of,
	// on the shards that hold them.
	second = append(second, changes(first, 5, end.Add(-time.Minute))...)

	// The collector's writer stores the first part on the cluster; the
	// reference takes the same events straight.
	// Spans go through the native pool, as in the service.
	native, err := clickhouse.OpenNative(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(native.Close)
	w := newWriter(t, ctx, clickhouse.NewStore(conn, cfg.Database).WithNative(native))
	if got := w.submit(ctx, first); got[collector.Stored] != len(first) {
		t.Fatalf("cluster writer: %v, want %d stored", got, len(first))
	}
	insertRef(t, ctx, ref, refDB, first)
	// A redelivered event is found on whichever shard holds it.
	if got := w.submit(ctx, first[:40]); got[collector.Duplicate] != 40 {
		t.Fatalf("redelivered: %v, want 40 duplicates", got)
	}

	// Both shards hold a share of the events, and of the KPI facts that
	// the materialized views derive on each shard.
	for _, table := range []string{"events", "event_ids", "kpi_orders", "kpi_lines"} {
		var sum uint64
		for i, c := range perShard {
			n := count(t, ctx, c, "supplywatch."+table+clickhouse.LocalSuffix)
			if n == 0 {
				t.Errorf("%s: shard %d holds no rows", table, i+1)
			}
			sum += n
		}
		if table == "events" && sum != uint64(len(first)) {
			t.Errorf("events: %d rows on the shards, want %d (each stored once)", sum, len(first))
		}
	}
	// Every server reads all of them through the Distributed table.
	for i, c := range perShard {
		if n := count(t, ctx, c, "supplywatch.events"); n != uint64(len(first)) {
			t.Errorf("events through shard %d: %d, want %d", i+1, n, len(first))
		}
	}

	// The console: the timeline of an order whose events are on both
	// shards.
	po := splitDocument(t, ctx, perShard)
	// And the spans of its traffic, written by the collector too.
	spans := spansOf(po, end.AddDate(0, 0, -3), 40)
	if got := w.submitSpans(ctx, spans); got[collector.Stored] != 1 {
		t.Fatalf("spans: %v, want the batch stored", got)
	}
	refNative, err := clickhouse.OpenNative(ctx, clickhouse.Config{Addr: []string{refAddr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(refNative.Close)
	if err := clickhouse.NewStore(ref, refDB).WithNative(refNative).InsertSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	for i, c := range perShard {
		if n := count(t, ctx, c, "supplywatch.spans_v2_local"); n == 0 || n == uint64(len(spans)) {
			t.Errorf("spans: shard %d holds %d of %d", i+1, n, len(spans))
		}
	}
	q := procure.TimelineQuery{Documents: []string{po}, Since: end.AddDate(0, -2, 0), Until: end.Add(time.Hour)}
	got, err := clickhouse.NewFacts(conn, cfg.Database).Timeline(ctx, "acme", q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := clickhouse.NewFacts(ref, refDB).Timeline(ctx, "acme", q)
	if err != nil {
		t.Fatal(err)
	}
	if ids(got) != ids(want) || len(want) < len(spans)+3 {
		t.Errorf("timeline of %s on the cluster:\n%s\nwant (one server):\n%s", po, ids(got), ids(want))
	}

	// The KPIs: a full build, then an incremental refresh after the rest
	// of the events.
	from, to := end.AddDate(-1, 0, 0), end.AddDate(1, 0, 0)
	if err := kpi.SyncCalendarsOn(ctx, conn, cl, cfg.Database, nil, from, to); err != nil {
		t.Fatal(err)
	}
	// Twice: a second sync replaces the spans on every shard.
	if err := kpi.SyncCalendarsOn(ctx, conn, cl, cfg.Database, nil, from, to); err != nil {
		t.Fatal(err)
	}
	if err := kpi.SyncCalendars(ctx, ref, refDB, nil, from, to); err != nil {
		t.Fatal(err)
	}
	if a, b := count(t, ctx, conn, "supplywatch.kpi_business_spans"), count(t, ctx, ref, refDB+".kpi_business_spans"); a != b {
		t.Errorf("business spans: %d on the cluster, %d on one server", a, b)
	}
	clusterKPI := kpi.NewRefresher(conn, cfg.Database, kpi.Config{}, discard, nil).WithCluster(cl)
	refKPI := kpi.NewRefresher(ref, refDB, kpi.Config{}, discard, nil)
	asOf := first[len(first)-1].OccurredAt.Add(time.Hour)
	if _, err := clusterKPI.RefreshAll(ctx, asOf); err != nil {
		t.Fatalf("cluster build: %v", err)
	}
	if _, err := refKPI.RefreshAll(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	sameValues(t, ctx, "after the build", conn, cfg.Database, ref, refDB, end)
	for i, c := range perShard {
		if n := count(t, ctx, c, "supplywatch.kpi_rollup_local"); n == 0 {
			t.Errorf("kpi_rollup: shard %d holds no rows", i+1)
		}
	}

	if got := w.submit(ctx, second); got[collector.Stored] != len(second) {
		t.Fatalf("cluster writer: %v, want %d stored", got, len(second))
	}
	insertRef(t, ctx, ref, refDB, second)
	asOf = end.Add(time.Hour)
	rep, err := clusterKPI.Refresh(ctx, asOf)
	if err != nil {
		t.Fatalf("cluster refresh: %v", err)
	}
	if rep.Full || rep.Touched == 0 {
		t.Fatalf("cluster refresh: %+v, want an incremental one touching the new events' entities", rep)
	}
	if _, err := refKPI.Refresh(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	sameValues(t, ctx, "after the incremental refresh", conn, cfg.Database, ref, refDB, end)

	// The refresher's stage tables (kpi_rollup_stage_<hex>) are gone from
	// every server.
	var left uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM clusterAllReplicas(?, system.tables) WHERE database = 'supplywatch' AND match(name, '^kpi_rollup_stage_[0-9a-f]+')", clustertest.Name).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d stage tables left on the servers", left)
	}
}

// simulated returns a few days of simulated traffic, in time order, and
// the instant it ends.
func simulated(t *testing.T) ([]*procure.Event, time.Time) {
	t.Helper()
	end := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	var evs []*procure.Event
	sim, err := simulator.New(simulator.Config{Seed: 11, Suppliers: 12, OrdersPerDay: 25}, simulator.SinkFunc(func(_ context.Context, b []*procure.Event) error {
		evs = append(evs, b...)
		return nil
	}), simulator.Options{Now: func() time.Time { return end }})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Backfill(context.Background(), 20); err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].OccurredAt.Before(evs[j].OccurredAt) })
	if len(evs) < 500 {
		t.Fatalf("%d simulated events, want some hundreds", len(evs))
	}
	return evs, end
}

// changes returns, at at, asn.cancelled events for the first n ASNs
// submitted in evs and po.changed events (a newer version) moving every
// due date of the first n orders released in evs a week later.
func changes(evs []*procure.Event, n int, at time.Time) []*procure.Event {
	var out []*procure.Event
	cancelled, moved := 0, 0
	add := func(e *procure.Event, typ procure.Type, doc procure.DocumentRef, p any) {
		out = append(out, &procure.Event{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", len(out)), Type: typ,
			Source: e.Source, Tenant: e.Tenant, OccurredAt: at, Plant: e.Plant, Supplier: e.Supplier, Document: doc, Payload: p})
	}
	for _, e := range evs {
		switch {
		case e.Type == procure.ASNSubmitted && cancelled < n:
			cancelled++
			add(e, procure.ASNCancelled, e.Document, &procure.Cancellation{Reason: "shipment withdrawn"})
		case e.Type == procure.POReleased && moved < n:
			po := *e.Payload.(*procure.PurchaseOrder)
			po.Lines = slices.Clone(po.Lines)
			for i := range po.Lines {
				if !po.Lines[i].NeedBy.IsZero() {
					po.Lines[i].NeedBy = procure.Date{Time: po.Lines[i].NeedBy.AddDate(0, 0, 7)}
				}
			}
			doc := e.Document
			doc.Version += 10
			moved++
			add(e, procure.POChanged, doc, &po)
		}
	}
	return out
}

func received(t *testing.T, e *procure.Event) *procure.Received {
	t.Helper()
	raw, err := procure.Encode(e)
	if err != nil {
		t.Fatalf("encode %s: %v", e.ID, err)
	}
	return &procure.Received{Event: e, Raw: raw, Channel: procure.ChannelKafka, ReceivedAt: e.OccurredAt}
}

func insertRef(t *testing.T, ctx context.Context, conn driver.Conn, db string, evs []*procure.Event) {
	t.Helper()
	rs := make([]procure.Received, len(evs))
	for i, e := range evs {
		rs[i] = *received(t, e)
	}
	if err := clickhouse.NewStore(conn, db).InsertEvents(ctx, rs); err != nil {
		t.Fatal(err)
	}
}

// writer is the collector's batching writer over a store. Nothing here
// should reach the dead letter: an item that does fails the test.
type writer struct {
	t *testing.T
	w *collector.Writer
}

// deadLetter refuses, so that a stored item cannot pass for a dead letter.
type deadLetter struct{ t *testing.T }

func (d deadLetter) PublishRejections(_ context.Context, rs []procure.Rejection) error {
	d.t.Errorf("%d items went to the dead letter, the first: %s: %s", len(rs), rs[0].Field, rs[0].Reason)
	return errors.New("no dead letter in this test")
}

func newWriter(t *testing.T, ctx context.Context, store *clickhouse.Store) *writer {
	t.Helper()
	w := collector.NewWriter(collector.WriterConfig{FlushInterval: 20 * time.Millisecond}, store, deadLetter{t}, discard,
		collector.NewMetrics(prometheus.NewRegistry()), noop.NewTracerProvider().Tracer(""))
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { w.Run(wctx, 5*time.Second); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &writer{t: t, w: w}
}

// submit hands evs to the writer and counts the outcomes once all are in.
func (w *writer) submit(ctx context.Context, evs []*procure.Event) map[collector.Outcome]int {
	w.t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	got := map[collector.Outcome]int{}
	for _, e := range evs {
		wg.Add(1)
		it := collector.Item{Event: received(w.t, e), Done: func(o collector.Outcome) {
			mu.Lock()
			got[o]++
			mu.Unlock()
			wg.Done()
		}}
		if err := w.w.Submit(ctx, it); err != nil {
			w.t.Fatal(err)
		}
	}
	wg.Wait()
	return got
}

// submitSpans hands the writer one item of spans.
func (w *writer) submitSpans(ctx context.Context, spans []procure.Span) map[collector.Outcome]int {
	w.t.Helper()
	done := make(chan collector.Outcome, 1)
	if err := w.w.Submit(ctx, collector.Item{Spans: spans, Done: func(o collector.Outcome) { done <- o }}); err != nil {
		w.t.Fatal(err)
	}
	return map[collector.Outcome]int{<-done: 1}
}

// spansOf returns n spans of one service about document doc, a minute
// apart from start, each its own trace.
func spansOf(doc string, start time.Time, n int) []procure.Span {
	out := make([]procure.Span, n)
	for i := range out {
		out[i] = procure.Span{Tenant: "acme", StartTime: start.Add(time.Duration(i) * time.Minute),
			TraceID: fmt.Sprintf("%032x", i+1), SpanID: fmt.Sprintf("%016x", i+1), Name: "send po", Kind: "client",
			ServiceName: "middleware", DurationNanos: 1_000_000, StatusCode: "ok", DocumentID: doc}
	}
	return out
}

func count(t *testing.T, ctx context.Context, conn driver.Conn, table string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// splitDocument returns an order with events on every shard.
func splitDocument(t *testing.T, ctx context.Context, shards []driver.Conn) string {
	t.Helper()
	var common []string
	for i, c := range shards {
		rows, err := c.Query(ctx, "SELECT DISTINCT document_id FROM supplywatch.events_local WHERE document_kind = 'po' ORDER BY document_id")
		if err != nil {
			t.Fatal(err)
		}
		var docs []string
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				t.Fatal(err)
			}
			if i == 0 || slices.Contains(common, d) {
				docs = append(docs, d)
			}
		}
		rows.Close()
		common = docs
	}
	if len(common) == 0 {
		t.Fatal("no order has events on every shard")
	}
	return common[0]
}

func ids(es []*procure.TimelineEntry) string {
	s := ""
	for _, e := range es {
		s += fmt.Sprintf("%s %s %s %s\n", e.At.UTC().Format(time.RFC3339Nano), e.Kind, e.Type, e.ID)
	}
	return s
}

// sameValues checks that the KPI values of the cluster are those of the
// single server, and that most KPIs have data.
func sameValues(t *testing.T, ctx context.Context, when string, conn driver.Conn, db string, ref driver.Conn, refDB string, end time.Time) {
	t.Helper()
	now := func() time.Time { return end }
	qq := kpi.Query{Tenant: "acme", From: end.AddDate(0, 0, -30), To: end.AddDate(0, 0, 1)}
	got, err := kpi.NewQuerier(conn, db, kpi.Config{}, now).Values(ctx, qq)
	if err != nil {
		t.Fatalf("%s: cluster values: %v", when, err)
	}
	want, err := kpi.NewQuerier(ref, refDB, kpi.Config{}, now).Values(ctx, qq)
	if err != nil {
		t.Fatalf("%s: values: %v", when, err)
	}
	byKPI := map[string]kpi.Value{}
	for _, v := range got.Values {
		byKPI[v.KPI] = v
	}
	withData := 0
	for _, w := range want.Values {
		g := byKPI[w.KPI]
		if !near(g.Num, w.Num) || !near(g.Den, w.Den) || !near(g.Value, w.Value) || !near(g.P50, w.P50) || !near(g.P90, w.P90) {
			t.Errorf("%s: %s = %v (%v/%v, p50 %v, p90 %v) on the cluster, %v (%v/%v, p50 %v, p90 %v) on one server",
				when, w.KPI, g.Value, g.Num, g.Den, g.P50, g.P90, w.Value, w.Num, w.Den, w.P50, w.P90)
		}
		if w.Den > 0 {
			withData++
		}
	}
	if withData < len(want.Values)/2 {
		t.Errorf("%s: only %d of %d KPIs have data; the scenario is too thin to compare", when, withData, len(want.Values))
	}
	t.Logf("%s: %d KPIs equal, %d with data", when, len(want.Values), withData)

	// The rest of the KPI API: breakdowns, the documents behind a KPI
	// (drill-down) and the operational lists.
	reads := map[string]func(q *kpi.Querier) (any, error){
		"breakdown by supplier": func(q *kpi.Querier) (any, error) {
			rows, _, err := q.Breakdown(ctx, qq, "otd_on_time", "supplier")
			return rows, err
		},
		"breakdown by category": func(q *kpi.Querier) (any, error) { return q.BreakdownByCategory(ctx, qq, "confirmation_rate") },
		"documents":             func(q *kpi.Querier) (any, error) { return q.Documents(ctx, qq, "otif", 1000) },
		"ops":                   func(q *kpi.Querier) (any, error) { return q.Ops(ctx, "acme", 30*24*time.Hour, 48*time.Hour) },
	}
	for name, read := range reads {
		g, err := read(kpi.NewQuerier(conn, db, kpi.Config{}, now))
		if err != nil {
			t.Errorf("%s: cluster %s: %v", when, name, err)
			continue
		}
		w, err := read(kpi.NewQuerier(ref, refDB, kpi.Config{}, now))
		if err != nil {
			t.Fatalf("%s: %s: %v", when, name, err)
		}
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if string(gj) != string(wj) || len(wj) < 50 {
			t.Errorf("%s: %s on the cluster:\n%s\nwant (one server):\n%s", when, name, gj, wj)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
