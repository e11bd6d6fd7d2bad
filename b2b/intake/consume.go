package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Message is one raw document taken from a feed (a record of the Kafka
// topic of raw documents).
type Message struct {
	// ID names the input for the dead letter: topic/partition/offset.
	ID     string
	Body   []byte
	Format Format // from a header; Auto sniffs
	// Topic, Partition and Offset locate the record (dead letters keep them).
	Topic     string
	Partition int32
	Offset    int64
	// Commit marks the message done (its offset committed).
	Commit func(ctx context.Context) error
}

// Feed is a source of raw documents: Next blocks until one arrives (or ctx
// ends).
type Feed interface {
	Next(ctx context.Context) (Message, error)
}

// FeedConfig configures Consume.
type FeedConfig struct {
	// Scope binds the feed like an ingest token (zero: the envelope
	// decides the tenant).
	Scope Scope
	// MaxAttempts bounds how often a document is tried when a dependency
	// fails transiently; beyond it (or at once when the failure is
	// deterministic) the record goes to the dead letter and the feed moves
	// on. Default 5.
	MaxAttempts int
	// Backoff is the first pause between attempts, doubled each time up to
	// MaxBackoff. Defaults 500ms and 30s.
	Backoff, MaxBackoff time.Duration
	// Transient reports whether a dependency failure may succeed if tried
	// again. Default: every failure is (and MaxAttempts bounds them).
	Transient func(error) bool
}

func (c *FeedConfig) defaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.Backoff <= 0 {
		c.Backoff = 500 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.Transient == nil {
		c.Transient = func(error) bool { return true }
	}
}

// Consume takes raw documents from feed through ProcessAs, the path of
// POST /v1/b2b, until ctx ends (then it returns nil; a document in progress
// is not committed and comes again). A wrong document is not a failure (its
// rejections go to the dead letter as for HTTP). A document whose
// processing keeps failing is dead-lettered whole, its raw bounded by the
// dead-letter contract, and committed: no record stops the feed, and no
// failure is retried forever.
func (in *Intake) Consume(ctx context.Context, feed Feed, cfg FeedConfig) error {
	cfg.defaults()
	log := in.deps.Logger.With(slog.String("feed", "kafka"))
	for {
		m, err := feed.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("b2b feed: %w", err)
		}
		if err := in.consumeOne(ctx, cfg, m, log); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

func (in *Intake) consumeOne(ctx context.Context, cfg FeedConfig, m Message, log *slog.Logger) error {
	pause := cfg.Backoff
	var last error
	for attempt := 1; ; attempt++ {
		_, err := in.ProcessAs(ctx, cfg.Scope, m.Body, m.Format)
		if err == nil {
			return in.commit(ctx, m, cfg)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		last = err
		if !cfg.Transient(err) || attempt >= cfg.MaxAttempts {
			break
		}
		log.Warn("b2b feed: document failed, trying again", slog.String("input", m.ID), slog.Int("attempt", attempt), slog.Any("err", err))
		if !sleep(ctx, pause) {
			return ctx.Err()
		}
		pause = min(2*pause, cfg.MaxBackoff)
	}
	log.Error("b2b feed: document given up, dead-lettered whole", slog.String("input", m.ID), slog.Any("err", last))
	if err := in.DeadLetterWhole(ctx, cfg.Scope, m, fmt.Sprintf("not processed after %d attempts: %v", cfg.MaxAttempts, last), cfg); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Nothing more can take it: say so loudly and move on rather than
		// stop every later document.
		log.Error("b2b feed: document lost: the dead letter refused it too", slog.String("input", m.ID), slog.Any("err", err))
	}
	return in.commit(ctx, m, cfg)
}

// DeadLetterWhole dead-letters a document that could not be processed at
// all (a dependency kept failing, or failed deterministically): one
// rejection for the whole input, its raw redacted and bounded by the
// dead-letter contract, retried up to cfg.MaxAttempts while the dead letter
// itself fails transiently.
func (in *Intake) DeadLetterWhole(ctx context.Context, scope Scope, m Message, reason string, cfg FeedConfig) error {
	cfg.defaults()
	raw := m.Body
	if Sniff(raw) == CXML {
		raw = RedactCXML(raw)
	}
	rej := procure.Rejection{ReceivedAt: in.deps.Now().UTC(), InputID: "b2b:" + m.ID, Channel: procure.ChannelB2B, Stage: procure.StageB2B,
		Tenant: scope.Tenant, Source: string(procure.SourceEDI), EventType: "b2b document", Reason: reason, Raw: raw,
		Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
	rej.Bound()
	pause := cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := in.deps.DeadLetter.DeadLetter(ctx, []procure.Rejection{rej})
		if err == nil || ctx.Err() != nil || !cfg.Transient(err) || attempt >= cfg.MaxAttempts {
			return err
		}
		if !sleep(ctx, pause) {
			return ctx.Err()
		}
		pause = min(2*pause, cfg.MaxBackoff)
	}
}

func (in *Intake) commit(ctx context.Context, m Message, cfg FeedConfig) error {
	if m.Commit == nil {
		return nil
	}
	pause := cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := m.Commit(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if attempt >= cfg.MaxAttempts {
			// the document is processed; its events deduplicate when it
			// comes again
			return errors.Join(errors.New("b2b feed: commit failed"), err)
		}
		if !sleep(ctx, pause) {
			return ctx.Err()
		}
		pause = min(2*pause, cfg.MaxBackoff)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
