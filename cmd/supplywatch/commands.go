package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/app"
	"github.com/supplywatch/supplywatch/chdb"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/rules"
)

func runCmd(ctx context.Context, args []string, roles app.Roles, banner bool) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	simulate := fs.Bool("simulate", false, "also run the traffic simulator")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	roles.Simulate = roles.Simulate || *simulate
	a, err := app.Start(ctx, cfg, roles, log)
	if err != nil {
		return err
	}
	if banner {
		printBanner(a, *simulate)
		signIns, err := a.DemoSignIns(ctx, "acme")
		if err != nil {
			return err
		}
		if len(signIns) > 0 {
			fmt.Println("Demo sign-ins (tenant acme) at http://" + a.HTTPAddr() + "/")
			for _, s := range signIns {
				fmt.Printf("  %-12s %-22s password %s", s.Role, s.Login, s.Password)
				if len(s.Plants) > 0 {
					fmt.Printf("  (plants %v)", s.Plants)
				}
				fmt.Println()
			}
			fmt.Println()
		}
	}
	return a.Run(ctx)
}

func printBanner(a *app.App, simulate bool) {
	c := a.Config()
	fmt.Fprintf(os.Stdout, `
supplywatch is running
  console and API      http://%s
  event ingest         POST http://%s/v1/events    (Authorization: Bearer demo-erp-token)
  OTLP/HTTP traces     POST http://%s/v1/traces    (OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%%20demo-otlp-token)
  health, metrics      http://%s/healthz  /readyz  /metrics
  kafka                %v   topic %s, dead letter %s
  clickhouse           native %v, http %s, database %s
  simulator            %v
Press Ctrl-C to stop.

`, a.HTTPAddr(), a.HTTPAddr(), a.HTTPAddr(), a.HTTPAddr(), c.Kafka.Brokers, c.Kafka.Topic, c.Kafka.DeadLetterTopic,
		c.ClickHouse.Addr, c.ClickHouse.HTTPAddr, c.ClickHouse.Database, onOff(simulate))
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func migrateCmd(ctx context.Context, args []string) error {
	cfg, err := loadConfig(flag.NewFlagSet("migrate", flag.ExitOnError), args)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	if cfg.ClickHouse.Embedded {
		srv, err := chdb.Start(ctx, chdb.Config{Dir: cfg.ClickHouse.DataDir, Logger: log})
		if err != nil {
			return err
		}
		defer srv.Stop(context.Background())
		cfg.ClickHouse.Addr = []string{srv.NativeAddr()}
	}
	conn, err := clickhouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := clickhouse.Migrate(ctx, conn, cfg.ClickHouse, log); err != nil {
		return err
	}
	fmt.Println("clickhouse schema is up to date")
	if err := postgres.EnsureDatabase(ctx, cfg.Postgres); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.Postgres)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, log); err != nil {
		return err
	}
	fmt.Println("postgres schema is up to date")
	return nil
}

func rulesCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: supplywatch rules run|test DIR|check DIR|backtest --rule ID --since 30d")
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], app.Roles{Rules: true}, false)
	case "backtest":
		return backtestCmd(ctx, args[1:])
	case "test":
		if len(args) != 2 {
			return fmt.Errorf("usage: supplywatch rules test DIR")
		}
		report, ok := rules.RunFixtures(args[1])
		fmt.Print(report)
		if !ok {
			os.Exit(1)
		}
		return nil
	case "check":
		if len(args) != 2 {
			return fmt.Errorf("usage: supplywatch rules check DIR")
		}
		rs, err := rules.LoadDir(args[1], time.Now())
		if err != nil {
			return err
		}
		fmt.Printf("%s: rule files load and type-check (%v)\n", args[1], rs)
		return nil
	}
	return fmt.Errorf("unknown rules command %q", args[0])
}

// simulateCmd publishes simulated traffic to the configured Kafka (the
// embedded broker is not started: point it at a running supplywatch or a
// real cluster with SUPPLYWATCH_KAFKA_BROKERS).
func simulateCmd(ctx context.Context, args []string) error {
	cfg, err := loadConfig(flag.NewFlagSet("simulate", flag.ExitOnError), args)
	if err != nil {
		return err
	}
	if cfg.Kafka.Embedded() {
		cfg.Kafka.Brokers = []string{cfg.Kafka.EmbeddedAddr}
	}
	cfg.ClickHouse.Embedded = false
	log := newLogger(cfg.LogLevel)
	a, err := app.Start(ctx, cfg, app.Roles{Simulate: true}, log)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func chdbCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("chdb", flag.ExitOnError)
	dir := fs.String("dir", "var/clickhouse", "data directory")
	tcp := fs.Int("tcp-port", 9000, "native protocol port (0: any free port)")
	httpPort := fs.Int("http-port", 8123, "HTTP port (0: any free port)")
	addrFile := fs.String("addr-file", "", "write the native address to this file once ready")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger("info")
	srv, err := chdb.Start(ctx, chdb.Config{Dir: *dir, TCPPort: *tcp, HTTPPort: *httpPort, Logger: log})
	if err != nil {
		return err
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(srv.NativeAddr()), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("embedded clickhouse: native %s, http %s, data %s\n", srv.NativeAddr(), srv.HTTPAddr(), *dir)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return srv.Stop(sctx)
}

// backtestCmd replays history from ClickHouse through one rule.
func backtestCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backtest", flag.ExitOnError)
	rule := fs.String("rule", "", "rule id")
	since := fs.String("since", "30d", "how far back: a Go duration or N followed by d (days)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(*since, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("--since %q: %v", *since, err)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else if d, err = time.ParseDuration(*since); err != nil {
		return fmt.Errorf("--since %q: %v", *since, err)
	}
	if *rule == "" {
		return fmt.Errorf("--rule is required")
	}
	rs, err := rules.LoadDir(cfg.Rules.Dir, time.Now())
	if err != nil {
		return err
	}
	conn, err := clickhouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer conn.Close()
	rep, err := rules.Backtest(ctx, conn, cfg.ClickHouse.Database, rs, *rule, d, time.Now())
	if err != nil {
		return err
	}
	return rep.Print(os.Stdout)
}
