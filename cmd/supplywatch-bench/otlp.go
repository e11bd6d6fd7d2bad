package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/debug"
	"time"

	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector/otlp/otlpbench"
)

// otlpBench runs the OTLP span benchmark in a child process of its own, so
// that its peak RSS is the OTLP path's alone (this process holds the Kafka
// broker and the collector benchmark's data).
func otlpBench(ctx context.Context, e *benchEnv) error {
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=otlp", "SUPPLYWATCH_BENCH_CH_ADDR="+e.ch.NativeAddr())
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	// The schema first, so that the server CPU counted is the spans'.
	if err := clickhouse.Migrate(ctx, e.conn, clickhouse.Config{Database: "bench_otlp", RetentionDays: 3650}, e.log); err != nil {
		return err
	}
	chPID, err := serverPID()
	if err != nil {
		return err
	}
	idle, err := idleServerCPU(chPID, 5*time.Second)
	if err != nil {
		return err
	}
	figure("ch_server_idle_cpu_per_second", idle, "cpu-s/s")
	from := time.Now()
	ev0, err := e.serverEvents(ctx)
	if err != nil {
		return err
	}
	ch0, err := cpuTime(chPID)
	if err != nil {
		return err
	}
	if err := cmd.Run(); err != nil {
		return err
	}
	ch1, err := cpuTime(chPID)
	if err != nil {
		return err
	}
	// The child sends otlpbench's default of 1,000,000 spans.
	figure("ch_server_cpu_per_million_spans_otlp", (ch1 - ch0).Seconds(), "cpu-s")
	figure("otlp_window_seconds", time.Since(from).Seconds(), "s")
	ev1, err := e.serverEvents(ctx)
	if err != nil {
		return err
	}
	printServerWork("otlp_spans", ev0, ev1, 1_000_000)
	return nil
}

// runOTLPChild is the child: 1,000,000 spans from the OpenTelemetry SDK
// (traces of 5 spans, 8 string attributes each) into the otlp handler.
func runOTLPChild() int {
	// The runtime settings app.ConfigureProcess gives a collector process.
	debug.SetMemoryLimit(200 << 20)
	debug.SetGCPercent(400)
	ctx := context.Background()
	chCfg := clickhouse.Config{Addr: []string{os.Getenv("SUPPLYWATCH_BENCH_CH_ADDR")}, User: "default"}
	chCfg.Defaults()
	conn, err := clickhouse.Open(ctx, chCfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer conn.Close()
	native, err := clickhouse.OpenNative(ctx, chCfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer native.Close()
	res, err := otlpbench.RunSpanBench(ctx, otlpbench.Config{Conn: conn, Native: native, Database: "bench_otlp", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		CPUProfile: os.Getenv("SUPPLYWATCH_BENCH_OTLP_CPUPROFILE")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlp bench:", err)
		return 1
	}
	res.Print(os.Stdout)
	return 0
}
