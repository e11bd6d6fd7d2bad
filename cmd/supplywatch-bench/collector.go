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
	if e.broker, err = kafka.StartEmbedded("127.0.0.1:0", "", 6, "bench.events", "bench.events.dlq"); err != nil {
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

// collectorThroughput: N events already on the topic; the collector drains
// them into ClickHouse. Also HTTP ingest and steady-rate latency on the same
// collector, and its CPU and peak RSS.
func collectorBench(ctx context.Context, e *benchEnv, n int) error {
	now := time.Now()
	values := make([][]byte, n)
	for i := range values {
		values[i] = benchEvent("e2e", i, now.Add(-time.Duration(n-i)*time.Millisecond))
	}
	const topic, db = "bench.events", "bench"
	pstart := time.Now()
	if err := e.produce(ctx, topic, values, false); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "produced %d events in %s\n", n, time.Since(pstart).Round(time.Millisecond))
	c, err := e.startCollector(topic, db)
	if err != nil {
		return err
	}
	defer c.cmd.Process.Kill()
	pid := c.cmd.Process.Pid
	chPID, err := serverPID()
	if err != nil {
		return err
	}
	q := "SELECT count() FROM " + db + ".events"
	var firstAt time.Time
	var firstN uint64
	var cpuFirst, chFirst time.Duration
	var evFirst serverEvents
	polls := 0
	for {
		polls++
		got, err := e.count(ctx, q)
		if err != nil {
			return err
		}
		if got > 0 && firstAt.IsZero() {
			firstAt, firstN = time.Now(), got
			cpuFirst, _ = cpuTime(pid)
			chFirst, _ = cpuTime(chPID)
			if evFirst, err = e.serverEvents(ctx); err != nil {
				return err
			}
		}
		if got >= uint64(n) {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
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
		return err
	}
	chEnd, err := cpuTime(chPID)
	if err != nil {
		return err
	}
	evEnd, err := e.serverEvents(ctx)
	if err != nil {
		return err
	}
	// The inserts of the window (the writer's batches: events, its
	// duplicate checks' external tables are not inserts) and the parts
	// they and the views wrote.
	printServerWork("e2e_events", evFirst, evEnd, uint64(n)-firstN)
	// The server's CPU above includes this loop's polls: what they cost,
	// from as many again on the idle server.
	pollCPU, err := e.serverCPUOfCounts(ctx, chPID, polls, q)
	if err != nil {
		return err
	}
	figure("e2e_events_bench_polls", float64(polls), "queries")
	figure("ch_server_cpu_per_million_events_e2e_bench_polls", pollCPU.Seconds()*1e6/float64(uint64(n)-firstN), "cpu-s")
	if inserts := evEnd["InsertQuery"] - evFirst["InsertQuery"]; inserts > 0 {
		perInsert := (uint64(n) - firstN) / inserts
		figure("e2e_events_per_insert", float64(perInsert), "events")
		// And the writer's duplicate checks (one before each insert):
		// as many again, of as many ids each, on the idle server.
		lookupCPU, err := e.duplicateCheckCPU(ctx, chPID, db, int(inserts), int(perInsert), n)
		if err != nil {
			return err
		}
		figure("ch_server_cpu_per_million_events_e2e_duplicate_checks", lookupCPU.Seconds()*1e6/float64(uint64(n)-firstN), "cpu-s")
	}
	e2eRate := float64(uint64(n)-firstN) / elapsed.Seconds()
	cpu := cpuEnd - cpuFirst
	perCPU := float64(uint64(n)-firstN) / cpu.Seconds()

	chCPU := chEnd - chFirst
	ch0, err := cpuTime(chPID)
	if err != nil {
		return err
	}
	rawRate, err := rawInsertRate(ctx, e, values)
	if err != nil {
		return err
	}
	ch1, err := cpuTime(chPID)
	if err != nil {
		return err
	}
	perMillion := func(d time.Duration, rows uint64) float64 { return d.Seconds() * 1e6 / float64(rows) }
	figure("e2e_kafka_to_clickhouse_events_per_second", e2eRate, "events/s")
	figure("raw_clickhouse_insert_events_per_second", rawRate, "events/s")
	figure("e2e_to_raw_insert_ratio", e2eRate/rawRate, "ratio")
	figure("collector_cpu_per_million_events", perMillion(cpu, uint64(n)-firstN), "cpu-s")
	figure("ch_server_cpu_per_million_events_e2e", perMillion(chCPU, uint64(n)-firstN), "cpu-s")
	figure("collector_and_ch_cpu_per_million_events_e2e", perMillion(cpu+chCPU, uint64(n)-firstN), "cpu-s")
	figure("ch_server_cpu_per_million_events_raw_insert", perMillion(ch1-ch0, uint64(n)), "cpu-s")
	figure("collector_events_per_cpu_second", perCPU, "events/cpu-s")

	if err := httpBench(ctx, e, c, db); err != nil {
		return err
	}
	// Let the collector drain what HTTP put on the topic before measuring
	// latency at a steady rate.
	for {
		got, err := e.count(ctx, q)
		if err != nil {
			return err
		}
		if got >= uint64(n)+200_000 {
			break
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
	return c.stop()
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
// the collector's batch size into a database of the same schema.
func rawInsertRate(ctx context.Context, e *benchEnv, values [][]byte) (float64, error) {
	cfg := clickhouse.Config{Database: "bench_raw", RetentionDays: 3650}
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
	for {
		n, err := e.count(ctx, q)
		if err != nil {
			return err
		}
		if n >= uint64(sent) {
			break
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
