// Package console is where people act on exceptions: the JSON API under
// /api/ (exception queue and detail, actions, groups, routing, retries,
// dead letter, plant inbound board, supplier view, live updates, the
// supplier-facing API) and the web app that uses it, served from the same
// gin engine.
//
// It authenticates people (local users with argon2id passwords, sessions in
// Postgres with CSRF protection, OIDC when configured) and machines (API
// tokens, supplier-scoped tokens), authorises every route by role, and
// passes each principal's scope (tenant, plants, supplier) to the stores,
// which enforce it in their queries. Every change is audited.
//
// It leaves storage to its Store (postgres.ConsoleStore) and Facts
// (clickhouse.Facts), message transport to a Publisher, and
// rule loading to a Reloader; it raises no exceptions itself.
package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
	"golang.org/x/sync/semaphore"
)

// Config is the console's configuration. The zero value, after Defaults,
// serves the API with local users only.
type Config struct {
	// PublicURL is how people reach the console; https:// marks cookies
	// Secure (they are also Secure on any TLS request).
	PublicURL string `yaml:"public_url" env:"PUBLIC_URL"`
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration `yaml:"session_ttl" env:"SESSION_TTL"`
	// RetryTopicPrefix + target is the topic a retry re-publishes to.
	RetryTopicPrefix string `yaml:"retry_topic_prefix" env:"RETRY_TOPIC_PREFIX"`
	// RedriveTopic is where a dead-letter redrive re-publishes the raw
	// input (the collector's input topic).
	RedriveTopic string `yaml:"redrive_topic" env:"REDRIVE_TOPIC"`
	// LivePoll is how often the outbox is read for live updates.
	LivePoll time.Duration `yaml:"live_poll" env:"LIVE_POLL"`
	// RouteNew applies the routing rules to newly opened exceptions seen on
	// the outbox. Run it in one console process, or several: routing only
	// touches unassigned exceptions, under the version check.
	RouteNew bool       `yaml:"route_new" env:"ROUTE_NEW"`
	OIDC     OIDCConfig `yaml:"oidc" envPrefix:"OIDC_"`
	// OperatorTenant is the tenant of the people who run supplywatch
	// itself: its on-call and admin users also see and redrive the dead
	// letters that carry no tenant. Empty: nobody sees those.
	OperatorTenant string `yaml:"operator_tenant" env:"OPERATOR_TENANT"`
	// LoginLimit throttles failed password sign-ins per login and address.
	LoginLimit LoginLimit `yaml:"login_limit" envPrefix:"LOGIN_LIMIT_"`
	// Dashboard holds the executive dashboard's KPI targets and exchange
	// rates (dashboard.go).
	Dashboard DashboardConfig `yaml:"dashboard" envPrefix:"DASHBOARD_"`
}

// OIDCConfig enables "Sign in with …" through an OpenID Connect provider.
// A user signs in when the provider vouches for an email address that a
// console user has; roles and scopes stay in the console.
type OIDCConfig struct {
	Issuer       string   `yaml:"issuer" env:"ISSUER"`
	ClientID     string   `yaml:"client_id" env:"CLIENT_ID"`
	ClientSecret string   `yaml:"client_secret" env:"CLIENT_SECRET"`
	RedirectURL  string   `yaml:"redirect_url" env:"REDIRECT_URL"`
	Scopes       []string `yaml:"scopes" env:"SCOPES" envSeparator:","`
	// Name labels the sign-in button.
	Name string `yaml:"name" env:"NAME"`
}

// Enabled reports whether OIDC sign-in is configured.
func (c *OIDCConfig) Enabled() bool { return c.Issuer != "" }

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.PublicURL == "" {
		c.PublicURL = "http://127.0.0.1:8080"
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.RetryTopicPrefix == "" {
		c.RetryTopicPrefix = "supplywatch.retry."
	}
	if c.RedriveTopic == "" {
		c.RedriveTopic = "supplywatch.events"
	}
	if c.LivePoll == 0 {
		c.LivePoll = time.Second
	}
	c.LoginLimit.defaults()
	c.Dashboard.defaults()
	if c.OIDC.Enabled() {
		if c.OIDC.RedirectURL == "" {
			c.OIDC.RedirectURL = strings.TrimRight(c.PublicURL, "/") + "/api/auth/oidc/callback"
		}
		if len(c.OIDC.Scopes) == 0 {
			c.OIDC.Scopes = []string{"openid", "email", "profile"}
		}
		if c.OIDC.Name == "" {
			c.OIDC.Name = "single sign-on"
		}
	}
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("console.public_url: %q is not an http(s) URL", c.PublicURL))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, errors.New("console.session_ttl: must be at least 1m"))
	}
	if c.LivePoll < 10*time.Millisecond {
		errs = append(errs, errors.New("console.live_poll: must be at least 10ms"))
	}
	if c.LoginLimit.PerLogin < 0 || c.LoginLimit.PerAddress < 0 || c.LoginLimit.Every < 0 || c.LoginLimit.Concurrent < 0 {
		errs = append(errs, errors.New("console.login_limit: per_login, per_address, every and concurrent must not be negative"))
	}
	if c.OIDC.Enabled() {
		if c.OIDC.ClientID == "" {
			errs = append(errs, errors.New("console.oidc.client_id: is required with an issuer"))
		}
		if _, err := url.Parse(c.OIDC.Issuer); err != nil {
			errs = append(errs, fmt.Errorf("console.oidc.issuer: %w", err))
		}
	}
	errs = append(errs, c.Dashboard.validate())
	return errors.Join(errs...)
}

// Reloader reloads the rule files (rules.Reloader).
type Reloader interface {
	Reload() error
}

