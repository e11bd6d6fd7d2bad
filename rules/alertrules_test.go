package rules_test

import (
	"strings"
	"testing"

	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/internal/promrules"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/rules/sla"
)

// Every shipped alert of the rules role reads metrics that the rules
// processor, the SLA scheduler or the alert pipeline export, and each of
// their metric families is watched by at least one alert.
func TestRulesAlertRulesReadExportedMetrics(t *testing.T) {
	f, err := promrules.Load("../deploy/prometheus/rules.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The metric names, from the descriptors each NewMetrics registers
	// (a vector without series is not gathered, but is described).
	d := promrules.Described{}
	rules.NewMetrics(d)
	sla.NewMetrics(d)
	alerts.NewMetrics(d)
	used, n := promrules.Check(t, f, d, "the rules role")
	for _, fam := range []string{"supplywatch_rules_", "supplywatch_sla_", "supplywatch_alerts_"} {
		watched := false
		for m := range used {
			watched = watched || strings.HasPrefix(m, fam)
		}
		if !watched {
			t.Errorf("no alert watches %s*", fam)
		}
	}
	if n < 10 {
		t.Errorf("%d alerts, want the rules, SLA and alert stages covered", n)
	}
}
