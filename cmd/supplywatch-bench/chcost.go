package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/procure"
)

// chCostBench measures what the ClickHouse server spends per million rows
// on the ingest path (docs/storage.md, "Server CPU per table and view"):
// the same decoded rows are inserted, in the collector's batches and
// through its native path, into databases of the full schema that differ
// only in which materialized views on events are left, and the server
// process's CPU (user + system, /proc, merges it does meanwhile included)
// is read around each run. A view's cost is its run's minus the plain
// insert's (events alone, no view). Spans the same way, per schema variant
// of the spans table. eachView false leaves out the run per view.
func chCostBench(ctx context.Context, e *benchEnv, nEvents int, eachView bool) error {
	pid, err := serverPID()
	if err != nil {
		return err
	}
	if nEvents == 0 {
		return nil
	}
	rows, err := mixedEvents(nEvents, time.Now())
	if err != nil {
		return err
	}
	native, err := clickhouse.OpenNative(ctx, clickhouse.Config{Addr: []string{e.ch.NativeAddr()}, User: "default"})
	if err != nil {
		return err
	}
	defer native.Close()

	// insert runs one configuration: a fresh database, keep says which of
	// its materialized views stay, and returns server CPU-seconds per
	// million rows.
	run := func(db string, keep func(view string) bool, insert func(*clickhouse.Store) (int, error)) (float64, []string, error) {
		cfg := clickhouse.Config{Database: db, RetentionDays: 3650}
		if err := clickhouse.Migrate(ctx, e.conn, cfg, e.log); err != nil {
			return 0, nil, err
		}
		views, err := e.strings(ctx, "SELECT name FROM system.tables WHERE database = '"+db+"' AND engine = 'MaterializedView' ORDER BY name")
		if err != nil {
			return 0, nil, err
		}
		for _, v := range views {
			if !keep(v) {
				if err := e.conn.Exec(ctx, "DROP VIEW "+db+"."+v); err != nil {
					return 0, nil, err
				}
			}
		}
		if err := e.settle(ctx); err != nil {
			return 0, nil, err
		}
		cpu0, err := cpuTime(pid)
		if err != nil {
			return 0, nil, err
		}
		n, err := insert(clickhouse.NewStore(e.conn, db).WithNative(native))
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", db, err)
		}
		if err := e.settle(ctx); err != nil {
			return 0, nil, err
		}
		cpu1, err := cpuTime(pid)
		if err != nil {
			return 0, nil, err
		}
		if db == "cost_all" {
			// What the views' queries cost without writing anything: each
			// one's SELECT over the rows now stored, less reading them.
			readCPU, err := e.serverCPUOf(ctx, pid, "SELECT sum(length(raw)) FROM "+db+".events")
			if err != nil {
				return 0, nil, err
			}
			var sum time.Duration
			for _, v := range views {
				var sel string
				if err := e.conn.QueryRow(ctx, "SELECT as_select FROM system.tables WHERE database = ? AND name = ?", db, v).Scan(&sel); err != nil {
					return 0, nil, err
				}
				c, err := e.serverCPUOf(ctx, pid, "SELECT count() FROM ("+sel+")")
				if err != nil {
					return 0, nil, fmt.Errorf("view %s select: %w", v, err)
				}
				sum += max(c-readCPU, 0)
			}
			figure("ch_server_cpu_per_million_events_views_select_only", sum.Seconds()*1e6/float64(n), "cpu-s")
		}
		e.conn.Exec(ctx, "DROP DATABASE "+db+" SYNC")
		return (cpu1 - cpu0).Seconds() * 1e6 / float64(n), views, nil
	}
	batch := 10000 // the collector's default writer.batch_size
	insertEvents := func(s *clickhouse.Store) (int, error) {
		for off := 0; off < len(rows); off += batch {
			if err := s.InsertEvents(ctx, rows[off:min(off+batch, len(rows))]); err != nil {
				return 0, err
			}
		}
		return len(rows), nil
	}
	// The cost per insert: the same rows with all views in smaller and
	// larger batches.
	for _, b := range []int{2000, 50000} {
		batch = b
		c, _, err := run(fmt.Sprintf("cost_all_b%d", b), func(string) bool { return true }, insertEvents)
		if err != nil {
			return err
		}
		figure(fmt.Sprintf("ch_server_cpu_per_million_events_all_views_batch_%d", b), c, "cpu-s")
		p, _, err := run(fmt.Sprintf("cost_plain_b%d", b), func(string) bool { return false }, insertEvents)
		if err != nil {
			return err
		}
		figure(fmt.Sprintf("ch_server_cpu_per_million_events_plain_batch_%d", b), p, "cpu-s")
	}
	batch = 10000
	none := func(string) bool { return false }
	plain, views, err := run("cost_plain", none, insertEvents)
	if err != nil {
		return err
	}
	figure("ch_server_cpu_per_million_events_plain", plain, "cpu-s")
	all, _, err := run("cost_all", func(string) bool { return true }, insertEvents)
	if err != nil {
		return err
	}
	figure("ch_server_cpu_per_million_events_all_views", all, "cpu-s")
	// The same with the five views migration 0241 made two of.
	old, err := viewsBefore0241()
	if err != nil {
		return err
	}
	var oldDB string
	oldViews := func(name string) bool {
		return name != "kpi_orders_mv" && name != "kpi_lines_mv"
	}
	before, _, err := run("cost_all_before_0241", oldViews, func(s *clickhouse.Store) (int, error) {
		oldDB = s.Database()
		for _, stmt := range old {
			if err := e.conn.Exec(ctx, strings.ReplaceAll(stmt, "{db}", oldDB)); err != nil {
				return 0, fmt.Errorf("view of 0102: %w", err)
			}
		}
		return insertEvents(s)
	})
	if err != nil {
		return err
	}
	figure("ch_server_cpu_per_million_events_all_views_before_0241", before, "cpu-s")
	for i, v := range views {
		if !eachView {
			break
		}
		only, _, err := run(fmt.Sprintf("cost_v%d", i), func(name string) bool { return name == v }, insertEvents)
		if err != nil {
			return err
		}
		figure("ch_server_cpu_per_million_events_view_"+v, only-plain, "cpu-s")
	}
	plain2, _, err := run("cost_plain2", none, insertEvents)
	if err != nil {
		return err
	}
	figure("ch_server_cpu_per_million_events_plain_again", plain2, "cpu-s")

	return nil
}

