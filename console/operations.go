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
	"github.com/supplywatch/supplywatch/procure"
)

// Plant is a plant a principal may pick, with its time zone (its SLA
// calendar's; "" when it has none and dates show in the reader's zone).
type Plant struct {
	Plant    string `json:"plant"`
	TimeZone string `json:"time_zone,omitempty"`
}

// plantLister knows the plants of a tenant from the facts (clickhouse.Facts).
type plantLister interface {
	Plants(ctx context.Context, tenant string, since time.Time) ([]string, error)
}

// listPlants answers the plants the caller may open: a plant user's own,
// else those with events in the last 90 days and those with a calendar.
func (h *dashboardHandlers) listPlants(g *gin.Context) {
	p := principalOf(g)
	var names []string
	if p.Plants != nil {
		names = slices.Clone(p.Plants)
	} else {
		for name := range h.zones {
			names = append(names, name)
		}
		if pl, ok := h.facts.(plantLister); ok {
			seen, err := pl.Plants(g.Request.Context(), p.Tenant, h.now().AddDate(0, 0, -90))
			if err != nil {
				h.fail(g, err)
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
			out = append(out, Plant{Plant: n, TimeZone: h.zones[n]})
		}
	}
	h.respond(g, http.StatusOK, gin.H{"plants": out})
}

// opsFacts reads the operational figures from the facts (clickhouse.Facts).
type opsFacts interface {
	Operations(ctx context.Context, tenant string, from, to time.Time) (*procure.Operations, error)
}

// operationMetrics are the metric families the operations page shows.
var operationMetrics = []string{"supplywatch_consumer_lag", "supplywatch_alerts_", "supplywatch_ingest_events_total", "supplywatch_ingest_rejects_total", "supplywatch_writer_errors_total"}

func (h *dashboardHandlers) operations(g *gin.Context) {
	window := 24 * time.Hour
	if s := g.Query("window"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > 31*24*time.Hour {
			h.fail(g, invalid("window", "%q is not a duration up to 744h", s))
			return
		}
		window = d
	}
	of, ok := h.facts.(opsFacts)
	if !ok {
		h.fail(g, errors.New("the facts store has no operational figures"))
		return
	}
	to := h.now().UTC()
	o, err := of.Operations(g.Request.Context(), principalOf(g).Tenant, to.Add(-window), to)
	if err != nil {
		h.fail(g, err)
		return
	}
	if h.metrics != nil {
		o.Metrics, err = gatherSamples(h.metrics, operationMetrics)
		if err != nil {
			h.fail(g, err)
			return
		}
	}
	h.respond(g, http.StatusOK, o)
}

// gatherSamples returns the counters and gauges whose names start with
// one of prefixes.
func gatherSamples(reg prometheus.Gatherer, prefixes []string) ([]procure.MetricSample, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	out := []procure.MetricSample{}
	for _, mf := range mfs {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(mf.GetName(), p) }) {
			continue
		}
		for _, m := range mf.GetMetric() {
			s := procure.MetricSample{Name: mf.GetName(), Help: mf.GetHelp()}
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
