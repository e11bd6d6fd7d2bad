package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/supplywatch/supplywatch/procure"
)

// query builds a WHERE clause with numbered arguments.
type query struct {
	where []string
	args  []any
}

func (q *query) add(cond string, v any) {
	q.args = append(q.args, v)
	q.where = append(q.where, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(q.args))))
}

func (q *query) raw(cond string) { q.where = append(q.where, cond) }

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d", len(q.args))
}

func (q *query) clause() string {
	if len(q.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.where, " AND ")
}

// scopeExceptions adds the scope's predicates on exceptions e. A scope
// without a tenant matches nothing.
func (q *query) scopeExceptions(sc procure.Scope) {
	q.add("e.tenant = $?", sc.Tenant)
	if sc.Tenant == "" {
		q.raw("false")
	}
	switch {
	case sc.Plants == nil:
	case len(sc.Plants) == 1:
		q.add("e.plant = $?", sc.Plants[0])
	default:
		q.add("e.plant = ANY($?)", sc.Plants)
	}
	if sc.Supplier != "" {
		q.add("e.supplier = $?", sc.Supplier)
	}
}

// scopeOrders adds the scope's predicates on order documents d.
func (q *query) scopeOrders(sc procure.Scope) {
	q.add("d.tenant = $?", sc.Tenant)
	if sc.Tenant == "" {
		q.raw("false")
	}
	if sc.Plants != nil {
		q.add("d.body->>'plant' = ANY($?)", sc.Plants)
	}
	if sc.Supplier != "" {
		q.add("d.body->>'supplier' = $?", sc.Supplier)
	}
}

var queueCols = "e." + strings.ReplaceAll(exceptionCols, ", ", ", e.")

const queueExtra = `, s.until, (SELECT min(t.due_at) FROM sla_timers t WHERE t.tenant = e.tenant AND t.subject = e.subject AND t.state = 'running')`

func scanQueueItem(row pgx.Row) (*procure.QueueItem, error) {
	var until, due pgtype.Timestamptz
	x, err := scanException(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &until, &due)...) }))
	if err != nil {
		return nil, err
	}
	return &procure.QueueItem{Exception: *x, SnoozedUntil: until.Time.UTC(), SLADueAt: due.Time.UTC()}, nil
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func isActiveOnly(states []string) bool {
	if len(states) == 0 {
		return true
	}
	for _, s := range states {
		if s != procure.ExceptionOpen && s != procure.ExceptionAcknowledged {
			return false
		}
	}
	return true
}

