package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Sender delivers the delivery outbox: the notify-with-retry stage. A
// delivery is marked in flight (committed) before the Slack call and sent
// (with the message ts) after it, so a crash in between is recovered by
// FindSent instead of posting twice. Deliveries of one group go in order;
// each channel gets at most one message per ChannelInterval across all
// processes (alert_channels); failures back off exponentially, a 429 waits
// its Retry-After.
//
// Failures are classified: a 429 (rate_limited) and a 5xx or network error
// (unavailable) are transient and retried; a Slack error retrying cannot
// fix (ErrPermanent: channel_not_found, invalid_blocks, any other 4xx) is
// deterministic and recorded as a failed delivery at once. Nothing retries
// forever: a delivery fails (exhausted) after MaxAttempts attempts that
// were not rate limited, or once its first attempt is MaxDeliveryAge old.
type Sender struct {
	store     SenderStore
	poster    Poster
	cfg       Config
	publicURL string
	log       *slog.Logger
	metrics   *Metrics

	sent, retried, failed atomic.Int64
}

// DeliveryQueue is the delivery outbox (postgres.AlertStore).
// ClaimDeliveries marks in flight and returns up to one due delivery per
// channel (the oldest pending one of its group; one per channelInterval
// per channel across processes; an attempt older than lease counts as
// crashed); DeliverySent records one sent as Slack message ts (a post
// gives its group that message).
type DeliveryQueue interface {
	ClaimDeliveries(ctx context.Context, now time.Time, lease, channelInterval time.Duration) ([]procure.AlertDelivery, error)
	DeliverySent(ctx context.Context, d procure.AlertDelivery, ts string) error
}

// DeliveryRetrier records a failed attempt (postgres.AlertStore):
// RetryDelivery schedules the next attempt at at (with pauseChannel the
// whole channel waits until then), DeliveryFailed gives up.
type DeliveryRetrier interface {
	RetryDelivery(ctx context.Context, d procure.AlertDelivery, at time.Time, cause string, pauseChannel bool) error
	DeliveryFailed(ctx context.Context, d procure.AlertDelivery, cause string) error
}

// GroupReader reads one group (postgres.AlertStore); ENOTFOUND when there
// is none.
type GroupReader interface {
	AlertGroup(ctx context.Context, id int64) (*procure.AlertGroup, error)
}

// SenderStore is what the Sender needs of the store.
type SenderStore interface {
	DeliveryQueue
	DeliveryRetrier
	GroupReader
}

// NewSender returns a Sender.
func NewSender(store SenderStore, poster Poster, cfg Config, log *slog.Logger) *Sender {
	cfg.Defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{store: store, poster: poster, cfg: cfg, publicURL: cfg.PublicURL, log: log}
}

// Counts returns the deliveries sent, retried and failed for good since
// start (the pipeline's own metrics).
func (s *Sender) Counts() (sent, retried, failed int64) {
	return s.sent.Load(), s.retried.Load(), s.failed.Load()
}

// Once sends what is due at now and returns how many deliveries it
// handled.
func (s *Sender) Once(ctx context.Context, now time.Time) (int, error) {
	cs, err := s.store.ClaimDeliveries(ctx, now, s.cfg.InFlightLease, s.cfg.ChannelInterval)
	if err != nil {
		return 0, err
	}
	for _, c := range cs {
		if err := s.deliver(ctx, c, now); err != nil {
			return 0, err
		}
	}
	return len(cs), nil
}

