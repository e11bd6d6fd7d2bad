package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Alert is an input of the pipeline: a member with its labels and the
// change that produced it.
type Alert struct {
	Labels map[string]string
	Member procure.AlertMember
	// Change is a short text for the thread ("acknowledged by jane").
	Change string
	At     time.Time
}

// FromOutbox turns an exception outbox event into an Alert; events without
// an exception (sla.warning) give nil.
func FromOutbox(ev *procure.OutboxEvent) *Alert {
	x := ev.Exception
	if x == nil {
		return nil
	}
	change := map[string]string{
		procure.OutboxOpened: "opened", procure.OutboxRecurred: "recurred", procure.OutboxReopened: "reopened",
		procure.OutboxResolved: "resolved", procure.OutboxAcknowledged: "acknowledged", procure.OutboxIgnored: "ignored",
		procure.OutboxUpdated: "updated",
	}[ev.Kind]
	if change == "" {
		change = ev.Kind
	}
	if x.Resolution != "" && ev.Kind == procure.OutboxResolved {
		change += ": " + x.Resolution
	}
	if x.Assignee != "" && ev.Kind == procure.OutboxUpdated {
		change = "assigned to " + x.Assignee
	}
	return &Alert{
		Labels: map[string]string{"tenant": x.Tenant, "rule": x.Rule, "severity": x.Severity, "plant": x.Plant,
			"supplier": x.Supplier, "team": x.Team, "kind": x.Kind},
		Member: procure.AlertMember{Key: "x:" + strconv.FormatInt(x.ID, 10), ExceptionID: x.ID, Title: x.Title, Message: x.Message,
			Subject: x.Subject, PO: x.PO, State: x.State, Assignee: x.Assignee, Severity: x.Severity, Priority: x.Priority,
			ValueAtRisk: x.ValueAtRisk, Currency: x.Currency, Due: x.NeedBy, FirstSeen: x.FirstSeen, Occurrences: x.Occurrences},
		Change: Escape(fmt.Sprintf("%s %s", x.Subject, change)),
		At:     ev.At,
	}
}

// GroupView is what a group message shows.
type GroupView struct {
	ID              int64                 `json:"id"`
	Route           string                `json:"route"`
	Labels          map[string]string     `json:"labels"`
	Members         []procure.AlertMember `json:"members"` // active first, by priority
	State           string                `json:"state"`   // firing | resolved
	EscalationLevel int                   `json:"escalation_level"`
	SnoozedUntil    time.Time             `json:"snoozed_until,omitzero"`
	// ConsoleURL links the group's exceptions; ExceptionURL(id) one.
	ConsoleURL string `json:"console_url"`
	PublicURL  string `json:"-"`
}

// ExceptionURL is the console page of an exception.
func (g *GroupView) ExceptionURL(id int64) string {
	return fmt.Sprintf("%s/exceptions/%d", g.PublicURL, id)
}

// Notice is one Slack call to make.
type Notice struct {
	DeliveryID int64
	Channel    string
	Kind       string     // post | update | reply | digest
	Group      *GroupView // post, update, reply
	Text       string     // reply, digest
	ThreadTS   string     // reply: the group message
	TS         string     // update: the message to change
}

// Poster talks to Slack (alerts/slack.Poster).
type Poster interface {
	// Send makes the call of n and returns the message's ts. Post and
	// reply messages must carry n.DeliveryID so that FindSent finds them.
	Send(ctx context.Context, n *Notice) (ts string, err error)
	// FindSent returns the ts of a message of channel sent since since
	// carrying deliveryID, or "" when there is none.
	FindSent(ctx context.Context, channel string, deliveryID int64, since time.Time) (ts string, err error)
}

// RetryAfterError is an error that says when to try again (Slack 429).
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// ErrPermanent marks a delivery error that retrying cannot fix (unknown
// channel, invalid token).
var ErrPermanent = errors.New("permanent delivery failure")

// User is a console user, as the UserResolver maps a Slack user.
type User struct {
	ID string
	// Login is how exceptions name the user (assignee, activity author).
	Login string
	Name  string
	Role  string // procurement | plant | executive | oncall | admin
	// Tenant is the user's tenant: the only one whose exceptions they act on.
	Tenant string
	// Plants scopes a plant user.
	Plants []string
}

// MayActOn reports whether u's scope covers an exception of tenant and
// plant.
func (u *User) MayActOn(tenant, plant string) bool {
	if u.Tenant == "" || u.Tenant != tenant {
		return false
	}
	return u.Role != "plant" || slices.Contains(u.Plants, plant)
}

// UserResolver maps a Slack user to a console user (the console owns
// users). It returns an error with code EUNAUTHORIZED for an unknown user.
type UserResolver interface {
	ResolveSlackUser(ctx context.Context, teamID, slackUserID string) (User, error)
}

// ExceptionActor performs a person's action on an exception.
type ExceptionActor interface {
	Acknowledge(ctx context.Context, u User, exceptionID int64) error
	Assign(ctx context.Context, u User, exceptionID int64, assignee string) error
	Retry(ctx context.Context, u User, exceptionID int64) error
}
