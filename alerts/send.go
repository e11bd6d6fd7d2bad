package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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
	pool      *pgxpool.Pool
	poster    Poster
	cfg       Config
	publicURL string
	log       *slog.Logger
	metrics   *Metrics

	sent, retried, failed atomic.Int64
}

// NewSender returns a Sender.
func NewSender(pool *pgxpool.Pool, poster Poster, cfg Config, log *slog.Logger) *Sender {
	cfg.Defaults()
	return &Sender{pool: pool, poster: poster, cfg: cfg, publicURL: cfg.PublicURL, log: log}
}

// Counts returns the deliveries sent, retried and failed for good since
// start (the pipeline's own metrics).
func (s *Sender) Counts() (sent, retried, failed int64) {
	return s.sent.Load(), s.retried.Load(), s.failed.Load()
}

type claimed struct {
	id, groupID int64
	channel     string
	kind, body  string
	attempts    int
	attempted   time.Time // the first attempt, if any
	created     time.Time
}

// claim marks up to one due delivery per channel in flight.
func (s *Sender) claim(ctx context.Context, now time.Time) ([]claimed, error) {
	var out []claimed
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT d.id, coalesce(d.group_id, 0), coalesce(g.channel, d.channel), d.kind, d.body, d.attempts,
				coalesce(d.attempted_at, 'epoch'), d.created_at
			FROM alert_deliveries d LEFT JOIN alert_groups g ON g.id = d.group_id
			WHERE d.status = 'pending' AND d.next_at <= $1 AND (d.in_flight_at IS NULL OR d.in_flight_at < $2)
			  AND NOT EXISTS (SELECT 1 FROM alert_deliveries e WHERE e.group_id = d.group_id AND e.status = 'pending' AND e.id < d.id)
			ORDER BY d.id LIMIT 100 FOR UPDATE OF d SKIP LOCKED`, now, now.Add(-s.cfg.InFlightLease))
		if err != nil {
			return err
		}
		var cands []claimed
		for rows.Next() {
			var c claimed
			if err := rows.Scan(&c.id, &c.groupID, &c.channel, &c.kind, &c.body, &c.attempts, &c.attempted, &c.created); err != nil {
				rows.Close()
				return err
			}
			if c.attempted.Unix() == 0 {
				c.attempted = time.Time{}
			}
			cands = append(cands, c)
		}
		rows.Close()
		seen := map[string]bool{}
		for _, c := range cands {
			if seen[c.channel] {
				continue
			}
			seen[c.channel] = true
			if _, err := tx.Exec(ctx, `INSERT INTO alert_channels (channel, next_at) VALUES ($1, 'epoch') ON CONFLICT DO NOTHING`, c.channel); err != nil {
				return err
			}
			var next time.Time
			err := tx.QueryRow(ctx, `SELECT next_at FROM alert_channels WHERE channel = $1 FOR UPDATE SKIP LOCKED`, c.channel).Scan(&next)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && next.After(now)) {
				continue
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE alert_channels SET next_at = $2 WHERE channel = $1`, c.channel, now.Add(s.cfg.ChannelInterval)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE alert_deliveries SET in_flight_at = $2, attempted_at = coalesce(attempted_at, $2), attempts = attempts + 1 WHERE id = $1`, c.id, now); err != nil {
				return err
			}
			c.attempts++
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// Once sends what is due at now and returns how many deliveries it
// handled.
func (s *Sender) Once(ctx context.Context, now time.Time) (int, error) {
	cs, err := s.claim(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("claim deliveries: %w", err)
	}
	for _, c := range cs {
		if err := s.deliver(ctx, c, now); err != nil {
			return 0, err
		}
	}
	return len(cs), nil
}

func (s *Sender) deliver(ctx context.Context, c claimed, now time.Time) error {
	n := &Notice{DeliveryID: c.id, Channel: c.channel, Kind: c.kind, Text: c.body}
	var g *group
	if c.groupID != 0 {
		var err error
		g, err = scanGroup(s.pool.QueryRow(ctx, `SELECT `+groupCols+` FROM alert_groups WHERE id = $1`, c.groupID))
		if err != nil {
			return fmt.Errorf("delivery %d: group %d: %w", c.id, c.groupID, err)
		}
		n.Group = g.view(s.publicURL)
	}
	// A post or reply whose earlier attempt may have reached Slack (a
	// crash, a timeout after Slack accepted it): look before posting.
	if !c.attempted.IsZero() && (c.kind == "post" || c.kind == "reply" || c.kind == "digest") {
		ts, err := s.poster.FindSent(ctx, c.channel, c.id, c.attempted.Add(-time.Minute))
		if err != nil {
			return s.failed_(ctx, c, now, err)
		}
		if ts != "" {
			return s.done(ctx, c, ts)
		}
	}
	switch {
	case c.kind == "post" && g.SlackTS != "":
		n.Kind, n.TS = "update", g.SlackTS // posted already: never twice
	case c.kind == "update":
		if g.SlackTS == "" {
			return s.failed_(ctx, c, now, fmt.Errorf("%w: group %d has no message to update", ErrPermanent, g.ID))
		}
		n.TS = g.SlackTS
	case c.kind == "reply":
		if g.SlackTS == "" {
			return s.failed_(ctx, c, now, fmt.Errorf("%w: group %d has no message to reply to", ErrPermanent, g.ID))
		}
		n.ThreadTS = g.SlackTS
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ts, err := s.poster.Send(cctx, n)
	cancel()
	if err != nil {
		return s.failed_(ctx, c, now, err)
	}
	return s.done(ctx, c, ts)
}

func (s *Sender) done(ctx context.Context, c claimed, ts string) error {
	s.sent.Add(1)
	s.metrics.delivered(c.created, time.Now())
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE alert_deliveries SET status = 'sent', slack_ts = $2, sent_at = now(), in_flight_at = NULL, last_error = ''
			WHERE id = $1`, c.id, ts); err != nil {
			return err
		}
		if c.kind == "post" {
			_, err := tx.Exec(ctx, `UPDATE alert_groups SET slack_ts = $2 WHERE id = $1 AND slack_ts = ''`, c.groupID, ts)
			return err
		}
		return nil
	})
}

