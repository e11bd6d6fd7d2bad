package postgres

import (
	"context"
	"fmt"
)

// ControlNumbers hands out the interchange control numbers of the
// acknowledgements sent to each trading partner (migration
// 0410_b2b_control_numbers.sql): per partner, 1, 2, … 999999999, then 1
// again, one row updated in place, so numbers survive a restart and two
// collectors never hand out the same one.
type ControlNumbers struct{ db *DB }

// NewControlNumbers returns the sequence store on db.
func NewControlNumbers(db *DB) *ControlNumbers { return &ControlNumbers{db: db} }

// Next returns the partner's next control number.
func (c *ControlNumbers) Next(ctx context.Context, partnerID string) (int64, error) {
	var n int64
	err := c.db.Pool.QueryRow(ctx, `INSERT INTO b2b_control_numbers AS c (partner_id, last) VALUES ($1, 1)
		ON CONFLICT (partner_id) DO UPDATE
		SET last = CASE WHEN c.last >= 999999999 THEN 1 ELSE c.last + 1 END, updated_at = now()
		RETURNING last`, partnerID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("partner %s: next control number: %w", partnerID, err)
	}
	return n, nil
}
