package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/chdb"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
)

// benchEvent is a realistic po.released of three lines (~900 bytes).
func benchEvent(prefix string, i int, at time.Time) []byte {
	return fmt.Appendf(nil, `{"id":"%s-%08d","type":"po.released","source":"erp","tenant":"acme","occurred_at":"%s","correlation_id":"corr-%08d","trace_id":"%032x","plant":"P0%d","supplier":"S%04d","document":{"kind":"po","id":"45%08d","version":1},"data":{"order_type":"standard","buyer":"B%02d","currency":"EUR","incoterms":{"code":"FCA","edition":"2020","place":"Lyon"},"ship_to":"P0%d","lines":[{"line":10,"item":"M-%05d","description":"Hex bolt M8x40 8.8 zinc plated","material_class":"fasteners","quantity":%d,"unit":"C62","unit_price":0.125,"need_by":"2026-06-01","schedule":[{"seq":1,"quantity":%d,"date":"2026-05-25"}]},{"line":20,"item":"M-%05d","quantity":40,"unit":"KGM","unit_price":3.5,"need_by":"2026-06-03"},{"line":30,"item":"M-%05d","quantity":2,"unit":"C62","unit_price":120,"need_by":"2026-06-10"}]}}`,
		prefix, i, at.UTC().Format("2006-01-02T15:04:05.000Z"), i, i+1, 1+i%6, i%400, i, i%30, 1+i%6, i%5000, 100+i%900, 100+i%900, (i+7)%5000, (i+13)%5000)
}

type benchEnv struct {
	dir     string
	ch      *chdb.Server
	conn    driver.Conn
	broker  *kafka.Broker
	brokers []string
	log     *slog.Logger
}

func (e *benchEnv) close() {
	if e.conn != nil {
		e.conn.Close()
	}
	if e.broker != nil {
		e.broker.Close()
	}
	if e.ch != nil {
		e.ch.Stop(context.Background())
	}
	if os.Getenv("SUPPLYWATCH_BENCH_KEEP") == "" {
		os.RemoveAll(e.dir)
	}
}