// Deps are what the console runs on.
type Deps struct {
	Store Store // postgres.NewConsoleStore(db)
	Facts Facts // clickhouse.NewFacts(conn, database)
	// Publisher re-publishes retries and redrives (kafka.MessageWriter).
	Publisher Publisher
	// Rules is reloaded by POST /api/rules/reload; nil answers 503 there.
	Rules Reloader
	// RuleBook describes rules on the exception detail (rules.Evaluator); optional.
	RuleBook procure.RuleBook
	// RetryPolicies is what GET /api/retry-policies shows: the automatic
	// retry policies in force (retry.Config.Summary); nil answers 503.
	RetryPolicies any
	// IngestSources says which sources the ingest tokens of a tenant may
	// send (any: a token without a list); a redriven HTTP dead letter must
	// name one. Nil: HTTP dead letters are not redriven.
	IngestSources func(tenant string) (sources []string, any bool)
	// IngestToken finds an ingest token by name: its tenant and sources
	// (none: any). A redriven HTTP dead letter that names its sender is
	// checked against that token; one whose token is gone is refused.
	IngestToken func(name string) (tenant string, sources []string, ok bool)
	// Retries plans and re-sends failed deliveries (retry.Service, on the
	// same Store, Facts and Publisher); nil: retries are refused.
	Retries RetryService
	Log     *slog.Logger
	// PlantZones are the plants' IANA time zones (their SLA calendars'):
	// the web app shows a plant's dates in its zone. Optional.
	PlantZones map[string]string
	// Metrics is the process's registry, for the operations page's consumer
	// lag and alert deliveries. Optional.
	Metrics prometheus.Gatherer
	// Drill resolves the documents behind a KPI figure for the queue's
	// drill-down (GET /api/exceptions?kpi=…); nil answers 503 there.
	Drill DrillFunc
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Console is the API and web app: its handler groups (handlers.go), the
// route table that composes them and the guard in front of every route.
type Console struct {
	*kit
	auth      *authHandlers
	admin     *adminHandlers
	queue     *queueHandlers
	board     *boardHandlers
	dashboard *dashboardHandlers
	live      *liveHandlers
	retry     *retryHandlers
	routing   *routingHandlers
	rules     *rulesHandlers

	routes []route
}

// New returns a console; Register serves it and Run feeds its live updates.
func New(cfg Config, deps Deps) (*Console, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.Facts == nil {
		return nil, errors.New("console: Store and Facts are required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Publisher == nil {
		deps.Publisher = PublisherFunc(func(context.Context, ...kafka.Message) error {
			return errors.New("no publisher configured: retries and redrives are disabled")
		})
	}
	k := &kit{log: deps.Log, now: deps.Now, audits: deps.Store}
	c := &Console{kit: k}
	c.auth = &authHandlers{kit: k, cfg: cfg, store: deps.Store, logins: newLoginLimiter(cfg.LoginLimit),
		hashing: semaphore.NewWeighted(int64(cfg.LoginLimit.Concurrent))}
	if cfg.OIDC.Enabled() {
		c.auth.oidc = &oidcClient{cfg: cfg.OIDC}
	}
	c.admin = &adminHandlers{kit: k, store: deps.Store}
	c.retry = &retryHandlers{kit: k, operatorTenant: cfg.OperatorTenant, redriveTopic: cfg.RedriveTopic, store: deps.Store, facts: deps.Facts, pub: deps.Publisher, retries: deps.Retries,
		policies: deps.RetryPolicies, sourcesOf: deps.IngestSources, tokenOf: deps.IngestToken}
	c.queue = &queueHandlers{kit: k, store: deps.Store, facts: deps.Facts, rulebook: deps.RuleBook, drill: deps.Drill, zones: deps.PlantZones,
		retriesOf: c.retry.retriesOf}
	c.board = &boardHandlers{kit: k, store: deps.Store}
	vat, _ := deps.Store.(valueAtRiskStore)
	c.dashboard = &dashboardHandlers{kit: k, cfg: cfg.Dashboard, vat: vat, facts: deps.Facts, metrics: deps.Metrics, zones: deps.PlantZones}
	c.live = &liveHandlers{kit: k, poll: cfg.LivePoll, routeNew: cfg.RouteNew, store: deps.Store, live: newHub()}
	c.rules = &rulesHandlers{kit: k, rulebook: deps.RuleBook, rules: deps.Rules}
	c.routing = &routingHandlers{kit: k, store: deps.Store, checkSegment: c.rules.checkSegment}
	c.routes = c.routeTable()
	c.auth.routes = c.routes
	return c, nil
}

// Register adds the API under /api/ and the web app on every other GET
// path that no other route serves (NoRoute).
func (c *Console) Register(r *gin.Engine) {
	api := r.Group("/api")
	api.Use(c.noStore)
	for _, rt := range c.routes {
		api.Handle(rt.method, strings.TrimPrefix(rt.path, "/api"), c.guard(rt), rt.handler)
	}
	c.registerWeb(r)
}

// Run follows the exception outbox and pushes changes to live-update
// subscribers (and routes new exceptions when configured) until ctx is
// done.
func (c *Console) Run(ctx context.Context) error {
	return c.live.follow(ctx)
}

// RetryAs re-sends the failed delivery of an exception for the console
// user login of tenant, as Slack's Retry button does, through the
// console's retry path (retryHandlers.retryAs).
func (c *Console) RetryAs(ctx context.Context, tenant, login string, exceptionID int64, via string) (*procure.Retry, error) {
	return c.retry.retryAs(ctx, tenant, login, exceptionID, via)
}
