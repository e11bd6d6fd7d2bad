package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/supplywatch/supplywatch/postgres/pgerr"
	"github.com/supplywatch/supplywatch/procure"
)

var (
	_ procure.StateStore  = (*StateStore)(nil)
	_ procure.StateTx     = (*stateTx)(nil)
	_ procure.ExceptionTx = (*stateTx)(nil)
)

// StateStore is the workflow state: projections, processed events, timers,
// and exceptions changed in the same transactions.
type StateStore struct {
	db *DB
	// MaxRetries bounds the re-runs of a transaction after a deadlock or a
	// serialization failure.
	MaxRetries int
}

// NewStateStore returns a StateStore on db.
func NewStateStore(db *DB) *StateStore { return &StateStore{db: db, MaxRetries: 5} }

// InTx runs f in a transaction and commits if f returns nil; after a
// deadlock or serialization failure it runs f again (f must not keep state
// across runs). A failure comes back classified (procure.Classify):
// transient when Postgres is unreachable, overloaded or in conflict,
// deterministic for data, constraint and statement errors.
func (s *StateStore) InTx(ctx context.Context, f func(tx procure.StateTx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error { return f(&stateTx{tx: tx}) })
		if err == nil || !retryable(err) || attempt >= s.MaxRetries || ctx.Err() != nil {
			return pgerr.Classify(err)
		}
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
}

// FireDueTimers claims up to limit running timers whose next firing time is
// at or before now, with FOR UPDATE SKIP LOCKED so that concurrent callers
// claim disjoint timers, and passes them to f inside the transaction. f
// updates the timers (SaveTimers) and raises exceptions through tx. It
// returns how many timers were claimed.
func (s *StateStore) FireDueTimers(ctx context.Context, now time.Time, limit int, f func(tx procure.StateTx, ts []*procure.Timer) error) (int, error) {
	n := 0
	err := s.InTx(ctx, func(tx procure.StateTx) error {
		st := tx.(*stateTx)
		rows, err := st.tx.Query(ctx, `SELECT body, version FROM sla_timers
			WHERE state = 'running' AND next_fire_at <= $1
			ORDER BY next_fire_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return fmt.Errorf("claim due timers: %w", err)
		}
		ts, err := scanTimers(rows)
		if err != nil {
			return err
		}
		n = len(ts)
		if n == 0 {
			return nil
		}
		return f(tx, ts)
	})
	return n, err
}

// NextFireAt returns the earliest firing time of a running timer (zero when
// none), so a scheduler can sleep until then.
func (s *StateStore) NextFireAt(ctx context.Context) (time.Time, error) {
	var t pgtype.Timestamptz
	err := s.db.Pool.QueryRow(ctx, `SELECT min(next_fire_at) FROM sla_timers WHERE state = 'running'`).Scan(&t)
	if err != nil {
		return time.Time{}, fmt.Errorf("next timer: %w", err)
	}
	if !t.Valid {
		return time.Time{}, nil
	}
	return t.Time, nil
}

// CountTimers returns the number of SLA timers per state (deferred rule
// evaluations not counted).
func (s *StateStore) CountTimers(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT state, count(*) FROM sla_timers WHERE sla_id NOT LIKE 'grace:%' GROUP BY state`)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	var st string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&st, &n}, func() error { out[st] = n; return nil })
	return out, err
}

// FindState returns the JSON of one projection, or ENOTFOUND.
func (s *StateStore) FindState(ctx context.Context, key procure.StateKey) ([]byte, error) {
	var b []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT body FROM documents WHERE tenant = $1 AND kind = $2 AND id = $3`,
		key.Tenant, key.Kind, key.ID).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, procure.Errorf(procure.ENOTFOUND, "%s %s not found", key.Kind, key.ID)
	}
	return b, err
}

type stateTx struct {
	tx pgx.Tx
}

func (t *stateTx) Exceptions() procure.ExceptionTx { return t }

func (t *stateTx) AdvanceEventTime(ctx context.Context, at time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO sla_clock (id, event_time, updated_at) VALUES (1, $1, now())
		ON CONFLICT (id) DO UPDATE SET event_time = greatest(sla_clock.event_time, excluded.event_time), updated_at = now()`, at)
	if err != nil {
		return fmt.Errorf("advance event time: %w", err)
	}
	return nil
}

// EventTime returns the event-time clock and when it last moved (zero
// times when no event was processed yet).
func (s *StateStore) EventTime(ctx context.Context) (eventTime, updatedAt time.Time, err error) {
	err = s.db.Pool.QueryRow(ctx, `SELECT event_time, updated_at FROM sla_clock WHERE id = 1`).Scan(&eventTime, &updatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, time.Time{}, nil
	}
	return eventTime, updatedAt, err
}

