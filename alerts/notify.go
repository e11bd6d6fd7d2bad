package alerts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notifier is the notify stage: it turns the throttle's and the
// escalator's decisions into deliveries: the group message (posted once,
// then updated in place) and thread replies saying what changed.
type Notifier struct{}

func enqueue(ctx context.Context, tx pgx.Tx, g *group, kind, body string, now time.Time) error {
	var gid any
	if g != nil {
		gid = g.ID
	}
	ch := ""
	if g != nil {
		ch = g.Channel
	}
	_, err := tx.Exec(ctx, `INSERT INTO alert_deliveries (group_id, channel, kind, body, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)`,
		gid, ch, kind, body, now)
	return err
}

// Enqueue writes the deliveries of action (and of an escalation step) for
// g and marks it notified at now.
func (Notifier) Enqueue(ctx context.Context, tx pgx.Tx, g *group, action Action, step *EscalationStep, now time.Time) error {
	var err error
	switch action {
	case ActPost:
		err = enqueue(ctx, tx, g, "post", "", now)
		g.Changes = nil
	case ActUpdate:
		err = enqueue(ctx, tx, g, "update", "", now)
		if err == nil && len(g.Changes) > 0 {
			err = enqueue(ctx, tx, g, "reply", strings.Join(g.Changes, "\n"), now)
		}
		g.Changes = nil
	case ActRepeat:
		open := 0
		for _, m := range g.Members {
			if m.Active() {
				open++
			}
		}
		err = enqueue(ctx, tx, g, "reply", fmt.Sprintf("Still firing: %d exception(s) open.", open), now)
	}
	if err != nil {
		return err
	}
	if step != nil {
		g.EscalationLevel++
		text := fmt.Sprintf("%s Escalation level %d: not acknowledged within %s.", step.Mention, g.EscalationLevel, step.After)
		if err := enqueue(ctx, tx, g, "reply", text, now); err != nil {
			return err
		}
		if action == ActNone {
			if err := enqueue(ctx, tx, g, "update", "", now); err != nil {
				return err
			}
		}
	}
	if action != ActNone {
		g.NotifiedAt = now
		if g.ChangedAt.After(now) {
			g.ChangedAt = now
		}
	}
	return g.save(ctx, tx)
}
