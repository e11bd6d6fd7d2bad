package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/supplywatch/supplywatch/procure"
)

var _ procure.ExceptionStore = (*ExceptionStore)(nil)

// ExceptionStore is the exception queue for the console, the API and
// alerts. The rules engine changes exceptions through a StateTx instead.
type ExceptionStore struct {
	db  *DB
	now func() time.Time
}

// NewExceptionStore returns an ExceptionStore on db; now is the clock of
// user changes (time.Now when nil).
func NewExceptionStore(db *DB, now func() time.Time) *ExceptionStore {
	if now == nil {
		now = time.Now
	}
	return &ExceptionStore{db: db, now: now}
}

const exceptionCols = `id, tenant, fingerprint, group_key, rule_id, kind, subject, title, message, severity, team,
	supplier, plant, po, line, need_by, quantity, value_at_risk, currency, priority, state, assignee, occurrences,
	first_seen, last_seen, resolved_at, resolution, version`

func scanException(row pgx.Row) (*procure.Exception, error) {
	var x procure.Exception
	var needBy, resolvedAt pgtype.Timestamptz
	err := row.Scan(&x.ID, &x.Tenant, &x.Fingerprint, &x.GroupKey, &x.Rule, &x.Kind, &x.Subject, &x.Title, &x.Message,
		&x.Severity, &x.Team, &x.Supplier, &x.Plant, &x.PO, &x.Line, &needBy, &x.Quantity, &x.ValueAtRisk, &x.Currency,
		&x.Priority, &x.State, &x.Assignee, &x.Occurrences, &x.FirstSeen, &x.LastSeen, &resolvedAt, &x.Resolution, &x.Version)
	if err != nil {
		return nil, err
	}
	x.NeedBy, x.ResolvedAt = needBy.Time.UTC(), resolvedAt.Time.UTC()
	x.FirstSeen, x.LastSeen = x.FirstSeen.UTC(), x.LastSeen.UTC()
	return &x, nil
}

func ts(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()} }