func (t *stateTx) MarkProcessed(ctx context.Context, keys []procure.EventKey, at time.Time) ([]bool, error) {
	tenants, ids := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		tenants[i], ids[i] = k.Tenant, k.ID
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO processed_events (tenant, event_id, processed_at)
		SELECT tenant, id, $3 FROM unnest($1::text[], $2::text[]) AS k(tenant, id)
		ON CONFLICT DO NOTHING RETURNING tenant, event_id`, tenants, ids, at)
	if err != nil {
		return nil, fmt.Errorf("mark processed: %w", err)
	}
	fresh := map[procure.EventKey]bool{}
	var k procure.EventKey
	if _, err := pgx.ForEachRow(rows, []any{&k.Tenant, &k.ID}, func() error { fresh[k] = true; return nil }); err != nil {
		return nil, fmt.Errorf("mark processed: %w", err)
	}
	out := make([]bool, len(keys))
	for i, k := range keys {
		out[i] = fresh[k]
		delete(fresh, k) // a key twice in one batch is new once
	}
	return out, nil
}

func (t *stateTx) LoadStates(ctx context.Context, keys []procure.StateKey) (map[procure.StateKey][]byte, error) {
	out := make(map[procure.StateKey][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	tenants, kinds, ids := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		tenants[i], kinds[i], ids[i] = k.Tenant, k.Kind, k.ID
	}
	rows, err := t.tx.Query(ctx, `SELECT d.tenant, d.kind, d.id, d.body FROM documents d
		JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(tenant, kind, id)
		  ON d.tenant = k.tenant AND d.kind = k.kind AND d.id = k.id
		ORDER BY d.tenant, d.kind, d.id
		FOR UPDATE OF d`, tenants, kinds, ids)
	if err != nil {
		return nil, fmt.Errorf("load states: %w", err)
	}
	var k procure.StateKey
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&k.Tenant, &k.Kind, &k.ID, &b}, func() error {
		out[k] = append([]byte(nil), b...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load states: %w", err)
	}
	return out, nil
}

func (t *stateTx) SaveStates(ctx context.Context, states map[procure.StateKey][]byte) error {
	if len(states) == 0 {
		return nil
	}
	n := len(states)
	tenants, kinds, ids, bodies := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	for k, b := range states {
		tenants, kinds, ids, bodies = append(tenants, k.Tenant), append(kinds, k.Kind), append(ids, k.ID), append(bodies, string(b))
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO documents (tenant, kind, id, body)
		SELECT tenant, kind, id, body::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS s(tenant, kind, id, body)
		ON CONFLICT (tenant, kind, id) DO UPDATE SET body = excluded.body, version = documents.version + 1, updated_at = now()`,
		tenants, kinds, ids, bodies)
	if err != nil {
		return fmt.Errorf("save states: %w", err)
	}
	return nil
}

func (t *stateTx) LoadTimers(ctx context.Context, tenant string, docKeys []string) ([]*procure.Timer, error) {
	if len(docKeys) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT body, version FROM sla_timers WHERE tenant = $1 AND doc_key = ANY($2)
		ORDER BY sla_id, subject FOR UPDATE`, tenant, docKeys)
	if err != nil {
		return nil, fmt.Errorf("load timers: %w", err)
	}
	return scanTimers(rows)
}

func scanTimers(rows pgx.Rows) ([]*procure.Timer, error) {
	var out []*procure.Timer
	var b []byte
	var v int64
	_, err := pgx.ForEachRow(rows, []any{&b, &v}, func() error {
		tm := new(procure.Timer)
		if err := json.Unmarshal(b, tm); err != nil {
			return err
		}
		tm.Version = v
		out = append(out, tm)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read timers: %w", err)
	}
	return out, nil
}

func (t *stateTx) SaveTimers(ctx context.Context, ts []*procure.Timer) error {
	if len(ts) == 0 {
		return nil
	}
	n := len(ts)
	tenants, slas, subjects, docs, states := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	next, due := make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
	bodies := make([]string, n)
	for i, tm := range ts {
		b, err := json.Marshal(tm)
		if err != nil {
			return err
		}
		tenants[i], slas[i], subjects[i], docs[i], states[i], bodies[i] = tm.Tenant, tm.SLA, tm.Subject, tm.DocKey, tm.State, string(b)
		next[i] = pgtype.Timestamptz{Time: tm.NextFireAt, Valid: !tm.NextFireAt.IsZero()}
		due[i] = pgtype.Timestamptz{Time: tm.DueAt, Valid: !tm.DueAt.IsZero()}
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO sla_timers (tenant, sla_id, subject, doc_key, state, next_fire_at, due_at, body)
		SELECT tenant, sla, subject, doc, state, next, due, body::jsonb
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[])
		  AS s(tenant, sla, subject, doc, state, next, due, body)
		ON CONFLICT (tenant, sla_id, subject) DO UPDATE SET doc_key = excluded.doc_key, state = excluded.state,
		  next_fire_at = excluded.next_fire_at, due_at = excluded.due_at, body = excluded.body,
		  version = sla_timers.version + 1, updated_at = now()`,
		tenants, slas, subjects, docs, states, next, due, bodies)
	if err != nil {
		return fmt.Errorf("save timers: %w", err)
	}
	for _, tm := range ts {
		tm.New = false
		tm.Version++
	}
	return nil
}
