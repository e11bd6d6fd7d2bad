package collector

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the collector's Prometheus metrics. Labels are bounded: the
// channel, an outcome, and the top-level field a rejection is about.
type Metrics struct {
	events       *prometheus.CounterVec
	rejects      *prometheus.CounterVec
	batchRows    prometheus.Histogram
	flushSeconds prometheus.Histogram
	writeErrors  prometheus.Counter
	httpRequests *prometheus.CounterVec
	spans        prometheus.Counter
	lag          *prometheus.GaugeVec
	queue        prometheus.GaugeFunc
}

// NewMetrics registers the collector's metrics with reg; queueLen reports
// the writer's queue length.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_ingest_events_total", Help: "Canonical events ingested, by channel and outcome (stored, duplicate).",
		}, []string{"channel", "outcome"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_ingest_rejects_total", Help: "Inputs sent to the dead letter, by channel and the top-level field at fault.",
		}, []string{"channel", "field"}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "supplywatch_writer_batch_rows", Help: "Rows per ClickHouse batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "supplywatch_writer_flush_seconds", Help: "Time to store one batch, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "supplywatch_writer_errors_total", Help: "Failed ClickHouse write attempts (each is retried).",
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_ingest_http_requests_total", Help: "Ingest HTTP requests by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		spans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "supplywatch_ingest_spans_total", Help: "OTLP spans stored.",
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "supplywatch_consumer_lag", Help: "Messages behind the end of the topic, per consumer group.",
		}, []string{"topic", "group"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.rejects, m.batchRows, m.flushSeconds, m.writeErrors, m.httpRequests, m.spans, m.lag)
	}
	return m
}

// rejectClass is the top-level field of a rejection's path, a bounded label.
func rejectClass(field string) string {
	if field == "" {
		return "body"
	}
	if i := strings.IndexAny(field, ".["); i > 0 {
		return field[:i]
	}
	return field
}
