package promrules

import (
	"os"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricsNamesFamiliesOfAnExpression(t *testing.T) {
	got := Metrics(`histogram_quantile(0.99, rate(supplywatch_http_seconds_bucket[5m])) > 1 and up == 1 or process_resident_memory_bytes > 3e8`)
	want := []string{"supplywatch_http_seconds", "process_resident_memory_bytes"}
	if !slices.Equal(got, want) {
		t.Fatalf("Metrics = %v, want %v", got, want)
	}
}

func TestDescribedRecordsVectorsWithoutSeries(t *testing.T) {
	d := Described{}
	d.MustRegister(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "supplywatch_x_total"}, []string{"reason"}))
	if !d["supplywatch_x_total"] || len(d) != 1 {
		t.Fatalf("described %v", d)
	}
}

func TestLoadRefusesUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/r.yml"
	if err := writeFile(p, "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    severity: page\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil {
		t.Fatal("a rule with an unknown key loaded")
	}
	if err := writeFile(p, "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    labels: {severity: page}\n"); err != nil {
		t.Fatal(err)
	}
	f, err := Load(p)
	if err != nil || len(f.Rules()) != 1 || f.Rules()[0].Labels["severity"] != "page" {
		t.Fatalf("Load = %+v, %v", f, err)
	}
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }
