package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/supplywatch/supplywatch/procure"
)

// RaiseExceptions does what RaiseException does for each candidate, in
// order, but opens the new exceptions in two round trips whatever their
// number: one multi-row insert, one batch of their activity, outbox and
// group rows. A candidate whose exception exists (or is inserted by a
// concurrent transaction, or repeats a fingerprint of the same call)
// recurs through RaiseException. The SLA scheduler fires due timers
// through it (sla.BatchRaiser).
func (t *stateTx) RaiseExceptions(ctx context.Context, cs []*procure.ExceptionCandidate) ([]*procure.Exception, error) {
	out := make([]*procure.Exception, len(cs))
	if len(cs) == 0 {
		return out, nil
	}
	n := len(cs)
	xs := make([]*procure.Exception, n)
	chs := make([]*procure.ExceptionChange, n)
	var (
		tenants, fps, groups, rulesIDs, kinds, subjects, titles, messages = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		severities, teams, suppliers, plants, pos, currencies, states     = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		lines, priorities, occurrences                                    = make([]int32, n), make([]int32, n), make([]int32, n)
		needBy                                                            = make([]pgtype.Timestamptz, n)
		firstSeen, lastSeen                                               = make([]time.Time, n), make([]time.Time, n)
		quantities, values                                                = make([]float64, n), make([]float64, n)
	)
	for i, c := range cs {
		x, ch, err := procure.Raise(nil, c)
		if err != nil {
			return nil, err
		}
		xs[i], chs[i] = x, ch
		tenants[i], fps[i], groups[i], rulesIDs[i], kinds[i], subjects[i] = x.Tenant, x.Fingerprint, x.GroupKey, x.Rule, x.Kind, x.Subject
		titles[i], messages[i], severities[i], teams[i], suppliers[i], plants[i] = x.Title, x.Message, x.Severity, x.Team, x.Supplier, x.Plant
		pos[i], currencies[i], states[i] = x.PO, x.Currency, x.State
		lines[i], priorities[i], occurrences[i] = int32(x.Line), int32(x.Priority), int32(x.Occurrences)
		needBy[i], firstSeen[i], lastSeen[i] = ts(x.NeedBy), x.FirstSeen, x.LastSeen
		quantities[i], values[i] = x.Quantity, x.ValueAtRisk
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO exceptions (tenant, fingerprint, group_key, rule_id, kind, subject, title, message,
			severity, team, supplier, plant, po, line, need_by, quantity, value_at_risk, currency, priority, state, occurrences,
			first_seen, last_seen)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::int[], $15::timestamptz[], $16::float8[], $17::float8[],
			$18::text[], $19::int[], $20::text[], $21::int[], $22::timestamptz[], $23::timestamptz[])
		ON CONFLICT (tenant, fingerprint) DO NOTHING RETURNING tenant, fingerprint, id, version`,
		tenants, fps, groups, rulesIDs, kinds, subjects, titles, messages, severities, teams, suppliers, plants, pos, lines, needBy,
		quantities, values, currencies, priorities, states, occurrences, firstSeen, lastSeen)
	if err != nil {
		return nil, fmt.Errorf("raise %d exceptions: %w", n, err)
	}
	type key struct{ tenant, fp string }
	type inserted struct{ id, version int64 }
	got := map[key]inserted{}
	var k key
	var ins inserted
	if _, err := pgx.ForEachRow(rows, []any{&k.tenant, &k.fp, &ins.id, &ins.version}, func() error { got[k] = ins; return nil }); err != nil {
		return nil, fmt.Errorf("raise %d exceptions: %w", n, err)
	}

	// Side effects of the new ones: activity, outbox, group counts.
	var (
		actIDs                                                 []int64
		actAt                                                  []time.Time
		actKinds, actActors, actActions, actToStates, actNotes []string
		boxTenants, boxKinds                                   []string
		boxIDs                                                 []int64
		boxAt                                                  []time.Time
		boxPayloads                                            []string
		groupDelta                                             = map[key]*procure.ExceptionGroup{}
		recur                                                  []int
	)
	for i, c := range cs {
		x := xs[i]
		r, ok := got[key{x.Tenant, x.Fingerprint}]
		if !ok {
			recur = append(recur, i)
			continue
		}
		delete(got, key{x.Tenant, x.Fingerprint}) // a repeated fingerprint recurs
		x.ID, x.Version = r.id, r.version
		out[i] = x
		for _, a := range chs[i].Activities {
			actIDs, actAt, actKinds, actActors = append(actIDs, x.ID), append(actAt, a.At), append(actKinds, a.Actor.Kind), append(actActors, a.Actor.Name)
			actActions, actToStates, actNotes = append(actActions, a.Action), append(actToStates, a.ToState), append(actNotes, a.Note)
		}
		kind := chs[i].Outbox
		payload, err := json.Marshal(&procure.OutboxEvent{Tenant: x.Tenant, Kind: kind, ExceptionID: x.ID, At: c.At, Exception: x})
		if err != nil {
			return nil, err
		}
		boxTenants, boxKinds, boxIDs, boxAt, boxPayloads = append(boxTenants, x.Tenant), append(boxKinds, kind), append(boxIDs, x.ID), append(boxAt, c.At), append(boxPayloads, string(payload))
		g := groupDelta[key{x.Tenant, x.GroupKey}]
		if g == nil {
			g = &procure.ExceptionGroup{Tenant: x.Tenant, GroupKey: x.GroupKey, Rule: x.Rule, Supplier: x.Supplier}
			groupDelta[key{x.Tenant, x.GroupKey}] = g
		}
		g.TotalCount++
		g.OpenCount++
		g.ValueAtRisk += x.ValueAtRisk
	}
	if len(boxIDs) > 0 {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO exception_activity (exception_id, at, actor_kind, actor, action, to_state, note)
			SELECT id, at, actor_kind, actor, action, to_state, note
			FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
			  AS a(id, at, actor_kind, actor, action, to_state, note)`,
			actIDs, actAt, actKinds, actActors, actActions, actToStates, actNotes)
		b.Queue(`INSERT INTO exception_outbox (tenant, kind, exception_id, at, payload)
			SELECT tenant, kind, id, at, payload::jsonb
			FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[]) AS o(tenant, kind, id, at, payload)`,
			boxTenants, boxKinds, boxIDs, boxAt, boxPayloads)
		// In key order, so that concurrent firers lock group rows alike.
		gs := make([]*procure.ExceptionGroup, 0, len(groupDelta))
		for _, g := range groupDelta {
			gs = append(gs, g)
		}
		slices.SortFunc(gs, func(a, b *procure.ExceptionGroup) int {
			return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.GroupKey, b.GroupKey))
		})
		var gTenants, gKeys, gRules, gSuppliers []string
		var gOpen, gTotal []int32
		var gValue []float64
		for _, g := range gs {
			gTenants, gKeys, gRules, gSuppliers = append(gTenants, g.Tenant), append(gKeys, g.GroupKey), append(gRules, g.Rule), append(gSuppliers, g.Supplier)
			gOpen, gTotal, gValue = append(gOpen, int32(g.OpenCount)), append(gTotal, int32(g.TotalCount)), append(gValue, g.ValueAtRisk)
		}
		b.Queue(`INSERT INTO exception_groups (tenant, group_key, rule_id, supplier, open_count, total_count, value_at_risk)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::float8[])
			ON CONFLICT (tenant, group_key) DO UPDATE SET open_count = exception_groups.open_count + excluded.open_count,
			  total_count = exception_groups.total_count + excluded.total_count,
			  value_at_risk = exception_groups.value_at_risk + excluded.value_at_risk, updated_at = now()`,
			gTenants, gKeys, gRules, gSuppliers, gOpen, gTotal, gValue)
		if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
			return nil, fmt.Errorf("raise %d exceptions: side effects: %w", len(boxIDs), err)
		}
	}
	for _, i := range recur {
		x, err := t.RaiseException(ctx, cs[i])
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}