func (s *Sender) deliver(ctx context.Context, c procure.AlertDelivery, now time.Time) error {
	var g *procure.AlertGroup
	if c.GroupID != 0 {
		var err error
		if g, err = s.store.AlertGroup(ctx, c.GroupID); err != nil {
			return fmt.Errorf("delivery %d: group %d: %w", c.ID, c.GroupID, err)
		}
	}
	// A post or reply whose earlier attempt may have reached Slack (a
	// crash, a timeout after Slack accepted it): look before posting.
	if !c.AttemptedAt.IsZero() && (c.Kind == procure.DeliveryPost || c.Kind == procure.DeliveryReply || c.Kind == procure.DeliveryDigest) {
		ts, err := s.poster.FindSent(ctx, c.Channel, c.ID, c.AttemptedAt.Add(-time.Minute))
		if err != nil {
			return s.failed_(ctx, c, now, err)
		}
		if ts != "" {
			return s.done(ctx, c, ts)
		}
	}
	n, err := notice(c, g, s.publicURL)
	if err != nil {
		return s.failed_(ctx, c, now, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ts, err := s.poster.Send(cctx, n)
	cancel()
	if err != nil {
		return s.failed_(ctx, c, now, err)
	}
	return s.done(ctx, c, ts)
}

// notice is the Slack call of delivery c of group g (nil for a digest): a
// post of a group posted already becomes an update of its message (never
// two messages); an update or a reply needs the group's message, and
// fails for good (ErrPermanent) without one.
func notice(c procure.AlertDelivery, g *procure.AlertGroup, publicURL string) (*Notice, error) {
	n := &Notice{DeliveryID: c.ID, Channel: c.Channel, Kind: c.Kind, Text: c.Body}
	if g == nil {
		return n, nil
	}
	n.Group = view(g, publicURL)
	switch {
	case c.Kind == procure.DeliveryPost && g.SlackTS != "":
		n.Kind, n.TS = procure.DeliveryUpdate, g.SlackTS
	case c.Kind == procure.DeliveryUpdate:
		if g.SlackTS == "" {
			return nil, fmt.Errorf("%w: group %d has no message to update", ErrPermanent, g.ID)
		}
		n.TS = g.SlackTS
	case c.Kind == procure.DeliveryReply:
		if g.SlackTS == "" {
			return nil, fmt.Errorf("%w: group %d has no message to reply to", ErrPermanent, g.ID)
		}
		n.ThreadTS = g.SlackTS
	}
	return n, nil
}

func (s *Sender) done(ctx context.Context, c procure.AlertDelivery, ts string) error {
	s.sent.Add(1)
	s.metrics.delivered(c.CreatedAt, time.Now())
	return s.store.DeliverySent(ctx, c, ts)
}

// retryPlan is what to do about a failed attempt.
type retryPlan struct {
	wait          time.Duration // until the next attempt
	class, reason string
	gaveUp        bool // record it failed
	pauseChannel  bool // a rate limit: the whole channel waits
}

// plan classifies the failure cause of attempt c.Attempts of c at now:
// a rate limit waits its Retry-After (and pauses the channel), other
// transient failures back off 1 s · 2^attempt up to 5 min; ErrPermanent
// gives up at once, and so does the attempt beyond MaxAttempts (rate
// limits not counted) or a wait beyond MaxDeliveryAge from the first
// attempt.
func (s *Sender) plan(c procure.AlertDelivery, now time.Time, cause error) retryPlan {
	var ra RetryAfterError
	p := retryPlan{wait: min(time.Second<<min(c.Attempts, 9), 5*time.Minute), class: "transient", reason: "unavailable"}
	if errors.As(cause, &ra) {
		p.wait = max(ra.RetryAfter(), time.Second)
		p.reason, p.pauseChannel = "rate_limited", true
	}
	first := c.AttemptedAt
	if first.IsZero() {
		first = now
	}
	switch {
	case errors.Is(cause, ErrPermanent):
		p.class, p.reason = "deterministic", "rejected"
	case c.Attempts >= s.cfg.MaxAttempts && ra == nil, now.Add(p.wait).Sub(first) > s.cfg.MaxDeliveryAge:
		p.reason = "exhausted"
	}
	p.gaveUp = p.class == "deterministic" || p.reason == "exhausted"
	return p
}

// failed_ schedules a retry or gives up.
func (s *Sender) failed_(ctx context.Context, c procure.AlertDelivery, now time.Time, cause error) error {
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the lease recovers it
	}
	p := s.plan(c, now, cause)
	s.metrics.failure(p.class, p.reason, p.gaveUp)
	if p.gaveUp {
		s.failed.Add(1)
		s.log.Error("slack delivery failed", "delivery", c.ID, "channel", c.Channel, "kind", c.Kind, "attempts", c.Attempts, "class", p.class, "reason", p.reason, "err", cause)
		return s.store.DeliveryFailed(ctx, c, cause.Error())
	}
	s.retried.Add(1)
	s.log.Warn("slack delivery retry", "delivery", c.ID, "channel", c.Channel, "in", p.wait, "reason", p.reason, "err", cause)
	return s.store.RetryDelivery(ctx, c, now.Add(p.wait), cause.Error(), p.pauseChannel)
}
