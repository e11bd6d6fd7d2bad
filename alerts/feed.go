package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/supplywatch/supplywatch/procure"
)

// OutboxClaimer is the exception outbox (procure.ExceptionStore).
type OutboxClaimer interface {
	ClaimOutbox(ctx context.Context, limit int, f func([]*procure.OutboxEvent) error) (int, error)
}

// Feeder is the one claimer of the exception outbox: it copies each event
// into alert_feed and queues it for every consumer, in the same call as the
// claim (an event copied but not marked published is copied again,
// idempotently, by outbox id).
type Feeder struct {
	pool      *pgxpool.Pool
	src       OutboxClaimer
	consumers []string
	log       *slog.Logger
	metrics   *Metrics
}

// ConsumerAlerts is the feed consumer of the alert pipeline.
const ConsumerAlerts = "alerts"

// NewFeeder returns a Feeder from src for the alerts consumer and others.
func NewFeeder(pool *pgxpool.Pool, src OutboxClaimer, others []string) *Feeder {
	return &Feeder{pool: pool, src: src, consumers: append([]string{ConsumerAlerts}, others...)}
}

// Once moves up to limit outbox events into the feed.
func (f *Feeder) Once(ctx context.Context, limit int) (int, error) {
	return f.src.ClaimOutbox(ctx, limit, func(evs []*procure.OutboxEvent) error {
		b := &pgx.Batch{}
		for _, ev := range evs {
			p, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO alert_feed (outbox_id, tenant, at, payload) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, ev.ID, ev.Tenant, ev.At, p)
			for _, c := range f.consumers {
				b.Queue(`INSERT INTO alert_feed_pending (consumer, outbox_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, c, ev.ID)
			}
		}
		if err := f.pool.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("alert feed: %w", err)
		}
		return nil
	})
}

// Consumer returns the feed of one consumer, with the ClaimOutbox method
// of the outbox: the kpi Mirror reads Consumer("clickhouse").
func (f *Feeder) Consumer(name string) *FeedConsumer {
	log := f.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FeedConsumer{pool: f.pool, name: name, log: log, metrics: f.metrics}
}

// FeedConsumer is one consumer's view of the feed.
type FeedConsumer struct {
	pool    *pgxpool.Pool
	name    string
	log     *slog.Logger
	metrics *Metrics
}

// ClaimOutbox hands up to limit pending events, oldest first, to fn and
// removes them from the consumer's queue when fn returns nil.
func (c *FeedConsumer) ClaimOutbox(ctx context.Context, limit int, fn func([]*procure.OutboxEvent) error) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT p.outbox_id, f.payload FROM alert_feed_pending p JOIN alert_feed f USING (outbox_id)
			WHERE p.consumer = $1 ORDER BY p.outbox_id LIMIT $2 FOR UPDATE OF p SKIP LOCKED`, c.name, limit)
		if err != nil {
			return err
		}
		var evs []*procure.OutboxEvent
		var ids []int64
		for rows.Next() {
			var id int64
			var b []byte
			if err := rows.Scan(&id, &b); err != nil {
				rows.Close()
				return err
			}
			ev := new(procure.OutboxEvent)
			if err := json.Unmarshal(b, ev); err != nil {
				// It will never decode: drop it rather than stop the feed.
				c.log.Error("alert feed event dropped: it does not decode", "consumer", c.name, "outbox_id", id, "err", err)
				c.metrics.drop("decode")
				ids = append(ids, id)
				continue
			}
			ev.ID = id
			evs, ids = append(evs, ev), append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return nil
		}
		if len(evs) > 0 {
			if err := fn(evs); err != nil {
				return err
			}
		}
		n = len(ids)
		_, err = tx.Exec(ctx, `DELETE FROM alert_feed_pending WHERE consumer = $1 AND outbox_id = ANY($2)`, c.name, ids)
		return err
	})
	return n, err
}
