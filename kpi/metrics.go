package kpi

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Refresher's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	complete  prometheus.Gauge
	success   prometheus.Gauge
	duration  *prometheus.GaugeVec
	pieces    *prometheus.CounterVec
	progress  prometheus.Gauge
	months    prometheus.Counter
	refreshes *prometheus.CounterVec
}

// NewMetrics registers the KPI refresh metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		complete: prometheus.NewGauge(prometheus.GaugeOpts{Name: "supplywatch_kpi_complete_through_timestamp_seconds",
			Help: "Facts stored before this time are in the KPI rollup (the KPIs' freshness)."}),
		success: prometheus.NewGauge(prometheus.GaugeOpts{Name: "supplywatch_kpi_refresh_last_success_timestamp_seconds",
			Help: "When the last KPI refresh without a failed piece ended."}),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "supplywatch_kpi_refresh_duration_seconds",
			Help: "Wall time of the last KPI refresh, by kind (full, incremental)."}, []string{"kind"}),
		pieces: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "supplywatch_kpi_refresh_pieces_total",
			Help: "KPI refresh pieces by outcome (ok, retried, failed)."}, []string{"outcome"}),
		progress: prometheus.NewGauge(prometheus.GaugeOpts{Name: "supplywatch_kpi_build_progress_ratio",
			Help: "Share of the pieces of the running (or last) full KPI build that are done."}),
		months: prometheus.NewCounter(prometheus.CounterOpts{Name: "supplywatch_kpi_rollup_months_total",
			Help: "Months of the KPI rollup recomputed."}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "supplywatch_kpi_refreshes_total",
			Help: "KPI refreshes by kind and result (ok, failed)."}, []string{"kind", "result"}),
	}
	reg.MustRegister(m.complete, m.success, m.duration, m.pieces, m.progress, m.months, m.refreshes)
	return m
}

func (m *Metrics) piece(outcome string) {
	if m != nil {
		m.pieces.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) buildProgress(r float64) {
	if m != nil {
		m.progress.Set(r)
	}
}

func (m *Metrics) completeThrough(t time.Time) {
	if m != nil && !t.IsZero() {
		m.complete.Set(float64(t.UnixMilli()) / 1000)
	}
}

func (m *Metrics) refreshed(rep Report, took time.Duration) {
	if m == nil {
		return
	}
	kind := "incremental"
	if rep.Full {
		kind = "full"
		m.progress.Set(1)
	}
	m.duration.WithLabelValues(kind).Set(took.Seconds())
	m.months.Add(float64(len(rep.Months)))
	result := "ok"
	if rep.Failed > 0 {
		result = "failed"
	} else {
		m.success.SetToCurrentTime()
	}
	m.refreshes.WithLabelValues(kind, result).Inc()
	m.completeThrough(rep.CompleteThrough)
}

// transient tells whether a failed piece may succeed when retried: timeouts,
// lost connections and the server's load and resource errors; not a bad
// statement or a missing table.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ex *chgo.Exception
	if errors.As(err, &ex) {
		switch ex.Code {
		case 159, // TIMEOUT_EXCEEDED
			160, // TOO_SLOW
			202, // TOO_MANY_SIMULTANEOUS_QUERIES
			209, // SOCKET_TIMEOUT
			210, // NETWORK_ERROR
			241, // MEMORY_LIMIT_EXCEEDED
			252, // TOO_MANY_PARTS
			236, // ABORTED
			394, // QUERY_WAS_CANCELLED
			473: // DEADLOCK_AVOIDED
			return true
		}
		return false
	}
	return errors.Is(err, errTransient)
}

// timedOut tells whether err is a statement timeout (the piece may be too
// big for it).
func timedOut(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ex *chgo.Exception
	return errors.As(err, &ex) && (ex.Code == 159 || ex.Code == 160 || ex.Code == 209)
}

// errTransient marks an error as transient (wrap it with %w).
var errTransient = errors.New("transient")