// FindQueue returns a page of the queue in priority order and the cursor
// of the next page (nil on the last).
func (s *ConsoleStore) FindQueue(ctx context.Context, sc procure.Scope, f procure.QueueFilter) ([]*procure.QueueItem, *procure.Cursor, error) {
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	var q query
	q.scopeExceptions(sc)
	if isActiveOnly(f.States) {
		// Literal, so that the partial queue indexes apply.
		q.raw("e.state IN ('open', 'acknowledged')")
	}
	if len(f.States) > 0 {
		q.add("e.state = ANY($?)", f.States)
	}
	if len(f.Severities) > 0 {
		q.add("e.severity = ANY($?)", f.Severities)
	}
	for _, c := range []struct{ col, v string }{{"rule_id", f.Rule}, {"plant", f.Plant}, {"supplier", f.Supplier}, {"team", f.Team}, {"assignee", f.Assignee}, {"group_key", f.GroupKey}} {
		if c.v != "" {
			q.add("e."+c.col+" = $?", c.v)
		}
	}
	if f.OlderThan > 0 {
		q.add("e.first_seen <= $?", now.Add(-f.OlderThan))
	}
	if !f.SLADueBefore.IsZero() {
		q.add(`EXISTS (SELECT 1 FROM sla_timers t WHERE t.tenant = e.tenant AND t.subject = e.subject AND t.state = 'running' AND t.due_at <= $?)`, f.SLADueBefore)
	}
	if f.SubjectKind != "" {
		q.add("e.subject LIKE $?", f.SubjectKind+"/%")
	}
	switch {
	case len(f.Documents) > 0:
		var subjects []string
		for _, d := range f.Documents {
			for _, k := range []string{"po", "asn", "invoice", "message", "receipt", "supplier"} {
				subjects = append(subjects, k+"/"+d)
			}
		}
		a, b, ids := q.arg(f.Documents), q.arg(subjects), q.arg(f.IDs)
		q.raw("(e.po = ANY(" + a + ") OR e.subject = ANY(" + b + ") OR e.id = ANY(" + ids + "))")
	case len(f.IDs) > 0:
		q.add("e.id = ANY($?)", f.IDs)
	}
	if c := f.After; c != nil {
		p, t, i := q.arg(c.Priority), q.arg(c.LastSeen), q.arg(c.ID)
		q.raw("e.priority >= " + p + " AND (e.priority > " + p + " OR (e.last_seen, e.id) < (" + t + ", " + i + "))")
	}
	nowArg := q.arg(now)
	if !f.IncludeSnoozed {
		q.raw("s.exception_id IS NULL")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	sql := `SELECT ` + queueCols + queueExtra + ` FROM exceptions e
		LEFT JOIN console_snoozes s ON s.exception_id = e.id AND s.until > ` + nowArg + q.clause() +
		fmt.Sprintf(" ORDER BY e.priority, e.last_seen DESC, e.id DESC LIMIT %d", limit+1)
	rows, err := s.db.Pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, nil, fmt.Errorf("find queue: %w", err)
	}
	defer rows.Close()
	out := make([]*procure.QueueItem, 0, limit)
	for rows.Next() {
		it, err := scanQueueItem(rows)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("find queue: %w", err)
	}
	var next *procure.Cursor
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = &procure.Cursor{Priority: last.Priority, LastSeen: last.LastSeen, ID: last.ID}
	}
	return out, next, nil
}

// FindException returns one exception within the scope.
func (s *ConsoleStore) FindException(ctx context.Context, sc procure.Scope, id int64, now time.Time) (*procure.QueueItem, error) {
	return findItem(ctx, s.db.Pool, sc, id, now, false)
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func findItem(ctx context.Context, db queryRower, sc procure.Scope, id int64, now time.Time, lock bool) (*procure.QueueItem, error) {
	var q query
	q.add("e.id = $?", id)
	q.scopeExceptions(sc)
	sql := `SELECT ` + queueCols + queueExtra + ` FROM exceptions e
		LEFT JOIN console_snoozes s ON s.exception_id = e.id AND s.until > ` + q.arg(now) + q.clause()
	if lock {
		sql += " FOR UPDATE OF e"
	}
	it, err := scanQueueItem(db.QueryRow(ctx, sql, q.args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, procure.Errorf(procure.ENOTFOUND, "exception %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find exception %d: %w", id, err)
	}
	return it, nil
}

// FindActivity returns the log of an exception within the scope.
func (s *ConsoleStore) FindActivity(ctx context.Context, sc procure.Scope, id int64) ([]*procure.Activity, error) {
	var q query
	q.add("e.id = $?", id)
	q.scopeExceptions(sc)
	rows, err := s.db.Pool.Query(ctx, `SELECT a.id, a.exception_id, a.at, a.actor_kind, a.actor, a.action, a.from_state, a.to_state, a.note
		FROM exception_activity a JOIN exceptions e ON e.id = a.exception_id`+q.clause()+` ORDER BY a.id`, q.args...)
	if err != nil {
		return nil, fmt.Errorf("find activity: %w", err)
	}
	out := []*procure.Activity{}
	var a procure.Activity
	_, err = pgx.ForEachRow(rows, []any{&a.ID, &a.ExceptionID, &a.At, &a.Actor.Kind, &a.Actor.Name, &a.Action, &a.FromState, &a.ToState, &a.Note}, func() error {
		c := a
		c.At = c.At.UTC()
		out = append(out, &c)
		return nil
	})
	return out, err
}

// Act applies a person's action with the optimistic check on the version.
// On ECONFLICT the current exception is returned with the error.
func (s *ConsoleStore) Act(ctx context.Context, sc procure.Scope, id int64, a procure.Action) (*procure.QueueItem, error) {
	at := a.At
	if at.IsZero() {
		at = time.Now()
	}
	var current *procure.QueueItem
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		it, err := findItem(ctx, tx, sc, id, at, true)
		if err != nil {
			return err
		}
		if it.Version != a.Version {
			current = it
			return procure.Errorf(procure.ECONFLICT, "exception %d changed since you read it (your version %d, now %d by the latest change); review it and try again", id, a.Version, it.Version)
		}
		return applyActions(ctx, tx, &it.Exception, []procure.Action{a}, at)
	})
	if err != nil {
		return current, err
	}
	return s.FindException(ctx, sc, id, at)
}

