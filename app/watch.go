package app

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/supplywatch/supplywatch/alerts"
)

// PipelineSampler feeds the alert watcher (alerts on the pipeline itself)
// from a Prometheus registry, under the names the watch rules use: consumer
// lag, rejected and all inputs, plus the Slack sender's counts.
func PipelineSampler(reg prometheus.Gatherer, sender alerts.Sampler) alerts.Sampler {
	return alerts.SamplerFunc(func(ctx context.Context) ([]alerts.Sample, error) {
		mfs, err := reg.Gather()
		if err != nil {
			return nil, err
		}
		sum := func(name string) float64 {
			var v float64
			for _, mf := range mfs {
				if mf.GetName() != name {
					continue
				}
				for _, m := range mf.GetMetric() {
					v += metricValue(m)
				}
			}
			return v
		}
		rejected := sum("supplywatch_ingest_rejects_total")
		out := []alerts.Sample{
			{Name: "supplywatch_kafka_consumer_lag", Value: sum("supplywatch_consumer_lag")},
			{Name: "supplywatch_ingest_rejected_total", Value: rejected},
			{Name: "supplywatch_ingest_inputs_total", Value: rejected + sum("supplywatch_ingest_events_total")},
		}
		if sender == nil {
			return out, nil
		}
		s, err := sender.Sample(ctx)
		if err != nil {
			return nil, err
		}
		return append(out, s...), nil
	})
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}
