package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/procure"
)

// History reads back the stored events of one database, of every tenant,
// for a rule back-test (rules.History).
type History struct {
	conn driver.Conn
	db   string
}

// NewHistory returns the History of database db.
func NewHistory(conn driver.Conn, db string) *History { return &History{conn: conn, db: db} }

// ReplayEvents passes to f the raw events that occurred in [from, to] and
// the master data (supplier.updated, item.updated) that occurred before
// from, in occurred_at then id order; an error of f stops it and is
// returned.
func (h *History) ReplayEvents(ctx context.Context, from, to time.Time, f func(raw []byte) error) error {
	if !identRE.MatchString(h.db) {
		return procure.Errorf(procure.EINVALID, "database %q is not a plain identifier", h.db)
	}
	rows, err := h.conn.Query(ctx, `SELECT raw FROM `+h.db+`.events
		WHERE occurred_at >= fromUnixTimestamp64Milli(?) AND occurred_at <= fromUnixTimestamp64Milli(?)
		   OR type IN ('supplier.updated', 'item.updated') AND occurred_at < fromUnixTimestamp64Milli(?)
		ORDER BY occurred_at, id`, from.UnixMilli(), to.UnixMilli(), from.UnixMilli())
	if err != nil {
		return fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		if err := f([]byte(raw)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	return nil
}
