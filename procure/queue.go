package procure

import (
	"context"
	"encoding/json"
	"time"
)

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
	// IDs keeps these exceptions only (a KPI drill-down to the exceptions
	// behind a figure). With Documents too, an exception matching either
	// is kept.
	IDs []int64
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
	Exception
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
	Actor    Actor
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

// Document is one stored projection (Order, InvoiceState,
// ...) as JSON.
type Document struct {
	Kind      string          `json:"kind"`
	ID        string          `json:"id"`
	Body      json.RawMessage `json:"body"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// QueueStore reads and changes exceptions within a scope: an exception
// outside the scope is ENOTFOUND, exactly as one that does not exist.
type QueueStore interface {
	FindQueue(ctx context.Context, sc Scope, f QueueFilter) ([]*QueueItem, *Cursor, error)
	FindException(ctx context.Context, sc Scope, id int64, now time.Time) (*QueueItem, error)
	FindActivity(ctx context.Context, sc Scope, id int64) ([]*Activity, error)
	// Act applies a with an optimistic check: when the exception changed
	// since a.Version, it returns ECONFLICT and the current exception.
	Act(ctx context.Context, sc Scope, id int64, a Action) (*QueueItem, error)
	// AddNote adds an activity entry (a comment, a retry) that does not
	// change the exception, so it never conflicts.
	AddNote(ctx context.Context, sc Scope, id int64, actor Actor, action, note string, at time.Time) (*Activity, error)
	FindGroups(ctx context.Context, sc Scope) ([]*GroupView, error)
	// FindDocuments returns the stored projections named by keys (kind, id)
	// that are within the scope.
	FindDocuments(ctx context.Context, sc Scope, keys [][2]string) ([]*Document, error)
	FindTimers(ctx context.Context, sc Scope, docKey string) ([]*Timer, error)
	// FindOrders returns the orders of one plant (within the scope) or of one
	// supplier.
	FindOrders(ctx context.Context, sc Scope, plant, supplier string, limit int) ([]*Order, error)
	FindInvoices(ctx context.Context, sc Scope, supplier string, limit int) ([]*InvoiceState, error)
	FindLots(ctx context.Context, tenant string, ids []string) ([]*LotState, error)
	// OutboxAfter returns outbox events after id, oldest first; it never
	// claims them (alerts do).
	OutboxAfter(ctx context.Context, afterID int64, limit int) ([]*OutboxEvent, error)
	LastOutboxID(ctx context.Context) (int64, error)
	KPIs(ctx context.Context, sc Scope, now time.Time) (map[string]any, error)
}

// CurrencyAmount is a sum of amounts of one currency, as a decimal string
// with two decimals ("25148.20"): amounts are never summed across
// currencies and never pass through binary floating point in the answer.
type CurrencyAmount struct {
	Currency   string `json:"currency"`
	Amount     string `json:"amount"`
	Exceptions int    `json:"exceptions"`
	// Group is the exception group (rule × supplier) with by=group.
	Group string `json:"group,omitempty"`
}

// ValueAtRiskFilter narrows the active exceptions summed.
type ValueAtRiskFilter struct {
	Plant, Supplier, Group string
	// ByGroup sums per exception group and currency.
	ByGroup bool
}

// ValueAtRiskStore sums the value at risk of active exceptions per
// currency within a scope.
type ValueAtRiskStore interface {
	ValueAtRisk(ctx context.Context, sc Scope, f ValueAtRiskFilter) ([]CurrencyAmount, error)
}
