package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/supplywatch/supplywatch/postgres/pgerr"
	"github.com/supplywatch/supplywatch/procure"
)

// AlertStore keeps the alert pipeline's state (migration 0200_alerts.sql):
// the fan-out feed of the exception outbox (alert_feed,
// alert_feed_pending), the groups (alert_groups), the delivery outbox
// (alert_deliveries) with its per-channel pacing (alert_channels), and the
// daily digests sent (alert_digests). It stores what package alerts
// decides; each method is one transaction, and its errors are classified
// (pgerr.Classify).
type AlertStore struct {
	db *DB
}

// NewAlertStore returns the alert store of db.
func NewAlertStore(db *DB) *AlertStore { return &AlertStore{db: db} }

// AppendFeed copies outbox events into the feed and queues each for every
// consumer, idempotently by outbox id.
func (s *AlertStore) AppendFeed(ctx context.Context, evs []*procure.OutboxEvent, consumers []string) error {
	b := &pgx.Batch{}
	for _, ev := range evs {
		p, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("alert feed: outbox event %d: %w", ev.ID, err)
		}
		b.Queue(`INSERT INTO alert_feed (outbox_id, tenant, at, payload) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, ev.ID, ev.Tenant, ev.At, p)
		for _, c := range consumers {
			b.Queue(`INSERT INTO alert_feed_pending (consumer, outbox_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, c, ev.ID)
		}
	}
	if err := s.db.Pool.SendBatch(ctx, b).Close(); err != nil {
		return pgerr.Classify(fmt.Errorf("alert feed: %w", err))
	}
	return nil
}

