package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Sample is one Prometheus-style sample: a metric name, its labels and
// value (counters are cumulative).
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Sampler returns the current samples (a prometheus.Gatherer adapter, the
// Sender's counts, or both).
type Sampler interface {
	Sample(ctx context.Context) ([]Sample, error)
}

// SamplerFunc adapts a function to Sampler.
type SamplerFunc func(ctx context.Context) ([]Sample, error)

// Sample calls f.
func (f SamplerFunc) Sample(ctx context.Context) ([]Sample, error) { return f(ctx) }

// WatchRule is an alert on the pipeline itself: the value of Metric (summed
// over its series), or its rate per second when Rate, divided by the same of
// Over when set, above Threshold for at least For.
type WatchRule struct {
	Name      string        `yaml:"name"`
	Metric    string        `yaml:"metric"`
	Over      string        `yaml:"over"`
	Rate      bool          `yaml:"rate"`
	Threshold float64       `yaml:"threshold"`
	For       time.Duration `yaml:"for"`
	Severity  string        `yaml:"severity"`
	Team      string        `yaml:"team"`
	Summary   string        `yaml:"summary"`
}

// DefaultWatchRules are the pipeline alerts on the metrics the supplywatch
// processes export (names declared here; the app registers them).
func DefaultWatchRules() []WatchRule {
	return []WatchRule{
		{Name: "consumer-lag", Metric: "supplywatch_kafka_consumer_lag", Threshold: 10000, For: 5 * time.Minute,
			Severity: procure.SeverityHigh, Team: "oncall", Summary: "Kafka consumer lag above 10,000 messages"},
		{Name: "ingest-error-rate", Metric: "supplywatch_ingest_rejected_total", Over: "supplywatch_ingest_inputs_total", Rate: true,
			Threshold: 0.05, For: 10 * time.Minute, Severity: procure.SeverityHigh, Team: "oncall", Summary: "More than 5% of inputs rejected"},
		{Name: "dead-letter-growth", Metric: "supplywatch_ingest_rejected_total", Rate: true, Threshold: 1, For: 10 * time.Minute,
			Severity: procure.SeverityMedium, Team: "oncall", Summary: "Dead letter growing by more than 1 per second"},
		{Name: "slack-delivery-failures", Metric: "supplywatch_alerts_deliveries_failed_total", Rate: true, Threshold: 0, For: 0,
			Severity: procure.SeverityHigh, Team: "oncall", Summary: "Slack deliveries failing for good"},
	}
}

// Watcher evaluates WatchRules over samples and feeds firing and resolved
// pipeline alerts into the Dispatcher (labels: rule pipeline.<name>,
// severity, team, kind pipeline).
type Watcher struct {
	rules   []WatchRule
	sampler Sampler
	ingest  func(ctx context.Context, as []*Alert) error
	prev    map[string]float64
	prevAt  time.Time
	since   map[string]time.Time
	firing  map[string]bool
}

// NewWatcher returns a Watcher; ingest is Dispatcher.Ingest.
func NewWatcher(rules []WatchRule, s Sampler, ingest func(ctx context.Context, as []*Alert) error) *Watcher {
	return &Watcher{rules: rules, sampler: s, ingest: ingest, prev: map[string]float64{}, since: map[string]time.Time{}, firing: map[string]bool{}}
}

// Evaluate samples at now and ingests the alerts that changed state. It is
// not safe for concurrent use.
func (w *Watcher) Evaluate(ctx context.Context, now time.Time) error {
	ss, err := w.sampler.Sample(ctx)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	sum := map[string]float64{}
	for _, s := range ss {
		sum[s.Name] += s.Value
	}
	dt := now.Sub(w.prevAt).Seconds()
	value := func(metric string, rate bool) (float64, bool) {
		v, ok := sum[metric]
		if !rate {
			return v, ok
		}
		p, had := w.prev[metric]
		if !ok || !had || dt <= 0 {
			return 0, false
		}
		return max(v-p, 0) / dt, true
	}
	var as []*Alert
	for _, r := range w.rules {
		v, ok := value(r.Metric, r.Rate)
		if ok && r.Over != "" {
			d, ok2 := value(r.Over, r.Rate)
			ok = ok2 && d > 0
			if ok {
				v /= d
			}
		}
		breach := ok && v > r.Threshold
		if !breach {
			delete(w.since, r.Name)
		} else if _, ok := w.since[r.Name]; !ok {
			w.since[r.Name] = now
		}
		fire := breach && now.Sub(w.since[r.Name]) >= r.For
		if fire == w.firing[r.Name] {
			continue
		}
		w.firing[r.Name] = fire
		state, change := procure.ExceptionOpen, fmt.Sprintf("firing (%.3g)", v)
		if !fire {
			state, change = procure.ExceptionResolved, "resolved"
		}
		as = append(as, &Alert{
			Labels: map[string]string{"rule": "pipeline." + r.Name, "severity": r.Severity, "team": r.Team, "kind": "pipeline"},
			Member: procure.AlertMember{Key: "p:" + r.Name, Title: r.Summary, Message: fmt.Sprintf("%s = %.4g (threshold %.4g)", r.Metric, v, r.Threshold),
				State: state, Severity: r.Severity, FirstSeen: w.since[r.Name]},
			Change: r.Name + " " + change, At: now,
		})
	}
	for k, v := range sum {
		w.prev[k] = v
	}
	w.prevAt = now
	if len(as) == 0 {
		return nil
	}
	return w.ingest(ctx, as)
}

// Run evaluates every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context, interval time.Duration, now func() time.Time) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_ = w.Evaluate(ctx, now())
		}
	}
}

// SenderSampler exposes the Sender's counts as
// supplywatch_alerts_deliveries_{sent,retried,failed}_total.
func SenderSampler(s *Sender) Sampler {
	return SamplerFunc(func(context.Context) ([]Sample, error) {
		sent, retried, failed := s.Counts()
		return []Sample{{Name: "supplywatch_alerts_deliveries_sent_total", Value: float64(sent)},
			{Name: "supplywatch_alerts_deliveries_retried_total", Value: float64(retried)},
			{Name: "supplywatch_alerts_deliveries_failed_total", Value: float64(failed)}}, nil
	})
}