// AddNote adds an activity entry (comment, retry) to an exception within
// the scope. Notes do not change the exception, so they never conflict.
func (s *ConsoleStore) AddNote(ctx context.Context, sc procure.Scope, id int64, actor procure.Actor, action, note string, at time.Time) (*procure.Activity, error) {
	var q query
	q.add("e.id = $?", id)
	q.scopeExceptions(sc)
	a := procure.Activity{ExceptionID: id, At: at.UTC(), Actor: actor, Action: action, Note: note}
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO exception_activity (exception_id, at, actor_kind, actor, action, note)
		SELECT e.id, `+q.arg(at)+`, `+q.arg(actor.Kind)+`, `+q.arg(actor.Name)+`, `+q.arg(action)+`, `+q.arg(note)+` FROM exceptions e`+q.clause()+` RETURNING id`,
		q.args...).Scan(&a.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, procure.Errorf(procure.ENOTFOUND, "exception %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("comment on %d: %w", id, err)
	}
	return &a, nil
}

// FindGroups returns the systemic incidents with active exceptions in the
// scope, most exceptions first.
func (s *ConsoleStore) FindGroups(ctx context.Context, sc procure.Scope) ([]*procure.GroupView, error) {
	var q query
	q.scopeExceptions(sc)
	q.raw("e.state IN ('open', 'acknowledged')")
	var sql string
	if sc.AllPlants() && sc.Supplier == "" {
		// The maintained counts, then the detail of the biggest groups only.
		sql = `WITH g AS (SELECT group_key, open_count, total_count, value_at_risk FROM exception_groups
			WHERE tenant = $1 AND open_count > 0 ORDER BY open_count DESC, value_at_risk DESC LIMIT 100)
		SELECT g.group_key, d.rule_id, d.supplier, d.title, g.open_count, g.total_count, g.value_at_risk, d.plants, d.top, d.last
		FROM g CROSS JOIN LATERAL (SELECT min(e.rule_id) AS rule_id, min(e.supplier) AS supplier, min(e.title) AS title,
			array_agg(DISTINCT e.plant) AS plants, min(e.priority) AS top, max(e.last_seen) AS last
			FROM (SELECT * FROM exceptions e WHERE e.tenant = $1 AND e.group_key = g.group_key AND e.state IN ('open', 'acknowledged') LIMIT 1000) e) d
		ORDER BY g.open_count DESC, g.value_at_risk DESC`
		q = query{args: []any{sc.Tenant}}
	} else {
		sql = `SELECT e.group_key, min(e.rule_id), min(e.supplier), min(e.title), count(*), count(*), sum(e.value_at_risk),
			array_agg(DISTINCT e.plant), min(e.priority), max(e.last_seen)
			FROM exceptions e` + q.clause() + ` GROUP BY e.group_key ORDER BY count(*) DESC, sum(e.value_at_risk) DESC LIMIT 100`
	}
	rows, err := s.db.Pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("find groups: %w", err)
	}
	out := []*procure.GroupView{}
	var g procure.GroupView
	var top pgtype.Int4
	var last pgtype.Timestamptz
	_, err = pgx.ForEachRow(rows, []any{&g.GroupKey, &g.Rule, &g.Supplier, &g.Title, &g.OpenCount, &g.TotalCount, &g.ValueAtRisk, &g.Plants, &top, &last}, func() error {
		c := g
		c.Plants = slices.DeleteFunc(slices.Clone(g.Plants), func(p string) bool { return p == "" })
		c.TopPriority, c.LastSeen = int(top.Int32), last.Time.UTC()
		out = append(out, &c)
		return nil
	})
	return out, err
}

// FindDocuments returns the projections named by keys; orders outside the
// scope are left out (other kinds are reached through an exception or an
// order the caller checked).
func (s *ConsoleStore) FindDocuments(ctx context.Context, sc procure.Scope, keys [][2]string) ([]*procure.Document, error) {
	if len(keys) == 0 || sc.Tenant == "" {
		return []*procure.Document{}, nil
	}
	kinds, ids := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		kinds[i], ids[i] = k[0], k[1]
	}
	var q query
	q.scopeOrders(sc)
	orderScope := strings.Join(q.where, " AND ")
	sql := `SELECT d.kind, d.id, d.body, d.updated_at FROM documents d
		JOIN unnest(` + q.arg(kinds) + `::text[], ` + q.arg(ids) + `::text[]) AS k(kind, id) ON d.kind = k.kind AND d.id = k.id
		WHERE d.tenant = $1 AND (d.kind <> 'po' OR (` + orderScope + `))`
	rows, err := s.db.Pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("find documents: %w", err)
	}
	out := []*procure.Document{}
	var d procure.Document
	_, err = pgx.ForEachRow(rows, []any{&d.Kind, &d.ID, &d.Body, &d.UpdatedAt}, func() error {
		c := d
		c.Body = append(json.RawMessage(nil), d.Body...)
		out = append(out, &c)
		return nil
	})
	return out, err
}

// FindTimers returns the SLA timers of one document (doc key po/4500…),
// not the deferred rule evaluations (grace:<rule>) kept beside them.
func (s *ConsoleStore) FindTimers(ctx context.Context, sc procure.Scope, docKey string) ([]*procure.Timer, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT body, version FROM sla_timers WHERE tenant = $1 AND doc_key = $2 AND sla_id NOT LIKE 'grace:%' ORDER BY due_at`, sc.Tenant, docKey)
	if err != nil {
		return nil, fmt.Errorf("find timers: %w", err)
	}
	out := []*procure.Timer{}
	var b []byte
	var v int64
	_, err = pgx.ForEachRow(rows, []any{&b, &v}, func() error {
		t := new(procure.Timer)
		if err := json.Unmarshal(b, t); err != nil {
			return err
		}
		t.Version = v
		out = append(out, t)
		return nil
	})
	return out, err
}

