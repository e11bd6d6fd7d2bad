// Package app wires supplywatch together: it starts the embedded services
// when asked, connects the adapters (ClickHouse, Kafka) to the engines
// (collector), serves the HTTP API and stops it all in order. It is the one
// place that knows every package; main and the end-to-end tests call it.
package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ClickHouse/ch-go/chpool"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/b2b/intake"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/chdb"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/collector/otlp"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/procure/schema"
	"github.com/supplywatch/supplywatch/rules"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Roles are the parts of supplywatch a process runs. Every process with a
// role serves /healthz, /readyz and /metrics on http.addr; any number of
// processes of each role may run against the same Kafka, ClickHouse and
// Postgres (consumer groups, row locks and idempotent writes share the
// work).
type Roles struct {
	// Name is the role in logs and supplywatch_build_info: run, serve,
	// collect or rules.
	Name     string
	Collect  bool // the Kafka consumer that stores events in ClickHouse
	Ingest   bool // HTTP ingest (events, OTLP traces, B2B) and the B2B drop folder
	Console  bool // the console API and web UI, the KPI API and Slack interactions (Postgres)
	Rules    bool // rules, SLA timers, automatic retries, KPI refresh and the alert pipeline (Postgres)
	Simulate bool // the traffic simulator
}

// The roles of the binary's commands.
var (
	RoleRun     = Roles{Name: "run", Collect: true, Ingest: true, Console: true, Rules: true}
	RoleServe   = Roles{Name: "serve", Ingest: true, Console: true}
	RoleCollect = Roles{Name: "collect", Collect: true}
	RoleRules   = Roles{Name: "rules", Rules: true}
)

func (r Roles) serves() bool { return r.Collect || r.Ingest || r.Console || r.Rules }

// App is a running supplywatch process.
type App struct {
	cfg   Config
	roles Roles
	log   *slog.Logger

	chdb          *chdb.Server
	broker        *kafka.Broker
	conn          driver.Conn
	native        *chpool.Pool
	store         *clickhouse.Store
	pub           *kafka.Publisher
	writer        *collector.Writer
	metrics       *collector.Metrics
	registry      *prometheus.Registry
	tracerP       *sdktrace.TracerProvider
	tracer        trace.Tracer
	listener      net.Listener
	router        *gin.Engine
	simTracers    *simTracers
	pg            *postgres.DB
	exceptions    *postgres.ExceptionStore
	partners      *partner.Registry
	b2bControls   intake.ControlNumbers // nil: derived from the document
	evaluator     *rules.Evaluator
	ruleSet       *rules.RuleSet
	alerts        *alerts.Dispatcher
	kpiRefresher  *kpi.Refresher // nil unless the rules role runs here
	console       *console.Console
	consoleWriter *kafkago.Writer
	reloader      *rules.Reloader
	rulesProc     *rules.Processor // readiness: no progress while holding work
	lagMetrics    *kafka.LagMetrics
	lagMonitors   []*kafka.LagMonitor // readiness: a group's committed offsets behind and not moving
	// parts are the long-running parts, in start order; Run runs them.
	parts []part
	// closers release what the parts hold once they have all returned.
	closers []func()
}

// add puts a long-running part on the process's list.
func (a *App) add(name string, r Runner) { a.parts = append(a.parts, part{name: name, r: r}) }

// monitorLag measures group's lag on topic from its committed offsets, for
// /metrics and /readyz (see kafka.LagMonitor).
func (a *App) monitorLag(topic, group string, stallAfter time.Duration) error {
	if a.lagMetrics == nil {
		a.lagMetrics = kafka.NewLagMetrics(a.registry)
	}
	m, err := a.cfg.Kafka.NewLagMonitor(topic, group, stallAfter, a.lagMetrics, a.log.With("component", "kafka lag", "group", group))
	if err != nil {
		return err
	}
	a.lagMonitors = append(a.lagMonitors, m)
	a.add("kafka lag of "+group, m)
	return nil
}

