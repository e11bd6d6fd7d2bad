package collector_test

import (
	"bytes"
	"os"
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/supplywatch/supplywatch/collector"
	"go.yaml.in/yaml/v3"
)

// describer records the names of the metrics registered with it.
type describer struct{ names map[string]bool }

var fqName = regexp.MustCompile(`fqName: "([a-z_]+)"`)

func (d *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names[m[1]] = true
		}
	}
	return nil
}
func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		d.Register(c)
	}
}
func (d *describer) Unregister(prometheus.Collector) bool { return false }

// Every shipped collector alert reads metrics the collector exports.
func TestAlertRulesReadExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../deploy/prometheus/collector.rules.yml")
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
	d := &describer{names: map[string]bool{}}
	collector.NewMetrics(d)
	used := map[string]bool{}
	n := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			n++
			names := regexp.MustCompile(`supplywatch_[a-z_]+`).FindAllString(r.Expr, -1)
			if len(names) == 0 {
				t.Errorf("alert %s reads no supplywatch metric: %s", r.Alert, r.Expr)
			}
			for _, name := range names {
				if !d.names[name] {
					t.Errorf("alert %s reads %s, which the collector does not export", r.Alert, name)
				}
				used[name] = true
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s has no severity or summary", r.Alert)
			}
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