// FindOrders returns open orders of a plant or of a supplier within the
// scope, most recently changed first.
func (s *ConsoleStore) FindOrders(ctx context.Context, sc procure.Scope, plant, supplier string, limit int) ([]*procure.Order, error) {
	var q query
	q.scopeOrders(sc)
	q.raw("d.kind = 'po'")
	if plant != "" {
		q.add("d.body->>'plant' = $?", plant)
	}
	if supplier != "" {
		q.add("d.body->>'supplier' = $?", supplier)
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT d.body FROM documents d`+q.clause()+fmt.Sprintf(` ORDER BY d.updated_at DESC LIMIT %d`, max(limit, 1)), q.args...)
	if err != nil {
		return nil, fmt.Errorf("find orders: %w", err)
	}
	out := []*procure.Order{}
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&b}, func() error {
		o := new(procure.Order)
		if err := json.Unmarshal(b, o); err != nil {
			return err
		}
		out = append(out, o)
		return nil
	})
	return out, err
}

// FindInvoices returns the invoices of a supplier's orders within the
// scope, most recently changed first.
func (s *ConsoleStore) FindInvoices(ctx context.Context, sc procure.Scope, supplier string, limit int) ([]*procure.InvoiceState, error) {
	var q query
	q.scopeOrders(sc)
	q.add("d.body->>'supplier' = $?", supplier)
	rows, err := s.db.Pool.Query(ctx, `SELECT i.body FROM documents i
		JOIN documents d ON d.tenant = i.tenant AND d.kind = 'po' AND d.id = i.body->>'po'`+q.clause()+
		` AND i.tenant = $1 AND i.kind = 'invoice'`+fmt.Sprintf(` ORDER BY i.updated_at DESC LIMIT %d`, max(limit, 1)), q.args...)
	if err != nil {
		return nil, fmt.Errorf("find invoices: %w", err)
	}
	out := []*procure.InvoiceState{}
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&b}, func() error {
		v := new(procure.InvoiceState)
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// FindLots returns the lots named item/lot.
func (s *ConsoleStore) FindLots(ctx context.Context, tenant string, ids []string) ([]*procure.LotState, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT body FROM documents WHERE tenant = $1 AND kind = 'lot' AND id = ANY($2)`, tenant, ids)
	if err != nil {
		return nil, fmt.Errorf("find lots: %w", err)
	}
	out := []*procure.LotState{}
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&b}, func() error {
		l := new(procure.LotState)
		if err := json.Unmarshal(b, l); err != nil {
			return err
		}
		out = append(out, l)
		return nil
	})
	return out, err
}

