package procure

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// ExceptionChange is what one action did to an exception besides the
// exception itself: the activity entries to log, the outbox event to
// publish and the snooze to keep or drop. The store writes them in the
// transaction that writes the exception.
type ExceptionChange struct {
	Activities []Activity
	// Outbox is the kind of the outbox event (Outbox*).
	Outbox string
	// SnoozeUntil is set by a snooze: hide the exception until then.
	SnoozeUntil time.Time
	// ClearSnooze is set by a reopen: drop any snooze.
	ClearSnooze bool
}

// maxLogin bounds an assignee: a login, not a note.
const maxLogin = 200

// Apply applies a person's action to x at time at: the one place where an
// action on an exception is checked and turned into activity and an outbox
// event, whichever way it came (console, Slack). The assignee is a login
// (console.Principal.Name, alerts.User.Login), empty to unassign. It does no
// I/O and does not check a.Version: the store compares it with the stored
// version under a lock before it calls Apply.
func (x *Exception) Apply(a Action, at time.Time) (*ExceptionChange, error) {
	if err := a.Actor.Validate(); err != nil {
		return nil, err
	}
	ch := &ExceptionChange{Outbox: OutboxUpdated}
	state := func(to, outbox string) error {
		from := x.State
		if err := x.Transition(to, at); err != nil {
			return err
		}
		ch.Activities = append(ch.Activities, Activity{At: at, Actor: a.Actor, Action: "state", FromState: from, ToState: to, Note: a.Reason})
		ch.Outbox = outbox
		return nil
	}
	var err error
	switch a.Kind {
	case ActAcknowledge:
		err = state(ExceptionAcknowledged, OutboxAcknowledged)
	case ActResolve:
		if strings.TrimSpace(a.Reason) == "" {
			return nil, &FieldError{Field: "reason", Reason: "a resolution needs a reason"}
		}
		if err = state(ExceptionResolved, OutboxResolved); err == nil {
			x.Resolution = a.Reason
		}
	case ActIgnore:
		if err = state(ExceptionIgnored, OutboxIgnored); err == nil && a.Reason != "" {
			x.Resolution = a.Reason
		}
	case ActReopen:
		if err = state(ExceptionOpen, OutboxReopened); err == nil {
			ch.ClearSnooze = true
		}
	case ActAssign:
		if err := checkLogin(a.Assignee); err != nil {
			return nil, err
		}
		if a.Assignee == x.Assignee {
			return nil, &FieldError{Field: "assignee", Reason: "the exception is assigned to " + quoteOrNobody(x.Assignee) + " already"}
		}
		x.Assignee = a.Assignee
		ch.Activities = append(ch.Activities, Activity{At: at, Actor: a.Actor, Action: "assign",
			Note: strings.TrimSpace("to " + quoteOrNobody(a.Assignee) + " " + a.Reason)})
	case ActSnooze:
		if !a.Until.After(at) {
			return nil, &FieldError{Field: "until", Reason: "must be in the future"}
		}
		if !x.Active() {
			return nil, Errorf(EINVALID, "exception %d is %s: only open or acknowledged exceptions can be snoozed", x.ID, x.State)
		}
		ch.SnoozeUntil = a.Until
		ch.Activities = append(ch.Activities, Activity{At: at, Actor: a.Actor, Action: "snooze",
			Note: strings.TrimSpace("until " + a.Until.UTC().Format(time.RFC3339) + " " + a.Reason)})
	default:
		return nil, &FieldError{Field: "action", Reason: fmt.Sprintf("%q is not one of %s", a.Kind, strings.Join(ActionKinds, ", "))}
	}
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// Validate checks that the actor is of a known kind and named.
func (a Actor) Validate() error {
	switch a.Kind {
	case ActorUser, ActorSlack, ActorRule:
	default:
		return &FieldError{Field: "actor", Reason: fmt.Sprintf("kind %q is not one of user, slack, rule", a.Kind)}
	}
	if strings.TrimSpace(a.Name) == "" {
		return &FieldError{Field: "actor", Reason: "a change needs the name of who made it"}
	}
	return nil
}

// ActionsOf turns an update (the fields that differ from x) into actions,
// state first: a state already held or the assignee already set is no
// change. A note without a change is a comment (nil actions).
func (x *Exception) ActionsOf(upd ExceptionUpdate) ([]Action, error) {
	var out []Action
	if upd.State != nil && *upd.State != x.State {
		kind, ok := map[string]string{ExceptionAcknowledged: ActAcknowledge, ExceptionResolved: ActResolve,
			ExceptionIgnored: ActIgnore, ExceptionOpen: ActReopen}[*upd.State]
		if !ok {
			return nil, &FieldError{Field: "state", Reason: fmt.Sprintf("%q is not one of open, acknowledged, resolved, ignored", *upd.State)}
		}
		out = append(out, Action{Kind: kind, Version: upd.Version, Reason: upd.Note, Actor: upd.Actor, At: upd.At})
	}
	if upd.Assignee != nil && *upd.Assignee != x.Assignee {
		out = append(out, Action{Kind: ActAssign, Version: upd.Version, Assignee: *upd.Assignee, Reason: upd.Note, Actor: upd.Actor, At: upd.At})
	}
	return out, nil
}

// checkLogin refuses an assignee that cannot be a login: the console and
// Slack name people by login, never by a display name or a chat id.
func checkLogin(s string) error {
	if len(s) > maxLogin {
		return &FieldError{Field: "assignee", Reason: fmt.Sprintf("is %d bytes long, at most %d", len(s), maxLogin)}
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return &FieldError{Field: "assignee", Reason: fmt.Sprintf("%q is not a login (a space or control character at byte %d)", s, i)}
	}
	return nil
}

func quoteOrNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}
