package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/supplywatch/supplywatch/procure"
)

// applyActions applies a person's actions to x, locked in tx, through the
// domain's one change function (procure.Exception.Apply) and writes the
// exception with the activity, outbox event and snooze they yield: the one
// write path of ConsoleStore.Act (the console) and
// ExceptionStore.UpdateException (Slack).
func applyActions(ctx context.Context, tx pgx.Tx, x *procure.Exception, as []procure.Action, at time.Time) error {
	before := *x
	var acts []procure.Activity
	outbox := procure.OutboxUpdated
	for _, a := range as {
		ch, err := x.Apply(a, at)
		if err != nil {
			return err
		}
		acts = append(acts, ch.Activities...)
		if ch.Outbox != procure.OutboxUpdated {
			outbox = ch.Outbox
		}
		if ch.ClearSnooze {
			if _, err := tx.Exec(ctx, `DELETE FROM console_snoozes WHERE exception_id = $1`, x.ID); err != nil {
				return err
			}
		}
		if !ch.SnoozeUntil.IsZero() {
			if _, err := tx.Exec(ctx, `INSERT INTO console_snoozes (exception_id, until, by_user, at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (exception_id) DO UPDATE SET until = excluded.until, by_user = excluded.by_user, at = excluded.at`,
				x.ID, ch.SnoozeUntil, a.Actor.Name, at); err != nil {
				return err
			}
		}
	}
	return writeException(ctx, tx, x, &before, acts, outbox, at)
}
