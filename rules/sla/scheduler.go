package sla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Observation is what the rules engine saw of one SLA definition on one
// subject at one event: which conditions hold, the duration or deadline,
// and the exception a breach raises.
type Observation struct {
	SLA     string
	Tenant  string
	Subject string
	DocKey  string
	// At is the event's occurred_at: timers run on business time.
	At                                        time.Time
	Start, Stop, Pause, Resume, Reset, Cancel bool
	Calendar                                  *procure.Calendar
	// Duration is business time in Calendar; Deadline, when set, is the due
	// instant instead.
	Duration time.Duration
	Deadline time.Time
	// WarnAt are fractions of the duration (0 < f < 1) that warn.
	WarnAt []float64
	// Raise is the exception of a breach (At is set to the due time).
	Raise procure.ExceptionCandidate
}

// TimerStore is what the Scheduler needs of the store to fire timers.
type TimerStore interface {
	// FireDueTimers claims running timers due at now, each by one caller.
	FireDueTimers(ctx context.Context, now time.Time, limit int, f func(tx procure.StateTx, ts []*procure.Timer) error) (int, error)
	// NextFireAt is the earliest firing time (zero: none).
	NextFireAt(ctx context.Context) (time.Time, error)
	// EventTime is the latest occurred_at applied and when it was applied.
	EventTime(ctx context.Context) (eventTime, updatedAt time.Time, err error)
}

