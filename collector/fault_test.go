package collector_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/internal/cutproxy"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
	"go.opentelemetry.io/otel/trace/noop"
)

func newCutProxy(t *testing.T, upstream string) *cutproxy.Proxy {
	t.Helper()
	p, err := cutproxy.New(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// pipeline is a collector as the service runs it (Kafka consumer, Writer,
// ClickHouse store with its native pool, dead-letter topic) whose ClickHouse
// is behind a cutProxy.
type pipeline struct {
	ch      *cutproxy.Proxy
	store   *clickhouse.Store // through the proxy
	direct  *clickhouse.Store // the server itself, for checks
	pub     *kafka.Publisher
	writer  *collector.Writer
	kcfg    kafka.Config
	broker  *kafka.Broker
	metrics *prometheus.Registry
	stop    func()
}

func newPipeline(t *testing.T, wcfg collector.WriterConfig, brokerDir string) *pipeline {
	t.Helper()
	conn, db, addr := chtest.DB(t)
	ctx := context.Background()
	var logw io.Writer = io.Discard
	if os.Getenv("FAULT_LOG") != "" {
		logw = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	if err := clickhouse.Migrate(ctx, conn, clickhouse.Config{Database: db, RetentionDays: 30}, log); err != nil {
		t.Fatal(err)
	}
	p := &pipeline{ch: newCutProxy(t, addr), metrics: prometheus.NewRegistry(), direct: clickhouse.NewStore(conn, db)}
	cfg := clickhouse.Config{Addr: []string{p.ch.Addr()}, Database: db}
	cfg.Defaults()
	pconn, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pconn.Close() })
	native, err := clickhouse.OpenNative(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(native.Close)
	p.store = clickhouse.NewStore(pconn, db).WithNative(native)
	b, err := kafka.StartEmbedded("127.0.0.1:0", brokerDir, 2, "events", "deadletter")
	if err != nil {
		t.Fatal(err)
	}
	p.broker = b
	t.Cleanup(func() { p.broker.Close() })
	p.kcfg = kafka.Config{Brokers: b.Addrs(), Topic: "events", DeadLetterTopic: "deadletter"}
	p.kcfg.Defaults()
	pub, err := kafka.NewPublisher(&p.kcfg)
	if err != nil {
		t.Fatal(err)
	}
	p.pub = pub
	t.Cleanup(func() { pub.Close() })
	m := collector.NewMetrics(p.metrics)
	p.writer = collector.NewWriter(wcfg, p.store, pub, log, m, noop.NewTracerProvider().Tracer(""))
	reader, err := p.kcfg.NewReader("events", "collector", log)
	if err != nil {
		t.Fatal(err)
	}
	cons := collector.NewConsumer(reader, p.writer, "collector", log, m)
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.writer.Run(rctx, 10*time.Second) }()
	go func() {
		defer wg.Done()
		defer reader.Close()
		if err := cons.Run(rctx); err != nil {
			t.Logf("consumer: %v", err)
		}
	}()
	var once sync.Once
	p.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(p.stop)
	return p
}

// producer writes events straight to the events topic, as an ERP would.
func (p *pipeline) producer(t *testing.T) *kafkago.Writer {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(p.kcfg.Brokers...), Topic: "events", BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafkago.RequireAll, MaxAttempts: 50,
		WriteBackoffMin: 50 * time.Millisecond, WriteBackoffMax: time.Second}
	t.Cleanup(func() { w.Close() })
	return w
}

func evMsg(id string) kafkago.Message {
	return kafkago.Message{Key: []byte("acme/po/" + id), Value: []byte(ev(id, "acme"))}
}

// stored is what the real server holds: rows and distinct ids in events.
func stored(t *testing.T, s *clickhouse.Store) (rows, ids uint64) {
	t.Helper()
	if err := s.Conn().QueryRow(context.Background(), "SELECT count(), uniqExact(id) FROM "+s.Database()+".events").Scan(&rows, &ids); err != nil {
		return 0, 0
	}
	return rows, ids
}

