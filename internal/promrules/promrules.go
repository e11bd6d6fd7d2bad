// Package promrules reads the Prometheus alerting-rule files shipped in
// deploy/prometheus, and the names of the metrics a component registers, so
// that each component's tests can check that its alerts read only metrics it
// exports. It checks names only: PromQL itself is left to promtool.
package promrules

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
)

// Rule is one alerting rule.
type Rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// File is a rule file: groups of rules.
type File struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []Rule `yaml:"rules"`
	} `yaml:"groups"`
}

// Load reads a rule file strictly: an unknown key is an error.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// Rules returns every rule of every group.
func (f *File) Rules() []Rule {
	var out []Rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

var metricName = regexp.MustCompile(`\b((?:supplywatch|go|process)_[a-z_]+)`)

// Metrics returns the metric families an expression reads, histogram
// series (_bucket, _sum, _count) named by their family.
func Metrics(expr string) []string {
	var out []string
	for _, m := range metricName.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			name = strings.TrimSuffix(name, suffix)
		}
		out = append(out, name)
	}
	return out
}

// Described is a prometheus.Registerer that records the names of the
// metrics registered with it, from their descriptors: a vector without
// series is not gathered, but it is described.
type Described map[string]bool

var fqName = regexp.MustCompile(`fqName: "([a-z_:]+)"`)

// Register records the names c describes.
func (d Described) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d[m[1]] = true
		}
	}
	return nil
}

// MustRegister records the names each collector describes.
func (d Described) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		d.Register(c)
	}
}

// Unregister does nothing.
func (d Described) Unregister(prometheus.Collector) bool { return false }

// Check reports through t every rule of f that reads no supplywatch metric,
// reads one exported does not hold (exporter names who should export it in
// the message), or has no severity label or summary annotation. It returns
// the metric families the rules read and the number of rules.
func Check(t testing.TB, f *File, exported map[string]bool, exporter string) (used map[string]bool, n int) {
	t.Helper()
	used = map[string]bool{}
	for _, r := range f.Rules() {
		n++
		names := Metrics(r.Expr)
		if len(names) == 0 {
			t.Errorf("alert %s reads no supplywatch metric: %s", r.Alert, r.Expr)
		}
		for _, name := range names {
			if !exported[name] {
				t.Errorf("alert %s reads %s, which %s does not export", r.Alert, name, exporter)
			}
			used[name] = true
		}
		if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
			t.Errorf("alert %s has no severity or summary", r.Alert)
		}
	}
	return used, n
}
