package rules_test

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/sla"
	"go.yaml.in/yaml/v3"
)

// descNames is a prometheus.Registerer that records the names of the
// metrics registered with it.
type descNames map[string]bool

var fqName = regexp.MustCompile(`fqName: "([a-z_]+)"`)

func (d descNames) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d[m[1]] = true
		}
	}
	return nil
}

func (d descNames) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		d.Register(c)
	}
}

func (d descNames) Unregister(prometheus.Collector) bool { return false }

// Every shipped alert of the rules role reads metrics that the rules
// processor, the SLA scheduler or the alert pipeline export, and each of
// their metric families is watched by at least one alert.
func TestRulesAlertRulesReadExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../deploy/prometheus/rules.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	// The metric names, from the descriptors each NewMetrics registers
	// (a vector without series is not gathered, but is described).
	d := descNames{}
	rules.NewMetrics(d)
	sla.NewMetrics(d)
	alerts.NewMetrics(d)
	exported := map[string]bool(d)
	n := 0
	used := map[string]bool{}
	name := regexp.MustCompile(`supplywatch_[a-z_]+`)
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			n++
			names := name.FindAllString(r.Expr, -1)
			if len(names) == 0 {
				t.Errorf("alert %s reads no supplywatch metric: %s", r.Alert, r.Expr)
			}
			for _, m := range names {
				m = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !exported[m] {
					t.Errorf("alert %s reads %s, which no rules-role component exports", r.Alert, m)
				}
				used[m] = true
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s has no severity or summary", r.Alert)
			}
		}
	}
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
