package alerts

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Button actions.
const (
	ActionAcknowledge = "acknowledge"
	ActionAssignToMe  = "assign_to_me"
	ActionSnooze      = "snooze"
	ActionRetry       = "retry"
)

// SnoozeFor is how long the snooze button holds a group's repeats and
// escalations.
const SnoozeFor = 4 * time.Hour

// allowed says which roles may take each action; executives may not act.
var allowed = map[string][]string{
	ActionAcknowledge: {"procurement", "plant", "oncall", "admin"},
	ActionAssignToMe:  {"procurement", "plant", "oncall", "admin"},
	ActionSnooze:      {"procurement", "plant", "oncall", "admin"},
	ActionRetry:       {"oncall", "admin", "procurement"},
}

// Act performs a Slack button's action by u on the active exceptions of
// group groupID and returns a short confirmation. Each member is
// authorised on its own: u acts only on exceptions of u's tenant (and, for
// a plant user, of u's plants); the others are left alone and counted. A
// group of another tenant is not found. Snoozing holds the whole group, so
// it needs every active member in scope. The group's message follows
// through the outbox like any other change.
func (d *Dispatcher) Act(ctx context.Context, u User, groupID int64, action string) (string, error) {
	roles, ok := allowed[action]
	if !ok {
		return "", procure.Errorf(procure.EINVALID, "unknown action %q", action)
	}
	if !slices.Contains(roles, u.Role) {
		return "", procure.Errorf(procure.EFORBIDDEN, "%s (%s) may not %s", u.Name, u.Role, action)
	}
	g, err := d.groups.AlertGroup(ctx, groupID)
	if procure.ErrorCode(err) == procure.ENOTFOUND || (err == nil && g.Labels["tenant"] != "" && g.Labels["tenant"] != u.Tenant) {
		return "", procure.Errorf(procure.ENOTFOUND, "alert group %d not found", groupID)
	}
	if err != nil {
		return "", err
	}
	var mine []*procure.Exception
	outside := 0
	for _, m := range g.Members {
		if m.ExceptionID == 0 || !m.Active() {
			continue
		}
		x, err := d.store.FindExceptionByID(ctx, m.ExceptionID)
		if procure.ErrorCode(err) == procure.ENOTFOUND {
			continue
		}
		if err != nil {
			return "", err
		}
		if !u.MayActOn(x.Tenant, x.Plant) {
			outside++
			continue
		}
		mine = append(mine, x)
	}
	if len(mine) == 0 && outside > 0 {
		return "", procure.Errorf(procure.EFORBIDDEN, "%s may not act on these exceptions (other plants)", u.Name)
	}
	if action == ActionSnooze {
		if outside > 0 {
			return "", procure.Errorf(procure.EFORBIDDEN, "%s may not snooze the group: %d of its exceptions are outside your plants", u.Name, outside)
		}
		now := d.now()
		err := d.groups.UpdateAlertGroup(ctx, groupID, func(g *procure.AlertGroup) error {
			snooze(g, u, now)
			return nil
		})
		kick(d.wakeTick)
		return "Snoozed for 4 hours.", err
	}
	n := 0
	for _, x := range mine {
		switch action {
		case ActionAcknowledge:
			if x.State == procure.ExceptionAcknowledged {
				continue
			}
			err = d.actor.Acknowledge(ctx, u, x.ID)
		case ActionAssignToMe:
			err = d.actor.Assign(ctx, u, x.ID, u.Login)
		case ActionRetry:
			err = d.actor.Retry(ctx, u, x.ID)
		}
		if err != nil {
			return "", err
		}
		n++
	}
	msg := fmt.Sprintf("%s: %d exception(s).", action, n)
	if outside > 0 {
		msg += fmt.Sprintf(" %d outside your plants left alone.", outside)
	}
	return msg, nil
}

// GroupUpdater changes one group (postgres.AlertStore): UpdateAlertGroup
// locks group id, hands it to f and stores what f left in it.
type GroupUpdater interface {
	UpdateAlertGroup(ctx context.Context, id int64, f func(*procure.AlertGroup) error) error
}

// snooze holds g's repeats, updates and escalations for SnoozeFor from
// now, by u, and says so in the thread.
func snooze(g *procure.AlertGroup, u User, now time.Time) {
	until := now.Add(SnoozeFor)
	g.SnoozedUntil = until
	g.Changes = append(g.Changes, fmt.Sprintf("snoozed until %s by %s", until.UTC().Format("2006-01-02 15:04 MST"), Escape(u.Name)))
	g.ChangedAt = now
}

// StoreActor performs actions through the exception store, as the Slack
// actor (procure.ActorSlack) with the console user's login. Retry is handed to
// retry (the console's retry of a failed message); nil refuses it.
type StoreActor struct {
	store procure.ExceptionStore
	retry func(ctx context.Context, u User, x *procure.Exception) error
}

// NewStoreActor returns a StoreActor.
func NewStoreActor(store procure.ExceptionStore, retry func(ctx context.Context, u User, x *procure.Exception) error) *StoreActor {
	return &StoreActor{store: store, retry: retry}
}

func (a *StoreActor) update(ctx context.Context, u User, id int64, upd procure.ExceptionUpdate) error {
	for range 3 { // a concurrent change: read again
		x, err := a.store.FindExceptionByID(ctx, id)
		if err != nil {
			return err
		}
		upd.Version = x.Version
		upd.Actor = procure.Actor{Kind: procure.ActorSlack, Name: u.Login}
		_, err = a.store.UpdateException(ctx, id, upd)
		if procure.ErrorCode(err) != procure.ECONFLICT {
			return err
		}
	}
	return procure.Errorf(procure.ECONFLICT, "exception %d keeps changing", id)
}

// Acknowledge moves the exception to acknowledged.
func (a *StoreActor) Acknowledge(ctx context.Context, u User, id int64) error {
	s := procure.ExceptionAcknowledged
	return a.update(ctx, u, id, procure.ExceptionUpdate{State: &s, Note: "acknowledged in Slack"})
}

// Assign assigns the exception.
func (a *StoreActor) Assign(ctx context.Context, u User, id int64, assignee string) error {
	return a.update(ctx, u, id, procure.ExceptionUpdate{Assignee: &assignee, Note: "from Slack"})
}

// Retry hands the exception to the retry function.
func (a *StoreActor) Retry(ctx context.Context, u User, id int64) error {
	if a.retry == nil {
		return procure.Errorf(procure.EINVALID, "retry is not available here")
	}
	x, err := a.store.FindExceptionByID(ctx, id)
	if err != nil {
		return err
	}
	return a.retry(ctx, u, x)
}
