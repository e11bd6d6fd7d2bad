package chdb

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	MaybeRunChild()
	os.Exit(m.Run())
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // includes a first download
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return s
}

func stopServer(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		engineLog, _ := os.ReadFile(strings.TrimSuffix(s.LogPath(), "chdb.log") + "clickhouse.log")
		t.Fatalf("stop: %v\nengine log:\n%s", err, engineLog)
	}
	// Reaped and gone: signal 0 to the pid must fail.
	if err := syscall.Kill(s.cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("child %d still exists after Stop (kill 0: %v)", s.cmd.Process.Pid, err)
	}
}

func openNative(t *testing.T, addr string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	if err != nil {
		t.Fatalf("open %s: %v", addr, err)
	}
	return conn
}

func httpQuery(t *testing.T, addr, q string) string {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post("http://"+addr+"/", "text/plain", strings.NewReader(q))
	if err != nil {
		t.Fatalf("http query: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("http query %q: %s %s", q, resp.Status, b)
	}
	return string(b)
}

type event struct {
	At       time.Time
	Supplier string
	Attrs    map[string]string
	Qty      uint32
}

func TestServerKeepsDataAcrossRestarts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	cfg := Config{Dir: dir, Logger: testLogger(t)}

	s := startServer(t, cfg)
	ctx := context.Background()
	conn := openNative(t, s.NativeAddr())
	for _, q := range []string{
		`CREATE DATABASE sw`,
		`CREATE TABLE sw.events (
			at       DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
			supplier LowCardinality(String),
			attrs    Map(String, String),
			qty      UInt32 CODEC(T64, LZ4),
			INDEX supplier_idx supplier TYPE bloom_filter GRANULARITY 1
		) ENGINE = MergeTree ORDER BY (supplier, at)
		TTL toDateTime(at) + INTERVAL 1 YEAR`,
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("exec %q: %v", q, err)
		}
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	want := []event{
		{now, "acme", map[string]string{"plant": "lyon"}, 10},
		{now.Add(time.Second), "bolt", map[string]string{"plant": "graz", "po": "4711"}, 20},
		{now.Add(2 * time.Second), "acme", map[string]string{}, 30},
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO sw.events")
	if err != nil {
		t.Fatalf("prepare batch: %v", err)
	}
	for _, e := range want {
		if err := batch.Append(e.At, e.Supplier, e.Attrs, e.Qty); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("send batch: %v", err)
	}
	checkEvents(t, conn, want)
	if got := httpQuery(t, s.HTTPAddr(), "SELECT supplier, sum(qty) FROM sw.events GROUP BY supplier ORDER BY supplier FORMAT TSV"); got != "acme\t40\nbolt\t20\n" {
		t.Fatalf("http: got %q", got)
	}
	conn.Close()
	stopServer(t, s)

	s = startServer(t, cfg)
	defer stopServer(t, s)
	conn = openNative(t, s.NativeAddr())
	defer conn.Close()
	checkEvents(t, conn, want)
}

func checkEvents(t *testing.T, conn driver.Conn, want []event) {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT at, supplier, attrs, qty FROM sw.events ORDER BY at")
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	var got []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.At, &e.Supplier, &e.Attrs, &e.Qty); err != nil {
			t.Fatalf("scan: %v", err)
		}
		got = append(got, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.At.Equal(w.At) || g.Supplier != w.Supplier || g.Qty != w.Qty || len(g.Attrs) != len(w.Attrs) {
			t.Fatalf("row %d: got %+v, want %+v", i, g, w)
		}
		for k, v := range w.Attrs {
			if g.Attrs[k] != v {
				t.Fatalf("row %d attrs: got %v, want %v", i, g.Attrs, w.Attrs)
			}
		}
	}
}

func TestStartFailsOnTakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), Config{Dir: t.TempDir(), TCPPort: port})
	if err == nil || !strings.Contains(err.Error(), "native port "+strconv.Itoa(port)) {
		t.Fatalf("got %v, want an error naming native port %d", err, port)
	}
}

func TestStartReportsEarlyExit(t *testing.T) {
	// A second engine on a data directory in use exits at once ("Cannot lock
	// file status"); the error must carry its output.
	dir := t.TempDir()
	s := startServer(t, Config{Dir: dir})
	defer stopServer(t, s)
	_, err := Start(context.Background(), Config{Dir: dir, StartTimeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "exited during start") {
		t.Fatalf("second engine on the same dir: got %v, want an early-exit error", err)
	}
	t.Logf("error as reported:\n%v", err)
}

func TestStopWithOpenConnections(t *testing.T) {
	s := startServer(t, Config{Dir: t.TempDir()})
	native := openNative(t, s.NativeAddr())
	defer native.Close()
	if err := native.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{} // keeps the connection alive after the request
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Get("http://" + s.HTTPAddr() + "/?query=SELECT+1")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	began := time.Now()
	stopServer(t, s)
	if took := time.Since(began); took > 4*time.Second {
		t.Fatalf("stop took %s with idle connections open", took)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg Config
		ok  bool
	}{
		"dir only is valid":        {Config{Dir: "x"}, true},
		"missing dir is invalid":   {Config{}, false},
		"same ports are invalid":   {Config{Dir: "x", TCPPort: 9000, HTTPPort: 9000}, false},
		"port out of range":        {Config{Dir: "x", HTTPPort: 70000}, false},
		"negative timeout invalid": {Config{Dir: "x", StartTimeout: -1}, false},
		"missing config file":      {Config{Dir: "x", ConfigFile: "/nonexistent/clickhouse.xml"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