// Start brings up the infrastructure (embedded services if configured,
// schemas, Kafka topics), the listener and the list of long-running parts
// of roles, but runs nothing yet. On error, what was started is stopped.
// Process-wide settings (GC, gin's mode) are main's: see ConfigureProcess.
func Start(ctx context.Context, cfg Config, roles Roles, log *slog.Logger) (_ *App, err error) {
	if roles.Name == "" {
		roles.Name = "custom"
	}
	a := &App{cfg: cfg, roles: roles, log: log.With("role", roles.Name), registry: prometheus.NewRegistry()}
	log = a.log
	defer func() {
		if err != nil {
			a.stopInfra()
		}
	}()
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerBuildInfo(a.registry, roles.Name)
	a.tracerP = newTracerProvider(ctx, cfg.Telemetry, log)
	a.tracer = a.tracerP.Tracer("github.com/supplywatch/supplywatch")

	if cfg.ClickHouse.Embedded {
		if err := a.startClickHouse(ctx); err != nil {
			return nil, err
		}
	}
	if a.cfg.Kafka.Embedded {
		b, err := kafka.StartEmbedded(a.cfg.Kafka.EmbeddedAddr, a.cfg.Kafka.EmbeddedDataDir, a.cfg.Kafka.Partitions,
			a.cfg.Kafka.Topic, a.cfg.Kafka.DeadLetterTopic)
		if err != nil {
			return nil, err
		}
		a.broker = b
		a.cfg.Kafka.Brokers = b.Addrs()
		log.Info("embedded kafka broker started", "addr", b.Addrs())
	}
	if a.conn, err = clickhouse.Open(ctx, a.cfg.ClickHouse); err != nil {
		return nil, err
	}
	if !a.cfg.SkipMigrations {
		if err := clickhouse.Migrate(ctx, a.conn, a.cfg.ClickHouse, log); err != nil {
			return nil, err
		}
	}
	if a.native, err = clickhouse.OpenNative(ctx, a.cfg.ClickHouse); err != nil {
		return nil, err
	}
	a.store = clickhouse.NewStore(a.conn, a.cfg.ClickHouse.Database).WithNative(a.native)
	if err := a.cfg.Kafka.EnsureTopics(ctx, log, a.cfg.Kafka.Topic, a.cfg.Kafka.DeadLetterTopic); err != nil {
		return nil, err
	}
	if a.pub, err = kafka.NewPublisher(&a.cfg.Kafka); err != nil {
		return nil, err
	}
	if roles.Rules || roles.Console {
		if err := a.startPostgres(ctx); err != nil {
			return nil, err
		}
	}
	if roles.Rules || roles.Console {
		// The console describes the rules in force and the alerts use
		// their business calendars.
		if err := a.startRules(); err != nil {
			return nil, err
		}
	}
	if roles.Collect || roles.Ingest || roles.Rules {
		// The rules role writes too: what it cannot apply goes to the
		// dead letter (rejected table and topic) through the writer.
		a.metrics = collector.NewMetrics(a.registry)
		a.writer = collector.NewWriter(a.cfg.Writer, a.store, a.pub, log.With("component", "writer"), a.metrics, a.tracer)
		drain := a.cfg.Collector.DrainTimeout
		a.add("writer", RunnerFunc(func(ctx context.Context) error { return a.writer.Run(ctx, drain) }))
	}
	if roles.Collect {
		reader, err := a.cfg.Kafka.NewReader(a.cfg.Kafka.Topic, a.cfg.Collector.Group, log.With("component", "kafka"))
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, func() { reader.Close() })
		a.add("consumer", collector.NewConsumer(reader, a.writer, a.cfg.Collector.Group, log.With("component", "consumer"), a.metrics))
		if err := a.monitorLag(a.cfg.Kafka.Topic, a.cfg.Collector.Group, a.cfg.Writer.StallAfter); err != nil {
			return nil, err
		}
	}
	if roles.Console {
		if err := a.startConsole(); err != nil {
			return nil, err
		}
	}
	if roles.serves() {
		if a.listener, err = net.Listen("tcp", a.cfg.HTTP.Addr); err != nil {
			return nil, fmt.Errorf("http listen %s: %w", a.cfg.HTTP.Addr, err)
		}
		if a.router, err = a.routes(); err != nil {
			return nil, err
		}
	}
	if roles.Console && !roles.Rules {
		a.add("rules reloader", a.reloader)
	}
	if roles.Rules {
		if err := a.addRules(); err != nil {
			return nil, err
		}
		if err := a.addAnalytics(ctx); err != nil {
			return nil, err
		}
	}
	if roles.Console && a.cfg.Slack.Token != "" && a.cfg.Slack.SigningSecret != "" {
		if err := a.registerSlackInteractions(); err != nil {
			return nil, err
		}
	}
	if roles.Ingest {
		if err := a.addB2B(ctx); err != nil {
			return nil, err
		}
	}
	if a.router != nil {
		a.add("http", a.httpServer())
	}
	if roles.Simulate {
		a.simTracers = &simTracers{cfg: a.cfg.SimulatorTraces}
		if a.listener != nil && a.cfg.SimulatorTraces.Endpoint == "http://"+a.cfg.HTTP.Addr+"/v1/traces" {
			a.simTracers.cfg.Endpoint = "http://" + a.HTTPAddr() + "/v1/traces"
		}
		a.add("simulator", RunnerFunc(func(ctx context.Context) error {
			defer a.simTracers.shutdown(context.Background())
			return a.runSimulator(ctx)
		}))
	}
	return a, nil
}

