package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/semaphore"
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
	// DeadLettered: the store refused the item deterministically; it is in
	// the dead letter (stage store) instead. The source acknowledges it
	// like a stored one.
	DeadLettered
	// Lost: the item could not be stored nor dead-lettered (both refused
	// deterministically); it is logged and counted, and the writer moves
	// on rather than retry it forever.
	Lost
)

// Item is one input for the Writer: an event, a rejection or spans (not
// checked against what is stored: a batch retried after an insert that was
// not answered is the same block, which the spans table's deduplication
// window drops; migration 0240). Done is called,
// from the writer's goroutine and in submission order, once the item is
// durably stored (or found stored already); it must not block.
type Item struct {
	Event     *procure.Received
	Rejection *procure.Rejection
	Spans     []procure.Span
	Done      func(Outcome)
	// At is when the input was first taken in (a Kafka record's time, an
	// HTTP request's arrival), for the oldest-unprocessed-age metric; zero
	// means when it was submitted.
	At time.Time
}

// WriterConfig tunes the batching writer.
type WriterConfig struct {
	// BatchSize is the most items (events, dead letters, span requests)
	// in one batch, written as one insert per table. The server's CPU is
	// mostly per insert (one part per table and view), so a backlog is
	// written in large batches; the store sends a large events batch as
	// blocks of one INSERT, so the columns' memory is one block's
	// (docs/storage.md "Larger event inserts").
	BatchSize int `yaml:"batch_size" env:"BATCH_SIZE"`
	// FlushInterval is the longest an item waits for its batch to fill.
	FlushInterval time.Duration `yaml:"flush_interval" env:"FLUSH_INTERVAL"`
	// Linger is how long the writer waits for another item once no one is
	// waiting to join the batch; then it writes the batch at once instead
	// of waiting for FlushInterval (issue 15: a client that waits for its
	// answer is not made to wait for a timer). Under load items keep
	// coming within Linger, or queue up while a batch is written, so
	// batches stay large. Negative: off (batches wait for size or
	// FlushInterval).
	Linger time.Duration `yaml:"linger" env:"LINGER"`
	// RejoinWait caps how long a batch of spans waits for the OTLP clients
	// the previous batch answered: an SDK exporter sends one request at a
	// time and its next as soon as it is answered, so the next batch
	// waits for the clients the previous write answered to come back (as
	// long as that write took, at least Linger, at most RejoinWait and
	// FlushInterval) rather than being written with only the requests
	// that queued up meanwhile. Three exporters then share one insert
	// instead of taking turns in two (issue 15: ClickHouse's cost is
	// mostly per insert). A client that does not come back costs one
	// batch at most one write's time. Negative: off.
	RejoinWait time.Duration `yaml:"rejoin_wait" env:"REJOIN_WAIT"`
	// QueueSize is how many items may wait; Submit blocks beyond it.
	QueueSize int `yaml:"queue_size" env:"QUEUE_SIZE"`
	// MaxQueuedBytes bounds the memory of the items submitted and not yet
	// stored (raw events, dead letters, spans), estimated in bytes; Submit
	// blocks beyond it, and an item's bytes are released once it is stored.
	MaxQueuedBytes int64 `yaml:"max_queued_bytes" env:"MAX_QUEUED_BYTES"`
	// MaxBackoff caps the wait between retries while the store is down.
	MaxBackoff time.Duration `yaml:"max_backoff" env:"MAX_BACKOFF"`
	// StallAfter is how long the writer may hold work without storing any
	// of it before Ready reports it stuck (and /readyz fails).
	StallAfter time.Duration `yaml:"stall_after" env:"STALL_AFTER"`
	// UnknownAttempts is how often a batch is retried after an error that
	// is neither a known transient nor a known deterministic failure
	// before it is treated as deterministic (split, and the row at fault
	// dead-lettered).
	UnknownAttempts int `yaml:"unknown_attempts" env:"UNKNOWN_ATTEMPTS"`
}

