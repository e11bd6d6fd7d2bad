package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Dispatcher runs the pipeline: the Feeder, the stages and the Sender.
type Dispatcher struct {
	cfg       Config
	groups    groupStore
	tree      *Route
	routes    map[string]*Route
	segments  Segments // nil when no route has a segment
	feeder    *Feeder
	feed      *FeedConsumer
	grouper   Grouper
	throttler *Throttler
	escalator *Escalator
	notifier  Notifier
	sender    *Sender
	notify    GroupNotifier
	// digestStore records the digests sent; digested[team] is the last
	// day whose digest is known recorded.
	digestStore DigestRecorder
	digestMu    sync.Mutex
	digested    map[string]string
	store       procure.ExceptionStore
	actor       ExceptionActor
	log         *slog.Logger
	now         func() time.Time
	metrics     *Metrics

	wakeTick, wakeSend chan struct{}
}

// Store is what the pipeline keeps (postgres.AlertStore): the small
// interfaces each stage declares where it uses them.
type Store interface {
	FeedStore
	GroupEditor
	GroupNotifier
	DigestRecorder
	GroupReader
	GroupUpdater
	DeliveryQueue
	DeliveryRetrier
}

// groupStore is what Ingest and Act need of the groups.
type groupStore interface {
	GroupEditor
	GroupReader
	GroupUpdater
}

// GroupNotifier hands the groups that may need a message to decide
// (postgres.AlertStore): NotifyGroups locks them (skipping those another
// process holds) and stores the groups decide changed and the deliveries
// it returns, in one transaction.
type GroupNotifier interface {
	NotifyGroups(ctx context.Context, decide func([]*procure.AlertGroup) ([]*procure.AlertGroup, []procure.AlertDelivery, error)) error
}

// Deps are the Dispatcher's collaborators.
type Deps struct {
	// Store keeps the feed, the groups, the deliveries and the digests.
	Store Store
	// Exceptions is the exception store: the outbox the Feeder claims and
	// the open exceptions of the digests.
	Exceptions procure.ExceptionStore
	Poster     Poster
	// Actor performs button actions (NewStoreActor(Exceptions, nil) when nil).
	Actor     ExceptionActor
	Calendars *procure.Calendars
	Log       *slog.Logger
	Now       func() time.Time // time.Now when nil
	// Metrics records supplywatch_alerts_* (nothing when nil).
	Metrics *Metrics
	// Segments answers which supplier segments an exception's supplier is
	// in (rules.SegmentFinder); required when a route has a segment.
	Segments Segments
}

// Segments are the supplier segments of the rule files.
type Segments interface {
	// Defined reports whether segment name is defined.
	Defined(name string) bool
	// SegmentsOf lists the segments supplier of tenant is in.
	SegmentsOf(ctx context.Context, tenant, supplier string) ([]string, error)
}