// spanColumnsDDL is the spans table's columns (migration 0001), for the
// schema variants measured.
const spanColumnsDDL = `tenant LowCardinality(String), start_time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
  trace_id String CODEC(ZSTD(1)), span_id String CODEC(ZSTD(1)), parent_span_id String CODEC(ZSTD(1)), trace_state String CODEC(ZSTD(1)),
  name LowCardinality(String), kind LowCardinality(String), service_name LowCardinality(String), scope_name LowCardinality(String),
  duration_ns UInt64 CODEC(T64, ZSTD(1)), status_code LowCardinality(String), status_message String CODEC(ZSTD(1)),
  correlation_id String CODEC(ZSTD(1)), document_id String CODEC(ZSTD(1)),
  attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)), resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  events_time Array(DateTime64(9, 'UTC')) CODEC(ZSTD(1)), events_name Array(LowCardinality(String)) CODEC(ZSTD(1)),
  events_attributes Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1))`

const spanIndexesDDL = `, INDEX idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_correlation correlation_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_document document_id TYPE bloom_filter(0.01) GRANULARITY 1`

// viewsBefore0241 is the statements of migration 0102 that create the views
// into kpi_orders and kpi_lines that 0241 replaced.
func viewsBefore0241() ([]string, error) {
	ms, err := clickhouse.Migrations()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if m.Version != 102 {
			continue
		}
		for _, stmt := range strings.Split(m.SQL, ";\n") {
			stmt = strings.TrimSpace(stmt)
			for _, v := range []string{"kpi_orders_inv_mv", "kpi_lines_ack_mv", "kpi_lines_asn_mv", "kpi_lines_gr_mv"} {
				if strings.HasPrefix(stmt, "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}."+v+" ") {
					out = append(out, stmt)
				}
			}
		}
	}
	for _, m := range ms {
		if m.Version != 100 {
			continue
		}
		for _, stmt := range strings.Split(m.SQL, ";\n") {
			if i := strings.Index(stmt, "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_orders_po_mv "); i >= 0 {
				out = append(out, strings.TrimSpace(stmt[i:]))
			}
		}
	}
	if len(out) != 5 {
		return nil, fmt.Errorf("found %d of the five views 0241 replaced in migrations 0100 and 0102", len(out))
	}
	return out, nil
}

