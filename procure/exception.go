package procure

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Exception states.
const (
	ExceptionOpen         = "open"
	ExceptionAcknowledged = "acknowledged"
	ExceptionResolved     = "resolved"
	ExceptionIgnored      = "ignored"
)

// Severities, highest first.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
)

// Severities lists the valid severities, highest first.
var Severities = []string{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}

// Actor kinds: who changed an exception.
const (
	ActorRule  = "rule"
	ActorUser  = "user"
	ActorSlack = "slack"
)

// Exception kinds: what raised it.
const (
	KindValidation = "validation"
	KindSLA        = "sla"
)

// Outbox event kinds.
const (
	OutboxOpened       = "exception.opened"
	OutboxRecurred     = "exception.recurred"
	OutboxReopened     = "exception.reopened"
	OutboxResolved     = "exception.resolved"
	OutboxUpdated      = "exception.updated"
	OutboxSLAWarning   = "sla.warning"
	OutboxAcknowledged = "exception.acknowledged"
	OutboxIgnored      = "exception.ignored"
)

// ExceptionCandidate is what a rule or a timer raises: everything an
// exception is made of, before it is stored.
type ExceptionCandidate struct {
	Tenant   string `json:"tenant"`
	Rule     string `json:"rule"`
	Kind     string `json:"kind"`    // validation | sla
	Subject  string `json:"subject"` // po/4500012345/10, invoice/INV1, supplier/S1
	Title    string `json:"title"`
	Message  string `json:"message"`
	Severity string `json:"severity"`
	Team     string `json:"team"`
	Supplier string `json:"supplier,omitempty"`
	Plant    string `json:"plant,omitempty"`
	PO       string `json:"po,omitempty"`
	Line     int    `json:"line,omitempty"`
	// NeedBy, Quantity and ValueAtRisk weigh the priority.
	NeedBy      time.Time `json:"need_by"`
	Quantity    float64   `json:"quantity,omitempty"`
	ValueAtRisk float64   `json:"value_at_risk,omitempty"`
	Currency    string    `json:"currency,omitempty"`
	// At is when the problem was observed: the event's occurred_at, or the
	// timer's due time.
	At time.Time `json:"at"`
}

// Fingerprint identifies the problem: rule and subject, within a tenant.
func (c *ExceptionCandidate) Fingerprint() string {
	return Fingerprint(c.Tenant, c.Rule, c.Subject)
}

// Fingerprint is tenant|rule|subject.
func Fingerprint(tenant, rule, subject string) string { return tenant + "|" + rule + "|" + subject }

// GroupKey rolls up one rule's exceptions per supplier.
func (c *ExceptionCandidate) GroupKey() string { return c.Tenant + "|" + c.Rule + "|" + c.Supplier }

