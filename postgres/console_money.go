package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/supplywatch/supplywatch/procure"
)

// ValueAtRisk sums the value at risk of active (open, acknowledged)
// exceptions in the scope per currency (and per group with f.ByGroup), in
// numeric arithmetic, rounded to cents and answered as decimal strings.
func (s *ConsoleStore) ValueAtRisk(ctx context.Context, sc procure.Scope, f procure.ValueAtRiskFilter) ([]procure.CurrencyAmount, error) {
	var q query
	q.scopeExceptions(sc)
	q.raw("e.state IN ('open', 'acknowledged')")
	q.raw("e.value_at_risk <> 0")
	if f.Plant != "" {
		q.add("e.plant = $?", f.Plant)
	}
	if f.Supplier != "" {
		q.add("e.supplier = $?", f.Supplier)
	}
	if f.Group != "" {
		q.add("e.group_key = $?", f.Group)
	}
	group := "''"
	if f.ByGroup {
		group = "e.group_key"
	}
	sql := fmt.Sprintf(`SELECT %s AS g, e.currency, round(sum(e.value_at_risk::numeric), 2)::text, count(*)
		FROM exceptions e%s GROUP BY g, e.currency ORDER BY g, e.currency LIMIT 5000`, group, q.clause())
	rows, err := s.db.Pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("value at risk: %w", err)
	}
	var out []procure.CurrencyAmount
	var a procure.CurrencyAmount
	_, err = pgx.ForEachRow(rows, []any{&a.Group, &a.Currency, &a.Amount, &a.Exceptions}, func() error {
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("value at risk: %w", err)
	}
	return out, nil
}