func newBenchEnv(ctx context.Context) (*benchEnv, error) {
	dir, err := os.MkdirTemp("", "supplywatch-bench-")
	if err != nil {
		return nil, err
	}
	e := &benchEnv{dir: dir, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if e.ch, err = chdb.Start(ctx, chdb.Config{Dir: filepath.Join(dir, "clickhouse")}); err != nil {
		return e, err
	}
	if e.conn, err = clickhouse.Open(ctx, clickhouse.Config{Addr: []string{e.ch.NativeAddr()}, User: "default"}); err != nil {
		return e, err
	}
	if e.broker, err = kafka.StartEmbedded("127.0.0.1:0", "", 6, "bench.events", "bench.events.dlq", "bench.mixed", "bench.mixed.dlq"); err != nil {
		return e, err
	}
	e.brokers = e.broker.Addrs()
	return e, nil
}

// produce writes values to topic, with the received-at header set to the
// moment each batch is handed to the client when stamp is true.
func (e *benchEnv) produce(ctx context.Context, topic string, values [][]byte, stamp bool) error {
	w := &kafkago.Writer{Addr: kafkago.TCP(e.brokers...), Topic: topic, Balancer: &kafkago.Murmur2Balancer{}, BatchSize: 5000, BatchBytes: 1_000_000, BatchTimeout: time.Millisecond, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	const chunk = 20000
	for off := 0; off < len(values); off += chunk {
		part := values[off:min(off+chunk, len(values))]
		msgs := make([]kafkago.Message, len(part))
		for i, v := range part {
			msgs[i] = kafkago.Message{Key: []byte(strconv.Itoa((off + i) % 997)), Value: v}
			if stamp {
				msgs[i].Headers = []kafkago.Header{{Key: kafka.HeaderReceivedAt, Value: strconv.AppendInt(nil, time.Now().UnixMilli(), 10)}}
			}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			return err
		}
	}
	return nil
}

type child struct {
	cmd      *exec.Cmd
	httpAddr string
	stderr   bytes.Buffer
}

// startCollector runs a collector child on topic and database db.
func (e *benchEnv) startCollector(topic, db string, extra ...string) (*child, error) {
	addrFile := filepath.Join(e.dir, "addr-"+topic)
	cfgFile := filepath.Join(e.dir, "bench.yaml")
	os.WriteFile(cfgFile, []byte("ingest:\n  tokens:\n    - {name: bench, tenant: acme, token: bench-token, rate_per_second: 10000000, burst: 10000000}\n"), 0o600)
	c := &child{cmd: exec.Command(os.Args[0])}
	c.cmd.Env = append(os.Environ(), childEnv+"=collect",
		"SUPPLYWATCH_CONFIG="+cfgFile,
		"SUPPLYWATCH_BENCH_ADDR_FILE="+addrFile,
		"SUPPLYWATCH_CLICKHOUSE_ADDR="+e.ch.NativeAddr(),
		"SUPPLYWATCH_CLICKHOUSE_DATABASE="+db,
		"SUPPLYWATCH_KAFKA_BROKERS="+strings.Join(e.brokers, ","),
		"SUPPLYWATCH_KAFKA_TOPIC="+topic,
		"SUPPLYWATCH_KAFKA_DEAD_LETTER_TOPIC="+topic+".dlq",
		"SUPPLYWATCH_COLLECTOR_GROUP=bench-"+topic,
		"SUPPLYWATCH_HTTP_ADDR=127.0.0.1:0",
	)
	c.cmd.Env = append(c.cmd.Env, extra...)
	logf, err := os.Create(filepath.Join(e.dir, "collector-"+topic+".log"))
	if err != nil {
		return nil, err
	}
	c.cmd.Stderr = io.MultiWriter(&c.stderr, logf)
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(addrFile); err == nil {
			c.httpAddr = string(b)
			return c, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.cmd.Process.Kill()
	return nil, fmt.Errorf("collector did not start: %s", c.stderr.String())
}

func (c *child) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	err := c.cmd.Wait()
	if err != nil {
		return fmt.Errorf("collector: %v: %s", err, c.stderr.String())
	}
	return nil
}

func (e *benchEnv) count(ctx context.Context, q string) (uint64, error) {
	var n uint64
	err := e.conn.QueryRow(ctx, q).Scan(&n)
	return n, err
}

// collectorBench: N events already on the topic, every one a new
// three-line po.released (benchEvent, the heaviest event for the server);
// the collector drains them into ClickHouse. Also HTTP ingest and
// steady-rate latency on the same collector, and its CPU and peak RSS.
// Then, with mixed > 0, the same drain of mixed events of the order
// chains (poChain, what production traffic looks like) by a collector of
// the same configuration on its own topic and database, with its KPI
// facts checked against a raw insert of the same events.
func collectorBench(ctx context.Context, e *benchEnv, n, mixed int) error {
	now := time.Now()
	values := make([][]byte, n)
	for i := range values {
		values[i] = benchEvent("e2e", i, now.Add(-time.Duration(n-i)*time.Millisecond))
	}
	const topic, db = "bench.events", "bench"
	c, err := e.produceAndStart(ctx, topic, db, values)
	if err != nil {
		return err
	}
	defer c.cmd.Process.Kill()
	pid := c.cmd.Process.Pid
	q := "SELECT count() FROM " + db + ".events"
	d, err := e.drain(ctx, c, q, n, e2eNames{})
	if err != nil {
		return err
	}
	if d.inserts > 0 {
		// And the writer's duplicate checks (one before each insert):
		// as many again, of as many ids each, on the idle server.
		lookupCPU, err := e.duplicateCheckCPU(ctx, d.chPID, db, int(d.inserts), int(d.perInsert), n)
		if err != nil {
			return err
		}
		figure("ch_server_cpu_per_million_events_e2e_duplicate_checks", lookupCPU.Seconds()*1e6/float64(d.events), "cpu-s")
	}
	if err := e.rawInsertFigures(ctx, d, values, "bench_raw", e2eNames{}); err != nil {
		return err
	}

	if err := httpBench(ctx, e, c, db); err != nil {
		return err
	}
	// Let the collector drain what HTTP put on the topic before measuring
	// latency at a steady rate; a collector that stops storing fails the
	// bench instead of hanging it.
	for deadline := time.Now().Add(stallLimit); ; {
		got, err := e.count(ctx, q)
		if err != nil {
			return err
		}
		if got >= uint64(n)+200_000 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("collector drained %d of %d events in %s: %s", got, uint64(n)+200_000, stallLimit, c.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := latencyBench(ctx, e, topic, db); err != nil {
		return err
	}
	rss, err := peakRSS(pid)
	if err != nil {
		return err
	}
	figure("collector_peak_rss", float64(rss)/(1<<20), "MB")
	if err := c.stop(); err != nil {
		return err
	}
	if mixed > 0 {
		return mixedCollectorBench(ctx, e, mixed)
	}
	return nil
}

// mixedCollectorBench is collectorBench's drain over n events of the order
// chains (per PO a release, an acknowledgement, an ASN, a receipt, two
// invoice statuses, a quality document, eight middleware deliveries), by a
// fresh collector of the same configuration on topic bench.mixed into
// database bench_mixed. Every KPI fact table (each target of a view on
// events) must then hold what a raw insert of the same events into
// bench_mixed_raw gives it.
func mixedCollectorBench(ctx context.Context, e *benchEnv, n int) error {
	values := make([][]byte, 0, n)
	end := time.Now()
	for k := 0; len(values) < n; k++ {
		for _, raw := range poChain(k, end.Add(-time.Duration(n-len(values))*time.Millisecond)) {
			if len(values) < n {
				values = append(values, raw)
			}
		}
	}
	// The first pass's merges are not this one's.
	if err := e.settle(ctx); err != nil {
		return err
	}
	const topic, db = "bench.mixed", "bench_mixed"
	c, err := e.produceAndStart(ctx, topic, db, values)
	if err != nil {
		return err
	}
	defer c.cmd.Process.Kill()
	names := e2eNames{mixed: true}
	d, err := e.drain(ctx, c, "SELECT count() FROM "+db+".events", n, names)
	if err != nil {
		return err
	}
	rss, err := peakRSS(c.cmd.Process.Pid)
	if err != nil {
		return err
	}
	if err := c.stop(); err != nil {
		return err
	}
	if err := e.rawInsertFigures(ctx, d, values, db+"_raw", names); err != nil {
		return err
	}
	figure("collector_peak_rss_mixed", float64(rss)/(1<<20), "MB")
	tables, filled, err := e.factsAgree(ctx, db, db+"_raw")
	if err != nil {
		return err
	}
	figure("e2e_mixed_kpi_fact_tables_agreeing_with_raw_insert", float64(tables), "tables")
	figure("e2e_mixed_kpi_fact_tables_with_rows", float64(filled), "tables")
	return nil
}

// e2eNames names a drain's figures: the all-releases pass's names, or
// the mixed pass's.
type e2eNames struct{ mixed bool }

// of returns the figure base for the all-releases pass and mixed for the
// mixed pass.
func (nm e2eNames) of(base, mixed string) string {
	if nm.mixed {
		return mixed
	}
	return base
}

// drained is what a drain measured that later figures need.
type drained struct {
	chPID     int
	events    uint64 // the events of the window (after the first rows)
	inserts   uint64
	perInsert uint64
	collector time.Duration // the collector's CPU in the window
	server    time.Duration // the server's CPU in the window
	rate      float64       // events per second in the window
}

// produceAndStart puts values on topic, then starts a collector on topic
// into db.
func (e *benchEnv) produceAndStart(ctx context.Context, topic, db string, values [][]byte) (*child, error) {
	pstart := time.Now()
	if err := e.produce(ctx, topic, values, false); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "produced %d events to %s in %s\n", len(values), topic, time.Since(pstart).Round(time.Millisecond))
	return e.startCollector(topic, db)
}

// drain waits until q counts n events and measures the window from the
// first rows queryable to the last: the rate, the collector's and the
// server's CPU, the server's inserts and parts.
func (e *benchEnv) drain(ctx context.Context, c *child, q string, n int, nm e2eNames) (drained, error) {
	pid := c.cmd.Process.Pid
	chPID, err := serverPID()
	if err != nil {
		return drained{}, err
	}
	var firstAt time.Time
	var firstN uint64
	var cpuFirst, chFirst time.Duration
	var evFirst serverEvents
	polls := 0
	lastN, lastAt := uint64(0), time.Now()
	for {
		polls++
		got, err := e.count(ctx, q)
		if err != nil {
			return drained{}, err
		}
		if got > 0 && firstAt.IsZero() {
			firstAt, firstN = time.Now(), got
			cpuFirst, _ = cpuTime(pid)
			chFirst, _ = cpuTime(chPID)
			if evFirst, err = e.serverEvents(ctx); err != nil {
				return drained{}, err
			}
		}
		if got >= uint64(n) {
			break
		}
		if ctx.Err() != nil {
			return drained{}, ctx.Err()
		}
		// A collector that stops storing fails the bench instead of
		// hanging it.
		if got != lastN {
			lastN, lastAt = got, time.Now()
		} else if time.Since(lastAt) > stallLimit {
			return drained{}, fmt.Errorf("no progress in %s: %d of %d events stored: %s", stallLimit, got, n, c.stderr.String())
		}
		// A poll costs the server about a millisecond of CPU, which the
		// window's server CPU includes: poll often only at the window's
		// ends (the first rows, the last 5 %).
		if got == 0 || got >= uint64(n)*95/100 {
			time.Sleep(20 * time.Millisecond)
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	elapsed := time.Since(firstAt)
	cpuEnd, err := cpuTime(pid)
	if err != nil {
		return drained{}, err
	}
	chEnd, err := cpuTime(chPID)
	if err != nil {
		return drained{}, err
	}
	evEnd, err := e.serverEvents(ctx)
	if err != nil {
		return drained{}, err
	}
	d := drained{chPID: chPID, events: uint64(n) - firstN, collector: cpuEnd - cpuFirst, server: chEnd - chFirst}
	d.rate = float64(d.events) / elapsed.Seconds()
	// The inserts of the window (the writer's batches: events, its
	// duplicate checks' external tables are not inserts) and the parts
	// they and the views wrote.
	printServerWork(nm.of("e2e_events", "e2e_mixed_events"), evFirst, evEnd, d.events)
	// The server's CPU above includes this loop's polls: what they cost,
	// from as many again on the idle server.
	pollCPU, err := e.serverCPUOfCounts(ctx, chPID, polls, q)
	if err != nil {
		return drained{}, err
	}
	figure(nm.of("e2e_events_bench_polls", "e2e_mixed_events_bench_polls"), float64(polls), "queries")
	figure(nm.of("ch_server_cpu_per_million_events_e2e_bench_polls", "ch_server_cpu_per_million_events_e2e_mixed_bench_polls"), pollCPU.Seconds()*1e6/float64(d.events), "cpu-s")
	if d.inserts = evEnd["InsertQuery"] - evFirst["InsertQuery"]; d.inserts > 0 {
		d.perInsert = d.events / d.inserts
		figure(nm.of("e2e_events_per_insert", "e2e_mixed_events_per_insert"), float64(d.perInsert), "events")
	}
	return d, nil
}

// rawInsertFigures prints a drain's rate and CPU figures beside those of
// a raw insert of the same events into database rawDB.
func (e *benchEnv) rawInsertFigures(ctx context.Context, d drained, values [][]byte, rawDB string, nm e2eNames) error {
	ch0, err := cpuTime(d.chPID)
	if err != nil {
		return err
	}
	rawRate, err := rawInsertRate(ctx, e, values, rawDB)
	if err != nil {
		return err
	}
	ch1, err := cpuTime(d.chPID)
	if err != nil {
		return err
	}
	perMillion := func(t time.Duration, rows uint64) float64 { return t.Seconds() * 1e6 / float64(rows) }
	figure(nm.of("e2e_kafka_to_clickhouse_events_per_second", "e2e_mixed_kafka_to_clickhouse_events_per_second"), d.rate, "events/s")
	figure(nm.of("raw_clickhouse_insert_events_per_second", "raw_clickhouse_insert_events_per_second_mixed"), rawRate, "events/s")
	figure(nm.of("e2e_to_raw_insert_ratio", "e2e_mixed_to_raw_insert_ratio"), d.rate/rawRate, "ratio")
	figure(nm.of("collector_cpu_per_million_events", "collector_cpu_per_million_events_mixed"), perMillion(d.collector, d.events), "cpu-s")
	figure(nm.of("ch_server_cpu_per_million_events_e2e", "ch_server_cpu_per_million_events_e2e_mixed"), perMillion(d.server, d.events), "cpu-s")
	figure(nm.of("collector_and_ch_cpu_per_million_events_e2e", "collector_and_ch_cpu_per_million_events_e2e_mixed"), perMillion(d.collector+d.server, d.events), "cpu-s")
	figure(nm.of("ch_server_cpu_per_million_events_raw_insert", "ch_server_cpu_per_million_events_raw_insert_mixed"), perMillion(ch1-ch0, uint64(len(values))), "cpu-s")
	figure(nm.of("collector_events_per_cpu_second", "collector_events_per_cpu_second_mixed"), float64(d.events)/d.collector.Seconds(), "events/cpu-s")
	return nil
}

// factsAgree checks that every KPI fact table of database a (each target
// of a materialized view on its events) holds what the same table of
// database b holds: as many rows after merging (FINAL) and the same
// values, aggregate states finalized, floats rounded to 1e-6 (sums of
// floats in another order may differ in the last bits; floats in tuples
// and arrays are kept, being maxima or lists). The approximate
// quantile states (quantilesIf, a reservoir that depends on merge order)
// are compared by rows only, and so is event_ids (the writer's duplicate
// checks' table, not a fact: it keeps the time of storing). It returns
// the tables checked and how many of them have rows (a table that no event
// of the mix writes, such as kpi_suppliers, is empty in both).
func (e *benchEnv) factsAgree(ctx context.Context, a, b string) (tables, filled int, err error) {
	names, err := e.strings(ctx, `SELECT DISTINCT extract(create_table_query, ' TO [A-Za-z0-9_]+\\.([A-Za-z0-9_]+)') AS t
		FROM system.tables WHERE database = '`+a+`' AND engine = 'MaterializedView' AND t != ''
		AND match(as_select, 'FROM [A-Za-z0-9_]+\\.events([^A-Za-z0-9_]|$)') ORDER BY t`)
	if err != nil {
		return 0, 0, err
	}
	if len(names) == 0 {
		return 0, 0, fmt.Errorf("no KPI fact tables (views' targets) in %s", a)
	}
	for _, t := range names {
		var exprs []string
		rows, err := e.conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = ? ORDER BY position", a, t)
		if err != nil {
			return 0, 0, err
		}
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				rows.Close()
				return 0, 0, err
			}
			col := "`" + name + "`"
			switch {
			case strings.Contains(typ, "quantiles"), !strings.HasPrefix(t, "kpi_"):
				continue
			case strings.HasPrefix(typ, "AggregateFunction("):
				col = "finalizeAggregation(" + col + ")"
			}
			if strings.Contains(typ, "Float") && !strings.Contains(typ, "Tuple(") && !strings.Contains(typ, "Array(") {
				col = "round(" + col + ", 6)"
			}
			exprs = append(exprs, col)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, 0, err
		}
		sum := func(db string) (uint64, uint64, error) {
			var n, h uint64
			err := e.conn.QueryRow(ctx, "SELECT count(), sum(cityHash64(tuple("+strings.Join(append(exprs, "0"), ", ")+"))) FROM "+db+"."+t+" FINAL").Scan(&n, &h)
			return n, h, err
		}
		na, ha, err := sum(a)
		if err != nil {
			return 0, 0, fmt.Errorf("facts %s.%s: %w", a, t, err)
		}
		nb, hb, err := sum(b)
		if err != nil {
			return 0, 0, fmt.Errorf("facts %s.%s: %w", b, t, err)
		}
		if na != nb || ha != hb {
			return 0, 0, fmt.Errorf("KPI facts %s: %d rows in %s (hash %x), %d in %s (hash %x): the collector did not maintain them as a raw insert of the same events does", t, na, a, ha, nb, b, hb)
		}
		if na > 0 {
			filled++
		}
		fmt.Fprintf(os.Stderr, "KPI facts %s: %d rows, the same as the raw insert's\n", t, na)
	}
	return len(names), filled, nil
}

// duplicateCheckCPU is the server's CPU for k of the writer's duplicate
// checks (ExistingEvents) of size ids each after the n events of the run,
// as the writer's were: ids not stored yet, each batch's after those
// stored (the benchmark's ids grow).
func (e *benchEnv) duplicateCheckCPU(ctx context.Context, pid int, db string, k, size, n int) (time.Duration, error) {
	native, err := clickhouse.OpenNative(ctx, clickhouse.Config{Addr: []string{e.ch.NativeAddr()}, User: "default"})
	if err != nil {
		return 0, err
	}
	defer native.Close()
	store := clickhouse.NewStore(e.conn, db).WithNative(native)
	keys := make([]procure.EventKey, size)
	c0, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	for j := range k {
		for i := range keys {
			keys[i] = procure.EventKey{Tenant: "acme", ID: fmt.Sprintf("e2e-%08d", n+j*size+i)}
		}
		if _, err := store.ExistingEvents(ctx, keys); err != nil {
			return 0, err
		}
	}
	c1, err := cpuTime(pid)
	return c1 - c0, err
}

// serverCPUOfCounts is the server's CPU for n runs of the count q, one
// after the other.
func (e *benchEnv) serverCPUOfCounts(ctx context.Context, pid, n int, q string) (time.Duration, error) {
	c0, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	for range n {
		if _, err := e.count(ctx, q); err != nil {
			return 0, err
		}
	}
	c1, err := cpuTime(pid)
	return c1 - c0, err
}

// rawInsertRate inserts the same rows with clickhouse-go column batches of
// the collector's batch size into db, a database of the same schema.
func rawInsertRate(ctx context.Context, e *benchEnv, values [][]byte, db string) (float64, error) {
	cfg := clickhouse.Config{Database: db, RetentionDays: 3650}
	if err := clickhouse.Migrate(ctx, e.conn, cfg, e.log); err != nil {
		return 0, err
	}
	store := clickhouse.NewStore(e.conn, cfg.Database)
	rows := make([]procure.Received, len(values))
	now := time.Now()
	for i, v := range values {
		ev, err := procure.Decode(v)
		if err != nil {
			return 0, err
		}
		rows[i] = procure.Received{Event: ev, Raw: v, Channel: "kafka", ReceivedAt: now}
	}
	const batch = 10000 // the collector's default batch size
	start := time.Now()
	for off := 0; off < len(rows); off += batch {
		if err := store.InsertEvents(ctx, rows[off:min(off+batch, len(rows))]); err != nil {
			return 0, err
		}
	}
	return float64(len(rows)) / time.Since(start).Seconds(), nil
}

// httpBench posts batches of 1,000 events from 4 clients and reports the
// accepted events per second (accepted = on Kafka, acknowledged).
func httpBench(ctx context.Context, e *benchEnv, c *child, db string) error {
	const total, per, clients = 200_000, 1000, 4
	now := time.Now()
	bodies := make(chan []byte, total/per)
	for b := 0; b < total/per; b++ {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i := range per {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(benchEvent("http", b*per+i, now))
		}
		buf.WriteByte(']')
		bodies <- buf.Bytes()
	}
	close(bodies)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var accepted int
	var firstErr error
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.httpAddr+"/v1/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer bench-token")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				var out collector.Response
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				mu.Lock()
				if err != nil || resp.StatusCode != 200 {
					firstErr = fmt.Errorf("http ingest: status %d %v", resp.StatusCode, err)
				}
				accepted += out.Accepted
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	figure("http_ingest_events_per_second", float64(accepted)/time.Since(start).Seconds(), "events/s")
	if accepted != total {
		return fmt.Errorf("http ingest accepted %d of %d", accepted, total)
	}
	return nil
}

// stallLimit is how long the benchmark waits for the collector to store
// more before it fails (a stuck collector fails the run instead of
// hanging it).
const stallLimit = 2 * time.Minute

// latencyBench sends 5,000 events/s for 20 s, each stamped with its send
// time, and reads ingest-to-queryable latency from stored_at - received_at.
func latencyBench(ctx context.Context, e *benchEnv, topic, db string) error {
	const rate, seconds, tick = 5000, 20, 10 * time.Millisecond
	w := &kafkago.Writer{Addr: kafkago.TCP(e.brokers...), Topic: topic, Balancer: &kafkago.Murmur2Balancer{}, BatchTimeout: time.Millisecond, BatchSize: 1000, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	perTick := rate * int(tick) / int(time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	sent := 0
	start := time.Now()
	for sent < rate*seconds {
		<-t.C
		due := int(time.Since(start)*rate/time.Second) - sent
		due = max(min(due, 4*perTick), 0)
		msgs := make([]kafkago.Message, due)
		stamp := strconv.AppendInt(nil, time.Now().UnixMilli(), 10)
		for i := range msgs {
			msgs[i] = kafkago.Message{Key: []byte(strconv.Itoa(sent + i)), Value: benchEvent("lat", sent+i, time.Now()),
				Headers: []kafkago.Header{{Key: kafka.HeaderReceivedAt, Value: stamp}}}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			return err
		}
		sent += due
	}
	q := fmt.Sprintf("SELECT count() FROM %s.events WHERE startsWith(id, 'lat-')", db)
	end := time.Now()
	for {
		n, err := e.count(ctx, q)
		if err != nil {
			return err
		}
		if n >= uint64(sent) {
			break
		}
		if time.Since(end) > stallLimit {
			return fmt.Errorf("latency events: %d of %d stored %s after the last was sent", n, sent, stallLimit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var qs []float64
	if err := e.conn.QueryRow(ctx, fmt.Sprintf("SELECT quantilesExact(0.5, 0.99)(toFloat64(stored_at - received_at)) FROM %s.events WHERE startsWith(id, 'lat-')", db)).Scan(&qs); err != nil {
		return err
	}
	figure("ingest_to_queryable_p50_at_5000_eps", qs[0]*1000, "ms")
	figure("ingest_to_queryable_p99_at_5000_eps", qs[1]*1000, "ms")
	_ = slices.Max[[]float64]
	return nil
}