// Exception is a stored problem that people act on.
type Exception struct {
	ID          int64     `json:"id"`
	Tenant      string    `json:"tenant"`
	Fingerprint string    `json:"fingerprint"`
	GroupKey    string    `json:"group_key"`
	Rule        string    `json:"rule"`
	Kind        string    `json:"kind"`
	Subject     string    `json:"subject"`
	Title       string    `json:"title"`
	Message     string    `json:"message"`
	Severity    string    `json:"severity"`
	Team        string    `json:"team"`
	Supplier    string    `json:"supplier,omitempty"`
	Plant       string    `json:"plant,omitempty"`
	PO          string    `json:"po,omitempty"`
	Line        int       `json:"line,omitempty"`
	NeedBy      time.Time `json:"need_by"`
	Quantity    float64   `json:"quantity,omitempty"`
	ValueAtRisk float64   `json:"value_at_risk,omitempty"`
	Currency    string    `json:"currency,omitempty"`
	Priority    int       `json:"priority"` // 1 (highest) … 4
	State       string    `json:"state"`
	Assignee    string    `json:"assignee,omitempty"`
	Occurrences int       `json:"occurrences"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	ResolvedAt  time.Time `json:"resolved_at"`
	Resolution  string    `json:"resolution,omitempty"`
	Version     int64     `json:"version"`
}

// Active reports whether the exception needs attention.
func (x *Exception) Active() bool {
	return x.State == ExceptionOpen || x.State == ExceptionAcknowledged
}

// NewException returns the open exception a first candidate raises.
func NewException(c *ExceptionCandidate) *Exception {
	x := &Exception{Tenant: c.Tenant, Fingerprint: c.Fingerprint(), GroupKey: c.GroupKey(), Rule: c.Rule, Kind: c.Kind,
		Subject: c.Subject, State: ExceptionOpen, Occurrences: 1, FirstSeen: c.At, LastSeen: c.At}
	x.refresh(c)
	return x
}

func (x *Exception) refresh(c *ExceptionCandidate) {
	x.Title, x.Message, x.Severity, x.Team = c.Title, c.Message, c.Severity, c.Team
	x.Supplier, x.Plant, x.PO, x.Line = c.Supplier, c.Plant, c.PO, c.Line
	x.NeedBy, x.Quantity, x.ValueAtRisk, x.Currency = c.NeedBy, c.Quantity, c.ValueAtRisk, c.Currency
	x.Priority = Priority(c.Severity, c.NeedBy, c.ValueAtRisk, c.At)
}

// Recur applies a new occurrence and returns the outbox kind of the change:
// a resolved exception reopens; an ignored one stays ignored and counts.
func (x *Exception) Recur(c *ExceptionCandidate) string {
	x.Occurrences++
	if c.At.After(x.LastSeen) {
		x.LastSeen = c.At
	}
	x.refresh(c)
	if x.State == ExceptionResolved {
		x.State, x.ResolvedAt, x.Resolution = ExceptionOpen, time.Time{}, ""
		return OutboxReopened
	}
	return OutboxRecurred
}

// Resolve resolves an active exception at at and reports whether it changed.
func (x *Exception) Resolve(at time.Time, reason string) bool {
	if !x.Active() {
		return false
	}
	x.State, x.ResolvedAt, x.Resolution = ExceptionResolved, at, reason
	return true
}

// Transition moves the exception to state on a person's request. Allowed:
// open → acknowledged | resolved | ignored, acknowledged → open | resolved |
// ignored, resolved | ignored → open.
func (x *Exception) Transition(to string, at time.Time) error {
	ok := false
	switch x.State {
	case ExceptionOpen:
		ok = to == ExceptionAcknowledged || to == ExceptionResolved || to == ExceptionIgnored
	case ExceptionAcknowledged:
		ok = to == ExceptionOpen || to == ExceptionResolved || to == ExceptionIgnored
	case ExceptionResolved, ExceptionIgnored:
		ok = to == ExceptionOpen
	}
	if !ok {
		return Errorf(EINVALID, "exception %d: cannot go from %s to %s", x.ID, x.State, to)
	}
	x.State = to
	switch to {
	case ExceptionResolved:
		x.ResolvedAt, x.Resolution = at, "resolved by hand"
	case ExceptionIgnored:
		x.ResolvedAt, x.Resolution = at, "ignored"
	case ExceptionOpen:
		x.ResolvedAt, x.Resolution = time.Time{}, ""
	}
	return nil
}

// Priority weighs production impact: severity, days from now to the need-by
// date and value at risk make a score; 1 is the highest priority, 4 the
// lowest.
func Priority(severity string, needBy time.Time, valueAtRisk float64, now time.Time) int {
	score := map[string]int{SeverityCritical: 50, SeverityHigh: 35, SeverityMedium: 20, SeverityLow: 5}[severity]
	if !needBy.IsZero() {
		switch days := needBy.Sub(now).Hours() / 24; {
		case days <= 2:
			score += 40
		case days <= 7:
			score += 25
		case days <= 14:
			score += 10
		}
	}
	switch {
	case valueAtRisk >= 100000:
		score += 20
	case valueAtRisk >= 10000:
		score += 10
	}
	switch {
	case score >= 80:
		return 1
	case score >= 55:
		return 2
	case score >= 30:
		return 3
	}
	return 4
}

// Actor is who changed an exception: a rule (name: the rule id), a user
// (their login) or Slack (the Slack user).
type Actor struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Activity is one entry of an exception's log.
type Activity struct {
	ID          int64     `json:"id"`
	ExceptionID int64     `json:"exception_id"`
	At          time.Time `json:"at"`
	Actor       Actor     `json:"actor"`
	Action      string    `json:"action"`
	FromState   string    `json:"from_state,omitempty"`
	ToState     string    `json:"to_state,omitempty"`
	Note        string    `json:"note,omitempty"`
}

// OutboxEvent is an exception event for the console and alerts.
type OutboxEvent struct {
	ID          int64      `json:"id"`
	Tenant      string     `json:"tenant"`
	Kind        string     `json:"kind"`
	ExceptionID int64      `json:"exception_id,omitempty"`
	At          time.Time  `json:"at"`
	Exception   *Exception `json:"exception,omitempty"`
	// Timer names the SLA timer of an sla.warning.
	Timer string `json:"timer,omitempty"`
	Note  string `json:"note,omitempty"`
}

// ExceptionGroup rolls up one rule's exceptions for one supplier.
type ExceptionGroup struct {
	Tenant      string    `json:"tenant"`
	GroupKey    string    `json:"group_key"`
	Rule        string    `json:"rule"`
	Supplier    string    `json:"supplier"`
	OpenCount   int       `json:"open_count"`
	TotalCount  int       `json:"total_count"`
	ValueAtRisk float64   `json:"value_at_risk"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ExceptionFilter selects exceptions; zero fields do not filter.
type ExceptionFilter struct {
	Tenant   string
	States   []string
	Rule     string
	Supplier string
	Plant    string
	PO       string
	GroupKey string
	Limit    int // default 100
	Offset   int
}

// ExceptionUpdate is a person's change to an exception. Version is the
// version they read; if the exception changed since, the update is refused
// with ECONFLICT.
type ExceptionUpdate struct {
	Version  int64
	State    *string
	Assignee *string
	Note     string
	Actor    Actor
	At       time.Time
}

// ExceptionStore is what the console, the API and alerts use.
type ExceptionStore interface {
	FindExceptionByID(ctx context.Context, id int64) (*Exception, error)
	FindExceptionByFingerprint(ctx context.Context, tenant, fingerprint string) (*Exception, error)
	FindExceptions(ctx context.Context, f ExceptionFilter) ([]*Exception, error)
	UpdateException(ctx context.Context, id int64, upd ExceptionUpdate) (*Exception, error)
	FindActivity(ctx context.Context, exceptionID int64) ([]*Activity, error)
	FindExceptionGroups(ctx context.Context, tenant string) ([]*ExceptionGroup, error)
	// ClaimOutbox hands up to limit unpublished outbox events, oldest first,
	// to f and marks them published when f returns nil. Concurrent callers
	// get disjoint events.
	ClaimOutbox(ctx context.Context, limit int, f func([]*OutboxEvent) error) (int, error)
}

// ExceptionTx raises and resolves exceptions inside a StateTx, so that an
// exception changes in the same transaction as the event that changed it.
type ExceptionTx interface {
	// RaiseException opens the exception of c, or counts a new occurrence
	// of it (reopening a resolved one).
	RaiseException(ctx context.Context, c *ExceptionCandidate) (*Exception, error)
	// ResolveException resolves the active exception with the fingerprint;
	// it returns nil, nil when there is none.
	ResolveException(ctx context.Context, tenant, fingerprint string, at time.Time, actor Actor, reason string) (*Exception, error)
	// AddOutbox records an outbox event that is not an exception change
	// (sla.warning).
	AddOutbox(ctx context.Context, ev *OutboxEvent) error
}

// Subject helpers: how subjects are written.

// OrderSubject is po/<id>.
func OrderSubject(po string) string { return "po/" + po }

// LineSubject is po/<id>/<line>.
func LineSubject(po string, line int) string { return "po/" + po + "/" + strconv.Itoa(line) }

// DocSubject is <kind>/<id>.
func DocSubject(kind, id string) string { return kind + "/" + id }

// String is a short description for logs.
func (x *Exception) String() string {
	return fmt.Sprintf("exception %d %s [%s]", x.ID, x.Fingerprint, x.State)
}
