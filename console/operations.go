package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Plant is a plant a principal may pick, with its time zone (its SLA
// calendar's; "" when it has none and dates show in the reader's zone).
type Plant struct {
	Plant    string `json:"plant"`
	TimeZone string `json:"time_zone,omitempty"`
}

// plantLister knows the plants of a tenant from the facts (ClickHouseFacts).
type plantLister interface {
	Plants(ctx context.Context, tenant string, since time.Time) ([]string, error)
}

// listPlants answers the plants the caller may open: a plant user's own,
// else those with events in the last 90 days and those with a calendar.
func (c *Console) listPlants(g *gin.Context) {
	p := principalOf(g)
	var names []string
	if p.Plants != nil {
		names = slices.Clone(p.Plants)
	} else {
		for name := range c.zones {
			names = append(names, name)
		}
		if pl, ok := c.facts.(plantLister); ok {
			seen, err := pl.Plants(g.Request.Context(), p.Tenant, c.now().AddDate(0, 0, -90))
			if err != nil {
				c.fail(g, err)
				return
			}
			names = append(names, seen...)
		}
	}
	sort.Strings(names)
	names = slices.Compact(names)
	out := make([]Plant, 0, len(names))
	for _, n := range names {
		if n != "" {
			out = append(out, Plant{Plant: n, TimeZone: c.zones[n]})
		}
	}
	c.respond(g, http.StatusOK, gin.H{"plants": out})
}

// Plants returns the plants with events since since.
func (f *ClickHouseFacts) Plants(ctx context.Context, tenant string, since time.Time) ([]string, error) {
	rows, err := f.conn.Query(ctx, `SELECT DISTINCT toString(plant) FROM `+f.db+`.events
		WHERE tenant = ? AND occurred_at >= ? AND plant != '' ORDER BY 1 LIMIT 1000`, tenant, since)
	if err != nil {
		return nil, fmt.Errorf("plants: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Operations is the on-call view of the pipeline over a window: from the
// facts (throughput, rejects, ingest latency, SLA breaches, deliveries) and
// from the process's own metrics (consumer lag, alert deliveries).
type Operations struct {
	From       time.Time      `json:"from"`
	To         time.Time      `json:"to"`
	Throughput []SourceCount  `json:"throughput"`
	Rejects    []ReasonCount  `json:"rejects"`
	Latency    *IngestLatency `json:"ingest_latency"`
	Breaches   []RuleCount    `json:"sla_breaches"`
	Deliveries []TargetCount  `json:"deliveries"`
	// Metrics are samples of the service's own metrics (nil when the
	// console has no registry): consumer lag per group and topic, alert
	// deliveries, ingest counts.
	Metrics []MetricSample `json:"metrics"`
}

// SourceCount is the events of one source and partner (supplier).
type SourceCount struct {
	Source   string `json:"source"`
	Supplier string `json:"supplier"`
	Events   uint64 `json:"events"`
}

// ReasonCount is the dead-letter entries of one channel, field and reason.
type ReasonCount struct {
	Channel string    `json:"channel"`
	Field   string    `json:"field"`
	Reason  string    `json:"reason"`
	Count   uint64    `json:"count"`
	Last    time.Time `json:"last"`
}

// IngestLatency is received → stored (queryable) time of the window's
// events, in milliseconds.
type IngestLatency struct {
	Events uint64  `json:"events"`
	P50    float64 `json:"p50_ms"`
	P95    float64 `json:"p95_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// RuleCount is the SLA exceptions one rule opened.
type RuleCount struct {
	Rule  string `json:"rule"`
	Count uint64 `json:"count"`
}

// TargetCount is the messages delivered to and failed at one target.
type TargetCount struct {
	Target    string `json:"target"`
	Delivered uint64 `json:"delivered"`
	Failed    uint64 `json:"failed"`
}

// MetricSample is one series of a metric of the process.
type MetricSample struct {
	Name   string            `json:"name"`
	Help   string            `json:"help"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  float64           `json:"value"`
}

// opsFacts reads the operational figures from the facts (ClickHouseFacts).
type opsFacts interface {
	Operations(ctx context.Context, tenant string, from, to time.Time) (*Operations, error)
}

// operationMetrics are the metric families the operations page shows.
var operationMetrics = []string{"supplywatch_consumer_lag", "supplywatch_alerts_", "supplywatch_ingest_events_total", "supplywatch_ingest_rejects_total", "supplywatch_writer_errors_total"}

func (c *Console) operations(g *gin.Context) {
	window := 24 * time.Hour
	if s := g.Query("window"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > 31*24*time.Hour {
			c.fail(g, invalid("window", "%q is not a duration up to 744h", s))
			return
		}
		window = d
	}
	of, ok := c.facts.(opsFacts)
	if !ok {
		c.fail(g, errors.New("the facts store has no operational figures"))
		return
	}
	to := c.now().UTC()
	o, err := of.Operations(g.Request.Context(), principalOf(g).Tenant, to.Add(-window), to)
	if err != nil {
		c.fail(g, err)
		return
	}
	if c.metrics != nil {
		o.Metrics, err = gatherSamples(c.metrics, operationMetrics)
		if err != nil {
			c.fail(g, err)
			return
		}
	}
	c.respond(g, http.StatusOK, o)
}

// gatherSamples returns the counters and gauges whose names start with
// one of prefixes.
func gatherSamples(reg prometheus.Gatherer, prefixes []string) ([]MetricSample, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	out := []MetricSample{}
	for _, mf := range mfs {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(mf.GetName(), p) }) {
			continue
		}
		for _, m := range mf.GetMetric() {
			s := MetricSample{Name: mf.GetName(), Help: mf.GetHelp()}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				s.Value = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.Value = m.GetGauge().GetValue()
			default:
				continue
			}
			if len(m.GetLabel()) > 0 {
				s.Labels = map[string]string{}
				for _, l := range m.GetLabel() {
					s.Labels[l.GetName()] = l.GetValue()
				}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// Operations reads the window's figures of a tenant: five small
// aggregations pruned by partition and primary key (events by tenant and
// day; the dead letter by month; the exception history by tenant).
func (f *ClickHouseFacts) Operations(ctx context.Context, tenant string, from, to time.Time) (*Operations, error) {
	o := &Operations{From: from, To: to, Throughput: []SourceCount{}, Rejects: []ReasonCount{}, Breaches: []RuleCount{}, Deliveries: []TargetCount{}}
	rows, err := f.conn.Query(ctx, `SELECT toString(source), toString(supplier), count() FROM `+f.db+`.events
		WHERE tenant = ? AND toDate(occurred_at) >= toDate(?) AND received_at >= ? AND received_at < ?
		GROUP BY source, supplier ORDER BY count() DESC, source, supplier LIMIT 100`, tenant, from, from, to)
	if err != nil {
		return nil, fmt.Errorf("operations throughput: %w", err)
	}
	for rows.Next() {
		var s SourceCount
		if err := rows.Scan(&s.Source, &s.Supplier, &s.Events); err != nil {
			rows.Close()
			return nil, err
		}
		o.Throughput = append(o.Throughput, s)
	}
	rows.Close()
	var lat IngestLatency
	var qs []float64
	if err := f.conn.QueryRow(ctx, `SELECT count(), quantiles(0.5, 0.95, 0.99)(toFloat64(stored_at - received_at) * 1000), toFloat64(max(stored_at - received_at)) * 1000
		FROM `+f.db+`.events WHERE tenant = ? AND toDate(occurred_at) >= toDate(?) AND received_at >= ? AND received_at < ?`,
		tenant, from, from, to).Scan(&lat.Events, &qs, &lat.Max); err != nil {
		return nil, fmt.Errorf("operations latency: %w", err)
	}
	if lat.Events > 0 && len(qs) == 3 {
		lat.P50, lat.P95, lat.P99 = qs[0], qs[1], qs[2]
		o.Latency = &lat
	}
	rows, err = f.conn.Query(ctx, `SELECT toString(channel), field, reason, count(), max(received_at) FROM `+f.db+`.rejected FINAL
		WHERE (tenant = ? OR tenant = '') AND received_at >= ? AND received_at < ?
		GROUP BY channel, field, reason ORDER BY count() DESC LIMIT 100`, tenant, from, to)
	if err != nil {
		return nil, fmt.Errorf("operations rejects: %w", err)
	}
	for rows.Next() {
		var r ReasonCount
		if err := rows.Scan(&r.Channel, &r.Field, &r.Reason, &r.Count, &r.Last); err != nil {
			rows.Close()
			return nil, err
		}
		o.Rejects = append(o.Rejects, r)
	}
	rows.Close()
	rows, err = f.conn.Query(ctx, `SELECT toString(rule), uniqExact(exception_id) FROM `+f.db+`.exception_history
		WHERE tenant = ? AND exc_kind = 'sla' AND kind = 'exception.opened' AND at >= ? AND at < ?
		GROUP BY rule ORDER BY 2 DESC, rule LIMIT 100`, tenant, from, to)
	if err != nil {
		return nil, fmt.Errorf("operations sla breaches: %w", err)
	}
	for rows.Next() {
		var r RuleCount
		if err := rows.Scan(&r.Rule, &r.Count); err != nil {
			rows.Close()
			return nil, err
		}
		o.Breaches = append(o.Breaches, r)
	}
	rows.Close()
	rows, err = f.conn.Query(ctx, `SELECT toString(target), sum(delivered), sum(failed) FROM `+f.db+`.kpi_deliveries
		WHERE tenant = ? AND hour >= toStartOfHour(?) AND hour < ? GROUP BY target ORDER BY 3 DESC, target LIMIT 100`, tenant, from, to)
	if err != nil {
		return nil, fmt.Errorf("operations deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t TargetCount
		if err := rows.Scan(&t.Target, &t.Delivered, &t.Failed); err != nil {
			return nil, err
		}
		o.Deliveries = append(o.Deliveries, t)
	}
	return o, rows.Err()
}
