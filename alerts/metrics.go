package alerts

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the alert pipeline's Prometheus metrics
// (supplywatch_alerts_*). Labels are bounded: an outcome, a failure class
// and a fixed reason, a loop name. A nil *Metrics records nothing.
type Metrics struct {
	deliveries *prometheus.CounterVec
	failures   *prometheus.CounterVec
	latency    prometheus.Histogram
	loopErrors *prometheus.CounterVec
	dropped    *prometheus.CounterVec
}

// NewMetrics registers the alert metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_alerts_deliveries_total", Help: "Slack deliveries by outcome: sent, retried (scheduled again), failed (given up, recorded).",
		}, []string{"outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_alerts_delivery_failures_total", Help: "Failed Slack delivery attempts by class (transient, deterministic) and reason (rate_limited, unavailable, rejected, exhausted).",
		}, []string{"class", "reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "supplywatch_alerts_delivery_seconds", Help: "Time from a delivery being queued to Slack accepting it, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 16),
		}),
		loopErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_alerts_loop_errors_total", Help: "Failed rounds of the alert loops (feed, tick, send) by class; each is retried with backoff.",
		}, []string{"loop", "class"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_alerts_feed_dropped_total", Help: "Feed events a consumer could never take (undecodable, refused by Postgres), dropped with a log line, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.failures, m.latency, m.loopErrors, m.dropped)
	}
	return m
}

func (m *Metrics) delivered(queued, now time.Time) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues("sent").Inc()
	if !queued.IsZero() {
		m.latency.Observe(now.Sub(queued).Seconds())
	}
}

func (m *Metrics) failure(class, reason string, gaveUp bool) {
	if m == nil {
		return
	}
	m.failures.WithLabelValues(class, reason).Inc()
	if gaveUp {
		m.deliveries.WithLabelValues("failed").Inc()
	} else {
		m.deliveries.WithLabelValues("retried").Inc()
	}
}

func (m *Metrics) loopError(loop, class string) {
	if m != nil {
		m.loopErrors.WithLabelValues(loop, class).Inc()
	}
}

func (m *Metrics) drop(reason string) {
	if m != nil {
		m.dropped.WithLabelValues(reason).Inc()
	}
}