// Defaults fills unset fields.
func (c *WriterConfig) Defaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 50000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 200 * time.Millisecond
	}
	if c.Linger == 0 {
		c.Linger = time.Millisecond
	}
	if c.RejoinWait == 0 {
		c.RejoinWait = 200 * time.Millisecond
	}
	if c.QueueSize == 0 {
		c.QueueSize = c.BatchSize
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.StallAfter == 0 {
		c.StallAfter = 30 * time.Second
	}
	if c.MaxQueuedBytes == 0 {
		c.MaxQueuedBytes = 128 << 20
	}
	if c.UnknownAttempts == 0 {
		c.UnknownAttempts = 5
	}
}

// Validate checks the configuration.
func (c *WriterConfig) Validate() error {
	if c.BatchSize < 1 || c.QueueSize < 1 || c.FlushInterval <= 0 || c.MaxQueuedBytes < 0 || c.MaxBackoff < 0 || c.StallAfter < 0 || c.UnknownAttempts < 0 {
		return errors.New("collector.writer: batch_size, queue_size and flush_interval must be positive; max_backoff, stall_after and unknown_attempts not negative")
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
	queued  *semaphore.Weighted // MaxQueuedBytes
	log     *slog.Logger
	metrics *Metrics
	tracer  trace.Tracer
	done    chan struct{}

	// Progress, for Ready and the metrics (read from other goroutines):
	// busy is whether the writer holds items not yet stored, progressAt
	// (unix nanoseconds) when it last stored a batch or became busy,
	// oldestAt when the oldest item it holds was taken in, lastErr the
	// last failure while busy.
	busy       atomic.Bool
	progressAt atomic.Int64
	oldestAt   atomic.Int64
	lastErr    atomic.Pointer[string]
	now        func() time.Time

	// spanRequests is the span items submitted and not yet answered (the
	// OTLP requests in flight), for RejoinWait.
	spanRequests atomic.Int64
}

// NewWriter returns a Writer; dlq may be nil.
func NewWriter(cfg WriterConfig, store EventStore, dlq DeadLetter, log *slog.Logger, m *Metrics, tracer trace.Tracer) *Writer {
	cfg.Defaults()
	w := &Writer{cfg: cfg, store: store, dlq: dlq, in: make(chan Item, cfg.QueueSize), queued: semaphore.NewWeighted(cfg.MaxQueuedBytes), log: log, metrics: m, tracer: tracer, done: make(chan struct{}), now: time.Now}
	m.observe(w)
	return w
}

// Ready reports nil unless the writer has held work for StallAfter without
// storing any of it (the store down, or every attempt failing).
func (w *Writer) Ready() error {
	if !w.busy.Load() && len(w.in) == 0 {
		return nil
	}
	since := w.now().Sub(time.Unix(0, w.progressAt.Load()))
	if w.progressAt.Load() == 0 || since < w.cfg.StallAfter {
		return nil
	}
	msg := fmt.Sprintf("no batch stored for %s with %d items waiting", since.Round(time.Second), len(w.in))
	if e := w.lastErr.Load(); e != nil {
		msg += "; last error: " + *e
	}
	return errors.New(msg)
}

// oldestAge is how long the oldest item the writer holds has waited since
// it was taken in; 0 when idle.
func (w *Writer) oldestAge() time.Duration {
	at := w.oldestAt.Load()
	if at == 0 || (!w.busy.Load() && len(w.in) == 0) {
		return 0
	}
	return w.now().Sub(time.Unix(0, at))
}

// took marks the first item of a new batch: the writer is busy from now.
func (w *Writer) took(it *Item) {
	now := w.now()
	at := it.At
	if at.IsZero() || at.After(now) {
		at = now
	}
	w.oldestAt.Store(at.UnixNano())
	if !w.busy.Swap(true) {
		w.progressAt.Store(now.UnixNano())
	}
}

// progressed marks a stored batch.
func (w *Writer) progressed(idle bool) {
	w.progressAt.Store(w.now().UnixNano())
	w.lastErr.Store(nil)
	if idle {
		w.busy.Store(false)
		w.oldestAt.Store(0)
	}
}

// ErrStopped is returned by Submit after the writer has stopped.
var ErrStopped = errors.New("collector writer stopped")

// Submit queues it, waiting while the queue is full or MaxQueuedBytes are
// held (backpressure).
func (w *Writer) Submit(ctx context.Context, it Item) error {
	n := w.size(&it)
	if !w.queued.TryAcquire(n) {
		actx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-w.done:
				cancel()
			case <-actx.Done():
			}
		}()
		err := w.queued.Acquire(actx, n)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return ErrStopped
		}
	}
	if it.Spans != nil {
		w.spanRequests.Add(1)
	}
	select {
	case w.in <- it:
		return nil
	case <-ctx.Done():
		w.queued.Release(n)
		if it.Spans != nil {
			w.spanRequests.Add(-1)
		}
		return ctx.Err()
	case <-w.done:
		w.queued.Release(n)
		if it.Spans != nil {
			w.spanRequests.Add(-1)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrStopped
	}
}