// FindExceptionByID returns the exception or ENOTFOUND.
func (s *ExceptionStore) FindExceptionByID(ctx context.Context, id int64) (*procure.Exception, error) {
	x, err := scanException(s.db.Pool.QueryRow(ctx, `SELECT `+exceptionCols+` FROM exceptions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, procure.Errorf(procure.ENOTFOUND, "exception %d not found", id)
	}
	return x, err
}

// FindExceptionByFingerprint returns the exception or ENOTFOUND.
func (s *ExceptionStore) FindExceptionByFingerprint(ctx context.Context, tenant, fingerprint string) (*procure.Exception, error) {
	x, err := scanException(s.db.Pool.QueryRow(ctx, `SELECT `+exceptionCols+` FROM exceptions WHERE tenant = $1 AND fingerprint = $2`, tenant, fingerprint))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, procure.Errorf(procure.ENOTFOUND, "exception %q not found", fingerprint)
	}
	return x, err
}

// FindExceptions returns the exceptions matching f, highest priority and
// most recent first.
func (s *ExceptionStore) FindExceptions(ctx context.Context, f procure.ExceptionFilter) ([]*procure.Exception, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Tenant != "" {
		add("tenant = $%d", f.Tenant)
	}
	if len(f.States) > 0 {
		add("state = ANY($%d)", f.States)
	}
	if f.Rule != "" {
		add("rule_id = $%d", f.Rule)
	}
	if f.Supplier != "" {
		add("supplier = $%d", f.Supplier)
	}
	if f.Plant != "" {
		add("plant = $%d", f.Plant)
	}
	if f.PO != "" {
		add("po = $%d", f.PO)
	}
	if f.GroupKey != "" {
		add("group_key = $%d", f.GroupKey)
	}
	q := `SELECT ` + exceptionCols + ` FROM exceptions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += fmt.Sprintf(" ORDER BY priority, last_seen DESC, id LIMIT %d OFFSET %d", limit, max(f.Offset, 0))
	rows, err := s.db.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find exceptions: %w", err)
	}
	defer rows.Close()
	var out []*procure.Exception
	for rows.Next() {
		x, err := scanException(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// UpdateException applies a person's change. upd.Version must be the
// version stored, or the change is refused with ECONFLICT.
func (s *ExceptionStore) UpdateException(ctx context.Context, id int64, upd procure.ExceptionUpdate) (*procure.Exception, error) {
	if err := upd.Actor.Validate(); err != nil {
		return nil, err
	}
	at := upd.At
	if at.IsZero() {
		at = s.now()
	}
	var out *procure.Exception
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		x, err := scanException(tx.QueryRow(ctx, `SELECT `+exceptionCols+` FROM exceptions WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return procure.Errorf(procure.ENOTFOUND, "exception %d not found", id)
		}
		if err != nil {
			return err
		}
		if x.Version != upd.Version {
			return procure.Errorf(procure.ECONFLICT, "exception %d changed since it was read (version %d, now %d)", id, upd.Version, x.Version)
		}
		out = x
		as, err := x.ActionsOf(upd)
		switch {
		case err != nil:
			return err
		case len(as) > 0:
			return applyActions(ctx, tx, x, as, at)
		case upd.Note != "":
			before := *x
			return writeException(ctx, tx, x, &before, []procure.Activity{{At: at, Actor: upd.Actor, Action: "comment", Note: upd.Note}}, procure.OutboxUpdated, at)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindActivity returns an exception's log, oldest first.
func (s *ExceptionStore) FindActivity(ctx context.Context, exceptionID int64) ([]*procure.Activity, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT id, exception_id, at, actor_kind, actor, action, from_state, to_state, note
		FROM exception_activity WHERE exception_id = $1 ORDER BY id`, exceptionID)
	if err != nil {
		return nil, fmt.Errorf("find activity: %w", err)
	}
	var out []*procure.Activity
	var a procure.Activity
	_, err = pgx.ForEachRow(rows, []any{&a.ID, &a.ExceptionID, &a.At, &a.Actor.Kind, &a.Actor.Name, &a.Action, &a.FromState, &a.ToState, &a.Note}, func() error {
		c := a
		c.At = c.At.UTC()
		out = append(out, &c)
		return nil
	})
	return out, err
}

// FindExceptionGroups returns the groups of a tenant with open exceptions,
// most open first.
func (s *ExceptionStore) FindExceptionGroups(ctx context.Context, tenant string) ([]*procure.ExceptionGroup, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT tenant, group_key, rule_id, supplier, open_count, total_count, value_at_risk, updated_at
		FROM exception_groups WHERE tenant = $1 ORDER BY open_count DESC, value_at_risk DESC, group_key`, tenant)
	if err != nil {
		return nil, fmt.Errorf("find groups: %w", err)
	}
	var out []*procure.ExceptionGroup
	var g procure.ExceptionGroup
	_, err = pgx.ForEachRow(rows, []any{&g.Tenant, &g.GroupKey, &g.Rule, &g.Supplier, &g.OpenCount, &g.TotalCount, &g.ValueAtRisk, &g.UpdatedAt}, func() error {
		c := g
		out = append(out, &c)
		return nil
	})
	return out, err
}

// ClaimOutbox hands unpublished outbox events to f and marks them
// published when f succeeds.
func (s *ExceptionStore) ClaimOutbox(ctx context.Context, limit int, f func([]*procure.OutboxEvent) error) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, payload FROM exception_outbox WHERE published_at IS NULL
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		var evs []*procure.OutboxEvent
		var ids []int64
		var id int64
		var b []byte
		_, err = pgx.ForEachRow(rows, []any{&id, &b}, func() error {
			ev := new(procure.OutboxEvent)
			if err := json.Unmarshal(b, ev); err != nil {
				return err
			}
			ev.ID = id
			evs, ids = append(evs, ev), append(ids, id)
			return nil
		})
		if err != nil || len(evs) == 0 {
			return err
		}
		if err := f(evs); err != nil {
			return err
		}
		n = len(evs)
		_, err = tx.Exec(ctx, `UPDATE exception_outbox SET published_at = now() WHERE id = ANY($1)`, ids)
		return err
	})
	return n, err
}

// RaiseException opens or recurs the exception of c: procure.Raise decides
// the change (activity, outbox event), written like a person's change.
func (t *stateTx) RaiseException(ctx context.Context, c *procure.ExceptionCandidate) (*procure.Exception, error) {
	fp := c.Fingerprint()
	x, err := scanException(t.tx.QueryRow(ctx, `SELECT `+exceptionCols+` FROM exceptions WHERE tenant = $1 AND fingerprint = $2 FOR UPDATE`, c.Tenant, fp))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("raise %s: %w", fp, err)
	}
	if x == nil {
		x, ch, err := procure.Raise(nil, c)
		if err != nil {
			return nil, err
		}
		err = t.tx.QueryRow(ctx, `INSERT INTO exceptions (tenant, fingerprint, group_key, rule_id, kind, subject, title, message,
			severity, team, supplier, plant, po, line, need_by, quantity, value_at_risk, currency, priority, state, occurrences,
			first_seen, last_seen) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23)
			ON CONFLICT (tenant, fingerprint) DO NOTHING RETURNING id, version`,
			x.Tenant, x.Fingerprint, x.GroupKey, x.Rule, x.Kind, x.Subject, x.Title, x.Message, x.Severity, x.Team, x.Supplier,
			x.Plant, x.PO, x.Line, ts(x.NeedBy), x.Quantity, x.ValueAtRisk, x.Currency, x.Priority, x.State, x.Occurrences,
			x.FirstSeen, x.LastSeen).Scan(&x.ID, &x.Version)
		if errors.Is(err, pgx.ErrNoRows) {
			// Inserted by a concurrent transaction since we looked: recur on it.
			return t.RaiseException(ctx, c)
		}
		if err != nil {
			return nil, fmt.Errorf("raise %s: %w", fp, err)
		}
		return x, writeSideEffects(ctx, t.tx, x, nil, ch.Activities, ch.Outbox, c.At)
	}
	before := *x
	_, ch, err := procure.Raise(x, c)
	if err != nil {
		return nil, err
	}
	return x, writeException(ctx, t.tx, x, &before, ch.Activities, ch.Outbox, c.At)
}

// ResolveException resolves the active exception with the fingerprint: a
// resolve by the rule (procure.RuleResolve), applied and written as a
// person's resolve from the console or Slack is (applyActions).
func (t *stateTx) ResolveException(ctx context.Context, tenant, fingerprint string, at time.Time, actor procure.Actor, reason string) (*procure.Exception, error) {
	x, err := scanException(t.tx.QueryRow(ctx, `SELECT `+exceptionCols+` FROM exceptions
		WHERE tenant = $1 AND fingerprint = $2 AND state IN ('open', 'acknowledged') FOR UPDATE`, tenant, fingerprint))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", fingerprint, err)
	}
	if err := applyActions(ctx, t.tx, x, []procure.Action{procure.RuleResolve(actor, reason, at)}, at); err != nil {
		return nil, fmt.Errorf("resolve %s: %w", fingerprint, err)
	}
	return x, nil
}

// AddOutbox records an outbox event.
func (t *stateTx) AddOutbox(ctx context.Context, ev *procure.OutboxEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	var xid pgtype.Int8
	if ev.ExceptionID != 0 {
		xid = pgtype.Int8{Int64: ev.ExceptionID, Valid: true}
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO exception_outbox (tenant, kind, exception_id, at, payload) VALUES ($1, $2, $3, $4, $5)`,
		ev.Tenant, ev.Kind, xid, ev.At, b)
	return err
}

// writeException updates the exception row (version + 1) and writes its
// side effects.
func writeException(ctx context.Context, tx pgx.Tx, x, before *procure.Exception, acts []procure.Activity, kind string, at time.Time) error {
	err := tx.QueryRow(ctx, `UPDATE exceptions SET title = $2, message = $3, severity = $4, team = $5, supplier = $6, plant = $7,
		po = $8, line = $9, need_by = $10, quantity = $11, value_at_risk = $12, currency = $13, priority = $14, state = $15,
		assignee = $16, occurrences = $17, first_seen = $18, last_seen = $19, resolved_at = $20, resolution = $21,
		version = version + 1, updated_at = now() WHERE id = $1 RETURNING version`,
		x.ID, x.Title, x.Message, x.Severity, x.Team, x.Supplier, x.Plant, x.PO, x.Line, ts(x.NeedBy), x.Quantity, x.ValueAtRisk,
		x.Currency, x.Priority, x.State, x.Assignee, x.Occurrences, x.FirstSeen, x.LastSeen, ts(x.ResolvedAt), x.Resolution).Scan(&x.Version)
	if err != nil {
		return fmt.Errorf("update exception %d: %w", x.ID, err)
	}
	return writeSideEffects(ctx, tx, x, before, acts, kind, at)
}

// writeSideEffects writes the activity entries, the outbox event and the
// group counts of one change, in one round trip.
func writeSideEffects(ctx context.Context, tx pgx.Tx, x, before *procure.Exception, acts []procure.Activity, kind string, at time.Time) error {
	b := &pgx.Batch{}
	for _, a := range acts {
		b.Queue(`INSERT INTO exception_activity (exception_id, at, actor_kind, actor, action, from_state, to_state, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, x.ID, a.At, a.Actor.Kind, a.Actor.Name, a.Action, a.FromState, a.ToState, a.Note)
	}
	payload, err := json.Marshal(&procure.OutboxEvent{Tenant: x.Tenant, Kind: kind, ExceptionID: x.ID, At: at, Exception: x})
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO exception_outbox (tenant, kind, exception_id, at, payload) VALUES ($1, $2, $3, $4, $5)`, x.Tenant, kind, x.ID, at, payload)
	dOpen, dTotal, dValue := 0, 0, 0.0
	if before == nil {
		dTotal = 1
	}
	if x.Active() {
		dOpen++
		dValue += x.ValueAtRisk
	}
	if before != nil && before.Active() {
		dOpen--
		dValue -= before.ValueAtRisk
	}
	if dOpen != 0 || dTotal != 0 || dValue != 0 {
		b.Queue(`INSERT INTO exception_groups (tenant, group_key, rule_id, supplier, open_count, total_count, value_at_risk)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (tenant, group_key) DO UPDATE SET open_count = exception_groups.open_count + excluded.open_count,
			  total_count = exception_groups.total_count + excluded.total_count,
			  value_at_risk = exception_groups.value_at_risk + excluded.value_at_risk, updated_at = now()`,
			x.Tenant, x.GroupKey, x.Rule, x.Supplier, dOpen, dTotal, dValue)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("exception %d side effects: %w", x.ID, err)
	}
	return nil
}