// ClaimFeed hands up to limit of consumer's pending events, oldest first,
// to fn and removes them from the consumer's queue when fn returns nil. An
// event that does not decode would never decode: it is reported to
// dropped (when not nil) and removed with the others.
func (s *AlertStore) ClaimFeed(ctx context.Context, consumer string, limit int, fn func([]*procure.OutboxEvent) error,
	dropped func(outboxID int64, err error)) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT p.outbox_id, f.payload FROM alert_feed_pending p JOIN alert_feed f USING (outbox_id)
			WHERE p.consumer = $1 ORDER BY p.outbox_id LIMIT $2 FOR UPDATE OF p SKIP LOCKED`, consumer, limit)
		if err != nil {
			return err
		}
		var evs []*procure.OutboxEvent
		var ids []int64
		for rows.Next() {
			var id int64
			var b []byte
			if err := rows.Scan(&id, &b); err != nil {
				rows.Close()
				return err
			}
			ev := new(procure.OutboxEvent)
			if err := json.Unmarshal(b, ev); err != nil {
				if dropped != nil {
					dropped(id, err)
				}
				ids = append(ids, id)
				continue
			}
			ev.ID = id
			evs, ids = append(evs, ev), append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if len(evs) > 0 {
			if err := fn(evs); err != nil {
				return err
			}
		}
		n = len(ids)
		_, err = tx.Exec(ctx, `DELETE FROM alert_feed_pending WHERE consumer = $1 AND outbox_id = ANY($2)`, consumer, ids)
		return err
	})
	return n, pgerr.Classify(err)
}

const alertGroupCols = `id, route, group_key, channel, labels, members, changes, state, first_at, changed_at,
	coalesce(notified_at, 'epoch'), slack_ts, escalation_level, coalesce(snoozed_until, 'epoch')`

func scanAlertGroup(row pgx.Row) (*procure.AlertGroup, error) {
	var g procure.AlertGroup
	var labels, members, changes []byte
	if err := row.Scan(&g.ID, &g.Route, &g.GroupKey, &g.Channel, &labels, &members, &changes, &g.State, &g.FirstAt, &g.ChangedAt,
		&g.NotifiedAt, &g.SlackTS, &g.EscalationLevel, &g.SnoozedUntil); err != nil {
		return nil, err
	}
	if g.NotifiedAt.Unix() == 0 {
		g.NotifiedAt = time.Time{}
	}
	if g.SnoozedUntil.Unix() == 0 {
		g.SnoozedUntil = time.Time{}
	}
	if err := errors.Join(json.Unmarshal(labels, &g.Labels), json.Unmarshal(members, &g.Members), json.Unmarshal(changes, &g.Changes)); err != nil {
		return nil, fmt.Errorf("alert group %d: %w", g.ID, err)
	}
	if g.Members == nil {
		g.Members = map[string]procure.AlertMember{}
	}
	return &g, nil
}

func scanAlertGroups(rows pgx.Rows) ([]*procure.AlertGroup, error) {
	defer rows.Close()
	var gs []*procure.AlertGroup
	for rows.Next() {
		g, err := scanAlertGroup(rows)
		if err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	return gs, rows.Err()
}

// errGroupRace is a group made by another transaction since EditGroups
// looked: the edit was made without it, so it is rolled back and retried.
var errGroupRace = errors.New("made concurrently")

// saveAlertGroup inserts g when it has no id and updates its changing
// fields otherwise. A group made concurrently under the same key is
// errGroupRace.
func saveAlertGroup(ctx context.Context, tx pgx.Tx, g *procure.AlertGroup) error {
	members, err := json.Marshal(g.Members)
	if err != nil {
		return fmt.Errorf("alert group %s: %w", g.GroupKey, err)
	}
	changes, err := json.Marshal(g.Changes)
	if err != nil {
		return fmt.Errorf("alert group %s: %w", g.GroupKey, err)
	}
	if changes == nil || string(changes) == "null" {
		changes = []byte("[]")
	}
	if g.ID == 0 {
		labels, err := json.Marshal(g.Labels)
		if err != nil {
			return fmt.Errorf("alert group %s: %w", g.GroupKey, err)
		}
		err = tx.QueryRow(ctx, `INSERT INTO alert_groups (route, group_key, channel, labels, members, changes, state, first_at, changed_at,
				notified_at, escalation_level, snoozed_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (route, group_key) DO NOTHING RETURNING id`,
			g.Route, g.GroupKey, g.Channel, labels, members, changes, g.State, g.FirstAt, g.ChangedAt, nullTime(g.NotifiedAt),
			g.EscalationLevel, nullTime(g.SnoozedUntil)).Scan(&g.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return procure.Transient("conflict", fmt.Errorf("alert group %s: %w", g.GroupKey, errGroupRace))
		}
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE alert_groups SET members = $2, changes = $3, state = $4, changed_at = $5,
		notified_at = $6, escalation_level = $7, snoozed_until = $8 WHERE id = $1`,
		g.ID, members, changes, g.State, g.ChangedAt, nullTime(g.NotifiedAt), g.EscalationLevel, nullTime(g.SnoozedUntil))
	return err
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// EditGroups locks the groups of keys (in id order) and hands those that
// exist to edit; it then stores the groups edit returns: a group without
// an id is made, the others are updated. All in one transaction. When
// another transaction made one of those groups meanwhile (two processes
// grouping alerts of one key), nothing is stored and the error is
// transient: the caller's retry finds the group and adds to it, where
// keeping the other's would drop this edit's members.
func (s *AlertStore) EditGroups(ctx context.Context, keys []procure.AlertGroupKey,
	edit func(map[procure.AlertGroupKey]*procure.AlertGroup) ([]*procure.AlertGroup, error)) error {
	routes, gkeys := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		routes[i], gkeys[i] = k.Route, k.Key
	}
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+alertGroupCols+` FROM alert_groups
			WHERE (route, group_key) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY id FOR UPDATE`, routes, gkeys)
		if err != nil {
			return err
		}
		gs, err := scanAlertGroups(rows)
		if err != nil {
			return err
		}
		have := make(map[procure.AlertGroupKey]*procure.AlertGroup, len(gs))
		for _, g := range gs {
			have[g.Key()] = g
		}
		save, err := edit(have)
		if err != nil {
			return err
		}
		for _, g := range save {
			if err := saveAlertGroup(ctx, tx, g); err != nil {
				return err
			}
		}
		return nil
	})
	return pgerr.Classify(err)
}