// itemOverhead is what an item costs beyond its raw bytes (the decoded
// envelope, the item, the callbacks), and spanBytes what a decoded span
// costs on average; both are estimates for the byte budget.
const (
	itemOverhead = 512
	spanBytes    = 1024
)

// size is the bytes it is charged against MaxQueuedBytes, at most all of
// them (one item is always admitted).
func (w *Writer) size(it *Item) int64 {
	n := int64(itemOverhead)
	switch {
	case it.Event != nil:
		n += int64(len(it.Event.Raw))
	case it.Rejection != nil:
		n += int64(len(it.Rejection.Raw))
	default:
		n += int64(len(it.Spans)) * spanBytes
	}
	return min(n, w.cfg.MaxQueuedBytes)
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
	// Span requests: how many the next batch waits for (the requests in
	// flight when the last batch was answered: those it answered come
	// back, the others are queued), how many the batch holds, and until
	// when it may wait for them (see RejoinWait).
	var (
		rejoin      int64
		spanItems   int64
		lastWrite   time.Duration
		rejoinUntil time.Time
	)
	// flush stores the batch. On failure (ctx ended while retrying) the
	// batch is kept as it is, for drain to write or leave unacknowledged:
	// it is never cleared unstored.
	flush := func(ctx context.Context) error {
		if len(batch) == 0 {
			return nil
		}
		start := time.Now()
		if err := w.flush(ctx, batch); err != nil {
			return err
		}
		lastWrite = time.Since(start)
		// The span requests queued now and those just answered.
		rejoin = 0
		if spanItems > 0 {
			rejoin = w.spanRequests.Load() + spanItems
		}
		spanItems = 0
		clear(batch)
		batch = batch[:0]
		w.progressed(len(w.in) == 0)
		return nil
	}
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case it := <-w.in:
			if len(batch) == 0 {
				timer.Reset(w.cfg.FlushInterval)
				w.took(&it)
				rejoinUntil = time.Now().Add(min(max(lastWrite, w.cfg.Linger), w.cfg.RejoinWait, w.cfg.FlushInterval))
			}
			batch = append(batch, it)
			if it.Spans != nil {
				spanItems++
			}
			// Take everything already waiting, so that one wake-up
			// handles a burst.
		take:
			for len(batch) < w.cfg.BatchSize {
				select {
				case it := <-w.in:
					batch = append(batch, it)
					if it.Spans != nil {
						spanItems++
					}
				default:
					break take
				}
			}
			switch {
			case len(batch) >= w.cfg.BatchSize:
				timer.Stop()
				linger.Stop()
				if err := flush(ctx); err != nil {
					return w.drain(batch, drainTimeout)
				}
			case w.cfg.Linger >= 0:
				wait := w.cfg.Linger
				if spanItems > 0 && spanItems < rejoin && w.cfg.RejoinWait > 0 {
					wait = max(wait, time.Until(rejoinUntil))
				}
				linger.Reset(wait)
			}
		case <-linger.C:
			timer.Stop()
			if err := flush(ctx); err != nil {
				return w.drain(batch, drainTimeout)
			}
		case <-timer.C:
			linger.Stop()
			if err := flush(ctx); err != nil {
				return w.drain(batch, drainTimeout)
			}
		case <-ctx.Done():
			timer.Stop()
			linger.Stop()
			return w.drain(batch, drainTimeout)
		}
	}
}