// httpServer serves the router until ctx ends, then stops taking requests
// and waits for those in flight (long-lived streams are closed after 10 s).
func (a *App) httpServer() Runner {
	srv := &http.Server{Handler: a.router, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	return RunnerFunc(func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(a.listener) }()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			a.log.Info("http: closing connections still open after 10s", "err", err)
			srv.Close()
		}
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
}

func (a *App) startClickHouse(ctx context.Context) error {
	tcp, err := portOf(a.cfg.ClickHouse.Addr[0])
	if err != nil {
		return fmt.Errorf("clickhouse.addr: %w", err)
	}
	httpPort, err := portOf(a.cfg.ClickHouse.HTTPAddr)
	if err != nil {
		return fmt.Errorf("clickhouse.http_addr: %w", err)
	}
	srv, err := chdb.Start(ctx, chdb.Config{Dir: a.cfg.ClickHouse.DataDir, TCPPort: tcp, HTTPPort: httpPort, Logger: a.log.With("component", "chdb")})
	if err != nil {
		return fmt.Errorf("embedded clickhouse: %w", err)
	}
	a.chdb = srv
	a.cfg.ClickHouse.Addr = []string{srv.NativeAddr()}
	a.cfg.ClickHouse.HTTPAddr = srv.HTTPAddr()
	a.log.Info("embedded clickhouse started", "native", srv.NativeAddr(), "http", srv.HTTPAddr(), "dir", a.cfg.ClickHouse.DataDir)
	return nil
}

func portOf(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}

// Config is the configuration in force, with embedded services' addresses.
func (a *App) Config() Config { return a.cfg }

// HTTPAddr is the address the API listens on.
func (a *App) HTTPAddr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// Store is the ClickHouse fact store.
func (a *App) Store() *clickhouse.Store { return a.store }

// Publisher is the Kafka publisher.
func (a *App) Publisher() *kafka.Publisher { return a.pub }

// Run runs the process's parts until ctx is done or one fails, then stops
// them together within stop_timeout (each part hands back what it holds:
// HTTP stops taking requests, consumers stop fetching, the writer stores
// and commits what was fetched), then closes the producers and the
// embedded services.
func (a *App) Run(ctx context.Context) error {
	defer a.stopInfra()
	a.log.Info("supplywatch running", "http", "http://"+a.HTTPAddr(), "kafka", a.cfg.Kafka.Brokers, "clickhouse", a.cfg.ClickHouse.Addr)
	return runParts(ctx, a.parts, a.cfg.StopTimeout)
}

// stopInfra closes what Start opened, in reverse order.
func (a *App) stopInfra() {
	for _, c := range a.closers {
		c()
	}
	if a.pub != nil {
		if err := a.pub.Close(); err != nil {
			a.log.Warn("kafka publisher close", "err", err)
		}
	}
	if a.conn != nil {
		a.conn.Close()
	}
	if a.native != nil {
		a.native.Close()
	}
	if a.consoleWriter != nil {
		a.consoleWriter.Close()
	}
	if a.pg != nil {
		a.pg.Close()
	}
	if a.broker != nil {
		a.broker.Close()
	}
	if a.chdb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.chdb.Stop(ctx); err != nil {
			a.log.Warn("embedded clickhouse stop", "err", err)
		}
	}
	if a.tracerP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.tracerP.Shutdown(ctx)
	}
}

