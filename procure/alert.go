package procure

import "time"

// The alert pipeline's durable state (package alerts decides, package
// postgres stores): groups of alerts, one Slack message each, and the
// delivery outbox of Slack calls.

// Alert group states.
const (
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// AlertMember is one exception (or pipeline alert) of an alert group, as
// its message shows it.
type AlertMember struct {
	Key         string    `json:"key"` // x:<exception id> or p:<pipeline alert>
	ExceptionID int64     `json:"exception_id,omitempty"`
	Title       string    `json:"title"`
	Message     string    `json:"message"`
	Subject     string    `json:"subject,omitempty"`
	PO          string    `json:"po,omitempty"`
	State       string    `json:"state"` // open | acknowledged | resolved | ignored
	Assignee    string    `json:"assignee,omitempty"`
	Severity    string    `json:"severity"`
	Priority    int       `json:"priority,omitempty"`
	ValueAtRisk float64   `json:"value_at_risk,omitempty"`
	Currency    string    `json:"currency,omitempty"`
	Due         time.Time `json:"due,omitzero"`
	FirstSeen   time.Time `json:"first_seen"`
	Occurrences int       `json:"occurrences,omitempty"`
}

// Active reports whether the member needs attention.
func (m *AlertMember) Active() bool {
	return m.State == ExceptionOpen || m.State == ExceptionAcknowledged
}

// AlertGroupKey names an alert group: the route and the values of its
// group_by labels.
type AlertGroupKey struct {
	Route string
	Key   string
}

// AlertGroup is the alerts of one route and group key: one Slack message,
// posted once and then updated in place.
type AlertGroup struct {
	ID       int64 // 0 until stored
	Route    string
	GroupKey string
	// Channel is the route's receiver when the group was made.
	Channel string
	Labels  map[string]string
	Members map[string]AlertMember // by AlertMember.Key
	// Changes are the thread lines not yet sent ("po/1/10 acknowledged").
	Changes []string
	State   string // AlertFiring or AlertResolved
	FirstAt time.Time
	// ChangedAt is when a member last changed what the message shows;
	// NotifiedAt when a message last went out (zero: never).
	ChangedAt  time.Time
	NotifiedAt time.Time
	// SlackTS is the message's ts once posted.
	SlackTS         string
	EscalationLevel int
	SnoozedUntil    time.Time
}

// Key is the group's route and group key.
func (g *AlertGroup) Key() AlertGroupKey { return AlertGroupKey{Route: g.Route, Key: g.GroupKey} }

// Alert delivery kinds.
const (
	DeliveryPost   = "post"   // the group message, once
	DeliveryUpdate = "update" // chat.update of the group message
	DeliveryReply  = "reply"  // a thread reply to the group message
	DeliveryDigest = "digest" // a team's daily digest (no group)
)

// AlertDelivery is one Slack call of the delivery outbox.
type AlertDelivery struct {
	ID int64 // 0 until stored
	// GroupID is the group whose message it posts, updates or replies to
	// (0 for a digest).
	GroupID int64
	// Channel is the digest's channel; a group's delivery goes to the
	// group's channel.
	Channel string
	Kind    string
	Body    string // reply and digest text
	// CreatedAt is when it was queued (and first due).
	CreatedAt time.Time
	// Attempts counts the attempts so far, the current one included once
	// claimed; AttemptedAt is the first attempt (zero: none).
	Attempts    int
	AttemptedAt time.Time
}
