package rules

import (
	"context"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Describe is describe for the external tests.
func Describe(x procure.Exception) string { return describe(x) }

// EvalTime applies events to an in-memory state and returns the time spent
// in rule evaluation alone (expr), without the state and timer work.
func EvalTime(rs *RuleSet, events []*procure.Event) (time.Duration, error) {
	ctx := context.Background()
	var d time.Duration
	err := NewMemStore().InTx(ctx, func(tx procure.StateTx) error {
		bt := newBatch(ctx, tx)
		for _, e := range events {
			apply(bt, e)
			t := time.Now()
			if _, err := rs.Evaluate(e, bt); err != nil {
				return err
			}
			d += time.Since(t)
		}
		return nil
	})
	return d, err
}
