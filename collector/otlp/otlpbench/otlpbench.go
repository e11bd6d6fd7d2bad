// Package otlpbench measures the OTLP/HTTP trace ingest the way an operator
// would meet it: spans sent by the OpenTelemetry Go SDK's otlptracehttp
// exporter to the otlp handler on loopback, stored by a real collector
// Writer into ClickHouse.
//
// The SDK runs in a child process (this binary, re-executed), so the
// figures are the collector's alone: CPU time (user + system, getrusage of
// this process, which runs the handler, the Writer and the ClickHouse
// client) and peak RSS (VmHWM of this process). ClickHouse itself runs
// elsewhere (the embedded server is a child process of its own) and is not
// counted. A binary using RunSpanBench must call MaybeRunSender first thing
// in main (or TestMain).
package otlpbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/ch-go/chpool"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/collector/otlp"
)

// Config describes one run.
type Config struct {
	// Conn, Native and Database name the ClickHouse to store into (the
	// collector's two connection pools, clickhouse.Open and OpenNative);
	// the schema is applied to Database.
	Conn     driver.Conn
	Native   *chpool.Pool
	Database string
	// Spans is how many spans to send (default 1,000,000), in traces of
	// SpansPerTrace (default 5), each span with 8 string attributes.
	Spans         int
	SpansPerTrace int
	// Senders is how many SDK TracerProviders export at once (default 3,
	// as issue 15 measured): one BatchSpanProcessor (MaxExportBatchSize
	// 2048, blocking) exports one request at a time and waits for its
	// answer, which comes once the spans are stored, so the collector must
	// write as soon as no other request is coming (writer.linger).
	Senders int
	// Gzip makes the exporters compress (the SDK's default is not to).
	Gzip bool
	// Writer tunes the collector's Writer (its defaults when zero).
	Writer collector.WriterConfig
	// Handler tunes the otlp handler (its defaults when zero).
	Handler otlp.Config
	Logger  *slog.Logger
	// CPUProfile, when set, is a file to write the collector's CPU profile
	// of the run to (go tool pprof).
	CPUProfile string
}

// Result is what one run measured.
type Result struct {
	Spans        int           // spans sent
	Stored       uint64        // rows in spans afterwards
	Wall         time.Duration // first request to last answer
	CPU          time.Duration // collector CPU, user + system
	PeakRSSBytes int64         // VmHWM of the collector process
}

// SpansPerCPUSecond is the collector's efficiency.
func (r Result) SpansPerCPUSecond() float64 { return float64(r.Spans) / r.CPU.Seconds() }

// Print writes the figures as "name: value unit" lines.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "otlp_spans_per_cpu_second: %.0f spans/cpu-s\n", r.SpansPerCPUSecond())
	fmt.Fprintf(w, "otlp_peak_rss: %d MB\n", r.PeakRSSBytes>>20)
	fmt.Fprintf(w, "otlp_spans_per_second: %.0f spans/s\n", float64(r.Spans)/r.Wall.Seconds())
	fmt.Fprintf(w, "otlp_collector_cpu: %.2f s\n", r.CPU.Seconds())
	fmt.Fprintf(w, "otlp_collector_cpu_per_million_spans: %.2f cpu-s\n", r.CPU.Seconds()*1e6/float64(r.Spans))
	fmt.Fprintf(w, "otlp_spans_stored: %d spans\n", r.Stored)
}

const (
	envSender = "SUPPLYWATCH_OTLPBENCH_SENDER"
	benchTok  = "otlpbench-token"
)

