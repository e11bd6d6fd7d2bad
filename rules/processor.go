package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
)

// Reader is what the Processor needs of a Kafka consumer-group reader
// (*kafka.Reader, from kafka.Config.NewReader with the rules' own group):
// Fetch does not commit, Commit commits each partition up to the highest
// offset given.
type Reader interface {
	Fetch(ctx context.Context) (kafka.Message, error)
	Commit(ctx context.Context, msgs ...kafka.Message) error
}

// DeadLetter keeps the events the rules cannot apply, with their reason:
// the collector's Writer, which stores them in the rejected table and
// publishes them to the dead-letter topic. StoreRejections returns once
// they are stored.
type DeadLetter interface {
	StoreRejections(ctx context.Context, rs []*procure.Rejection) error
}

// ProcessorConfig tunes the consumer.
type ProcessorConfig struct {
	// Group is the consumer group (default supplywatch-rules).
	Group string `yaml:"group" env:"GROUP"`
	// Dir holds the rule files (default rules/default).
	Dir string `yaml:"dir" env:"DIR"`
	// BatchSize is the most events applied in one transaction.
	BatchSize int `yaml:"batch_size" env:"BATCH_SIZE"`
	// BatchWait is how long a batch waits for more events once it has one.
	BatchWait time.Duration `yaml:"batch_wait" env:"BATCH_WAIT"`
	// MaxBackoff caps the wait between two attempts at a batch while the
	// store fails transiently (default 5s; the first wait is 100ms).
	MaxBackoff time.Duration `yaml:"max_backoff" env:"MAX_BACKOFF"`
	// UnknownAttempts is how many times a failure of no known class is
	// retried before it is taken as deterministic (default 5).
	UnknownAttempts int `yaml:"unknown_attempts" env:"UNKNOWN_ATTEMPTS"`
	// StallAfter: the processor is not ready when it has held work this
	// long without committing any (default 60s).
	StallAfter time.Duration `yaml:"stall_after" env:"STALL_AFTER"`
	// AttemptTimeout bounds one attempt at a batch (default 30s); a batch
	// in hand at shutdown gets one attempt of this length.
	AttemptTimeout time.Duration `yaml:"attempt_timeout" env:"ATTEMPT_TIMEOUT"`
}

// Defaults fills unset fields.
func (c *ProcessorConfig) Defaults() {
	if c.Group == "" {
		c.Group = "supplywatch-rules"
	}
	if c.Dir == "" {
		c.Dir = "rules/default"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.BatchWait == 0 {
		c.BatchWait = 20 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.UnknownAttempts == 0 {
		c.UnknownAttempts = 5
	}
	if c.StallAfter == 0 {
		c.StallAfter = 60 * time.Second
	}
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = 30 * time.Second
	}
}

// Validate checks the configuration without I/O.
func (c *ProcessorConfig) Validate() error {
	if c.BatchSize < 0 || c.BatchWait < 0 || c.MaxBackoff < 0 || c.UnknownAttempts < 0 || c.StallAfter < 0 || c.AttemptTimeout < 0 {
		return errors.New("rules: batch_size, batch_wait, max_backoff, unknown_attempts, stall_after and attempt_timeout must not be negative")
	}
	return nil
}

// Processor consumes the events topic into the Engine: a batch of messages
// is applied in one transaction and the offsets are committed only after
// it commits, so a crash redelivers and the processed-events record drops
// what was applied.
//
// Failures are classified (procure.Classify). A transient one (Postgres
// unreachable, overloaded, a serialization conflict, a timeout) is retried
// with backoff up to MaxBackoff for as long as it lasts: nothing is lost,
// and Ready reports the stall. A deterministic one (an event that does not
// decode, a rule that fails on it, text Postgres refuses, a constraint) is
// narrowed to its event, which goes to the dead letter with its reason
// (stage "rules"); the rest of the batch is applied and the partition
// moves on.
type Processor struct {
	reader  Reader
	engine  *Engine
	dlq     DeadLetter
	cfg     ProcessorConfig
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time

	mu       sync.Mutex
	holding  time.Time // when the batch in hand was fetched (zero: none)
	progress time.Time // last commit
}

// NewProcessor returns a Processor of reader into en.
func NewProcessor(reader Reader, en *Engine, cfg ProcessorConfig, log *slog.Logger) *Processor {
	cfg.Defaults()
	return &Processor{reader: reader, engine: en, cfg: cfg, log: log, now: time.Now}
}

// UseDeadLetter sends what cannot be applied to dlq (and the engine's
// failed deferred evaluations, Engine.UseDeadLetter); without one it is
// logged and skipped. Call before Run.
func (p *Processor) UseDeadLetter(dlq DeadLetter) { p.dlq = dlq; p.engine.UseDeadLetter(dlq) }

// UseMetrics records to m. Call before Run.
func (p *Processor) UseMetrics(m *Metrics) { p.metrics = m }

// Ready returns an error when the processor has held a batch for longer
// than StallAfter without committing anything since.
func (p *Processor) Ready() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holding.IsZero() {
		return nil
	}
	since := p.holding
	if p.progress.After(since) {
		since = p.progress
	}
	if d := p.now().Sub(since); d > p.cfg.StallAfter {
		return fmt.Errorf("rules processor has made no progress for %s", d.Round(time.Second))
	}
	return nil
}