// drain writes the current batch and what is queued, within timeout. What
// it cannot write is left unacknowledged (its Done is never called): Kafka
// delivers it again, an HTTP or OTLP client is answered 503 and sends it
// again.
func (w *Writer) drain(batch []Item, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
	fill:
		for len(batch) < w.cfg.BatchSize {
			select {
			case it := <-w.in:
				batch = append(batch, it)
			default:
				break fill
			}
		}
		if len(batch) == 0 {
			return nil
		}
		if err := w.flush(ctx, batch); err != nil {
			return fmt.Errorf("collector writer: %d items not written at shutdown (left for redelivery): %w", len(batch)+len(w.in), err)
		}
		clear(batch)
		batch = batch[:0]
		w.progressed(len(w.in) == 0)
	}
}

// flush stores one batch. Transient failures are retried with backoff
// (capped at MaxBackoff) until they pass or ctx ends; each attempt re-checks
// which rows are stored already, so an insert that succeeded without our
// hearing of it is not repeated. A deterministic failure is never retried
// as is: the batch is split in halves and each stored on its own, down to
// the one item at fault, which goes to the dead letter (stage store). It
// returns an error only when ctx ended first; then nothing of the batch
// was acknowledged.
func (w *Writer) flush(ctx context.Context, batch []Item) error {
	ctx, span := w.tracer.Start(ctx, "collector.flush")
	defer span.End()
	start := time.Now()
	outcomes, err := w.storeRetrying(ctx, batch)
	if err != nil {
		span.RecordError(err)
		return err
	}
	w.metrics.flushSeconds.Observe(time.Since(start).Seconds())
	w.metrics.batchRows.Observe(float64(len(batch)))
	var n, spans int64
	for i := range batch {
		n += w.size(&batch[i])
		if batch[i].Spans != nil {
			spans++
		}
		if batch[i].Done != nil {
			batch[i].Done(outcomes[i])
		}
	}
	w.queued.Release(n)
	w.spanRequests.Add(-spans)
	return nil
}

