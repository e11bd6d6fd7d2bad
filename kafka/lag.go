package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
)

// LagMetrics are the families of the consumer groups' lag, shared by the
// monitors of one registry.
type LagMetrics struct {
	lag     *prometheus.GaugeVec
	stalled *prometheus.GaugeVec
}

// NewLagMetrics registers the families on reg.
func NewLagMetrics(reg prometheus.Registerer) *LagMetrics {
	m := &LagMetrics{
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "supplywatch_kafka_group_lag",
			Help: "Messages between a consumer group's committed offset and the end of the partition, as the broker reports them (the same in every process of the group: aggregate with max by (topic, group, partition)).",
		}, []string{"topic", "group", "partition"}),
		stalled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "supplywatch_kafka_group_stalled",
			Help: "1 when a partition of the group has lag and its committed offset has not moved for the group's stall_after (readiness fails), else 0.",
		}, []string{"topic", "group"}),
	}
	reg.MustRegister(m.lag, m.stalled)
	return m
}

// LagMonitor measures a consumer group's lag on one topic from the offsets
// the group has committed, for every partition of the topic, whichever
// process holds it. A process only knows the partitions it was assigned;
// the committed offsets show a partition that no live member consumes too
// (a member the broker has not expired, a stuck consumer), which is what
// readiness needs.
type LagMonitor struct {
	client       *kafkago.Client
	topic, group string
	stallAfter   time.Duration
	every        time.Duration
	timeout      time.Duration // of one measurement
	metrics      *LagMetrics
	log          *slog.Logger
	now          func() time.Time

	mu       sync.Mutex
	parts    map[int]*partitionLag
	measured time.Time // last successful measurement
	started  time.Time
	lastErr  error
}

type partitionLag struct {
	committed, end, lag int64
	progress            time.Time // committed offset last moved, or lag last 0
}

// NewLagMonitor returns a monitor of group on topic: it is not Ready when a
// partition has had lag without its committed offset moving for stallAfter,
// or when the lag could not be measured for stallAfter.
func (c *Config) NewLagMonitor(topic, group string, stallAfter time.Duration, m *LagMetrics, log *slog.Logger) (*LagMonitor, error) {
	if stallAfter <= 0 {
		return nil, fmt.Errorf("kafka lag monitor of group %s: stall_after must be positive", group)
	}
	t, err := c.transport()
	if err != nil {
		return nil, err
	}
	return &LagMonitor{
		client: &kafkago.Client{Addr: kafkago.TCP(c.Brokers...), Timeout: 10 * time.Second, Transport: t},
		topic:  topic, group: group, stallAfter: stallAfter,
		every:   min(5*time.Second, max(stallAfter/4, 250*time.Millisecond)),
		timeout: min(10*time.Second, stallAfter),
		metrics: m, log: log, now: time.Now, parts: map[int]*partitionLag{},
	}, nil
}

// Group is the consumer group measured.
func (l *LagMonitor) Group() string { return l.group }

// Run measures until ctx ends.
func (l *LagMonitor) Run(ctx context.Context) error {
	l.mu.Lock()
	l.started = l.now()
	l.mu.Unlock()
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		mctx, cancel := context.WithTimeout(ctx, l.timeout)
		err := l.measure(mctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			l.log.Debug("kafka lag not measured", "group", l.group, "topic", l.topic, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// measure reads the partitions, their ends and the group's committed
// offsets, and updates the gauges.
func (l *LagMonitor) measure(ctx context.Context) error {
	meta, err := l.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{l.topic}})
	if err == nil && (len(meta.Topics) != 1 || meta.Topics[0].Error != nil) {
		err = fmt.Errorf("topic %s: %v", l.topic, meta.Topics)
	}
	if err != nil {
		return l.failed(err)
	}
	var ids []int
	var reqs []kafkago.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		ids = append(ids, p.ID)
		reqs = append(reqs, kafkago.FirstOffsetOf(p.ID), kafkago.LastOffsetOf(p.ID))
	}
	offs, err := l.client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{l.topic: reqs}})
	if err != nil {
		return l.failed(fmt.Errorf("list offsets: %w", err))
	}
	fetched, err := l.client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: l.group, Topics: map[string][]int{l.topic: ids}})
	if err == nil && fetched.Error != nil {
		err = fetched.Error
	}
	if err != nil {
		return l.failed(fmt.Errorf("offset fetch: %w", err))
	}
	first, end := map[int]int64{}, map[int]int64{}
	for _, p := range offs.Topics[l.topic] {
		if p.Error != nil {
			return l.failed(fmt.Errorf("partition %d offsets: %w", p.Partition, p.Error))
		}
		first[p.Partition], end[p.Partition] = p.FirstOffset, p.LastOffset
	}
	committed := map[int]int64{}
	for _, p := range fetched.Topics[l.topic] {
		if p.Error != nil {
			return l.failed(fmt.Errorf("partition %d committed offset: %w", p.Partition, p.Error))
		}
		committed[p.Partition] = p.CommittedOffset
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	stalled := false
	for _, id := range ids {
		c, ok := committed[id]
		if !ok || c < 0 {
			c = first[id] // nothing committed: the group starts at the first offset
		}
		lag := max(0, end[id]-c)
		p := l.parts[id]
		if p == nil {
			p = &partitionLag{committed: c, progress: now}
			l.parts[id] = p
		}
		if c != p.committed || lag == 0 {
			p.progress = now
		}
		p.committed, p.end, p.lag = c, end[id], lag
		l.metrics.lag.WithLabelValues(l.topic, l.group, strconv.Itoa(id)).Set(float64(lag))
		stalled = stalled || p.stalled(now, l.stallAfter)
	}
	l.measured, l.lastErr = now, nil
	l.metrics.stalled.WithLabelValues(l.topic, l.group).Set(b2f(stalled))
	return nil
}

func (l *LagMonitor) failed(err error) error {
	l.mu.Lock()
	l.lastErr = err
	l.mu.Unlock()
	return err
}

func (p *partitionLag) stalled(now time.Time, after time.Duration) bool {
	return p.lag > 0 && now.Sub(p.progress) > after
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Ready returns an error naming the partitions that have had lag without
// their committed offset moving for stall_after, as of the last
// measurement (a slow measurement is not taken for a stall), or the
// measurement's error when none has succeeded for stall_after plus the time
// one may take.
func (l *LagMonitor) Ready() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	since := l.measured
	if since.IsZero() {
		since = l.started
	}
	if !since.IsZero() && now.Sub(since) > l.stallAfter+l.timeout {
		return fmt.Errorf("group %s: lag on %s not measured for %s: %v", l.group, l.topic, now.Sub(since).Round(time.Second), l.lastErr)
	}
	var stuck []string
	for _, id := range slices.Sorted(maps.Keys(l.parts)) {
		if p := l.parts[id]; p.stalled(l.measured, l.stallAfter) {
			stuck = append(stuck, fmt.Sprintf("partition %d: %d behind, committed offset %d unchanged for %s", id, p.lag, p.committed, l.measured.Sub(p.progress).Round(time.Second)))
		}
	}
	if len(stuck) > 0 {
		return errors.New("group " + l.group + " on " + l.topic + " makes no progress: " + strings.Join(stuck, "; "))
	}
	return nil
}