// Run consumes until ctx is done; the batch in hand is applied and
// committed before it returns, or left for redelivery.
func (p *Processor) Run(ctx context.Context) error {
	for {
		msgs, err := p.fetch(ctx)
		if len(msgs) > 0 {
			p.mu.Lock()
			p.holding = p.now()
			p.mu.Unlock()
			if perr := p.apply(ctx, msgs); perr != nil {
				return perr
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// fetch waits for one message, then takes what arrives within BatchWait.
func (p *Processor) fetch(ctx context.Context) ([]kafka.Message, error) {
	m, err := p.reader.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	msgs := []kafka.Message{m}
	wctx, cancel := context.WithTimeout(ctx, p.cfg.BatchWait)
	defer cancel()
	for len(msgs) < p.cfg.BatchSize {
		m, err := p.reader.Fetch(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return msgs, ctx.Err()
			}
			return msgs, nil
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// failed is an event (or a message that is none) to dead-letter.
type failed struct {
	msg    *kafka.Message
	event  *procure.Event
	reason string
	err    error
}

// apply decodes and applies msgs, dead-letters what cannot be applied and
// commits the offsets. It returns nil, leaving the batch for redelivery,
// when ctx ends before the batch is done.
func (p *Processor) apply(ctx context.Context, msgs []kafka.Message) error {
	start := p.now()
	events := make([]*procure.Event, 0, len(msgs))
	msgOf := make(map[*procure.Event]*kafka.Message, len(msgs))
	var bad []failed
	for i := range msgs {
		e, err := procure.Decode(msgs[i].Value)
		if err != nil {
			bad = append(bad, failed{msg: &msgs[i], reason: "decode", err: err})
			continue
		}
		events = append(events, e)
		msgOf[e] = &msgs[i]
	}
	var st Stats
	more, err := p.applyEvents(ctx, events, &st)
	if err != nil {
		p.log.Warn("rules batch not applied before shutdown; it will be delivered again", "events", len(events), "err", err)
		return nil
	}
	for _, f := range more {
		f.msg = msgOf[f.event]
		bad = append(bad, f)
	}
	if len(bad) > 0 {
		if err := p.deadLetter(ctx, bad); err != nil {
			p.log.Warn("dead letter not stored before shutdown; the batch will be delivered again", "err", err)
			return nil
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.reader.Commit(cctx, msgs...); err != nil {
		p.log.Warn("kafka commit failed; the batch will be delivered again and dropped as processed", "err", err)
	}
	now := p.now()
	p.mu.Lock()
	p.progress, p.holding = now, time.Time{}
	p.mu.Unlock()
	p.metrics.batch(st, len(bad), now.Sub(start), now)
	return nil
}

// applyEvents applies events, retrying transient failures with backoff
// while ctx lasts and narrowing a deterministic one to its event, and
// returns the events that failed deterministically. It returns an error
// only when ctx ended first.
func (p *Processor) applyEvents(ctx context.Context, events []*procure.Event, st *Stats) ([]failed, error) {
	var out []failed
	todo := events
	backoff := 100 * time.Millisecond
	unknown := 0
	for len(todo) > 0 {
		// One attempt may finish after ctx ends, within AttemptTimeout.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.AttemptTimeout)
		s, err := p.engine.Process(actx, todo)
		cancel()
		if err == nil {
			st.add(s)
			return out, nil
		}
		class, reason := procure.Classify(err)
		if class == procure.FailTransient && reason == "unknown" {
			if unknown++; unknown >= p.cfg.UnknownAttempts {
				class = procure.FailDeterministic
			}
		}
		p.metrics.failure(class, reason)
		if class == procure.FailDeterministic {
			var ee *procure.EventError
			if errors.As(err, &ee) {
				out = append(out, failed{event: ee.Event, reason: reason, err: ee.Err})
				todo = without(todo, ee.Event)
				continue
			}
			if len(todo) == 1 {
				return append(out, failed{event: todo[0], reason: reason, err: err}), nil
			}
			// The failure belongs to no event we can name (a statement
			// of the whole batch): apply the events one at a time.
			p.log.Warn("rules batch failed deterministically; applying its events one by one", "events", len(todo), "reason", reason, "err", err)
			for _, e := range todo {
				f, err := p.applyEvents(ctx, []*procure.Event{e}, st)
				if err != nil {
					return nil, err
				}
				out = append(out, f...)
			}
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		p.log.Error("rules batch failed; retrying", "events", len(todo), "class", class, "reason", reason, "backoff", backoff, "err", err)
		p.metrics.waiting(p.now().Sub(p.holdingSince()))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, p.cfg.MaxBackoff)
	}
	return out, nil
}

func (p *Processor) holdingSince() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.holding
}

func without(events []*procure.Event, e *procure.Event) []*procure.Event {
	out := make([]*procure.Event, 0, len(events))
	for _, x := range events {
		if x != e {
			out = append(out, x)
		}
	}
	return out
}

func (s *Stats) add(o Stats) {
	s.Events += o.Events
	s.Duplicates += o.Duplicates
	s.Raised += o.Raised
	s.Cleared += o.Cleared
	s.TimerChanges += o.TimerChanges
}

// deadLetter stores the failed inputs as rejections of stage "rules",
// retrying while the dead letter is unavailable and ctx lasts.
func (p *Processor) deadLetter(ctx context.Context, bad []failed) error {
	rs := make([]*procure.Rejection, len(bad))
	for i, f := range bad {
		r := &procure.Rejection{ReceivedAt: p.now().UTC(), Channel: procure.ChannelKafka, Stage: procure.StageRules,
			Reason: f.reason + ": " + f.err.Error()}
		if m := f.msg; m != nil {
			r.InputID = "rules/" + m.Topic + "/" + strconv.Itoa(m.Partition) + "/" + strconv.FormatInt(m.Offset, 10)
			r.Raw, r.Topic, r.Partition, r.Offset = m.Value, m.Topic, int32(m.Partition), m.Offset
		}
		if e := f.event; e != nil {
			r.Tenant, r.Source, r.EventID, r.EventType = e.Tenant, string(e.Source), e.ID, string(e.Type)
		}
		var fe *procure.FieldError
		if errors.As(f.err, &fe) {
			r.Field = fe.Field
		}
		rs[i] = r
		p.metrics.deadLetter(f.reason)
		p.log.Warn("event sent to the dead letter", "stage", procure.StageRules, "input", r.InputID, "event", r.EventID, "type", r.EventType, "reason", r.Reason)
	}
	if p.dlq == nil {
		return nil
	}
	backoff := 100 * time.Millisecond
	for {
		err := p.dlq.StoreRejections(ctx, rs)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		p.log.Error("dead letter unavailable; retrying", "rejections", len(rs), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, p.cfg.MaxBackoff)
	}
}