// storeRetrying stores batch, retrying transient failures and splitting on
// deterministic ones; see flush.
func (w *Writer) storeRetrying(ctx context.Context, batch []Item) ([]Outcome, error) {
	backoff := 100 * time.Millisecond
	unknown := 0
	for attempt := 1; ; attempt++ {
		outcomes, err := w.store1(ctx, batch)
		if err == nil {
			return outcomes, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		f := Classify(err)
		if f.Reason == ReasonUnknown {
			if unknown++; unknown > w.cfg.UnknownAttempts {
				f.Transient = false
			}
		}
		class := "deterministic"
		if f.Transient {
			class = "transient"
		}
		w.metrics.writeErrors.Inc()
		w.metrics.batchFailures.WithLabelValues(class, f.Reason).Inc()
		msg := err.Error()
		w.lastErr.Store(&msg)
		if !f.Transient {
			w.log.Warn("clickhouse refused a batch; splitting it to dead-letter the rows at fault", "rows", len(batch), "reason", f.Reason, "err", err)
			return w.split(ctx, batch, err, f)
		}
		w.log.Warn("clickhouse write failed; retrying", "attempt", attempt, "rows", len(batch), "reason", f.Reason, "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, max(w.cfg.MaxBackoff, 100*time.Millisecond))
	}
}

// split stores the halves of a batch that failed deterministically, or
// dead-letters its one item.
func (w *Writer) split(ctx context.Context, batch []Item, err error, f Failure) ([]Outcome, error) {
	if len(batch) == 1 {
		return []Outcome{w.deadLetter(ctx, &batch[0], err, f)}, nil
	}
	mid := len(batch) / 2
	a, err := w.storeRetrying(ctx, batch[:mid])
	if err != nil {
		return nil, err
	}
	b, err := w.storeRetrying(ctx, batch[mid:])
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}

// deadLetter stores, in place of an item the store refused
// deterministically, its dead letter (stage store). A rejection that is
// itself refused cannot be dead-lettered again: it is logged and counted
// as lost.
func (w *Writer) deadLetter(ctx context.Context, it *Item, cause error, f Failure) Outcome {
	r := storeRejection(it, cause, f, w.now().UTC())
	if r == nil {
		w.log.Error("dead letter refused by the store; dropped", "input", it.Rejection.InputID, "reason", f.Reason, "err", cause)
		w.metrics.lost.WithLabelValues(f.Reason).Inc()
		return Lost
	}
	if _, err := w.storeRetrying(ctx, []Item{{Rejection: r}}); err != nil {
		// ctx ended: the item is not acknowledged, its source retries.
		return Lost
	}
	return DeadLettered
}

// storeRejection is the dead letter of an item the store refused, or nil
// when the item is itself a dead letter.
func storeRejection(it *Item, cause error, f Failure, now time.Time) *procure.Rejection {
	r := &procure.Rejection{ReceivedAt: now, Stage: procure.StageStore, Field: "store", Reason: fmt.Sprintf("ClickHouse refused it (%s): %v", f.Reason, cause)}
	switch {
	case it.Event != nil:
		e := it.Event
		r.ReceivedAt, r.Channel, r.Raw, r.OriginalRef = e.ReceivedAt, e.Channel, e.Raw, e.OriginID
		r.Tenant, r.Source, r.EventID, r.EventType = e.Event.Tenant, string(e.Event.Source), e.Event.ID, string(e.Event.Type)
		r.InputID = "store:" + contentID(e.Channel, e.Event.Tenant, e.Raw)
	case it.Spans != nil:
		s := it.Spans
		r.Channel, r.Tenant = procure.ChannelOTLP, s[0].Tenant
		r.Reason = fmt.Sprintf("%d spans (the first: trace %s span %s): %s", len(s), s[0].TraceID, s[0].SpanID, r.Reason)
		r.InputID = "store:otlp:" + s[0].Tenant + ":" + s[0].TraceID + ":" + s[0].SpanID
	default:
		return nil
	}
	return r
}

// store1 is one attempt at a batch: dedup within it, look up what is stored,
// publish new rejections to the dead letter, insert the rest.
func (w *Writer) store1(ctx context.Context, batch []Item) ([]Outcome, error) {
	outcomes := make([]Outcome, len(batch))
	var (
		keys     = make([]procure.EventKey, 0, len(batch))
		inputIDs []string
		seenEv   = make(map[procure.EventKey]struct{}, len(batch))
		seenRej  = make(map[string]bool)
	)
	for i := range batch {
		switch it := &batch[i]; {
		case it.Event != nil:
			// One hash per event, not a lookup and an insert: a batch is
			// tens of thousands of events.
			k, n := it.Event.Event.Key(), len(seenEv)
			if seenEv[k] = struct{}{}; len(seenEv) == n {
				outcomes[i] = Duplicate
				continue
			}
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
			if len(storedEv) > 0 && storedEv[it.Event.Event.Key()] {
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
	// A record the topic refuses deterministically (a broker with a lower
	// message limit than the dead letter's bound) is kept in the table
	// only, with the refusal in its reason, rather than retried forever.
	if w.dlq != nil && len(rejs) > 0 {
		if err := w.dlq.PublishRejections(ctx, rejs); err != nil {
			if Classify(err).Transient {
				return nil, fmt.Errorf("dead-letter publish: %w", err)
			}
			we, perMessage := kafka.MessageErrors(err)
			perMessage = perMessage && len(we) == len(rejs)
			for i := range rejs {
				if perMessage && we[i] == nil {
					continue
				}
				why := err
				if perMessage {
					why = we[i]
				}
				rejs[i].Reason += fmt.Sprintf(" (not on the dead-letter topic: %v)", why)
				w.metrics.dlqRefused.Inc()
				w.log.Warn("dead-letter topic refused a record; kept in the rejected table only", "input", rejs[i].InputID, "err", why)
			}
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
			stage := it.Rejection.Stage
			if stage == "" {
				stage = procure.StageIngest
			}
			w.metrics.deadLetters.WithLabelValues(stage, rejectClass(it.Rejection.Field)).Inc()
		}
	}
	for k, v := range n {
		w.metrics.events.WithLabelValues(k.channel, k.outcome).Add(float64(v))
	}
}