func outage() time.Duration {
	if v := os.Getenv("SUPPLYWATCH_FAULT_OUTAGE"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return 60 * time.Second
}

// ClickHouse unavailable for 60 s while events arrive at a steady rate:
// the writer reports itself not ready within stall_after, loses nothing,
// and stores the backlog once ClickHouse is back.
func TestClickHouseOutageLosesNothingAndReadinessFails(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, collector.WriterConfig{FlushInterval: 20 * time.Millisecond, StallAfter: 3 * time.Second, MaxBackoff: time.Second}, "")
	prod := p.producer(t)
	ctx := context.Background()
	const rate = 100 // events/s
	var sent atomic.Int64
	send := func(d time.Duration) {
		tick := time.NewTicker(time.Second / 10)
		defer tick.Stop()
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			<-tick.C
			msgs := make([]kafkago.Message, rate/10)
			for i := range msgs {
				msgs[i] = evMsg("o-" + strconv.FormatInt(sent.Add(1), 10))
			}
			if err := prod.WriteMessages(ctx, msgs...); err != nil {
				t.Errorf("produce: %v", err)
				return
			}
		}
	}
	send(2 * time.Second)
	waitFor(t, 20*time.Second, "events before the outage stored", func() bool { _, n := stored(t, p.direct); return n == uint64(sent.Load()) })
	if err := p.writer.Ready(); err != nil {
		t.Fatalf("not ready before the outage: %v", err)
	}

	p.ch.Cut()
	outageStart := time.Now()
	var notReadyAfter time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for time.Since(outageStart) < outage() {
			if notReadyAfter == 0 && p.writer.Ready() != nil {
				notReadyAfter = time.Since(outageStart)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	send(outage())
	<-done
	if notReadyAfter == 0 {
		t.Fatalf("the writer stayed ready through a %s ClickHouse outage", outage())
	}
	if err := p.writer.Ready(); err == nil {
		t.Fatal("the writer is ready at the end of the outage")
	}
	backlog := sent.Load()
	p.ch.Restore()
	restored := time.Now()
	send(2 * time.Second)
	waitFor(t, 60*time.Second, "all events stored after the outage", func() bool { _, n := stored(t, p.direct); return n == uint64(sent.Load()) })
	caughtUp := time.Since(restored)
	rows, ids := stored(t, p.direct)
	if rows != ids || ids != uint64(sent.Load()) {
		t.Fatalf("after the outage: %d rows of %d ids, %d sent", rows, ids, sent.Load())
	}
	waitFor(t, 10*time.Second, "ready again", func() bool { return p.writer.Ready() == nil })
	t.Logf("outage %s at %d events/s: not ready after %s; %d events sent by its end, all %d stored once %s after ClickHouse returned",
		outage(), rate, notReadyAfter.Round(100*time.Millisecond), backlog, ids, caughtUp.Round(100*time.Millisecond))
}

// The Kafka broker restarted while events arrive: the consumer reconnects
// and every event is stored once.
func TestKafkaBrokerRestartLosesNothing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "kafka")
	p := newPipeline(t, collector.WriterConfig{FlushInterval: 20 * time.Millisecond}, dir)
	prod := p.producer(t)
	ctx := context.Background()
	n := 0
	send := func(k int) {
		msgs := make([]kafkago.Message, k)
		for i := range msgs {
			n++
			msgs[i] = evMsg(fmt.Sprintf("k-%d", n))
		}
		if err := prod.WriteMessages(ctx, msgs...); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	send(500)
	waitFor(t, 20*time.Second, "first events stored", func() bool { _, s := stored(t, p.direct); return s == 500 })
	addr := p.broker.Addrs()[0]
	p.broker.Close()
	time.Sleep(2 * time.Second)
	b, err := kafka.StartEmbedded(addr, dir, 2, "events", "deadletter")
	if err != nil {
		t.Fatalf("restart the broker on %s: %v", addr, err)
	}
	p.broker = b
	send(500)
	waitFor(t, 60*time.Second, "events after the restart stored", func() bool { _, s := stored(t, p.direct); return s == 1000 })
	if rows, ids := stored(t, p.direct); rows != 1000 || ids != 1000 {
		t.Fatalf("after the broker restart: %d rows of %d ids, 1000 sent", rows, ids)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A row ClickHouse refuses for good (here a table constraint) is never
// retried as is: the batch is split, the row at fault goes to the dead
// letter with stage store, and every other row of the batch is stored.
func TestStoreRefusalDeadLettersTheRowAndStoresTheRest(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, collector.WriterConfig{FlushInterval: 200 * time.Millisecond}, "")
	ctx := context.Background()
	if err := p.direct.Conn().Exec(ctx, "ALTER TABLE "+p.direct.Database()+".events ADD CONSTRAINT no_poison CHECK id != 'poison-1'"); err != nil {
		t.Fatal(err)
	}
	msgs := make([]kafkago.Message, 0, 200)
	for i := range 200 {
		id := fmt.Sprintf("s-%d", i)
		if i == 117 {
			id = "poison-1"
		}
		msgs = append(msgs, evMsg(id))
	}
	if err := p.producer(t).WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "199 events stored", func() bool { _, n := stored(t, p.direct); return n == 199 })
	var stage, field, reason, eid string
	waitFor(t, 10*time.Second, "the poison row dead-lettered", func() bool {
		return p.direct.Conn().QueryRow(ctx, "SELECT stage, field, reason, event_id FROM "+p.direct.Database()+".rejected").Scan(&stage, &field, &reason, &eid) == nil
	})
	if stage != "store" || field != "store" || eid != "poison-1" || !strings.Contains(reason, "constraint") {
		t.Errorf("dead letter: stage %q field %q event %q reason %q", stage, field, eid, reason)
	}
	if err := p.writer.Ready(); err != nil {
		t.Errorf("not ready after dead-lettering: %v", err)
	}
	if got := counterValue(t, p.metrics, "supplywatch_writer_batch_failures_total", "deterministic"); got < 1 {
		t.Errorf("deterministic batch failures counted: %v", got)
	}
	if got := counterValue(t, p.metrics, "supplywatch_dead_letters_total", "store"); got != 1 {
		t.Errorf("dead letters of stage store counted: %v, want 1", got)
	}
}

