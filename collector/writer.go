package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"go.opentelemetry.io/otel/trace"
)

// EventStore is what the Writer needs of the fact store.
type EventStore interface {
	ExistingEvents(ctx context.Context, keys []procure.EventKey) (map[procure.EventKey]bool, error)
	InsertEvents(ctx context.Context, evs []procure.Received) error
	ExistingRejections(ctx context.Context, inputIDs []string) (map[string]bool, error)
	InsertRejections(ctx context.Context, rs []procure.Rejection) error
	// InsertSpans writes the spans of several requests as one batch; they
	// come as the requests decoded them, so they are not copied into one
	// slice first.
	InsertSpans(ctx context.Context, spans ...[]procure.Span) error
}

// DeadLetter publishes rejected inputs to the dead-letter topic.
type DeadLetter interface {
	PublishRejections(ctx context.Context, rs []procure.Rejection) error
}

// Outcome is what became of one submitted item.
type Outcome int

// Outcomes.
const (
	Stored Outcome = iota
	Duplicate
)

// Item is one input for the Writer: an event, a rejection or spans (a
// retried span is collapsed by the spans table's engine, not checked here). Done is called,
// from the writer's goroutine and in submission order, once the item is
// durably stored (or found stored already); it must not block.
type Item struct {
	Event     *procure.Received
	Rejection *procure.Rejection
	Spans     []procure.Span
	Done      func(Outcome)
}

// WriterConfig tunes the batching writer.
type WriterConfig struct {
	// BatchSize is the most rows in one insert.
	BatchSize int `yaml:"batch_size" env:"BATCH_SIZE"`
	// FlushInterval is the longest an item waits for its batch to fill.
	FlushInterval time.Duration `yaml:"flush_interval" env:"FLUSH_INTERVAL"`
	// QueueSize is how many items may wait; Submit blocks beyond it.
	QueueSize int `yaml:"queue_size" env:"QUEUE_SIZE"`
	// MaxBackoff caps the wait between retries while the store is down.
	MaxBackoff time.Duration `yaml:"max_backoff" env:"MAX_BACKOFF"`
}

// Defaults fills unset fields.
func (c *WriterConfig) Defaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 10000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 200 * time.Millisecond
	}
	if c.QueueSize == 0 {
		c.QueueSize = c.BatchSize
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Second
	}
}

// Validate checks the configuration.
func (c *WriterConfig) Validate() error {
	if c.BatchSize < 1 || c.QueueSize < 1 || c.FlushInterval <= 0 {
		return errors.New("collector.writer: batch_size, queue_size and flush_interval must be positive")
	}
	return nil
}

// Writer batches events and rejections into the store: it flushes on size or
// time, checks every batch against the ids already stored (so a redelivered
// event is stored once), retries with backoff while the store is down, and
// holds at most QueueSize items, so producers wait instead of memory growing.
// Exactly one goroutine runs Run; any number call Submit.
type Writer struct {
	cfg     WriterConfig
	store   EventStore
	dlq     DeadLetter
	in      chan Item
	log     *slog.Logger
	metrics *Metrics
	tracer  trace.Tracer
	done    chan struct{}
}

// NewWriter returns a Writer; dlq may be nil.
func NewWriter(cfg WriterConfig, store EventStore, dlq DeadLetter, log *slog.Logger, m *Metrics, tracer trace.Tracer) *Writer {
	cfg.Defaults()
	return &Writer{cfg: cfg, store: store, dlq: dlq, in: make(chan Item, cfg.QueueSize), log: log, metrics: m, tracer: tracer, done: make(chan struct{})}
}

// ErrStopped is returned by Submit after the writer has stopped.
var ErrStopped = errors.New("collector writer stopped")

// Submit queues it, waiting while the queue is full (backpressure).
func (w *Writer) Submit(ctx context.Context, it Item) error {
	select {
	case w.in <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return ErrStopped
	}
}

