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
	used, n := promrules.Check(t, f, d, "the collector")
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
