package simulator

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Sink receives the generated events, in time order, in batches. The bytes
// to send for an event are procure.Encode(e). Publish must not keep evs.
type Sink interface {
	Publish(ctx context.Context, evs []*procure.Event) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(ctx context.Context, evs []*procure.Event) error

// Publish calls f.
func (f SinkFunc) Publish(ctx context.Context, evs []*procure.Event) error { return f(ctx, evs) }

// Options are the engine's dependencies.
type Options struct {
	Logger *slog.Logger
	// Now is the clock. Backfill ends at Now(); Run paces and stamps with
	// it. The app passes time.Now, tests a fixed or stepping clock.
	Now func() time.Time
	// TracerProvider receives the spans of every simulated service. To see
	// one service.name per system, set ServiceTracerProvider instead: it is
	// asked once per service (erp, middleware, portal, edi, wms, qms, ap).
	// With neither, no spans are made.
	TracerProvider        trace.TracerProvider
	ServiceTracerProvider func(service string) trace.TracerProvider
	// OnChain is called with the ground truth of every chain when it is
	// planned (GroundTruth.Record fits). It must not block.
	OnChain func(Chain)
}

// Stats counts what the engine emitted.
type Stats struct {
	Chains int64                  // chains planned
	Events int64                  // events published
	ByType map[procure.Type]int64 // events published by type
	Spans  int64                  // spans started
	// SimulatedTo is the occurred_at of the last event published.
	SimulatedTo time.Time
}

// Engine generates the traffic. It is not safe for concurrent use: one
// goroutine calls Backfill, then Run or AsFastAsPossible.
type Engine struct {
	cfg     Config
	rates   Rates
	sink    Sink
	log     *slog.Logger
	now     func() time.Time
	onChain func(Chain)
	tracing tracing

	world        *world
	planner      *rand.Rand
	ids          *rand.Rand
	queue        pendingQueue
	seq          uint64
	started      bool
	plannedUntil time.Time
	batch        []*procure.Event
	stats        Stats
}

// New returns an engine for cfg, which must be valid after Defaults.
func New(cfg Config, sink Sink, opts Options) (*Engine, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, errors.New("simulator: no sink")
	}
	if opts.Now == nil {
		return nil, errors.New("simulator: no clock (Options.Now)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w, err := newWorld(cfg.Seed, cfg.Suppliers)
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	e := &Engine{
		cfg: cfg, rates: cfg.Rates, sink: sink, log: opts.Logger, now: opts.Now, onChain: opts.OnChain, world: w,
		planner: rand.New(rand.NewPCG(cfg.Seed, 0x91a2_0002)),
		ids:     rand.New(rand.NewPCG(cfg.Seed, 0x1d5_0003)),
		stats:   Stats{ByType: map[procure.Type]int64{}},
	}
	if cfg.NoFailures {
		e.rates = Rates{}
	}
	e.tracing.provider = opts.ServiceTracerProvider
	if e.tracing.provider == nil && opts.TracerProvider != nil {
		tp := opts.TracerProvider
		e.tracing.provider = func(string) trace.TracerProvider { return tp }
	}
	if e.tracing.provider == nil {
		e.tracing.provider = func(string) trace.TracerProvider { return noop.NewTracerProvider() }
		e.tracing.off = true
	}
	return e, nil
}

// Stats returns what the engine has emitted so far.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.ByType = make(map[procure.Type]int64, len(e.stats.ByType))
	for k, v := range e.stats.ByType {
		s.ByType[k] = v
	}
	return s
}

// start begins the simulation at t: master data first, then orders.
func (e *Engine) start(t time.Time) {
	if e.started {
		return
	}
	e.started = true
	e.plannedUntil = t.Truncate(time.Hour)
	for _, ev := range e.world.masterEvents(e.cfg.Tenant, e.plannedUntil.Add(-time.Hour), func() string { return newUUID(e.ids) }) {
		e.pushPending(&pending{at: ev.OccurredAt, ev: ev})
	}
	e.log.Info("simulation started", "at", t, "plants", len(e.world.plants), "suppliers", len(e.world.suppliers),
		"items", len(e.world.items), "orders_per_day", e.cfg.OrdersPerDay, "seed", e.cfg.Seed)
}

// Backfill generates days of history ending at the clock's now: every
// event that occurred by then, in time order, as fast as the sink takes
// them. Chains still open at now stay planned, so Run continues them. It
// must be the first call on the engine.
func (e *Engine) Backfill(ctx context.Context, days int) error {
	if e.started {
		return errors.New("simulator: backfill must come first")
	}
	if days < 0 {
		return fmt.Errorf("simulator: backfill of %d days", days)
	}
	end := e.now()
	e.start(end.Add(-time.Duration(days) * 24 * time.Hour))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := e.next(end)
		if p == nil {
			break
		}
		if err := e.emit(ctx, p, time.Time{}); err != nil {
			return err
		}
	}
	e.log.Info("backfill done", "days", days, "events", e.stats.Events, "chains", e.stats.Chains)
	return e.flush(ctx)
}