// New returns a Dispatcher; cfg is defaulted and validated.
func New(cfg Config, d Deps) (*Dispatcher, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tree, err := NewRouteTree(cfg.Route)
	if err != nil {
		return nil, err
	}
	if names := tree.segments(); len(names) > 0 {
		if d.Segments == nil {
			return nil, fmt.Errorf("alerts.route: routes name segments (%s) but no segment source is set", strings.Join(names, ", "))
		}
		for _, n := range names {
			if !d.Segments.Defined(n) {
				return nil, fmt.Errorf("alerts.route: segment %q is not defined in the rule files' segments", n)
			}
		}
	} else {
		d.Segments = nil
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Actor == nil {
		d.Actor = NewStoreActor(d.Exceptions, nil)
	}
	th := &Throttler{intervals: map[string]*TimeInterval{}}
	for _, c := range cfg.TimeIntervals {
		ti, err := newTimeInterval(c, d.Calendars)
		if err != nil {
			return nil, err
		}
		th.intervals[c.Name] = ti
	}
	routes := map[string]*Route{}
	tree.Walk(func(r *Route) { routes[r.ID] = r })
	if d.Store == nil {
		return nil, fmt.Errorf("alerts: no store")
	}
	f := NewFeeder(d.Store, d.Exceptions, cfg.Consumers)
	f.log, f.metrics = d.Log, d.Metrics
	sender := NewSender(d.Store, d.Poster, cfg, d.Log)
	sender.metrics = d.Metrics
	return &Dispatcher{cfg: cfg, groups: d.Store, tree: tree, routes: routes, segments: d.Segments, feeder: f, feed: f.Consumer(ConsumerAlerts),
		throttler: th, escalator: &Escalator{cals: d.Calendars}, sender: sender, notify: d.Store,
		digestStore: d.Store, digested: map[string]string{},
		store: d.Exceptions, actor: d.Actor, log: d.Log, now: d.Now, metrics: d.Metrics,
		wakeTick: make(chan struct{}, 1), wakeSend: make(chan struct{}, 1)}, nil
}

// Feeder is the outbox claimer, for other consumers of the feed.
func (d *Dispatcher) Feeder() *Feeder { return d.feeder }

// Sender is the delivery stage (its Counts feed the pipeline alerts).
func (d *Dispatcher) Sender() *Sender { return d.sender }

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Ingest routes and groups alerts (the store keeps them in one
// transaction).
func (d *Dispatcher) Ingest(ctx context.Context, as []*Alert) error {
	now := d.now()
	segs, err := d.segmentsOf(ctx, as)
	if err != nil {
		return err
	}
	var rs []routed
	var keys []procure.AlertGroupKey
	seen := map[procure.AlertGroupKey]bool{}
	for i, a := range as {
		for _, r := range d.tree.MatchSegments(a.Labels, segs[i]) {
			k := procure.AlertGroupKey{Route: r.ID, Key: r.GroupKey(a.Labels)}
			rs = append(rs, routed{alert: a, route: r, key: k})
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	if len(rs) == 0 {
		return nil
	}
	err = d.groups.EditGroups(ctx, keys, func(have map[procure.AlertGroupKey]*procure.AlertGroup) ([]*procure.AlertGroup, error) {
		return d.grouper.groupAll(have, rs, now), nil
	})
	if err == nil {
		kick(d.wakeTick)
	}
	return err
}

// segmentsOf looks up the segments of each alert's supplier (once per
// supplier), when routes use segments. Membership is the master data's at
// routing time, so an exception and its later changes may route apart if
// the supplier's segments changed in between.
func (d *Dispatcher) segmentsOf(ctx context.Context, as []*Alert) ([][]string, error) {
	out := make([][]string, len(as))
	if d.segments == nil {
		return out, nil
	}
	seen := map[[2]string][]string{}
	for i, a := range as {
		k := [2]string{a.Labels["tenant"], a.Labels["supplier"]}
		if k[1] == "" {
			continue
		}
		ss, ok := seen[k]
		if !ok {
			var err error
			if ss, err = d.segments.SegmentsOf(ctx, k[0], k[1]); err != nil {
				return nil, fmt.Errorf("route alert: %w", err)
			}
			seen[k] = ss
		}
		out[i] = ss
	}
	return out, nil
}

// consume moves the alerts consumer's feed into the groups.
func (d *Dispatcher) consume(ctx context.Context) (int, error) {
	ingest := func(evs []*procure.OutboxEvent) error {
		var as []*Alert
		for _, ev := range evs {
			if a := FromOutbox(ev); a != nil {
				as = append(as, a)
			}
		}
		return d.Ingest(ctx, as) // the store classifies its errors
	}
	n, err := d.feed.ClaimOutbox(ctx, 500, ingest)
	if class, _ := procure.Classify(err); err == nil || class != procure.FailDeterministic {
		return n, err
	}
	// An event Postgres refuses would fail its batch for ever: take the
	// feed one event at a time and drop (log, count) the one refused.
	d.log.Warn("alert feed batch refused; taking it one event at a time", "err", err)
	total := 0
	for range 500 {
		n, err := d.feed.ClaimOutbox(ctx, 1, func(evs []*procure.OutboxEvent) error {
			err := ingest(evs)
			if class, reason := procure.Classify(err); err != nil && class == procure.FailDeterministic {
				d.log.Error("alert feed event dropped: it cannot be grouped", "outbox_id", evs[0].ID, "kind", evs[0].Kind, "reason", reason, "err", err)
				d.metrics.drop(reason)
				return nil
			}
			return err
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, nil
}

// Tick runs throttle, escalate and notify over the groups that may need a
// message at now, and the digests.
func (d *Dispatcher) Tick(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := d.notify.NotifyGroups(ctx, func(gs []*procure.AlertGroup) ([]*procure.AlertGroup, []procure.AlertDelivery, error) {
		save, ds := d.notifyDue(gs, now)
		n = len(save)
		return save, ds, nil
	})
	if err == nil {
		var m int
		m, err = d.digests(ctx, now)
		n += m
	}
	if n > 0 {
		kick(d.wakeSend)
	}
	return n, err
}

// Run runs the feeder, the stages and the sender until ctx ends; it
// returns when every loop has stopped.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	// Each loop retries a failed round (Postgres down, Slack unreachable)
	// with backoff from Poll up to 5s; a deterministic failure of one item
	// is settled inside the round (recorded failed, dropped), never
	// retried here for ever.
	loop := func(name string, wake chan struct{}, f func() (int, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait := d.cfg.Poll
			for ctx.Err() == nil {
				n, err := f()
				if err != nil && ctx.Err() == nil {
					class, _ := procure.Classify(err)
					d.metrics.loopError(name, class)
					d.log.Error("alerts "+name, "class", class, "retry_in", wait, "err", err)
				}
				if n > 0 && err == nil {
					wait = d.cfg.Poll
					continue
				}
				if err != nil {
					wait = min(wait*2, max(5*time.Second, d.cfg.Poll))
				} else {
					wait = d.cfg.Poll
				}
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
				case <-wake:
				case <-t.C:
				}
				t.Stop()
			}
		}()
	}
	loop("feed", nil, func() (int, error) {
		n, err := d.feeder.Once(ctx, 500)
		if n > 0 {
			m, err2 := d.consume(ctx)
			return m, err2
		}
		m, err2 := d.consume(ctx)
		if err == nil {
			err = err2
		}
		return m, err
	})
	loop("tick", d.wakeTick, func() (int, error) { return d.Tick(ctx, d.now()) })
	loop("send", d.wakeSend, func() (int, error) { return d.sender.Once(ctx, d.now()) })
	wg.Wait()
	return nil
}

// Consume moves the feed into the groups until it is empty (tests, tools).
func (d *Dispatcher) Consume(ctx context.Context) error {
	for {
		n, err := d.consume(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}
