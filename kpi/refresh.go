package kpi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Refresher recomputes kpi_rollup from the fact tables: per day and plant
// (supplier ”) and per month, plant and supplier. It computes whole months
// into a stage table of its own and swaps each month in with REPLACE
// PARTITION, so readers never see a half-written month and two refreshers
// do not interfere (the later swap wins; both are complete).
type Refresher struct {
	conn driver.Conn
	db   string
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
}

// NewRefresher returns a Refresher over database db. now is the clock
// (time.Now when nil): the as-of instant deciding what is overdue.
func NewRefresher(conn driver.Conn, db string, cfg Config, log *slog.Logger, now func() time.Time) *Refresher {
	cfg.Defaults()
	if now == nil {
		now = time.Now
	}
	return &Refresher{conn: conn, db: db, cfg: cfg, log: log, now: now}
}

// durationKPIs are the KPIs whose x feeds the quantile state.
func durationKPIs() string {
	var ids []string
	for _, d := range Catalog {
		if d.Kind == Duration {
			ids = append(ids, d.ID)
		}
	}
	return quoteList(ids)
}

// Refresh recomputes the months from the month of from up to and including
// the month of to, as of asOf.
func (r *Refresher) Refresh(ctx context.Context, from, to, asOf time.Time) error {
	start := monthStart(from)
	end := monthStart(to).AddDate(0, 1, 0)
	b := make([]byte, 6)
	rand.Read(b)
	stage := r.db + ".kpi_rollup_stage_" + hex.EncodeToString(b)
	if err := r.conn.Exec(ctx, "CREATE TABLE "+stage+" AS "+r.db+".kpi_rollup"); err != nil {
		return fmt.Errorf("kpi refresh: create stage: %w", err)
	}
	defer r.conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+stage) //nolint:errcheck
	q := fmt.Sprintf(`INSERT INTO %s (tenant, kpi, grain, day, plant, supplier, num, den, q)
SELECT tenant, kpi, g.1 AS grain, g.2 AS gday, plant, g.3 AS gsupplier, sum(num), sum(den),
       quantilesIfState(0.5, 0.9)(x, kpi IN (%s))
FROM (%s) AS e
ARRAY JOIN [('day', e.day, ''), ('month', toStartOfMonth(e.day), e.supplier)] AS g
WHERE e.day >= toDate('%s') AND e.day < toDate('%s')
GROUP BY tenant, kpi, grain, gday, plant, gsupplier`,
		stage, durationKPIs(), entitySQL(r.db, r.cfg.Params, asOf), start.Format(time.DateOnly), end.Format(time.DateOnly))
	if err := r.conn.Exec(bigQuery(ctx), q); err != nil {
		return fmt.Errorf("kpi refresh %s..%s: %w", start.Format("2006-01"), end.Format("2006-01"), err)
	}
	for m := start; m.Before(end); m = m.AddDate(0, 1, 0) {
		part := m.Format("200601")
		var n uint64
		if err := r.conn.QueryRow(ctx, "SELECT count() FROM "+stage+" WHERE toYYYYMM(day) = "+part).Scan(&n); err != nil {
			return fmt.Errorf("kpi refresh %s: %w", part, err)
		}
		stmt := "ALTER TABLE " + r.db + ".kpi_rollup DROP PARTITION " + part
		if n > 0 {
			stmt = "ALTER TABLE " + r.db + ".kpi_rollup REPLACE PARTITION " + part + " FROM " + stage
		}
		if err := r.conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("kpi refresh %s: %w", part, err)
		}
	}
	return nil
}

// RefreshAll recomputes every month that has facts.
func (r *Refresher) RefreshAll(ctx context.Context, asOf time.Time) error {
	var first time.Time
	q := strings.ReplaceAll(`SELECT least(
	  (SELECT ifNull(min(released_at), now64(3)) FROM {db}.kpi_orders),
	  (SELECT ifNull(min(submitted_at), now64(3)) FROM {db}.kpi_asns),
	  (SELECT ifNull(min(first_at), now64(3)) FROM {db}.kpi_invoices),
	  (SELECT ifNull(min(toDateTime64(day, 3)), now64(3)) FROM {db}.kpi_supplier_docs),
	  (SELECT if(count() = 0, now64(3), min(first_seen)) FROM {db}.exception_history))`, "{db}", r.db)
	if err := r.conn.QueryRow(ctx, q).Scan(&first); err != nil {
		return fmt.Errorf("kpi refresh: first fact: %w", err)
	}
	// need-by dates lie ahead of releases: cover a year past asOf.
	return r.Refresh(ctx, first, asOf.AddDate(1, 0, 0), asOf)
}

// Run refreshes everything once, then the last RefreshMonths months (and
// the next year of due dates) every RefreshEvery, until ctx ends.
func (r *Refresher) Run(ctx context.Context) error {
	if err := r.RefreshAll(ctx, r.now()); err != nil && ctx.Err() == nil {
		r.log.Error("kpi refresh", "err", err)
	}
	t := time.NewTicker(r.cfg.RefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := r.now()
		began := time.Now()
		if err := r.Refresh(ctx, now.AddDate(0, 1-r.cfg.RefreshMonths, 0), now.AddDate(1, 0, 0), now); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.log.Error("kpi refresh", "err", err)
			continue
		}
		r.log.Debug("kpi refreshed", "took", time.Since(began))
	}
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