// AsFastAsPossible continues the simulation from where it stands (or from
// now) without pacing, until maxEvents more events are published (0: until
// ctx ends). occurred_at is simulated time and runs ahead of the clock.
func (e *Engine) AsFastAsPossible(ctx context.Context, maxEvents int) error {
	e.start(e.now())
	for n := 0; maxEvents <= 0 || n < maxEvents; n++ {
		if ctx.Err() != nil {
			break
		}
		if err := e.emit(ctx, e.next(farFuture), time.Time{}); err != nil {
			return err
		}
	}
	err := e.flush(context.WithoutCancel(ctx))
	if ctx.Err() != nil && maxEvents <= 0 {
		return err // ended by its context, as asked
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// Run publishes the simulation live at eventsPerSecond (the configured Rate
// when 0) until ctx ends. Simulated time runs as fast as the rate needs; an
// event's occurred_at is its simulated time or the clock's now, whichever
// is earlier, so that nothing is dated in the future: at rates above the
// business volume, a chain's delays shrink and its order stays.
func (e *Engine) Run(ctx context.Context, eventsPerSecond float64) error {
	if eventsPerSecond <= 0 {
		eventsPerSecond = e.cfg.Rate
	}
	e.start(e.now())
	const tick = 50 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	budget := 0.0
	for {
		select {
		case <-ctx.Done():
			if err := e.flush(context.WithoutCancel(ctx)); err != nil {
				return err
			}
			return nil
		case <-t.C:
		}
		budget = math.Min(budget+eventsPerSecond*tick.Seconds(), eventsPerSecond+1)
		now := e.now()
		for ; budget >= 1; budget-- {
			if err := e.emit(ctx, e.next(farFuture), now); err != nil {
				return err
			}
		}
		if err := e.flush(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// next returns the next event at or before until, planning orders as
// simulated time advances, or nil when there is none.
func (e *Engine) next(until time.Time) *pending {
	for {
		if len(e.queue) > 0 && e.queue[0].at.Before(e.plannedUntil) {
			if e.queue[0].at.After(until) {
				return nil
			}
			return heap.Pop(&e.queue).(*pending)
		}
		if e.plannedUntil.After(until) {
			return nil
		}
		e.planHour()
	}
}

// planHour starts the orders released in the next hour of simulated time:
// a Poisson number per plant during its working hours.
func (e *Engine) planHour() {
	from := e.plannedUntil
	e.plannedUntil = from.Add(time.Hour)
	for _, p := range e.world.plants {
		if !p.cal.isOpen(from.Add(30 * time.Minute)) {
			continue
		}
		n := poisson(e.planner, e.cfg.OrdersPerDay*p.weight/float64(p.cal.close-p.cal.open))
		starts := make([]time.Time, n)
		for i := range starts {
			starts[i] = from.Add(time.Duration(e.planner.Int64N(int64(time.Hour))))
		}
		for _, t := range starts {
			e.startChain(p, t.Truncate(time.Millisecond))
		}
	}
}

func (e *Engine) startChain(p *plant, t time.Time) {
	idx := e.stats.Chains
	e.stats.Chains++
	r := rand.New(rand.NewPCG(e.cfg.Seed^0xc4a1_0004, uint64(idx)))
	sup := p.suppliers[pick(r, p.cumWeight)]
	c := &Chain{CorrelationID: newUUID(r), PO: strconv.FormatInt(e.cfg.FirstPONumber+idx, 10), Plant: p.code, Supplier: sup.id}
	b := &builder{cfg: &e.cfg, rates: e.rates, r: r, plant: p, sup: sup, chain: c}
	b.build(t)
	for _, pe := range b.out {
		e.pushPending(pe)
	}
	if e.onChain != nil {
		e.onChain(*c)
	}
}

func (e *Engine) pushPending(p *pending) {
	p.seq = e.seq
	e.seq++
	heap.Push(&e.queue, p)
}

// emit publishes one event (batched) and its spans. A non-zero stamp caps
// occurred_at (Run).
func (e *Engine) emit(ctx context.Context, p *pending, stamp time.Time) error {
	ev := p.ev
	if !stamp.IsZero() && ev.OccurredAt.After(stamp) {
		ev.OccurredAt = stamp.UTC()
	}
	if h := p.hop; h != nil {
		if p.attempt == nil && h.keepRaw {
			raw, err := procure.Encode(ev)
			if err != nil {
				return fmt.Errorf("simulator: %w", err)
			}
			h.raw = raw
		}
		if p.attempt != nil {
			p.attempt.delivery.Payload = string(h.raw)
		}
		e.spans(ctx, p)
	}
	e.stats.Events++
	e.stats.ByType[ev.Type]++
	e.stats.SimulatedTo = ev.OccurredAt
	e.batch = append(e.batch, ev)
	if len(e.batch) >= e.cfg.BatchSize {
		return e.flush(ctx)
	}
	return nil
}

func (e *Engine) flush(ctx context.Context) error {
	if len(e.batch) == 0 {
		return nil
	}
	if err := e.sink.Publish(ctx, e.batch); err != nil {
		return fmt.Errorf("simulator: publish %d events: %w", len(e.batch), err)
	}
	clear(e.batch)
	e.batch = e.batch[:0]
	return nil
}

// poisson draws from a Poisson distribution with mean lambda.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda > 30 { // normal approximation
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p < l {
			return k
		}
		k++
	}
}

// pendingQueue orders events by time, then by the order they were planned.
type pendingQueue []*pending

func (q pendingQueue) Len() int { return len(q) }
func (q pendingQueue) Less(i, j int) bool {
	if c := q[i].at.Compare(q[j].at); c != 0 {
		return c < 0
	}
	return q[i].seq < q[j].seq
}
func (q pendingQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pendingQueue) Push(x any)   { *q = append(*q, x.(*pending)) }
func (q *pendingQueue) Pop() any {
	old := *q
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return p
}