// serverCPUOf runs q and returns the server's CPU meanwhile.
func (e *benchEnv) serverCPUOf(ctx context.Context, pid int, q string) (time.Duration, error) {
	c0, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	if err := e.conn.Exec(ctx, q); err != nil {
		return 0, err
	}
	c1, err := cpuTime(pid)
	return c1 - c0, err
}

// settle waits until the server runs no merge, so that a run's CPU
// includes the merges its inserts caused and not the previous run's.
func (e *benchEnv) settle(ctx context.Context) error {
	deadline := time.Now().Add(2 * time.Minute)
	for quiet := 0; quiet < 3; {
		n, err := e.count(ctx, "SELECT count() FROM system.merges")
		if err != nil {
			return err
		}
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

func (e *benchEnv) strings(ctx context.Context, q string) ([]string, error) {
	rows, err := e.conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// mixedEvents is n events of the chains the KPI facts follow, decoded:
// per PO a release of three lines, an acknowledgement, an ASN, a receipt,
// two invoice statuses, a quality document and eight technical deliveries
// (one failed), 15 events, as kpi.GenerateEvents writes them.
func mixedEvents(n int, end time.Time) ([]procure.Received, error) {
	out := make([]procure.Received, 0, n)
	for k := 0; len(out) < n; k++ {
		for _, raw := range poChain(k, end.Add(-time.Duration(n-len(out))*time.Millisecond)) {
			if len(out) == n {
				break
			}
			ev, err := procure.Decode(raw)
			if err != nil {
				return nil, fmt.Errorf("bench event: %w\n%s", err, raw)
			}
			out = append(out, procure.Received{Event: ev, Raw: raw, Channel: procure.ChannelKafka, ReceivedAt: end})
		}
	}
	return out, nil
}

func poChain(k int, at time.Time) [][]byte {
	ts := func(d time.Duration) string { return at.Add(d).UTC().Format("2006-01-02T15:04:05.000Z") }
	day := func(d int) string { return at.AddDate(0, 0, d).UTC().Format("2006-01-02") }
	po := fmt.Sprintf("45%08d", k)
	plant, supplier := fmt.Sprintf("P0%d", 1+k%6), fmt.Sprintf("S%04d", 1+k%300)
	env := func(suffix, typ, source, kind, doc string, d time.Duration, data string) []byte {
		return fmt.Appendf(nil, `{"id":"%s-%s","type":"%s","source":"%s","tenant":"acme","occurred_at":"%s","correlation_id":"corr-%s","plant":"%s","supplier":"%s","document":{"kind":"%s","id":"%s","version":1},"data":%s}`,
			po, suffix, typ, source, ts(d), po, plant, supplier, kind, doc, data)
	}
	out := [][]byte{
		env("r", "po.released", "erp", "po", po, 0, fmt.Sprintf(`{"order_type":"standard","currency":"EUR","lines":[{"line":10,"item":"M-1","quantity":100,"unit":"C62","unit_price":1.5,"need_by":"%[1]s"},{"line":20,"item":"M-2","quantity":40,"unit":"KGM","unit_price":3.5,"need_by":"%[1]s"},{"line":30,"item":"M-3","quantity":2,"unit":"C62","unit_price":120,"need_by":"%[1]s"}]}`, day(14))),
		env("a", "po.acknowledged", "portal", "po", po, time.Hour, fmt.Sprintf(`{"lines":[{"line":10,"status":"accepted"},{"line":20,"status":"accepted"},{"line":30,"status":"changed","quantity":1,"promised_date":"%s"}]}`, day(16))),
		env("s", "asn.submitted", "edi", "asn", "ASN"+po, 300*time.Hour, fmt.Sprintf(`{"ship_date":"%s","expected_arrival":"%s","lines":[{"po":"%[3]s","line":10,"quantity":100,"unit":"C62"},{"po":"%[3]s","line":20,"quantity":40,"unit":"KGM"},{"po":"%[3]s","line":30,"quantity":1,"unit":"C62"}]}`, ts(300*time.Hour), ts(320*time.Hour), po)),
		env("g", "goods.received", "wms", "receipt", "GR"+po, 330*time.Hour, fmt.Sprintf(`{"asn":"ASN%[1]s","lines":[{"po":"%[1]s","line":10,"received_quantity":%d,"unit":"C62"},{"po":"%[1]s","line":20,"received_quantity":40,"unit":"KGM"},{"po":"%[1]s","line":30,"received_quantity":1,"unit":"C62"}]}`, po, 100-k%7)),
		env("i1", "invoice.status_changed", "ap", "invoice", "INV"+po, 400*time.Hour, fmt.Sprintf(`{"status":"received","po":"%s"}`, po)),
		env("i2", "invoice.status_changed", "ap", "invoice", "INV"+po, 420*time.Hour, fmt.Sprintf(`{"status":%s,"po":"%s"}`, map[bool]string{true: `"blocked","block_reason":"price_variance"`, false: `"matched"`}[k%8 == 0], po)),
		env("q", "quality.document_attached", "portal", "quality", "Q"+po, 48*time.Hour, `{"doc_type":"coa","item":"M-1","lot":"L1"}`),
	}
	for m := range 8 {
		typ, class := "message.delivered", ""
		if m == 7 {
			typ, class = "message.failed", `,"error_class":"timeout"`
		}
		out = append(out, env(fmt.Sprintf("m%d", m), typ, "middleware", "message", fmt.Sprintf("MSG%s-%d", po, m), time.Duration(m)*7*time.Minute,
			fmt.Sprintf(`{"message_id":"x","target":"%s"%s}`, []string{"erp", "portal", "wms", "ap"}[m%4], class)))
	}
	return out
}

// benchSpans is n spans as the OTLP bench's SDK senders make them: traces
// of five spans, eight string attributes each, three resource attributes.
func benchSpans(n int, at time.Time) []procure.Span {
	systems := []string{"sap-s4", "ariba", "edi-gateway", "wms", "qms", "coupa"}
	steps := []string{"receive PO", "map IDoc", "validate", "send to portal", "acknowledge"}
	out := make([]procure.Span, n)
	for i := range out {
		t, sender := i/5, i/5%3
		po := fmt.Sprint(4500000000 + t)
		res := procure.Attributes{{Key: "service.name", Value: systems[sender] + "-bridge"}, {Key: "service.instance.id", Value: fmt.Sprintf("bridge-%d", sender)}, {Key: "deployment.environment", Value: "bench"}}
		out[i] = procure.Span{
			Tenant: "acme", StartTime: at.Add(time.Duration(i) * 10 * time.Microsecond),
			TraceID: fmt.Sprintf("%032x", uint64(t)*0x9e3779b97f4a7c15), SpanID: fmt.Sprintf("%016x", uint64(i)*0xbf58476d1ce4e5b9),
			Name: steps[i%5], Kind: "client", ServiceName: systems[sender] + "-bridge", ScopeName: "supplywatch/otlpbench",
			DurationNanos: 1000 + uint64(i%977), StatusCode: "unset",
			CorrelationID: fmt.Sprintf("corr-%d", t), DocumentID: po,
			Attributes: procure.Attributes{
				{Key: "supplywatch.correlation_id", Value: fmt.Sprintf("corr-%d", t)}, {Key: "po.number", Value: po},
				{Key: "supplier", Value: fmt.Sprintf("S%04d", t%400)}, {Key: "plant", Value: fmt.Sprintf("P%02d", t%6+1)},
				{Key: "source.system", Value: systems[t%6]}, {Key: "target.system", Value: systems[(t+1)%6]},
				{Key: "document.type", Value: "po"}, {Key: "message.id", Value: "msg-" + po},
			},
			ResourceAttributes: res,
		}
		if i%5 != 0 {
			out[i].ParentSpanID = fmt.Sprintf("%016x", uint64(t*5)*0xbf58476d1ce4e5b9)
		}
	}
	return out
}

// serverPID is the embedded ClickHouse: the child of this process started
// with the engine's arguments (chdb.Start).
func serverPID() (int, error) {
	self := os.Getpid()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, d := range ents {
		var pid int
		if _, err := fmt.Sscan(d.Name(), &pid); err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(f) < 2 || f[1] != fmt.Sprint(self) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmdline), "\x00--path=") {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no embedded ClickHouse child of process %d", self)
}
