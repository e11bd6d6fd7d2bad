// Command supplywatch runs the supplywatch services.
//
//	supplywatch run        everything in one process (local use; demo users with --demo)
//	supplywatch serve      the console, API, Slack interactions and ingest endpoints
//	supplywatch collect    the collector: Kafka consumer into ClickHouse
//	supplywatch rules run  rules, SLA timers, retries, KPI refresh, Slack alerts
//	supplywatch migrate    apply the ClickHouse and Postgres migrations and exit
//	supplywatch simulate   publish realistic procurement traffic
//	supplywatch version    the version of this binary
//	supplywatch chdb       run the embedded ClickHouse alone (for tests and tools)
//	supplywatch kafka      run the embedded Kafka alone (for tests and tools)
//
// main parses the command line, makes the process-wide settings
// (app.ConfigureProcess) and runs the app until SIGINT or SIGTERM.
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
		err = runCmd(ctx, args, app.RoleRun)
	case "serve":
		err = runCmd(ctx, args, app.RoleServe)
	case "collect":
		err = runCmd(ctx, args, app.RoleCollect)
	case "version":
		err = versionCmd(args)
	case "kafka":
		err = kafkaCmd(ctx, args)
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

commands (each role serves /healthz, /readyz and /metrics on http.addr):
  run       everything in one process, for local use: embedded services if
            configured (embedded: true), every role below, the simulator with
            --simulate, demo tokens and users with --demo
  serve     the console and API, Slack interactions, event/OTLP/B2B ingest
  collect   the collector: Kafka consumer into ClickHouse
  rules     rules run: rules, SLA timers, automatic retries, KPI refresh and
            Slack alerts; rules test DIR: run rule fixture files;
            rules check DIR: load rule files; rules backtest --rule ID
  user      user add --login L --role R [--tenant T] [--email E] [--plants P01,P02]:
            create a console user (the first admin); prints a generated password
  migrate   apply the ClickHouse and Postgres migrations and exit
  simulate  publish realistic procurement traffic to Kafka (and spans over OTLP)
  version   print the version (--json: with revision and Go version)
  chdb      run the embedded ClickHouse alone until interrupted
  kafka     run the embedded Kafka alone until interrupted (--brokers N)

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
