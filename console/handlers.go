package console

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/supplywatch/supplywatch/procure"
	"golang.org/x/sync/semaphore"
)

// The console's API is served by handler groups, each holding only what
// its routes need; New builds them from Deps and routeTable composes their
// routes, which Register serves behind one guard. A group answers through
// its kit (respond, fail, audit) and never reaches into another group:
// where one needs another's work (the exception detail shows its retries,
// a routing rule's segment is checked against the rules), it is given a
// function.

// kit is what every group shares: the JSON answers and errors, the audit
// log and the clock.
type kit struct {
	log    *slog.Logger
	now    func() time.Time
	audits interface {
		Audit(ctx context.Context, e *procure.AuditEntry) error
	}
}

// authHandlers sign people in and out (password, OIDC) and authenticate
// every request (sessions, API tokens).
type authHandlers struct {
	*kit
	cfg    Config
	store  procure.UserStore
	oidc   *oidcClient
	logins *loginLimiter
	// hashing bounds the password checks running at once.
	hashing *semaphore.Weighted
	// routes are every route, for what the signed-in user may call (me).
	routes []route
}

// adminHandlers manage users, API tokens and read the audit log.
type adminHandlers struct {
	*kit
	store interface {
		procure.UserStore
		procure.AuditStore
	}
}

// queueHandlers serve the exception queue, detail (with its document
// chain), timelines, actions, groups, saved views and the KPIs.
type queueHandlers struct {
	*kit
	store interface {
		procure.QueueStore
		procure.ViewStore
	}
	facts    Facts
	rulebook procure.RuleBook
	drill    DrillFunc
	zones    map[string]string
	// retriesOf is an exception's retries with their outcomes
	// (retryHandlers.retriesOf).
	retriesOf func(ctx context.Context, sc procure.Scope, exceptionID int64) ([]*procure.Retry, error)
}

// boardHandlers serve the plant inbound board, the supplier view and the
// supplier-facing API.
type boardHandlers struct {
	*kit
	store procure.QueueStore
}

// dashboardHandlers serve the executive dashboard's settings, value at
// risk, the plants and the operations page.
type dashboardHandlers struct {
	*kit
	cfg     DashboardConfig
	vat     valueAtRiskStore // nil: the store cannot sum value at risk
	facts   Facts
	metrics prometheus.Gatherer
	zones   map[string]string
}

// liveHandlers follow the exception outbox, route new exceptions and
// stream changes to subscribers.
type liveHandlers struct {
	*kit
	poll     time.Duration
	routeNew bool
	store    interface {
		OutboxAfter(ctx context.Context, afterID int64, limit int) ([]*procure.OutboxEvent, error)
		LastOutboxID(ctx context.Context) (int64, error)
		Route(ctx context.Context, exceptionID int64, at time.Time) (bool, error)
	}
	live *hub
}

// retryHandlers serve failed deliveries, manual retries (also Slack's),
// the automatic retry policies and the dead letter with its redrive.
type retryHandlers struct {
	*kit
	// operatorTenant is Config.OperatorTenant: its on-call and admin users
	// also see and redrive dead letters without a tenant.
	operatorTenant string
	// redriveTopic is Config.RedriveTopic.
	redriveTopic string
	store        interface {
		procure.RetryStore
		FindQueue(ctx context.Context, sc procure.Scope, f procure.QueueFilter) ([]*procure.QueueItem, *procure.Cursor, error)
		FindUserByLogin(ctx context.Context, login string) (*procure.User, string, error)
	}
	facts    Facts
	pub      Publisher
	retries  RetryService
	policies any
	// sourcesOf is Deps.IngestSources.
	sourcesOf func(tenant string) ([]string, bool)
	// tokenOf is Deps.IngestToken.
	tokenOf func(name string) (string, []string, bool)
}

// routingHandlers serve teams and routing rules.
type routingHandlers struct {
	*kit
	store procure.RoutingStore
	// checkSegment checks a rule's segment (rulesHandlers.checkSegment).
	checkSegment func(tenant, seg string) error
}

// rulesHandlers list the rules in force and reload the rule files.
type rulesHandlers struct {
	*kit
	rulebook procure.RuleBook
	rules    Reloader
}