// MaybeRunSender turns the process into the SDK sender when it was started
// as one by RunSpanBench; otherwise it returns at once.
func MaybeRunSender() {
	spec := os.Getenv(envSender)
	if spec == "" {
		return
	}
	if err := runSender(spec); err != nil {
		fmt.Fprintln(os.Stderr, "otlpbench sender:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// RunSpanBench sends cfg.Spans spans and measures the collector side.
func RunSpanBench(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Spans == 0 {
		cfg.Spans = 1_000_000
	}
	if cfg.SpansPerTrace == 0 {
		cfg.SpansPerTrace = 5
	}
	if cfg.Senders == 0 {
		cfg.Senders = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	log := cfg.Logger
	if err := clickhouse.Migrate(ctx, cfg.Conn, clickhouse.Config{Database: cfg.Database, RetentionDays: 3650}, log); err != nil {
		return Result{}, fmt.Errorf("otlpbench: migrate: %w", err)
	}
	store := clickhouse.NewStore(cfg.Conn, cfg.Database).WithNative(cfg.Native)
	wctx, stopWriter := context.WithCancel(ctx)
	w := collector.NewWriter(cfg.Writer, store, nil, log, collector.NewMetrics(prometheus.NewRegistry()), noop.NewTracerProvider().Tracer(""))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(wctx, 10*time.Second) }()
	defer func() { stopWriter(); wg.Wait() }()

	auth := otlp.AuthenticatorFunc(func(r *http.Request, _ []byte) (string, error) {
		if r.Header.Get("Authorization") != "Bearer "+benchTok {
			return "", errors.New("unknown token")
		}
		return "bench", nil
	})
	h, err := otlp.New(cfg.Handler, auth, w, log, nil)
	if err != nil {
		return Result{}, fmt.Errorf("otlpbench: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, fmt.Errorf("otlpbench: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	exe, err := os.Executable()
	if err != nil {
		return Result{}, fmt.Errorf("otlpbench: %w", err)
	}
	spec := strings.Join([]string{"http://" + ln.Addr().String() + otlp.Path, strconv.Itoa(cfg.Spans), strconv.Itoa(cfg.SpansPerTrace),
		strconv.Itoa(cfg.Senders), strconv.FormatBool(cfg.Gzip)}, ",")
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), envSender+"="+spec)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr

	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return Result{}, fmt.Errorf("otlpbench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return Result{}, fmt.Errorf("otlpbench: %w", err)
		}
	}
	cpu0 := cpuTime()
	start := time.Now()
	err = cmd.Run()
	if cfg.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return Result{}, fmt.Errorf("otlpbench: sender: %w", err)
	}
	res := Result{Spans: cfg.Spans, Wall: time.Since(start), CPU: cpuTime() - cpu0}
	if res.PeakRSSBytes, err = peakRSS(); err != nil {
		return res, err
	}
	// Every answer came after its spans were stored: count them now.
	if err := cfg.Conn.QueryRow(ctx, "SELECT count() FROM "+cfg.Database+".spans_v2").Scan(&res.Stored); err != nil {
		return res, fmt.Errorf("otlpbench: count spans: %w", err)
	}
	return res, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is VmHWM of this process.
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("otlpbench: peak rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("otlpbench: peak rss: %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("otlpbench: peak rss: no VmHWM in /proc/self/status")
}

// runSender is the child: senders TracerProviders, each with the SDK's
// batch processor (blocking, so no span is dropped) and otlptracehttp
// exporter, share the traces to send.
func runSender(spec string) error {
	p := strings.Split(spec, ",")
	if len(p) != 5 {
		return fmt.Errorf("bad spec %q", spec)
	}
	url := p[0]
	spans, err1 := strconv.Atoi(p[1])
	perTrace, err2 := strconv.Atoi(p[2])
	senders, err3 := strconv.Atoi(p[3])
	gz, err4 := strconv.ParseBool(p[4])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return fmt.Errorf("bad spec %q: %w", spec, err)
	}
	ctx := context.Background()
	traces := spans / perTrace
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		n := traces / senders
		if s < traces%senders {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := send(ctx, url, s, n, perTrace, gz); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func send(ctx context.Context, url string, sender, traces, perTrace int, gz bool) error {
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(url),
		otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + benchTok}),
	}
	if gz {
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return err
	}
	systems := []string{"sap-s4", "ariba", "edi-gateway", "wms", "qms", "coupa"}
	res := sdkresource.NewSchemaless(
		attribute.String("service.name", systems[sender%len(systems)]+"-bridge"),
		attribute.String("service.instance.id", fmt.Sprintf("bridge-%d", sender)),
		attribute.String("deployment.environment", "bench"),
	)
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res),
		sdktrace.WithBatcher(exp, sdktrace.WithBlocking(), sdktrace.WithMaxQueueSize(8192), sdktrace.WithMaxExportBatchSize(2048)))
	tr := tp.Tracer("supplywatch/otlpbench")
	steps := []string{"receive PO", "map IDoc", "validate", "send to portal", "acknowledge"}
	for i := range traces {
		po := strconv.Itoa(4500000000 + sender*10_000_000 + i)
		attrs := []attribute.KeyValue{
			attribute.String("supplywatch.correlation_id", fmt.Sprintf("corr-%d-%d", sender, i)),
			attribute.String("po.number", po),
			attribute.String("supplier", fmt.Sprintf("S%04d", i%400)),
			attribute.String("plant", fmt.Sprintf("P%02d", i%6+1)),
			attribute.String("source.system", systems[i%len(systems)]),
			attribute.String("target.system", systems[(i+1)%len(systems)]),
			attribute.String("document.type", "po"),
			attribute.String("message.id", "msg-"+po),
		}
		rctx, root := tr.Start(ctx, steps[0], trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		for j := 1; j < perTrace; j++ {
			_, c := tr.Start(rctx, steps[j%len(steps)], trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
			c.End()
		}
		root.End()
	}
	return tp.Shutdown(ctx)
}
