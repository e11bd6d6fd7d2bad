package rules

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the rules processor's Prometheus metrics
// (supplywatch_rules_*). Labels are bounded: an outcome, a failure class and
// the fixed reasons of procure.Classify. A nil *Metrics records nothing.
type Metrics struct {
	events       *prometheus.CounterVec
	batchSeconds prometheus.Histogram
	failures     *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	exceptions   *prometheus.CounterVec
	progress     prometheus.Gauge
	eventAge     prometheus.Gauge
}

// NewMetrics registers the rules metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_rules_events_total", Help: "Events the rules processor consumed, by outcome (applied, duplicate, dead_lettered).",
		}, []string{"outcome"}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "supplywatch_rules_batch_seconds", Help: "Time from fetching a batch to committing its offsets, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 16),
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_rules_batch_failures_total", Help: "Failed attempts to apply a batch, by class (transient, deterministic) and reason.",
		}, []string{"class", "reason"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_rules_dead_lettered_total", Help: "Events the rules processor sent to the dead letter, by reason.",
		}, []string{"reason"}),
		exceptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_rules_exceptions_total", Help: "Exception changes made by the rules processor (raised, cleared) and timer changes (timer).",
		}, []string{"change"}),
		progress: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "supplywatch_rules_last_progress_timestamp_seconds", Help: "When the rules processor last committed a batch (Unix time).",
		}),
		eventAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "supplywatch_rules_oldest_unprocessed_seconds", Help: "Age of the oldest event fetched and not yet committed (0 when none waits).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.batchSeconds, m.failures, m.deadLettered, m.exceptions, m.progress, m.eventAge)
	}
	return m
}

func (m *Metrics) batch(st Stats, dead int, took time.Duration, at time.Time) {
	if m == nil {
		return
	}
	m.events.WithLabelValues("applied").Add(float64(st.Events))
	m.events.WithLabelValues("duplicate").Add(float64(st.Duplicates))
	m.events.WithLabelValues("dead_lettered").Add(float64(dead))
	m.exceptions.WithLabelValues("raised").Add(float64(st.Raised))
	m.exceptions.WithLabelValues("cleared").Add(float64(st.Cleared))
	m.exceptions.WithLabelValues("timer").Add(float64(st.TimerChanges))
	m.batchSeconds.Observe(took.Seconds())
	m.progress.Set(float64(at.UnixNano()) / 1e9)
	m.eventAge.Set(0)
}

func (m *Metrics) failure(class, reason string) {
	if m != nil {
		m.failures.WithLabelValues(class, reason).Inc()
	}
}

func (m *Metrics) deadLetter(reason string) {
	if m != nil {
		m.deadLettered.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) waiting(age time.Duration) {
	if m != nil {
		m.eventAge.Set(age.Seconds())
	}
}
