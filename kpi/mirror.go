package kpi

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/procure"
)

// OutboxClaimer hands exception outbox events to f and marks them done
// when f returns nil: procure.ExceptionStore.ClaimOutbox, or a consumer of
// alerts' fan-out feed (alerts.Feeder.Consumer) when alerts also reads the
// outbox.
type OutboxClaimer interface {
	ClaimOutbox(ctx context.Context, limit int, f func([]*procure.OutboxEvent) error) (int, error)
}

// Mirror copies exception outbox events into ClickHouse's
// exception_history, the source of the exception KPIs and of the
// exceptions shown in drill-downs. A batch is inserted before it is marked
// done, so a crash repeats it; ReplacingMergeTree on the outbox id keeps one
// row.
type Mirror struct {
	conn driver.Conn
	db   string
	src  OutboxClaimer
	poll time.Duration
	log  *slog.Logger
}

// NewMirror returns a Mirror from src into database db.
func NewMirror(conn driver.Conn, db string, src OutboxClaimer, cfg Config, log *slog.Logger) *Mirror {
	cfg.Defaults()
	return &Mirror{conn: conn, db: db, src: src, poll: cfg.MirrorPoll, log: log}
}

// Insert writes outbox events to exception_history.
func (m *Mirror) Insert(ctx context.Context, evs []*procure.OutboxEvent) error {
	batch, err := m.conn.PrepareBatch(ctx, "INSERT INTO "+m.db+`.exception_history (outbox_id, tenant, at, kind, exception_id,
		rule, exc_kind, severity, team, plant, supplier, po, line, state, assignee, first_seen, value_at_risk)`)
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	defer batch.Abort()
	n := 0
	for _, ev := range evs {
		x := ev.Exception
		if x == nil {
			continue // sla.warning and other events without an exception
		}
		if err := batch.Append(uint64(ev.ID), ev.Tenant, ev.At, ev.Kind, uint64(x.ID), x.Rule, x.Kind, x.Severity, x.Team,
			x.Plant, x.Supplier, x.PO, int32(x.Line), x.State, x.Assignee, x.FirstSeen, x.ValueAtRisk); err != nil {
			return fmt.Errorf("mirror outbox %d: %w", ev.ID, err)
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("mirror %d events: %w", n, err)
	}
	return nil
}

// Run mirrors until ctx ends.
func (m *Mirror) Run(ctx context.Context) error {
	for {
		n, err := m.src.ClaimOutbox(ctx, 500, func(evs []*procure.OutboxEvent) error { return m.Insert(ctx, evs) })
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			m.log.Error("exception mirror", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(m.poll):
		}
	}
}