// counterValue sums the samples of a metric family having a label of value v.
func counterValue(t *testing.T, reg *prometheus.Registry, name, v string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == v {
					sum += m.GetCounter().GetValue()
					break
				}
			}
		}
	}
	return sum
}

// Shutdown while ClickHouse is down and a batch is in flight: the batch is
// kept (not cleared as before) and written during the drain once
// ClickHouse answers again, then acknowledged.
func TestShutdownWritesTheBatchInFlight(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, collector.WriterConfig{FlushInterval: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, "")
	p.ch.Cut()
	ctx := context.Background()
	outcome := make(chan collector.Outcome, 1)
	r := &procure.Rejection{ReceivedAt: time.Now(), InputID: "http:in-flight", Channel: procure.ChannelHTTP, Tenant: "acme", Raw: []byte(`{"id":`), Field: "body", Reason: "unexpected end"}
	if err := p.writer.Submit(ctx, collector.Item{Rejection: r, Done: func(o collector.Outcome) { outcome <- o }}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the batch is being retried
	go func() { time.Sleep(time.Second); p.ch.Restore() }()
	p.stop() // drains for up to 10 s
	select {
	case o := <-outcome:
		if o != collector.Stored {
			t.Fatalf("outcome %v, want stored", o)
		}
	default:
		t.Fatal("the batch in flight at shutdown was not written")
	}
	var n uint64
	if err := p.direct.Conn().QueryRow(ctx, "SELECT count() FROM "+p.direct.Database()+".rejected WHERE input_id = 'http:in-flight'").Scan(&n); err != nil || n != 1 {
		var all uint64
		var ids []string
		p.direct.Conn().QueryRow(ctx, "SELECT count(), groupArray(input_id) FROM "+p.direct.Database()+".rejected").Scan(&all, &ids)
		t.Fatalf("rejected rows %d (%v), want 1; all %d %v", n, err, all, ids)
	}
}
