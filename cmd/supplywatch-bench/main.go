// Command supplywatch-bench measures supplywatch on this machine and prints
// one figure per line as "name: value unit". It starts its own embedded
// ClickHouse and Kafka, runs the collector as a child process (so its CPU
// time and peak RSS are its own), and compares against baselines measured
// in the same run. `make bench` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/supplywatch/supplywatch/app"
	"github.com/supplywatch/supplywatch/chdb"
	"github.com/supplywatch/supplywatch/collector/otlp/otlpbench"
)

const childEnv = "SUPPLYWATCH_BENCH_CHILD"

func main() {
	chdb.MaybeRunChild()
	otlpbench.MaybeRunSender()
	switch os.Getenv(childEnv) {
	case "collect":
		os.Exit(runCollector())
	case "otlp":
		os.Exit(runOTLPChild())
	}
	events := flag.Int("events", 1_000_000, "events for the throughput runs")
	mixed := flag.Int("mixed-events", 1_000_000, "events of the order chains for the collector's second end-to-end pass (0: none)")
	only := flag.String("only", "", "run only benchmarks whose name contains this")
	backlog := flag.Int("outage-backlog", 1_000_000, "events waiting when ClickHouse returns in the outage run")
	outage := flag.Duration("outage", 60*time.Second, "how long ClickHouse is unreachable in the outage run")
	// The rows of the server-CPU run (chcost): enough for each
	// configuration to cost seconds of server CPU, few enough to run the
	// views one by one.
	costEvents := flag.Int("cost-events", 300_000, "events per configuration of the server-CPU run (chcost)")
	costSpans := flag.Int("cost-spans", 500_000, "spans per configuration of the server-CPU run (chcost)")
	costEachView := flag.Bool("cost-each-view", true, "measure every materialized view on its own in the server-CPU run (chcost)")
	spanVariant := flag.String("cost-span-variant", "", "run only these spans variants (comma-separated names) of the server-CPU run (chcost_spans)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *events, *mixed, *only, *backlog, *outage, *costEvents, *costSpans, *costEachView, *spanVariant); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// runCollector is the child: a collector configured by the environment.
func runCollector() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f := os.Getenv("SUPPLYWATCH_BENCH_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err == nil && pprof.StartCPUProfile(out) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	cfg, err := app.LoadConfig(os.Getenv("SUPPLYWATCH_CONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app.ConfigureProcess(cfg)
	a, err := app.Start(ctx, cfg, app.Roles{Name: "collect", Collect: true, Ingest: true}, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if f := os.Getenv("SUPPLYWATCH_BENCH_ADDR_FILE"); f != "" {
		os.WriteFile(f+".tmp", []byte(a.HTTPAddr()), 0o644)
		os.Rename(f+".tmp", f)
	}
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
