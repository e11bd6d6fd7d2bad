package collector

import (
	"strings"
	"sync/atomic"

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
	// Issue 9's health metrics.
	batchFailures *prometheus.CounterVec
	deadLetters   *prometheus.CounterVec
	lost          *prometheus.CounterVec
	dlqRefused    prometheus.Counter
	fetchErrors   *prometheus.CounterVec
	oldest        prometheus.GaugeFunc
	stalled       prometheus.GaugeFunc
	writer        atomic.Pointer[Writer]
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
			Name: "supplywatch_consumer_lag", Help: "Messages behind the end of the topic not yet stored and committed, per consumer group and partition.",
		}, []string{"topic", "group", "partition"}),
		batchFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_writer_batch_failures_total", Help: "Failed attempts to store a batch, by class (transient: retried; deterministic: split and the row at fault dead-lettered) and reason.",
		}, []string{"class", "reason"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_dead_letters_total", Help: "Inputs stored in the dead letter, by stage (ingest, store, rules, b2b) and reason (the top-level field at fault).",
		}, []string{"stage", "reason"}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_writer_lost_total", Help: "Items neither stored nor dead-lettered (a dead letter refused by the store), by failure reason; each is logged.",
		}, []string{"reason"}),
		dlqRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "supplywatch_dead_letter_publish_refused_total", Help: "Dead letters the dead-letter topic refused deterministically (kept in the rejected table only).",
		}),
	}
	m.fetchErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supplywatch_consumer_fetch_errors_total", Help: "Failed Kafka fetches (retried with backoff), by reason.",
	}, []string{"reason"})
	age := func() float64 {
		if w := m.writer.Load(); w != nil {
			return w.oldestAge().Seconds()
		}
		return 0
	}
	m.oldest = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "supplywatch_writer_oldest_unprocessed_seconds", Help: "Age of the oldest input the writer holds and has not stored, since it was taken in (0 when idle).",
	}, age)
	m.stalled = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "supplywatch_writer_stalled", Help: "1 when the writer has held work for writer.stall_after without storing any (readiness fails), else 0.",
	}, func() float64 {
		if w := m.writer.Load(); w != nil && w.Ready() != nil {
			return 1
		}
		return 0
	})
	if reg != nil {
		reg.MustRegister(m.events, m.rejects, m.batchRows, m.flushSeconds, m.writeErrors, m.httpRequests, m.spans, m.lag,
			m.batchFailures, m.deadLetters, m.lost, m.dlqRefused, m.fetchErrors, m.oldest, m.stalled)
	}
	return m
}

// observe makes the gauges read w.
func (m *Metrics) observe(w *Writer) { m.writer.Store(w) }

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
