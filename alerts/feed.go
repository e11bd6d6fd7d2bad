package alerts

import (
	"context"
	"log/slog"

	"github.com/supplywatch/supplywatch/procure"
)

// OutboxClaimer is the exception outbox (procure.ExceptionStore).
type OutboxClaimer interface {
	ClaimOutbox(ctx context.Context, limit int, f func([]*procure.OutboxEvent) error) (int, error)
}

// FeedStore is the fan-out feed (postgres.AlertStore). AppendFeed copies
// events into the feed and queues each for every consumer, idempotently by
// outbox id. ClaimFeed hands up to limit of a consumer's pending events,
// oldest first, to fn and removes them from its queue when fn returns nil;
// an event that does not decode is reported to dropped and removed.
type FeedStore interface {
	AppendFeed(ctx context.Context, evs []*procure.OutboxEvent, consumers []string) error
	ClaimFeed(ctx context.Context, consumer string, limit int, fn func([]*procure.OutboxEvent) error,
		dropped func(outboxID int64, err error)) (int, error)
}

// Feeder is the one claimer of the exception outbox: it copies each event
// into the feed and queues it for every consumer, in the same call as the
// claim (an event copied but not marked published is copied again,
// idempotently, by outbox id).
type Feeder struct {
	store     FeedStore
	src       OutboxClaimer
	consumers []string
	log       *slog.Logger
	metrics   *Metrics
}

// ConsumerAlerts is the feed consumer of the alert pipeline.
const ConsumerAlerts = "alerts"

// NewFeeder returns a Feeder from src into store for the alerts consumer
// and others.
func NewFeeder(store FeedStore, src OutboxClaimer, others []string) *Feeder {
	return &Feeder{store: store, src: src, consumers: append([]string{ConsumerAlerts}, others...)}
}

// Once moves up to limit outbox events into the feed.
func (f *Feeder) Once(ctx context.Context, limit int) (int, error) {
	return f.src.ClaimOutbox(ctx, limit, func(evs []*procure.OutboxEvent) error {
		return f.store.AppendFeed(ctx, evs, f.consumers)
	})
}

// Consumer returns the feed of one consumer, with the ClaimOutbox method
// of the outbox: the kpi Mirror reads Consumer("clickhouse").
func (f *Feeder) Consumer(name string) *FeedConsumer {
	log := f.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FeedConsumer{store: f.store, name: name, log: log, metrics: f.metrics}
}

// FeedConsumer is one consumer's view of the feed.
type FeedConsumer struct {
	store   FeedStore
	name    string
	log     *slog.Logger
	metrics *Metrics
}

// ClaimOutbox hands up to limit pending events, oldest first, to fn and
// removes them from the consumer's queue when fn returns nil. An event
// that does not decode never will: it is dropped (logged, counted) rather
// than stopping the feed.
func (c *FeedConsumer) ClaimOutbox(ctx context.Context, limit int, fn func([]*procure.OutboxEvent) error) (int, error) {
	return c.store.ClaimFeed(ctx, c.name, limit, fn, func(id int64, err error) {
		c.log.Error("alert feed event dropped: it does not decode", "consumer", c.name, "outbox_id", id, "err", err)
		c.metrics.drop("decode")
	})
}