// StoreRejections submits rejections and waits until they are durably
// stored (in the dead-letter table and topic) or ctx ends.
func (w *Writer) StoreRejections(ctx context.Context, rs []*procure.Rejection) error {
	if len(rs) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	wg.Add(len(rs))
	for _, r := range rs {
		if err := w.Submit(ctx, Item{Rejection: r, Done: func(Outcome) { wg.Done() }}); err != nil {
			return fmt.Errorf("dead letter: %w", err)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dead letter: %w", ctx.Err())
	}
}

// Done is closed when Run has returned.
func (w *Writer) Done() <-chan struct{} { return w.done }

// QueueLen is the number of items waiting.
func (w *Writer) QueueLen() int { return len(w.in) }

// Run writes batches until ctx is done, then writes what was already
// submitted (bounded by drainTimeout) and returns. Items not written by then
// are not acknowledged, so their sources deliver them again.
func (w *Writer) Run(ctx context.Context, drainTimeout time.Duration) error {
	defer close(w.done)
	batch := make([]Item, 0, w.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func(ctx context.Context) error {
		if len(batch) == 0 {
			return nil
		}
		err := w.flush(ctx, batch)
		clear(batch)
		batch = batch[:0]
		return err
	}
	for {
		select {
		case it := <-w.in:
			if len(batch) == 0 {
				timer.Reset(w.cfg.FlushInterval)
			}
			batch = append(batch, it)
			if len(batch) >= w.cfg.BatchSize {
				timer.Stop()
				if err := flush(ctx); err != nil {
					return w.drain(batch, drainTimeout)
				}
			}
		case <-timer.C:
			if err := flush(ctx); err != nil {
				return w.drain(batch, drainTimeout)
			}
		case <-ctx.Done():
			timer.Stop()
			return w.drain(batch, drainTimeout)
		}
	}
}

// drain writes the current batch and what is queued, within timeout.
func (w *Writer) drain(batch []Item, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		select {
		case it := <-w.in:
			batch = append(batch, it)
			if len(batch) < w.cfg.BatchSize {
				continue
			}
		default:
		}
		if len(batch) == 0 {
			return nil
		}
		if err := w.flush(ctx, batch); err != nil {
			return fmt.Errorf("collector writer: %d items not written at shutdown: %w", len(batch)+len(w.in), err)
		}
		batch = batch[:0]
		if len(w.in) == 0 {
			return nil
		}
	}
}

// flush stores one batch, retrying with backoff until it succeeds or ctx
// ends. Each attempt re-checks which rows are stored already, so an insert
// that succeeded without our hearing of it is not repeated.
func (w *Writer) flush(ctx context.Context, batch []Item) error {
	ctx, span := w.tracer.Start(ctx, "collector.flush")
	defer span.End()
	start := time.Now()
	backoff := 100 * time.Millisecond
	var outcomes []Outcome
	for attempt := 1; ; attempt++ {
		var err error
		outcomes, err = w.store1(ctx, batch)
		if err == nil {
			break
		}
		w.metrics.writeErrors.Inc()
		w.log.Warn("clickhouse write failed; retrying", "attempt", attempt, "rows", len(batch), "backoff", backoff, "err", err)
		select {
		case <-ctx.Done():
			span.RecordError(err)
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, w.cfg.MaxBackoff)
	}
	w.metrics.flushSeconds.Observe(time.Since(start).Seconds())
	w.metrics.batchRows.Observe(float64(len(batch)))
	for i := range batch {
		if batch[i].Done != nil {
			batch[i].Done(outcomes[i])
		}
	}
	return nil
}

// store1 is one attempt at a batch: dedup within it, look up what is stored,
// publish new rejections to the dead letter, insert the rest.
func (w *Writer) store1(ctx context.Context, batch []Item) ([]Outcome, error) {
	outcomes := make([]Outcome, len(batch))
	var (
		keys     = make([]procure.EventKey, 0, len(batch))
		inputIDs []string
		seenEv   = make(map[procure.EventKey]bool, len(batch))
		seenRej  = make(map[string]bool)
	)
	for i := range batch {
		switch it := &batch[i]; {
		case it.Event != nil:
			k := it.Event.Event.Key()
			if seenEv[k] {
				outcomes[i] = Duplicate
				continue
			}
			seenEv[k] = true
			keys = append(keys, k)
		case it.Rejection != nil:
			id := it.Rejection.InputID
			if seenRej[id] {
				outcomes[i] = Duplicate
				continue
			}
			seenRej[id] = true
			inputIDs = append(inputIDs, id)
		}
	}
	storedEv, err := w.store.ExistingEvents(ctx, keys)
	if err != nil {
		return nil, err
	}
	storedRej, err := w.store.ExistingRejections(ctx, inputIDs)
	if err != nil {
		return nil, err
	}
	evs := make([]procure.Received, 0, len(keys))
	var rejs []procure.Rejection
	var spans [][]procure.Span
	nspans := 0
	for i := range batch {
		if outcomes[i] == Duplicate {
			continue
		}
		switch it := &batch[i]; {
		case it.Spans != nil:
			spans = append(spans, it.Spans)
			nspans += len(it.Spans)
		case it.Event != nil:
			if storedEv[it.Event.Event.Key()] {
				outcomes[i] = Duplicate
				continue
			}
			evs = append(evs, *it.Event)
		case it.Rejection != nil:
			if storedRej[it.Rejection.InputID] {
				outcomes[i] = Duplicate
				continue
			}
			rejs = append(rejs, *it.Rejection)
		}
	}
	// The dead-letter topic is at-least-once: publish before the insert that
	// marks the rejection as done, so a crash between the two repeats the
	// publish rather than losing it.
	if w.dlq != nil && len(rejs) > 0 {
		if err := w.dlq.PublishRejections(ctx, rejs); err != nil {
			return nil, fmt.Errorf("dead-letter publish: %w", err)
		}
	}
	if err := w.store.InsertRejections(ctx, rejs); err != nil {
		return nil, err
	}
	if err := w.store.InsertEvents(ctx, evs); err != nil {
		return nil, err
	}
	if err := w.store.InsertSpans(ctx, spans...); err != nil {
		return nil, err
	}
	w.metrics.spans.Add(float64(nspans))
	w.count(batch, outcomes)
	return outcomes, nil
}

// count adds a batch's outcomes to the metrics, one Add per label set.
func (w *Writer) count(batch []Item, outcomes []Outcome) {
	type key struct{ channel, outcome string }
	n := map[key]int{}
	for i := range batch {
		it := &batch[i]
		switch {
		case it.Event != nil && outcomes[i] == Duplicate:
			n[key{it.Event.Channel, "duplicate"}]++
		case it.Event != nil:
			n[key{it.Event.Channel, "stored"}]++
		case it.Rejection != nil && outcomes[i] == Stored:
			w.metrics.rejects.WithLabelValues(it.Rejection.Channel, rejectClass(it.Rejection.Field)).Inc()
		}
	}
	for k, v := range n {
		w.metrics.events.WithLabelValues(k.channel, k.outcome).Add(float64(v))
	}
}
