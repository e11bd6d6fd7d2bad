package console

import (
	"context"
	"encoding/json"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Roles of console users. Supplier is the role of supplier-scoped tokens,
// never of a user.
const (
	RoleProcurement = "procurement"
	RolePlant       = "plant"
	RoleExecutive   = "executive"
	RoleOncall      = "oncall"
	RoleAdmin       = "admin"
	RoleSupplier    = "supplier"
)

// UserRoles are the roles a user may have.
var UserRoles = []string{RoleProcurement, RolePlant, RoleExecutive, RoleOncall, RoleAdmin}

// User is a person who signs in.
type User struct {
	ID        int64     `json:"id"`
	Tenant    string    `json:"tenant"`
	Login     string    `json:"login"`
	Name      string    `json:"name"`
	Email     string    `json:"email,omitempty"`
	Role      string    `json:"role"`
	Plants    []string  `json:"plants"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// Session is a signed-in browser. The secret is in the cookie; the store
// keeps its hash.
type Session struct {
	TokenHash  []byte
	UserID     int64
	CSRF       string
	ExpiresAt  time.Time
	RemoteAddr string
	UserAgent  string
}

// Token is an API token: of a user (acting with the user's role and scope)
// or of a supplier (the supplier API only).
type Token struct {
	ID        int64     `json:"id"`
	TokenHash []byte    `json:"-"`
	Tenant    string    `json:"tenant"`
	Name      string    `json:"name"`
	UserID    int64     `json:"user_id,omitempty"`
	Supplier  string    `json:"supplier,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	LastUsed  time.Time `json:"last_used_at"`
	Revoked   bool      `json:"revoked"`
}

// Scope is what a principal may see; stores turn it into SQL predicates.
// Plants nil means every plant of the tenant; Supplier non-empty limits to
// one supplier's documents.
type Scope struct {
	Tenant   string
	Plants   []string
	Supplier string
}

// AllPlants reports whether the scope spans every plant of the tenant.
func (s Scope) AllPlants() bool { return s.Plants == nil }

// HasPlant reports whether plant is within the scope.
func (s Scope) HasPlant(plant string) bool {
	if s.Plants == nil {
		return true
	}
	for _, p := range s.Plants {
		if p == plant {
			return true
		}
	}
	return false
}

// QueueFilter selects the exception queue. Zero fields do not filter; with
// no States the queue holds the active exceptions (open, acknowledged).
type QueueFilter struct {
	States     []string
	Severities []string
	Rule       string
	Plant      string
	Supplier   string
	Team       string
	Assignee   string
	GroupKey   string
	// OlderThan keeps exceptions first seen at least that long before Now.
	OlderThan time.Duration
	// SLADueBefore keeps exceptions whose subject has a running SLA timer
	// due before it.
	SLADueBefore time.Time
	// Documents keeps exceptions about any of these document numbers (PO,
	// ASN, invoice, message): what a search resolved to.
	Documents []string
	// SubjectKind keeps exceptions about one kind of subject (message, po,
	// invoice, ...).
	SubjectKind string
	// IncludeSnoozed shows snoozed exceptions too.
	IncludeSnoozed bool
	Limit          int
	After          *Cursor
	Now            time.Time
}

// Cursor is the position after the last exception of a page, in queue
// order (priority, last seen descending, id descending).
type Cursor struct {
	Priority int       `json:"p"`
	LastSeen time.Time `json:"t"`
	ID       int64     `json:"i"`
}

// QueueItem is an exception as the queue shows it.
type QueueItem struct {
	procure.Exception
	SnoozedUntil time.Time `json:"snoozed_until"`
	SLADueAt     time.Time `json:"sla_due_at"`
}

// Action is a person's change to an exception.
type Action struct {
	Kind     string    // acknowledge | assign | snooze | resolve | ignore | reopen
	Version  int64     // the version the person read
	Assignee string    // assign
	Until    time.Time // snooze
	Reason   string    // resolve (required), ignore, reopen
	Actor    procure.Actor
	At       time.Time
}

// Action kinds.
const (
	ActAcknowledge = "acknowledge"
	ActAssign      = "assign"
	ActSnooze      = "snooze"
	ActResolve     = "resolve"
	ActIgnore      = "ignore"
	ActReopen      = "reopen"
)

// ActionKinds lists the action kinds.
var ActionKinds = []string{ActAcknowledge, ActAssign, ActSnooze, ActResolve, ActIgnore, ActReopen}

// Team is a group of people exceptions are routed to.
type Team struct {
	ID              int64     `json:"id"`
	Tenant          string    `json:"tenant"`
	Name            string    `json:"name"`
	Queue           string    `json:"queue"`
	DefaultAssignee string    `json:"default_assignee"`
	Members         []string  `json:"members"`
	Version         int64     `json:"version"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// RoutingRule sends matching exceptions to a team. Empty match fields
// match anything; the lowest position wins.
type RoutingRule struct {
	ID        int64     `json:"id"`
	Tenant    string    `json:"tenant"`
	Position  int       `json:"position"`
	Rule      string    `json:"rule"`
	Plant     string    `json:"plant"`
	Supplier  string    `json:"supplier"`
	Severity  string    `json:"severity"`
	Team      string    `json:"team"`
	Assignee  string    `json:"assignee"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// SavedView is a user's named queue filter (the query string of the queue).
type SavedView struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"-"`
	Name      string    `json:"name"`
	Query     string    `json:"query"`
	CreatedAt time.Time `json:"created_at"`
}

// Retry statuses.
const (
	RetryPublished        = "published"
	RetryFailed           = "failed"
	RetryDelivered        = "delivered"
	RetryRedeliveryFailed = "redelivery_failed"
)

// Retry is one re-publication of a failed delivery.
type Retry struct {
	ID             int64     `json:"id"`
	Tenant         string    `json:"tenant"`
	ExceptionID    int64     `json:"exception_id"`
	MessageID      string    `json:"message_id"`
	Target         string    `json:"target"`
	Topic          string    `json:"topic"`
	IdempotencyKey string    `json:"idempotency_key"`
	RequestedBy    string    `json:"requested_by"`
	RequestedAt    time.Time `json:"requested_at"`
	Status         string    `json:"status"`
	Error          string    `json:"error,omitempty"`
	OutcomeAt      time.Time `json:"outcome_at"`
}

// AuditEntry is one change: who, what, when, from where.
type AuditEntry struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Tenant     string          `json:"tenant"`
	Actor      string          `json:"actor"`
	ActorKind  string          `json:"actor_kind"`
	Action     string          `json:"action"`
	Target     string          `json:"target"`
	Detail     json.RawMessage `json:"detail"`
	RemoteAddr string          `json:"remote_addr"`
	UserAgent  string          `json:"user_agent"`
}

// GroupView is a systemic incident: one rule, one supplier, N exceptions.
type GroupView struct {
	GroupKey    string    `json:"group_key"`
	Rule        string    `json:"rule"`
	Supplier    string    `json:"supplier"`
	Title       string    `json:"title"`
	OpenCount   int       `json:"open_count"`
	TotalCount  int       `json:"total_count"`
	ValueAtRisk float64   `json:"value_at_risk"`
	Plants      []string  `json:"plants"`
	TopPriority int       `json:"top_priority"`
	LastSeen    time.Time `json:"last_seen"`
}

// Document is one stored projection (procure.Order, procure.InvoiceState,
// ...) as JSON.
type Document struct {
	Kind      string          `json:"kind"`
	ID        string          `json:"id"`
	Body      json.RawMessage `json:"body"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// UserStore keeps users, sessions and tokens.
type UserStore interface {
	CreateUser(ctx context.Context, u *User, passwordHash string) error
	// FindUserByLogin returns the user and its password hash, or ENOTFOUND.
	FindUserByLogin(ctx context.Context, login string) (*User, string, error)
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	FindUsers(ctx context.Context, tenant string) ([]*User, error)
	// UpdateUser changes a user of tenant under a lock: change edits role,
	// plants and disabled (an error from it aborts). Disabling ends the
	// user's sessions. Unknown (or another tenant's) user: ENOTFOUND.
	UpdateUser(ctx context.Context, tenant string, id int64, change func(u *User) error) (before, after *User, err error)
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns an unexpired session and its enabled user, or
	// EUNAUTHORIZED.
	FindSession(ctx context.Context, tokenHash []byte, now time.Time) (*Session, *User, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error
	CreateToken(ctx context.Context, t *Token) error
	// FindToken returns a live token and, for a user token, its enabled
	// user; or EUNAUTHORIZED.
	FindToken(ctx context.Context, tokenHash []byte, now time.Time) (*Token, *User, error)
	FindTokens(ctx context.Context, tenant string) ([]*Token, error)
	RevokeToken(ctx context.Context, tenant string, id int64, at time.Time) error
}

// QueueStore reads and changes exceptions within a scope: an exception
// outside the scope is ENOTFOUND, exactly as one that does not exist.
type QueueStore interface {
	FindQueue(ctx context.Context, sc Scope, f QueueFilter) ([]*QueueItem, *Cursor, error)
	FindException(ctx context.Context, sc Scope, id int64, now time.Time) (*QueueItem, error)
	FindActivity(ctx context.Context, sc Scope, id int64) ([]*procure.Activity, error)
	// Act applies a with an optimistic check: when the exception changed
	// since a.Version, it returns ECONFLICT and the current exception.
	Act(ctx context.Context, sc Scope, id int64, a Action) (*QueueItem, error)
	// AddNote adds an activity entry (a comment, a retry) that does not
	// change the exception, so it never conflicts.
	AddNote(ctx context.Context, sc Scope, id int64, actor procure.Actor, action, note string, at time.Time) (*procure.Activity, error)
	FindGroups(ctx context.Context, sc Scope) ([]*GroupView, error)
	// FindDocuments returns the stored projections named by keys (kind, id)
	// that are within the scope.
	FindDocuments(ctx context.Context, sc Scope, keys [][2]string) ([]*Document, error)
	FindTimers(ctx context.Context, sc Scope, docKey string) ([]*procure.Timer, error)
	// FindOrders returns the orders of one plant (within the scope) or of one
	// supplier.
	FindOrders(ctx context.Context, sc Scope, plant, supplier string, limit int) ([]*procure.Order, error)
	FindInvoices(ctx context.Context, sc Scope, supplier string, limit int) ([]*procure.InvoiceState, error)
	FindLots(ctx context.Context, tenant string, ids []string) ([]*procure.LotState, error)
	// OutboxAfter returns outbox events after id, oldest first; it never
	// claims them (alerts do).
	OutboxAfter(ctx context.Context, afterID int64, limit int) ([]*procure.OutboxEvent, error)
	LastOutboxID(ctx context.Context) (int64, error)
	KPIs(ctx context.Context, sc Scope, now time.Time) (map[string]any, error)
}

// RoutingStore keeps teams and routing rules.
type RoutingStore interface {
	FindTeams(ctx context.Context, tenant string) ([]*Team, error)
	// SaveTeam inserts (ID 0) or updates a team with an optimistic check.
	SaveTeam(ctx context.Context, t *Team) error
	FindRoutingRules(ctx context.Context, tenant string) ([]*RoutingRule, error)
	CreateRoutingRule(ctx context.Context, r *RoutingRule) error
	DeleteRoutingRule(ctx context.Context, tenant string, id int64) error
	// Route applies the first matching routing rule to an exception not
	// yet assigned; it reports whether it changed the exception.
	Route(ctx context.Context, exceptionID int64, at time.Time) (bool, error)
}

// ViewStore keeps saved views.
type ViewStore interface {
	FindViews(ctx context.Context, userID int64) ([]*SavedView, error)
	SaveView(ctx context.Context, v *SavedView) error
	DeleteView(ctx context.Context, userID, id int64) error
}

// RetryStore tracks retries.
type RetryStore interface {
	CreateRetry(ctx context.Context, r *Retry) error
	FindRetries(ctx context.Context, sc Scope, exceptionID int64, limit int) ([]*Retry, error)
	UpdateRetry(ctx context.Context, id int64, status, errMsg string, at time.Time) error
}

// AuditStore is the audit log.
type AuditStore interface {
	Audit(ctx context.Context, e *AuditEntry) error
	FindAudit(ctx context.Context, tenant string, limit int) ([]*AuditEntry, error)
}

// Store is everything the console keeps in its database
// (postgres.ConsoleStore).
type Store interface {
	UserStore
	QueueStore
	RoutingStore
	ViewStore
	RetryStore
	AuditStore
}