// Config tunes the firing loop.
type Config struct {
	// PollInterval bounds the sleep between two looks for due timers
	// (another process may have started a timer due sooner).
	PollInterval time.Duration `yaml:"poll_interval" env:"POLL_INTERVAL"`
	// BatchSize is the number of timers fired per transaction.
	BatchSize int `yaml:"batch_size" env:"BATCH_SIZE"`
	// IdleAfter: while the rules engine applied events within this time,
	// timers fire on event time (the latest occurred_at applied), so that a
	// replay or a backlog fires timers as the events pass them and a stop
	// event still in the backlog is seen first; otherwise on the wall clock.
	IdleAfter time.Duration `yaml:"idle_after" env:"IDLE_AFTER"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.PollInterval == 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.IdleAfter == 0 {
		c.IdleAfter = 30 * time.Second
	}
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	if c.PollInterval < 0 || c.BatchSize < 0 {
		return errors.New("sla: poll_interval and batch_size must not be negative")
	}
	return nil
}

// Scheduler applies observations to timers and fires due timers. Any
// number of Schedulers may run on one store: each due timer fires once.
type Scheduler struct {
	cfg   Config
	store TimerStore
	log   *slog.Logger
	now   func() time.Time
	// OnFire, when set, is called after each firing transaction commits
	// with the due times of the breaches fired (lag measurement).
	OnFire func(due []time.Time, firedAt time.Time)
	// deferred evaluates due deferred rule evaluations (the rules engine).
	deferred DeferredFirer
	metrics  *Metrics
}

// UseMetrics records to m (supplywatch_sla_*). Call before Run.
func (s *Scheduler) UseMetrics(m *Metrics) { s.metrics = m }

// DeferredFirer evaluates deferred rule evaluations (timers with
// procure.GracePrefix) that are due, in the firing transaction: it changes
// exceptions through tx and sets each timer's state; Fire saves them.
type DeferredFirer interface {
	FireDeferred(ctx context.Context, tx procure.StateTx, ts []*procure.Timer, now time.Time) error
}

// UseDeferred hands due deferred evaluations to f (rules.NewEngine does
// it). Call before Run.
func (s *Scheduler) UseDeferred(f DeferredFirer) { s.deferred = f }

// New returns a Scheduler; now is the clock (time.Now when nil).
func New(cfg Config, store TimerStore, log *slog.Logger, now func() time.Time) *Scheduler {
	cfg.Defaults()
	if now == nil {
		now = time.Now
	}
	return &Scheduler{cfg: cfg, store: store, log: log, now: now}
}

var ruleActor = func(sla string) procure.Actor { return procure.Actor{Kind: procure.ActorRule, Name: sla} }

// Observe applies o to t (nil when the subject has no timer yet) and
// returns the timer to store, or nil when nothing changed. Conditions are
// taken in the order cancel, stop, reset, start, pause, resume. Exceptions
// change through xtx: a stop or cancel resolves the breach exception, a
// stop after the due time that was not fired yet raises and resolves it, a
// reset of a fired timer to a due time still ahead resolves it.
func (s *Scheduler) Observe(ctx context.Context, xtx procure.ExceptionTx, t *procure.Timer, o *Observation) (*procure.Timer, error) {
	at := o.At
	fp := procure.Fingerprint(o.Tenant, o.SLA, o.Subject)
	changed := false
	if t == nil {
		if !o.Start && !o.Stop && !o.Reset {
			return nil, nil
		}
		t = &procure.Timer{Tenant: o.Tenant, SLA: o.SLA, Subject: o.Subject, DocKey: o.DocKey, New: true}
	}
	switch {
	case o.Cancel:
		if t.State == procure.TimerRunning || t.State == procure.TimerPaused || t.State == procure.TimerBreached && t.StoppedAt.IsZero() {
			t.State, t.StoppedAt = procure.TimerCancelled, at
			changed = true
			if _, err := xtx.ResolveException(ctx, o.Tenant, fp, at, ruleActor(o.SLA), "cancelled"); err != nil {
				return nil, err
			}
		}
	case o.Stop:
		switch {
		case t.State == "" || t.StartedAt.IsZero():
			// Stopped before we saw the start (the start arrives late):
			// remember the stop; the start settles the outcome.
			if t.StoppedAt.IsZero() || at.Before(t.StoppedAt) {
				t.StoppedAt, t.State, changed = at, procure.TimerMet, true
			}
		case t.State == procure.TimerRunning || t.State == procure.TimerPaused:
			if err := s.stop(ctx, xtx, t, o, at); err != nil {
				return nil, err
			}
			changed = true
		case t.State == procure.TimerBreached && (t.StoppedAt.IsZero() || at.Before(t.StoppedAt)):
			// Fired already: the evidence resolves the breach; if it
			// happened before the due time, the timer was met after all.
			t.StoppedAt = at
			reason := "evidence arrived"
			if !at.After(t.DueAt) {
				t.State, reason = procure.TimerMet, "met in time (evidence arrived late)"
			}
			if _, err := xtx.ResolveException(ctx, o.Tenant, fp, at, ruleActor(o.SLA), reason); err != nil {
				return nil, err
			}
			changed = true
		}
	case o.Reset && !t.StartedAt.IsZero():
		fired := t.State == procure.TimerBreached && t.StoppedAt.IsZero()
		start(t, o, at)
		changed = true
		if fired && t.DueAt.After(at) {
			// The breach was of the old due time, and the clock restarted
			// with one still ahead (a new promised date): its exception is
			// resolved, and raised again if the new one passes. A new due
			// time already past fires again at once and keeps it open.
			if _, err := xtx.ResolveException(ctx, o.Tenant, fp, at, ruleActor(o.SLA), "reset: due again at "+t.DueAt.UTC().Format(time.RFC3339)); err != nil {
				return nil, err
			}
		}
	case o.Start || o.Reset:
		switch {
		case t.State == "" || t.StartedAt.IsZero():
			stoppedAt := t.StoppedAt
			start(t, o, at)
			changed = true
			if !stoppedAt.IsZero() && !stoppedAt.Before(at) {
				// The stop happened after this start but reached us first.
				if err := s.stop(ctx, xtx, t, o, stoppedAt); err != nil {
					return nil, err
				}
			}
		case t.State == procure.TimerMet || t.State == procure.TimerCancelled || t.State == procure.TimerBreached && !t.StoppedAt.IsZero():
			if at.After(t.StoppedAt) {
				start(t, o, at)
				changed = true
			}
		}
	case o.Pause:
		if t.State == procure.TimerRunning && at.Before(t.DueAt) {
			cal := o.Calendar
			t.Remaining = cal.Between(at, t.DueAt)
			t.State, t.PausedAt, t.WarnAt = procure.TimerPaused, at, nil
			changed = true
		}
	case o.Resume:
		if t.State == procure.TimerPaused && !at.Before(t.PausedAt) {
			t.State = procure.TimerRunning
			t.DueAt = o.Calendar.Add(at, t.Remaining)
			t.WarnAt = warnings(o.Calendar, at, t.DueAt, t.Duration, t.Remaining, o.WarnAt)
			changed = true
		}
	}
	if !changed {
		return nil, nil
	}
	t.Schedule()
	return t, nil
}

// stop ends a running or paused timer at at: met, or breached when at is
// after the due time (the breach is raised, if the timer did not fire, and
// resolved: the evidence has arrived).
func (s *Scheduler) stop(ctx context.Context, xtx procure.ExceptionTx, t *procure.Timer, o *Observation, at time.Time) error {
	t.StoppedAt, t.WarnAt = at, nil
	if t.State == procure.TimerPaused || !at.After(t.DueAt) {
		t.State = procure.TimerMet
		return nil
	}
	t.State = procure.TimerBreached
	c := t.Raise
	c.At = t.DueAt
	if _, err := xtx.RaiseException(ctx, &c); err != nil {
		return err
	}
	_, err := xtx.ResolveException(ctx, o.Tenant, procure.Fingerprint(o.Tenant, o.SLA, o.Subject), at, ruleActor(o.SLA), "evidence arrived after the due time")
	return err
}

func start(t *procure.Timer, o *Observation, at time.Time) {
	cal := o.Calendar
	t.State, t.StartedAt, t.StoppedAt, t.PausedAt, t.FiredAt = procure.TimerRunning, at, time.Time{}, time.Time{}, time.Time{}
	t.Calendar = cal.Name
	if cal.Is24x7() {
		t.Calendar = procure.Calendar24x7
	}
	if !o.Deadline.IsZero() {
		t.Duration, t.DueAt = 0, o.Deadline
	} else {
		t.Duration, t.DueAt = o.Duration, cal.Add(at, o.Duration)
	}
	t.Remaining = 0
	t.WarnAt = warnings(cal, at, t.DueAt, t.Duration, t.Duration, o.WarnAt)
	t.Raise = o.Raise
	t.Raise.Kind = procure.KindSLA
}

// warnings returns the warning instants of fractions of the duration that
// are still ahead: with remaining business time left at from.
func warnings(cal *procure.Calendar, from, due time.Time, total, remaining time.Duration, fractions []float64) []time.Time {
	var out []time.Time
	for _, f := range fractions {
		var w time.Time
		if total == 0 { // a deadline: fractions of the wall-clock span
			w = from.Add(time.Duration(f * float64(due.Sub(from))))
		} else {
			left := time.Duration((1 - f) * float64(total))
			if left >= remaining {
				continue // passed while running before a pause
			}
			w = cal.Add(from, remaining-left)
		}
		if w.Before(due) && !w.Before(from) {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// Fire fires the given claimed timers at now: warnings that are due become
// sla.warning outbox events, a due timer breaches and raises its exception.
// It saves the timers through tx and returns the due times of breaches.
func (s *Scheduler) Fire(ctx context.Context, tx procure.StateTx, ts []*procure.Timer, now time.Time) ([]time.Time, error) {
	var breached []time.Time
	var raise []*procure.ExceptionCandidate
	var deferred []*procure.Timer
	for _, t := range ts {
		if t.State != procure.TimerRunning {
			continue
		}
		if t.Deferred() {
			deferred = append(deferred, t)
			continue
		}
		for len(t.WarnAt) > 0 && !t.WarnAt[0].After(now) && t.WarnAt[0].Before(t.DueAt) {
			if t.DueAt.After(now) {
				err := tx.Exceptions().AddOutbox(ctx, &procure.OutboxEvent{Tenant: t.Tenant, Kind: procure.OutboxSLAWarning, At: t.WarnAt[0],
					Timer: t.SLA + " " + t.Subject, Note: fmt.Sprintf("%s on %s is due at %s", t.SLA, t.Subject, t.DueAt.UTC().Format(time.RFC3339))})
				if err != nil {
					return nil, err
				}
			}
			t.WarnAt = t.WarnAt[1:]
		}
		if !t.DueAt.After(now) {
			t.State, t.FiredAt, t.WarnAt = procure.TimerBreached, now, nil
			c := t.Raise
			c.At = t.DueAt
			raise = append(raise, &c)
			breached = append(breached, t.DueAt)
		}
		t.Schedule()
	}
	if err := raiseAll(ctx, tx.Exceptions(), raise); err != nil {
		return nil, err
	}
	if len(deferred) > 0 {
		if s.deferred != nil {
			if err := s.deferred.FireDeferred(ctx, tx, deferred, now); err != nil {
				return nil, err
			}
		} else {
			// Nobody here can evaluate them: end them rather than claim
			// them again and again.
			s.log.Warn("deferred rule evaluations due with no rules engine to evaluate them; dropped", "count", len(deferred))
			for _, t := range deferred {
				t.State, t.FiredAt = procure.TimerCancelled, now
				t.Schedule()
			}
		}
	}
	return breached, tx.SaveTimers(ctx, ts)
}

// BatchRaiser is an ExceptionTx that raises many exceptions in a few round
// trips (package postgres); Fire uses it when the store's has it, so that
// a batch of breaches costs about what one does.
type BatchRaiser interface {
	RaiseExceptions(ctx context.Context, cs []*procure.ExceptionCandidate) ([]*procure.Exception, error)
}

func raiseAll(ctx context.Context, xtx procure.ExceptionTx, cs []*procure.ExceptionCandidate) error {
	if br, ok := xtx.(BatchRaiser); ok && len(cs) > 1 {
		_, err := br.RaiseExceptions(ctx, cs)
		return err
	}
	for _, c := range cs {
		if _, err := xtx.RaiseException(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// FireDue fires every timer due at now, in batches, and returns how many
// timers it claimed. A batch that fails deterministically (a timer whose
// exception the store refuses) is fired one timer at a time, and a timer
// that fails alone is ended (cancelled, logged, counted) so that it does
// not stop every later timer; a transient failure is returned for the
// caller to retry.
func (s *Scheduler) FireDue(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		var breached []time.Time
		n, err := s.store.FireDueTimers(ctx, now, s.cfg.BatchSize, func(tx procure.StateTx, ts []*procure.Timer) (err error) {
			breached, err = s.Fire(ctx, tx, ts, now)
			return err
		})
		if class, _ := procure.Classify(err); err != nil && class == procure.FailDeterministic {
			s.log.Warn("sla timers refused as a batch; firing them one at a time", "err", err)
			n, breached, err = s.fireSingly(ctx, now, s.cfg.BatchSize)
		}
		if err != nil {
			s.metrics.failure(err)
			return total, fmt.Errorf("sla fire: %w", err)
		}
		s.metrics.fired_(n, breached, s.now())
		total += n
		if s.OnFire != nil && len(breached) > 0 {
			s.OnFire(breached, s.now())
		}
		if n < s.cfg.BatchSize {
			return total, nil
		}
	}
}

// fireSingly fires up to limit due timers one transaction each; a timer
// that fails deterministically is ended in a transaction of its own.
func (s *Scheduler) fireSingly(ctx context.Context, now time.Time, limit int) (int, []time.Time, error) {
	var all []time.Time
	total := 0
	for range limit {
		var breached []time.Time
		var key string
		n, err := s.store.FireDueTimers(ctx, now, 1, func(tx procure.StateTx, ts []*procure.Timer) (err error) {
			key = ts[0].Tenant + "|" + ts[0].SLA + "|" + ts[0].Subject
			breached, err = s.Fire(ctx, tx, ts, now)
			return err
		})
		if class, reason := procure.Classify(err); err != nil && class == procure.FailDeterministic {
			cause := err
			n, err = s.store.FireDueTimers(ctx, now, 1, func(tx procure.StateTx, ts []*procure.Timer) error {
				t := ts[0]
				if t.Tenant+"|"+t.SLA+"|"+t.Subject != key { // another process took it
					var err error
					breached, err = s.Fire(ctx, tx, ts, now)
					return err
				}
				s.log.Error("sla timer ended: its firing is refused", "tenant", t.Tenant, "sla", t.SLA, "subject", t.Subject, "reason", reason, "err", cause)
				s.metrics.dropped(reason)
				t.State, t.FiredAt = procure.TimerCancelled, now
				t.Schedule()
				return tx.SaveTimers(ctx, ts)
			})
		}
		if err != nil {
			return total, all, err
		}
		total += n
		all = append(all, breached...)
		if n == 0 {
			break
		}
	}
	return total, all, nil
}

// Now is the scheduler's clock: event time while events flow (see
// Config.IdleAfter), the wall clock otherwise.
func (s *Scheduler) Now(ctx context.Context) time.Time {
	wall := s.now()
	et, at, err := s.store.EventTime(ctx)
	if err != nil || at.IsZero() || wall.Sub(at) > s.cfg.IdleAfter || !et.Before(wall) {
		return wall
	}
	return et
}

// Run fires due timers until ctx is done. It sleeps until the next firing
// time, at most PollInterval, and returns nil when ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	s.log.Info("sla scheduler running", "poll", s.cfg.PollInterval)
	t := time.NewTimer(0)
	defer t.Stop()
	var failing time.Duration
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		wait := s.cfg.PollInterval
		if _, err := s.FireDue(ctx, s.Now(ctx)); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// Transient (Postgres away): back off up to 5s, then again.
			failing = min(max(failing*2, s.cfg.PollInterval), max(5*time.Second, s.cfg.PollInterval))
			wait = failing
			s.log.Error("sla scheduler", "retry_in", wait, "err", err)
			t.Reset(wait)
			continue
		}
		failing = 0
		if next, err := s.store.NextFireAt(ctx); err == nil && !next.IsZero() {
			if d := next.Sub(s.Now(ctx)); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		t.Reset(wait)
	}
}
