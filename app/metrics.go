package app

import (
	"runtime"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/supplywatch/supplywatch/kafka"
)

// registerBuildInfo exports supplywatch_build_info: always 1, labelled
// with the version, the VCS revision, the Go version and the role.
func registerBuildInfo(reg prometheus.Registerer, role string) {
	b := Build()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "supplywatch_build_info",
		Help: "Always 1: the version, revision and Go version of this binary, and the role of this process.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision,
			"goversion": runtime.Version(), "role": role},
	}, func() float64 { return 1 }))
}

// httpMetrics counts requests by route pattern (bounded: unmatched paths
// are "unmatched") and status, and times them.
func httpMetrics(reg prometheus.Registerer) gin.HandlerFunc {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supplywatch_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	seconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "supplywatch_http_request_seconds", Help: "HTTP request duration by route.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
	}, []string{"route"})
	reg.MustRegister(requests, seconds)
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		requests.WithLabelValues(route, strconv.Itoa(c.Writer.Status())).Inc()
		seconds.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}

// registerRulesLag exports the rules consumer group's lag as
// supplywatch_rules_consumer_lag (the processor's own families are
// rules.NewMetrics).
func registerRulesLag(reg prometheus.Registerer, r *kafka.Reader) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "supplywatch_rules_consumer_lag", Help: "Messages behind the end of the events topic, rules consumer group.",
	}, func() float64 { return float64(r.Lag()) }))
}