// routes is the HTTP API of the roles: ingest, console, KPI; health,
// readiness and metrics in every role.
func (a *App) routes() (*gin.Engine, error) {
	r := gin.New()
	if err := r.SetTrustedProxies(a.cfg.HTTP.TrustedProxies); err != nil {
		return nil, fmt.Errorf("http.trusted_proxies: %w", err)
	}
	r.Use(gin.Recovery(), httpMetrics(a.registry))
	if a.roles.Ingest {
		ingest, err := collector.NewIngest(a.cfg.Ingest, a.store, a.pub, a.writer, a.log.With("component", "ingest"), a.metrics)
		if err != nil {
			return nil, err
		}
		ingest.Register(r)
		ingest.RegisterSchema(r, schema.Names(), schema.File)
		traces, err := otlp.New(a.cfg.OTLP, ingest.OTLPAuthenticator(), a.writer, a.log.With("component", "otlp"), otlp.NewMetrics(a.registry))
		if err != nil {
			return nil, err
		}
		r.POST(otlp.Path, gin.WrapH(traces))
		if err := a.loadPartners(); err != nil {
			return nil, err
		}
		if a.partners != nil {
			ingest.RegisterB2B(r, func(tenant string) collector.B2BProcessor { return a.newIntake(tenant) })
		}
	}
	if a.console != nil {
		// The KPI API is tenant-wide: roles scoped to plants or a supplier
		// do not get it.
		q := kpi.NewQuerier(a.conn, a.cfg.ClickHouse.Database, a.cfg.KPI, nil)
		kpi.NewHandler(q, kpi.HandlerOptions{Tenant: console.TenantOf, Log: a.log.With("component", "kpi")}).
			Register(r, a.console.Guard(console.TenantWide...))
		a.console.Register(r)
	}
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok", "role": a.roles.Name}) })
	r.GET("/readyz", a.ready)
	r.GET("/metrics", a.metricsAuth, gin.WrapH(promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{})))
	return r, nil
}

// ready reports whether the stores the role uses answer and the writer,
// where there is one, is making progress (collector.Writer.Ready: not
// holding work unstored for writer.stall_after), and so are the consumer
// groups the role belongs to (kafka.LagMonitor.Ready: no partition behind
// with its committed offset still for the group's stall_after).
func (a *App) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := gin.H{}
	ok := true
	if err := a.conn.Ping(ctx); err != nil {
		checks["clickhouse"], ok = err.Error(), false
	} else {
		checks["clickhouse"] = "ok"
	}
	if a.pg != nil {
		if err := a.pg.Pool.Ping(ctx); err != nil {
			checks["postgres"], ok = err.Error(), false
		} else {
			checks["postgres"] = "ok"
		}
	}
	if a.writer != nil {
		if err := a.writer.Ready(); err != nil {
			checks["writer"], ok = err.Error(), false
		} else {
			checks["writer"] = "ok"
		}
	}
	if a.rulesProc != nil {
		if err := a.rulesProc.Ready(); err != nil {
			checks["rules"], ok = err.Error(), false
		} else {
			checks["rules"] = "ok"
		}
	}
	for _, m := range a.lagMonitors {
		name := "kafka_group " + m.Group()
		if err := m.Ready(); err != nil {
			checks[name], ok = err.Error(), false
		} else {
			checks[name] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "role": a.roles.Name, "checks": checks})
}

// metricsAuth lets a scraper in with the configured bearer token; with none
// configured, only loopback clients may read the metrics.
func (a *App) metricsAuth(c *gin.Context) {
	if tok := a.cfg.HTTP.MetricsToken; tok != "" {
		if subtle.ConstantTimeCompare([]byte(c.GetHeader("Authorization")), []byte("Bearer "+tok)) != 1 {
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": gin.H{"code": "unauthorized", "message": "metrics need the metrics bearer token"}})
		}
		return
	}
	if ip := net.ParseIP(c.RemoteIP()); ip == nil || !ip.IsLoopback() {
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": gin.H{"code": "forbidden", "message": "metrics are served to loopback only unless http.metrics_token is set"}})
	}
}