// NotifyGroups locks the groups that may need a message (firing, never
// notified, or changed since notified; those another process holds are
// skipped) and hands them to decide, which returns the groups it changed
// and the deliveries to queue; both are stored in the same transaction.
func (s *AlertStore) NotifyGroups(ctx context.Context,
	decide func([]*procure.AlertGroup) ([]*procure.AlertGroup, []procure.AlertDelivery, error)) error {
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+alertGroupCols+` FROM alert_groups
			WHERE state = 'firing' OR notified_at IS NULL OR changed_at > notified_at ORDER BY id FOR UPDATE SKIP LOCKED`)
		if err != nil {
			return err
		}
		gs, err := scanAlertGroups(rows)
		if err != nil {
			return err
		}
		save, ds, err := decide(gs)
		if err != nil {
			return err
		}
		if err := insertDeliveries(ctx, tx, ds); err != nil {
			return err
		}
		for _, g := range save {
			if err := saveAlertGroup(ctx, tx, g); err != nil {
				return err
			}
		}
		return nil
	})
	return pgerr.Classify(err)
}

func insertDeliveries(ctx context.Context, tx pgx.Tx, ds []procure.AlertDelivery) error {
	for _, d := range ds {
		var gid *int64
		if d.GroupID != 0 {
			gid = &d.GroupID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO alert_deliveries (group_id, channel, kind, body, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			gid, d.Channel, d.Kind, d.Body, d.CreatedAt); err != nil {
			return fmt.Errorf("queue %s delivery: %w", d.Kind, err)
		}
	}
	return nil
}

// AddDigest records team's digest of day and queues the delivery build
// returns, in one transaction, unless that digest was recorded already
// (then build is not called and it returns false): a digest goes out once
// per team and day.
func (s *AlertStore) AddDigest(ctx context.Context, team, day string, build func() (procure.AlertDelivery, error)) (bool, error) {
	added := false
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO alert_digests (team, day) VALUES ($1, $2) ON CONFLICT DO NOTHING`, team, day)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		d, err := build()
		if err != nil {
			return err
		}
		added = true
		return insertDeliveries(ctx, tx, []procure.AlertDelivery{d})
	})
	if err != nil {
		return false, pgerr.Classify(fmt.Errorf("digest %s %s: %w", team, day, err))
	}
	return added, nil
}

// AlertGroup returns group id; ENOTFOUND when there is none.
func (s *AlertStore) AlertGroup(ctx context.Context, id int64) (*procure.AlertGroup, error) {
	g, err := scanAlertGroup(s.db.Pool.QueryRow(ctx, `SELECT `+alertGroupCols+` FROM alert_groups WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, procure.Errorf(procure.ENOTFOUND, "alert group %d not found", id)
	}
	if err != nil {
		return nil, pgerr.Classify(fmt.Errorf("alert group %d: %w", id, err))
	}
	return g, nil
}

