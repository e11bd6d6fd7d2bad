package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/app"
	"github.com/supplywatch/supplywatch/chdb"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/rules"
)

// runCmd runs a role (or everything, for run) until ctx ends.
func runCmd(ctx context.Context, args []string, roles app.Roles) error {
	fs := flag.NewFlagSet(roles.Name, flag.ExitOnError)
	var simulate, demo *bool
	if roles == app.RoleRun {
		simulate = fs.Bool("simulate", false, "also run the traffic simulator")
		demo = fs.Bool("demo", false, "create demo ingest tokens and one console user per role (tenant acme), printed once at start")
	}
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	app.ConfigureProcess(cfg)
	log := newLogger(cfg.LogLevel)
	var d *app.Demo
	if demo != nil && *demo {
		if d, err = app.LoadDemo(cfg.DataDir); err != nil {
			return err
		}
		d.Apply(&cfg)
	}
	roles.Simulate = simulate != nil && *simulate
	a, err := app.Start(ctx, cfg, roles, log)
	if err != nil {
		return err
	}
	if roles.Name == app.RoleRun.Name {
		printBanner(a, roles.Simulate)
	}
	if d != nil {
		signIns, err := d.SignIns(ctx, a)
		if err != nil {
			return err
		}
		printDemo(a, d, signIns)
	}
	return a.Run(ctx)
}

func printBanner(a *app.App, simulate bool) {
	c := a.Config()
	fmt.Fprintf(os.Stdout, `
supplywatch %s is running
  console and API      http://%s
  event ingest         POST http://%s/v1/events
  OTLP/HTTP traces     POST http://%s/v1/traces
  health, metrics      http://%s/healthz  /readyz  /metrics
  kafka                %v   topic %s, dead letter %s
  clickhouse           native %v, http %s, database %s
  simulator            %v
Press Ctrl-C to stop.

`, app.Version, a.HTTPAddr(), a.HTTPAddr(), a.HTTPAddr(), a.HTTPAddr(), c.Kafka.Brokers, c.Kafka.Topic, c.Kafka.DeadLetterTopic,
		c.ClickHouse.Addr, c.ClickHouse.HTTPAddr, c.ClickHouse.Database, onOff(simulate))
}

// printDemo shows the demo credentials on the terminal (never in the log).
func printDemo(a *app.App, d *app.Demo, signIns []console.SignIn) {
	fmt.Printf("Demo ingest tokens (tenant %s; --demo only, secrets kept in %s/demo-secret)\n", d.Tenant, a.Config().DataDir)
	for _, t := range d.Tokens() {
		fmt.Printf("  %-12s %s  (%s)", t.Name, t.Token.Token, t.Use)
		if t.HMACSecret != "" {
			fmt.Printf("  hmac secret %s", t.HMACSecret)
		}
		fmt.Println()
	}
	fmt.Printf("Demo sign-ins (tenant %s) at http://%s/\n", d.Tenant, a.HTTPAddr())
	for _, s := range signIns {
		fmt.Printf("  %-12s %-22s password %s", s.Role, s.Login, s.Password)
		if len(s.Plants) > 0 {
			fmt.Printf("  (plants %v)", s.Plants)
		}
		fmt.Println()
	}
	fmt.Println()
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
		// With an embedded ClickHouse, `run` migrates at start; this is for
		// tools that want the schema without a running supplywatch.
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
		return runCmd(ctx, args[1:], app.RoleRules)
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
// embedded broker is not started: with kafka.embedded it publishes to the
// embedded broker's address, that of a running `supplywatch run`).
func simulateCmd(ctx context.Context, args []string) error {
	cfg, err := loadConfig(flag.NewFlagSet("simulate", flag.ExitOnError), args)
	if err != nil {
		return err
	}
	if cfg.Kafka.Embedded {
		cfg.Kafka.Embedded, cfg.Kafka.Brokers = false, []string{cfg.Kafka.EmbeddedAddr}
	}
	cfg.ClickHouse.Embedded = false
	app.ConfigureProcess(cfg)
	log := newLogger(cfg.LogLevel)
	a, err := app.Start(ctx, cfg, app.Roles{Name: "simulate", Simulate: true}, log)
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
	rep, err := rules.Backtest(ctx, clickhouse.NewHistory(conn, cfg.ClickHouse.Database), rs, *rule, d, time.Now())
	if err != nil {
		return err
	}
	return rep.Print(os.Stdout)
}

// versionCmd prints the version; --json adds the revision and Go version.
func versionCmd(args []string) error {
	fs := flag.NewFlagSet("version", flag.ExitOnError)
	asJSON := fs.Bool("json", false, "print the build information as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b := app.Build()
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(b)
	}
	mod := ""
	if b.Modified {
		mod = " (modified)"
	}
	fmt.Printf("supplywatch %s revision %s%s %s\n", b.Version, b.Revision, mod, b.GoVersion)
	return nil
}

// kafkaCmd runs the embedded Kafka (kfake) alone: several brokers in one
// process, for tests that kill supplywatch processes around it and for
// tools. Not for production.
func kafkaCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("kafka", flag.ExitOnError)
	brokers := fs.Int("brokers", 3, "number of brokers")
	partitions := fs.Int("partitions", 6, "partitions of the topics")
	topics := fs.String("topics", "supplywatch.events,supplywatch.deadletter", "comma-separated topics to create")
	addrFile := fs.String("addr-file", "", "write the comma-separated broker addresses to this file once ready")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := kafka.StartCluster(*brokers, *partitions, strings.Split(*topics, ",")...)
	if err != nil {
		return err
	}
	defer b.Close()
	addrs := strings.Join(b.Addrs(), ",")
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile+".tmp", []byte(addrs), 0o644); err != nil {
			return err
		}
		if err := os.Rename(*addrFile+".tmp", *addrFile); err != nil {
			return err
		}
	}
	fmt.Printf("embedded kafka: %d brokers at %s\n", *brokers, addrs)
	<-ctx.Done()
	return nil
}
