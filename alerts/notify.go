package alerts

import (
	"fmt"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Notifier is the notify stage: it turns the throttle's and the
// escalator's decisions into deliveries: the group message (posted once,
// then updated in place) and thread replies saying what changed.
type Notifier struct{}

// Enqueue returns the deliveries of action (and of an escalation step) for
// g at now, and marks g notified (and escalated) accordingly.
func (Notifier) Enqueue(g *procure.AlertGroup, action Action, step *EscalationStep, now time.Time) []procure.AlertDelivery {
	var out []procure.AlertDelivery
	add := func(kind, body string) {
		out = append(out, procure.AlertDelivery{GroupID: g.ID, Channel: g.Channel, Kind: kind, Body: body, CreatedAt: now})
	}
	switch action {
	case ActPost:
		add(procure.DeliveryPost, "")
		g.Changes = nil
	case ActUpdate:
		add(procure.DeliveryUpdate, "")
		if len(g.Changes) > 0 {
			add(procure.DeliveryReply, strings.Join(g.Changes, "\n"))
		}
		g.Changes = nil
	case ActRepeat:
		open := 0
		for _, m := range g.Members {
			if m.Active() {
				open++
			}
		}
		add(procure.DeliveryReply, fmt.Sprintf("Still firing: %d exception(s) open.", open))
	}
	if step != nil {
		g.EscalationLevel++
		add(procure.DeliveryReply, fmt.Sprintf("%s Escalation level %d: not acknowledged within %s.", step.Mention, g.EscalationLevel, step.After))
		if action == ActNone {
			add(procure.DeliveryUpdate, "")
		}
	}
	if action != ActNone {
		g.NotifiedAt = now
		if g.ChangedAt.After(now) {
			g.ChangedAt = now
		}
	}
	return out
}

// notifyDue runs throttle, escalate and notify over gs at now: it returns
// the groups that got deliveries (changed: to store) and the deliveries.
func (d *Dispatcher) notifyDue(gs []*procure.AlertGroup, now time.Time) ([]*procure.AlertGroup, []procure.AlertDelivery) {
	var save []*procure.AlertGroup
	var ds []procure.AlertDelivery
	for _, g := range gs {
		r := d.routes[g.Route]
		if r == nil {
			continue // route removed from the configuration
		}
		act := d.throttler.Due(g, r, now)
		var step *EscalationStep
		if act != ActPost {
			step = d.escalator.Due(g, r, now)
		}
		if act == ActNone && step == nil {
			continue
		}
		ds = append(ds, d.notifier.Enqueue(g, act, step, now)...)
		save = append(save, g)
	}
	return save, ds
}
