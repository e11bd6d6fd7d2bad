package app_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/supplywatch/supplywatch/app"
)

func TestPipelineSamplerRenamesTheCollectorsMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	events := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "supplywatch_ingest_events_total"}, []string{"channel", "outcome"})
	rejects := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "supplywatch_ingest_rejects_total"}, []string{"channel", "field"})
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "supplywatch_consumer_lag"}, []string{"topic", "group"})
	reg.MustRegister(events, rejects, lag)
	events.WithLabelValues("kafka", "stored").Add(90)
	events.WithLabelValues("http", "duplicate").Add(5)
	rejects.WithLabelValues("kafka", "data").Add(5)
	lag.WithLabelValues("t", "a").Set(7)
	lag.WithLabelValues("t", "b").Set(3)
	samples, err := app.PipelineSampler(reg, nil).Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, s := range samples {
		got[s.Name] = s.Value
	}
	want := map[string]float64{"supplywatch_kafka_consumer_lag": 10, "supplywatch_ingest_rejected_total": 5, "supplywatch_ingest_inputs_total": 100}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