// OutboxAfter returns outbox events after id without claiming them.
func (s *ConsoleStore) OutboxAfter(ctx context.Context, afterID int64, limit int) ([]*procure.OutboxEvent, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT id, payload FROM exception_outbox WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox after %d: %w", afterID, err)
	}
	var out []*procure.OutboxEvent
	var id int64
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &b}, func() error {
		ev := new(procure.OutboxEvent)
		if err := json.Unmarshal(b, ev); err != nil {
			return err
		}
		ev.ID = id
		out = append(out, ev)
		return nil
	})
	return out, err
}

// LastOutboxID is the id of the newest outbox event (0 when none).
func (s *ConsoleStore) LastOutboxID(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.Pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM exception_outbox`).Scan(&id)
	return id, err
}

// KPIs returns the exception figures of the scope: active by severity and
// priority, resolved in the last 7 days, median and p90 hours to resolve
// over the last 30 days, and the value at risk of active exceptions.
func (s *ConsoleStore) KPIs(ctx context.Context, sc procure.Scope, now time.Time) (map[string]any, error) {
	var q query
	q.scopeExceptions(sc)
	since7, since30 := q.arg(now.Add(-7*24*time.Hour)), q.arg(now.Add(-30*24*time.Hour))
	sql := `SELECT
		count(*) FILTER (WHERE e.state IN ('open', 'acknowledged')),
		count(*) FILTER (WHERE e.state = 'open'),
		count(*) FILTER (WHERE e.state = 'acknowledged'),
		count(*) FILTER (WHERE e.state IN ('open', 'acknowledged') AND e.severity = 'critical'),
		count(*) FILTER (WHERE e.state IN ('open', 'acknowledged') AND e.severity = 'high'),
		count(*) FILTER (WHERE e.state IN ('open', 'acknowledged') AND e.priority = 1),
		coalesce(sum(e.value_at_risk) FILTER (WHERE e.state IN ('open', 'acknowledged')), 0),
		count(*) FILTER (WHERE e.state = 'resolved' AND e.resolved_at >= ` + since7 + `),
		coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.resolved_at - e.first_seen) / 3600)
			FILTER (WHERE e.state = 'resolved' AND e.resolved_at >= ` + since30 + `), 0),
		coalesce(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM e.resolved_at - e.first_seen) / 3600)
			FILTER (WHERE e.state = 'resolved' AND e.resolved_at >= ` + since30 + `), 0)
		FROM exceptions e` + q.clause()
	var active, open, acked, crit, high, p1 int64
	var var_, med, p90 float64
	var resolved7 int64
	if err := s.db.Pool.QueryRow(ctx, sql, q.args...).Scan(&active, &open, &acked, &crit, &high, &p1, &var_, &resolved7, &med, &p90); err != nil {
		return nil, fmt.Errorf("kpis: %w", err)
	}
	return map[string]any{
		"active": active, "open": open, "acknowledged": acked, "critical": crit, "high": high, "priority_1": p1,
		"value_at_risk": var_, "resolved_7d": resolved7, "resolve_hours_p50_30d": med, "resolve_hours_p90_30d": p90,
	}, nil
}
