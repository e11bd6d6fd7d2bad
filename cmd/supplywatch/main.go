// Command supplywatch runs the supplywatch services.
//
//	supplywatch run       everything in one process (collector, API; simulator with --simulate)
//	supplywatch collect   the collector: Kafka consumer, HTTP and OTLP ingest
//	supplywatch rules     the rules engine; rules test DIR runs rule fixtures
//	supplywatch migrate   apply the ClickHouse and Postgres migrations and exit
//	supplywatch simulate  publish realistic procurement traffic
//	supplywatch chdb      run the embedded ClickHouse alone (for tests and tools)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/supplywatch/supplywatch/app"
	"github.com/supplywatch/supplywatch/chdb"
)

func main() {
	chdb.MaybeRunChild()
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "run":
		err = runCmd(ctx, args, app.Roles{Collect: true, Serve: true, Rules: true, Console: true}, true)
	case "collect":
		err = runCmd(ctx, args, app.Roles{Collect: true, Serve: true}, false)
	case "rules":
		err = rulesCmd(ctx, args)
	case "user":
		err = userCmd(ctx, args)
	case "migrate":
		err = migrateCmd(ctx, args)
	case "simulate":
		err = simulateCmd(ctx, args)
	case "chdb":
		err = chdbCmd(ctx, args)
	case "-h", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "supplywatch: unknown command %q\n\n", cmd)
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "supplywatch %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: supplywatch <command> [flags]

commands:
  run       run everything in one process: embedded services if configured,
            collector, API, and the simulator with --simulate
  collect   run the collector (Kafka consumer, HTTP and OTLP ingest)
  rules     rules run: the rules engine and SLA timers (Postgres);
            rules test DIR: run rule fixture files; rules check DIR: load rule files
  user      user add --login L --role R [--tenant T] [--email E] [--plants P01,P02]:
            create a console user (the first admin); prints a generated password
  migrate   apply the ClickHouse and Postgres migrations and exit
  simulate  publish realistic procurement traffic to Kafka (and spans over OTLP)
  chdb      run the embedded ClickHouse alone until interrupted

Every command takes --config FILE (YAML); SUPPLYWATCH_* environment
variables override it. See README.md.
`)
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func loadConfig(fs *flag.FlagSet, args []string) (app.Config, error) {
	path := fs.String("config", os.Getenv("SUPPLYWATCH_CONFIG"), "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		return app.Config{}, err
	}
	return app.LoadConfig(*path)
}
