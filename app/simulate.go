package app

import (
	"context"
	"fmt"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/simulator"
)

// runSimulator publishes simulated traffic to the events topic: a backfill
// of history when the tenant has no events yet, then live traffic. A
// restarted simulator continues after the highest PO number stored, with a
// fresh seed unless one is configured, so it never repeats event ids.
func (a *App) runSimulator(ctx context.Context) error {
	cfg := a.cfg.Simulator
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	var stored, maxPO uint64
	err := a.conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(), max(toUInt64OrZero(document_id)) FROM %s.events
		WHERE tenant = ? AND document_kind = 'po'`, a.cfg.ClickHouse.Database), cfg.Tenant).Scan(&stored, &maxPO)
	if err != nil {
		return fmt.Errorf("simulator: read history: %w", err)
	}
	if maxPO >= uint64(cfg.FirstPONumber) {
		cfg.FirstPONumber = int64(maxPO) + 1
	}
	sink := simulator.SinkFunc(func(ctx context.Context, evs []*procure.Event) error {
		rs := make([]procure.Received, len(evs))
		now := time.Now().UTC()
		for i, e := range evs {
			raw, err := procure.Encode(e)
			if err != nil {
				return err
			}
			rs[i] = procure.Received{Event: e, Raw: raw, Channel: procure.ChannelKafka, ReceivedAt: now}
		}
		return a.pub.PublishEvents(ctx, rs)
	})
	eng, err := simulator.New(cfg, sink, simulator.Options{
		Logger:                a.log.With("component", "simulator"),
		Now:                   time.Now,
		ServiceTracerProvider: a.simTracers.provider,
	})
	if err != nil {
		return err
	}
	if stored == 0 && cfg.BackfillDays > 0 {
		a.log.Info("simulator backfilling history", "days", cfg.BackfillDays)
		if err := eng.Backfill(ctx, cfg.BackfillDays); err != nil {
			return fmt.Errorf("simulator backfill: %w", err)
		}
		st := eng.Stats()
		a.log.Info("simulator backfill done", "events", st.Events, "chains", st.Chains)
		if a.kpiRefresher != nil {
			// The KPIs take in the history now, not at the next tick.
			a.kpiRefresher.Trigger()
		}
	}
	a.log.Info("simulator live", "events_per_second", cfg.Rate, "first_po", cfg.FirstPONumber)
	return eng.Run(ctx, cfg.Rate)
}
