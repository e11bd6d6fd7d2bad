package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/gin-gonic/gin"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/app"
	"github.com/supplywatch/supplywatch/chdb"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/kafka"
)

const childEnv = "SUPPLYWATCH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "collect" {
		os.Exit(runChild())
	}
	gin.SetMode(gin.ReleaseMode) // what main does (app.ConfigureProcess)
	chtest.Main(m)
}

// runChild is the collector process the tests start, kill and restart.
func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := app.LoadConfig(os.Getenv("SUPPLYWATCH_CONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Start(ctx, cfg, app.Roles{Name: "collect", Collect: true, Ingest: true}, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if f := os.Getenv("SUPPLYWATCH_TEST_ADDR_FILE"); f != "" {
		os.WriteFile(f+".tmp", []byte(a.HTTPAddr()), 0o644)
		os.Rename(f+".tmp", f)
	}
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type env struct {
	conn    driver.Conn
	db      string
	chAddr  string
	broker  *kafka.Broker
	brokers string
	topic   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	conn, db, addr := chtest.DB(t)
	b, err := kafka.StartEmbedded("127.0.0.1:0", "", 4, "events", "deadletter")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return &env{conn: conn, db: db, chAddr: addr, broker: b, brokers: strings.Join(b.Addrs(), ","), topic: "events"}
}

// configFile is a configuration naming e's brokers (no broker is an
// error): tests load it and set the rest in code.
func (e *env) configFile(t *testing.T) string {
	t.Helper()
	var quoted []string
	for _, b := range strings.Split(e.brokers, ",") {
		quoted = append(quoted, strconv.Quote(b))
	}
	path := filepath.Join(t.TempDir(), "supplywatch.yaml")
	if err := os.WriteFile(path, []byte("kafka: {brokers: ["+strings.Join(quoted, ", ")+"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// collector is a collector child process.
type collector struct {
	cmd      *exec.Cmd
	httpAddr string
	stderr   *bytes.Buffer
}

func (e *env) startCollector(t *testing.T, extra ...string) *collector {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnv+"=collect",
		"SUPPLYWATCH_TEST_ADDR_FILE="+addrFile,
		"SUPPLYWATCH_CLICKHOUSE_ADDR="+e.chAddr,
		"SUPPLYWATCH_CLICKHOUSE_DATABASE="+e.db,
		"SUPPLYWATCH_KAFKA_BROKERS="+e.brokers,
		"SUPPLYWATCH_KAFKA_TOPIC="+e.topic,
		"SUPPLYWATCH_KAFKA_DEAD_LETTER_TOPIC=deadletter",
		"SUPPLYWATCH_HTTP_ADDR=127.0.0.1:0",
		"SUPPLYWATCH_WRITER_BATCH_SIZE=2000",
		"SUPPLYWATCH_WRITER_FLUSH_INTERVAL=100ms",
		"SUPPLYWATCH_WRITER_MAX_BACKOFF=300ms",
	)
	cmd.Env = append(cmd.Env, extra...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &collector{cmd: cmd, stderr: &stderr}
	t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(addrFile); err == nil {
			c.httpAddr = string(b)
			return c
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("collector did not start: %s", stderr.String())
	return nil
}

func (c *collector) kill(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

func (c *collector) stop(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("collector exit: %v\n%s", err, c.stderr.String())
	}
}

func event(i int, tenant string) string {
	return fmt.Sprintf(`{"id":"e-%06d","type":"po.released","source":"erp","tenant":"%s","occurred_at":"2026-05-12T08:%02d:%02d.000Z","correlation_id":"c-%d","plant":"P01","supplier":"S%04d","document":{"kind":"po","id":"45%08d","version":1},"data":{"order_type":"standard","currency":"EUR","lines":[{"line":10,"item":"M-%d","quantity":%d,"unit":"C62","unit_price":1.5,"need_by":"2026-06-01"}]}}`,
		i, tenant, (i/60)%60, i%60, i, i%400, i, i%97, 1+i%50)
}

func (e *env) produce(t *testing.T, values ...string) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(strings.Split(e.brokers, ",")...), Topic: e.topic, Balancer: &kafkago.Hash{}, BatchTimeout: 5 * time.Millisecond, BatchSize: 1000, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	msgs := make([]kafkago.Message, len(values))
	for i, v := range values {
		msgs[i] = kafkago.Message{Key: []byte(fmt.Sprint(i % 13)), Value: []byte(v)}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func (e *env) count(t *testing.T, query string) uint64 {
	t.Helper()
	var n uint64
	if err := e.conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitFor polls query until it returns want (or fails after timeout).
func (e *env) waitFor(t *testing.T, query string, want uint64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got uint64
	for time.Now().Before(deadline) {
		if got = e.count(t, query); got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s = %d, want %d", query, got, want)
}

func TestEventsOverKafkaAndHTTPAreStoredOnceAndInvalidOnesRejected(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, "SUPPLYWATCH_INGEST_RATE_PER_SECOND=1000000")
	// Write the token into the collector: tokens come from YAML only, so use
	// a config file.
	_ = c
	var values []string
	for i := range 500 {
		values = append(values, event(i, "acme"))
	}
	values = append(values, values[:100]...) // redelivered duplicates
	values = append(values,
		`{"id":"bad-1","type":"po.released","source":"erp","tenant":"acme"}`,
		`not json at all`,
		strings.Replace(event(9999, "acme"), `"quantity":`, `"quantity":"x","q":`, 1),
	)
	e.produce(t, values...)
	e.waitFor(t, "SELECT count() FROM events", 500, 60*time.Second)
	e.waitFor(t, "SELECT count() FROM rejected", 3, 30*time.Second)
	if n := e.count(t, "SELECT uniqExact(id) FROM events"); n != 500 {
		t.Errorf("distinct ids = %d, want 500", n)
	}
	var reason, field string
	if err := e.conn.QueryRow(context.Background(), "SELECT field, reason FROM rejected WHERE event_id = 'bad-1'").Scan(&field, &reason); err != nil {
		t.Fatal(err)
	}
	if field != "occurred_at" || reason != "is required" {
		t.Errorf("bad-1 rejected with %q %q, want occurred_at / is required", field, reason)
	}
	// Redelivering everything again changes nothing.
	e.produce(t, values...)
	time.Sleep(2 * time.Second)
	if n := e.count(t, "SELECT count() FROM events"); n != 500 {
		t.Errorf("after redelivery count = %d, want 500", n)
	}
	if n := e.count(t, "SELECT count() FROM rejected"); n != 3 {
		t.Errorf("rejected after redelivery = %d, want 3 (redelivered bad inputs are one row each)", n)
	}
	c.stop(t)
	if _, err := http.Get("http://" + c.httpAddr + "/healthz"); err == nil {
		t.Error("collector still serving after stop")
	}
}

func TestCollectorKilledMidStreamLosesNothingAndDoublesNothing(t *testing.T) {
	e := newEnv(t)
	const n = 30000
	var values []string
	for i := range n {
		values = append(values, event(i, "acme"))
	}
	e.produce(t, values...)
	c := e.startCollector(t)
	// Kill it as soon as some but not all are stored.
	deadline := time.Now().Add(60 * time.Second)
	for e.count(t, "SELECT count() FROM events") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	c.kill(t)
	stored := e.count(t, "SELECT count() FROM events")
	t.Logf("killed with %d of %d stored", stored, n)
	// More traffic while it is down, some of it repeating what was sent.
	e.produce(t, values[:5000]...)
	c2 := e.startCollector(t)
	e.waitFor(t, "SELECT count() FROM events", n, 90*time.Second)
	if got := e.count(t, "SELECT uniqExact(id) FROM events"); got != n {
		t.Errorf("distinct ids = %d, want %d", got, n)
	}
	time.Sleep(time.Second)
	if got := e.count(t, "SELECT count() FROM events"); got != n {
		t.Errorf("count settled at %d, want %d", got, n)
	}
	c2.stop(t)
}

func TestClickHouseDownForAWhileThenEverythingArrives(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := chdb.Start(ctx, chdb.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop(context.Background()) })
	tcp, _ := strconv.Atoi(srv.NativeAddr()[strings.LastIndexByte(srv.NativeAddr(), ':')+1:])
	httpPort, _ := strconv.Atoi(srv.HTTPAddr()[strings.LastIndexByte(srv.HTTPAddr(), ':')+1:])
	b, err := kafka.StartEmbedded("127.0.0.1:0", "", 4, "events", "deadletter")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	e := &env{db: "supplywatch", chAddr: srv.NativeAddr(), broker: b, brokers: strings.Join(b.Addrs(), ","), topic: "events"}
	connect := func() {
		conn, err := clickhouse.Open(ctx, clickhouse.Config{Addr: []string{e.chAddr}, User: "default"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		e.conn = conn
	}
	connect()
	c := e.startCollector(t)
	var values []string
	for i := range 5000 {
		values = append(values, event(i, "acme"))
	}
	e.produce(t, values[:2000]...)
	e.waitFor(t, "SELECT count() FROM supplywatch.events", 2000, 60*time.Second)

	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	e.produce(t, values[2000:]...)
	time.Sleep(3 * time.Second) // the writer retries meanwhile
	srv, err = chdb.Start(ctx, chdb.Config{Dir: dir, TCPPort: tcp, HTTPPort: httpPort})
	if err != nil {
		t.Fatal(err)
	}
	connect()
	e.waitFor(t, "SELECT count() FROM supplywatch.events", 5000, 60*time.Second)
	if got := e.count(t, "SELECT uniqExact(id) FROM supplywatch.events"); got != 5000 {
		t.Errorf("distinct = %d, want 5000", got)
	}
	c.stop(t)
}
