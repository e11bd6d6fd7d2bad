package collector_test

import (
	"testing"

	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/internal/promrules"
)

// Every shipped collector alert reads metrics the collector exports.
func TestAlertRulesReadExportedMetrics(t *testing.T) {
	f, err := promrules.Load("../deploy/prometheus/collector.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	d := promrules.Described{}
	collector.NewMetrics(d)
	used := map[string]bool{}
	n := 0
	for _, r := range f.Rules() {
		n++
		names := promrules.Metrics(r.Expr)
		if len(names) == 0 {
			t.Errorf("alert %s reads no supplywatch metric: %s", r.Alert, r.Expr)
		}
		for _, name := range names {
			if !d[name] {
				t.Errorf("alert %s reads %s, which the collector does not export", r.Alert, name)
			}
			used[name] = true
		}
		if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
			t.Errorf("alert %s has no severity or summary", r.Alert)
		}
	}
	for _, want := range []string{"supplywatch_writer_stalled", "supplywatch_consumer_lag", "supplywatch_writer_oldest_unprocessed_seconds",
		"supplywatch_writer_batch_failures_total", "supplywatch_dead_letters_total"} {
		if !used[want] {
			t.Errorf("no alert on %s", want)
		}
	}
	if n < 5 {
		t.Errorf("%d alerts", n)
	}
}
