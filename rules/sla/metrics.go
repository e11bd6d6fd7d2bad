package sla

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/supplywatch/supplywatch/procure"
)

// Metrics are the scheduler's Prometheus metrics (supplywatch_sla_*).
// Labels are bounded (class and the fixed reasons of procure.Classify). A
// nil *Metrics records nothing.
type Metrics struct {
	fired    prometheus.Counter
	breaches prometheus.Counter
	lag      prometheus.Histogram
	failures *prometheus.CounterVec
	ended    *prometheus.CounterVec
}

// NewMetrics registers the SLA metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		fired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "supplywatch_sla_timers_fired_total", Help: "Timers claimed and fired (warnings, breaches, deferred rule evaluations).",
		}),
		breaches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "supplywatch_sla_breaches_total", Help: "SLA breaches raised by the scheduler.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "supplywatch_sla_fire_lag_seconds", Help: "From a breach's due time to the wall-clock commit that raised it (large while a backlog replays on event time).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 18),
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_sla_fire_failures_total", Help: "Failed firing rounds by class and reason (retried with backoff).",
		}, []string{"class", "reason"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_sla_timers_ended_total", Help: "Timers ended without firing because their firing fails deterministically, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.fired, m.breaches, m.lag, m.failures, m.ended)
	}
	return m
}

func (m *Metrics) fired_(n int, due []time.Time, at time.Time) {
	if m == nil {
		return
	}
	m.fired.Add(float64(n))
	m.breaches.Add(float64(len(due)))
	for _, d := range due {
		m.lag.Observe(max(at.Sub(d), 0).Seconds())
	}
}

func (m *Metrics) failure(err error) {
	if m != nil {
		m.failures.WithLabelValues(procure.Classify(err)).Inc()
	}
}

func (m *Metrics) dropped(reason string) {
	if m != nil {
		m.ended.WithLabelValues(reason).Inc()
	}
}