// UpdateAlertGroup locks group id, hands it to f and stores what f left
// in it; ENOTFOUND when there is no such group.
func (s *AlertStore) UpdateAlertGroup(ctx context.Context, id int64, f func(*procure.AlertGroup) error) error {
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		g, err := scanAlertGroup(tx.QueryRow(ctx, `SELECT `+alertGroupCols+` FROM alert_groups WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return procure.Errorf(procure.ENOTFOUND, "alert group %d not found", id)
		}
		if err != nil {
			return err
		}
		if err := f(g); err != nil {
			return err
		}
		return saveAlertGroup(ctx, tx, g)
	})
	return pgerr.Classify(err)
}

// ClaimDeliveries marks in flight up to one due delivery per channel, the
// oldest pending one of its group, and returns them. A delivery is due
// when its next attempt time has come and it is not in flight (or its
// attempt started more than lease ago: a crashed process). A channel takes
// one delivery per channelInterval across all processes (alert_channels).
func (s *AlertStore) ClaimDeliveries(ctx context.Context, now time.Time, lease, channelInterval time.Duration) ([]procure.AlertDelivery, error) {
	var out []procure.AlertDelivery
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT d.id, coalesce(d.group_id, 0), coalesce(g.channel, d.channel), d.kind, d.body, d.attempts,
				coalesce(d.attempted_at, 'epoch'), d.created_at
			FROM alert_deliveries d LEFT JOIN alert_groups g ON g.id = d.group_id
			WHERE d.status = 'pending' AND d.next_at <= $1 AND (d.in_flight_at IS NULL OR d.in_flight_at < $2)
			  AND NOT EXISTS (SELECT 1 FROM alert_deliveries e WHERE e.group_id = d.group_id AND e.status = 'pending' AND e.id < d.id)
			ORDER BY d.id LIMIT 100 FOR UPDATE OF d SKIP LOCKED`, now, now.Add(-lease))
		if err != nil {
			return err
		}
		var cands []procure.AlertDelivery
		for rows.Next() {
			var d procure.AlertDelivery
			if err := rows.Scan(&d.ID, &d.GroupID, &d.Channel, &d.Kind, &d.Body, &d.Attempts, &d.AttemptedAt, &d.CreatedAt); err != nil {
				rows.Close()
				return err
			}
			if d.AttemptedAt.Unix() == 0 {
				d.AttemptedAt = time.Time{}
			}
			cands = append(cands, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var seen []string
		for _, d := range cands {
			if slices.Contains(seen, d.Channel) {
				continue
			}
			seen = append(seen, d.Channel)
			if _, err := tx.Exec(ctx, `INSERT INTO alert_channels (channel, next_at) VALUES ($1, 'epoch') ON CONFLICT DO NOTHING`, d.Channel); err != nil {
				return err
			}
			var next time.Time
			err := tx.QueryRow(ctx, `SELECT next_at FROM alert_channels WHERE channel = $1 FOR UPDATE SKIP LOCKED`, d.Channel).Scan(&next)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && next.After(now)) {
				continue
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE alert_channels SET next_at = $2 WHERE channel = $1`, d.Channel, now.Add(channelInterval)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE alert_deliveries SET in_flight_at = $2, attempted_at = coalesce(attempted_at, $2), attempts = attempts + 1 WHERE id = $1`, d.ID, now); err != nil {
				return err
			}
			d.Attempts++
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, pgerr.Classify(fmt.Errorf("claim deliveries: %w", err))
	}
	return out, nil
}

// DeliverySent records d sent as Slack message ts; a post gives its group
// that message (unless it has one).
func (s *AlertStore) DeliverySent(ctx context.Context, d procure.AlertDelivery, ts string) error {
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE alert_deliveries SET status = 'sent', slack_ts = $2, sent_at = now(), in_flight_at = NULL, last_error = ''
			WHERE id = $1`, d.ID, ts); err != nil {
			return err
		}
		if d.Kind == procure.DeliveryPost {
			_, err := tx.Exec(ctx, `UPDATE alert_groups SET slack_ts = $2 WHERE id = $1 AND slack_ts = ''`, d.GroupID, ts)
			return err
		}
		return nil
	})
	return pgerr.Classify(err)
}

// DeliveryFailed records d failed for good with cause.
func (s *AlertStore) DeliveryFailed(ctx context.Context, d procure.AlertDelivery, cause string) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE alert_deliveries SET status = 'failed', in_flight_at = NULL, last_error = $2 WHERE id = $1`, d.ID, cause)
	return pgerr.Classify(err)
}

// RetryDelivery schedules d's next attempt at at, recording cause; with
// pauseChannel its whole channel waits until then too (a rate limit).
func (s *AlertStore) RetryDelivery(ctx context.Context, d procure.AlertDelivery, at time.Time, cause string, pauseChannel bool) error {
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE alert_deliveries SET next_at = $2, in_flight_at = NULL, last_error = $3 WHERE id = $1`,
			d.ID, at, cause); err != nil {
			return err
		}
		if pauseChannel {
			_, err := tx.Exec(ctx, `UPDATE alert_channels SET next_at = greatest(next_at, $2) WHERE channel = $1`, d.Channel, at)
			return err
		}
		return nil
	})
	return pgerr.Classify(err)
}