// failed_ schedules a retry or gives up.
func (s *Sender) failed_(ctx context.Context, c claimed, now time.Time, cause error) error {
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the lease recovers it
	}
	var ra RetryAfterError
	wait := min(time.Second<<min(c.attempts, 9), 5*time.Minute)
	class, reason := "transient", "unavailable"
	if errors.As(cause, &ra) {
		wait = max(ra.RetryAfter(), time.Second)
		reason = "rate_limited"
	}
	first := c.attempted
	if first.IsZero() {
		first = now
	}
	switch {
	case errors.Is(cause, ErrPermanent):
		class, reason = "deterministic", "rejected"
	case c.attempts >= s.cfg.MaxAttempts && ra == nil, now.Add(wait).Sub(first) > s.cfg.MaxDeliveryAge:
		reason = "exhausted"
	}
	gaveUp := class == "deterministic" || reason == "exhausted"
	s.metrics.failure(class, reason, gaveUp)
	if gaveUp {
		s.failed.Add(1)
		s.log.Error("slack delivery failed", "delivery", c.id, "channel", c.channel, "kind", c.kind, "attempts", c.attempts, "class", class, "reason", reason, "err", cause)
		_, err := s.pool.Exec(ctx, `UPDATE alert_deliveries SET status = 'failed', in_flight_at = NULL, last_error = $2 WHERE id = $1`, c.id, cause.Error())
		return err
	}
	s.retried.Add(1)
	s.log.Warn("slack delivery retry", "delivery", c.id, "channel", c.channel, "in", wait, "reason", reason, "err", cause)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE alert_deliveries SET next_at = $2, in_flight_at = NULL, last_error = $3 WHERE id = $1`,
			c.id, now.Add(wait), cause.Error()); err != nil {
			return err
		}
		if ra != nil { // the whole channel waits
			_, err := tx.Exec(ctx, `UPDATE alert_channels SET next_at = greatest(next_at, $2) WHERE channel = $1`, c.channel, now.Add(wait))
			return err
		}
		return nil
	})
}
