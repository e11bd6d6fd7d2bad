package layering

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/supplywatch/supplywatch/"

// drivers are the database and broker clients: only adapters (and the
// wiring) may import them.
var drivers = []string{
	"github.com/ClickHouse/clickhouse-go/",
	"github.com/jackc/pgx/",
	"github.com/segmentio/kafka-go",
	"github.com/twmb/franz-go/",
}

// exceptions are the imports against the layering that still stand, by
// "importer -> imported" (a package of ours, or a driver's module prefix),
// with the reason. The test fails on an import against the rules that is
// not listed here, and on an entry that no longer occurs: remove it when
// its import goes.
var exceptions = map[string]string{
	// Analytics: kept on purpose (issue 10 item 2).
	"kpi -> github.com/ClickHouse/clickhouse-go/": "kpi is the ClickHouse analytics package: its SQL is its substance",
}

type pkg struct {
	ImportPath string
	Imports    []string
}

// component is the part a package of ours belongs to: its top directory,
// or internal/X.
func component(p string) string {
	parts := strings.Split(p, "/")
	if parts[0] == "internal" && len(parts) > 1 {
		return "internal/" + parts[1]
	}
	return parts[0]
}

func layer(p string) string {
	c := component(p)
	last := p[strings.LastIndex(p, "/")+1:]
	switch {
	case strings.HasSuffix(last, "test") || strings.HasSuffix(last, "bench"):
		return "support" // test and benchmark harnesses (chtest, pgtest, slabench, otlpbench)
	case c == "procure":
		return "domain"
	case strings.HasPrefix(c, "internal/"):
		return "internal"
	case c == "postgres" || c == "clickhouse" || c == "kafka" || c == "chdb":
		return "adapter"
	case c == "app" || c == "cmd":
		return "wiring"
	}
	return "engine"
}

// violation says why from may not import to, or "" when it may.
func violation(from, to string) string {
	if !strings.HasPrefix(to, module) {
		for _, d := range drivers {
			if strings.HasPrefix(to, d) {
				switch layer(from) {
				case "adapter", "wiring", "support":
					return ""
				}
				return "a driver outside the adapters"
			}
		}
		return ""
	}
	to = strings.TrimPrefix(to, module)
	lf, lt := layer(from), layer(to)
	same := component(from) == component(to)
	switch {
	case lt == "wiring":
		if lf == "wiring" || lf == "support" {
			return ""
		}
		return "only cmd imports app"
	case lf == "wiring" || lf == "support":
		return ""
	case lf == "domain":
		if same && from != "procure" && to == "procure" || same && strings.HasPrefix(to, "procure/") && from != "procure" {
			return "" // procure/schema and its generator build on procure
		}
		return "procure imports nothing of ours"
	case lf == "internal":
		if lt == "internal" {
			return ""
		}
		return "internal packages import only internal packages"
	case lt == "support":
		return "test and benchmark harnesses are for tests"
	case lf == "adapter":
		if same || lt == "domain" || lt == "internal" {
			return ""
		}
		return "an adapter imports only procure and internal/*"
	case lf == "engine":
		if same || lt == "domain" || lt == "internal" || to == "kafka" {
			return ""
		}
		if lt == "adapter" {
			return "an engine does not import an adapter other than kafka's message types"
		}
		return "engines do not import each other"
	}
	return ""
}

func TestImportsFollowTheLayering(t *testing.T) {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	cmd.Dir = filepath.Dir(string(bytes.TrimSpace(root)))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	var bad []string
	n := 0
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		from := strings.TrimPrefix(p.ImportPath, module)
		for _, imp := range p.Imports {
			why := violation(from, imp)
			if why == "" {
				continue
			}
			// Exceptions are listed by component, and by driver module.
			target := strings.TrimPrefix(imp, module)
			for _, d := range drivers {
				if strings.HasPrefix(imp, d) {
					target = d
				}
			}
			key := component(from) + " -> " + target
			if exceptions[key] != "" {
				seen[key] = true
				continue
			}
			bad = append(bad, key+": "+why)
		}
	}
	if n < 20 {
		t.Fatalf("go list found %d packages: not the module", n)
	}
	slices.Sort(bad)
	for _, b := range slices.Compact(bad) {
		t.Errorf("import against the layering: %s", b)
	}
	for k := range exceptions {
		if !seen[k] {
			t.Errorf("exception %q no longer occurs: remove it from the list (and from docs/architecture.md)", k)
		}
	}
}

func TestViolationNamesEachRule(t *testing.T) {
	tests := []struct{ from, to, want string }{
		{"procure", module + "postgres", "procure imports nothing of ours"},
		{"procure/schema", module + "procure", ""},
		{"postgres", module + "console", "an adapter imports only procure and internal/*"},
		{"postgres", module + "clickhouse", "an adapter imports only procure and internal/*"},
		{"postgres", module + "internal/migrate", ""},
		{"postgres/pgtest", module + "postgres", ""},
		{"console", module + "rules", "engines do not import each other"},
		{"console", module + "postgres", "an engine does not import an adapter other than kafka's message types"},
		{"console", module + "kafka", ""},
		{"retry", "github.com/segmentio/kafka-go", "a driver outside the adapters"},
		{"kafka", "github.com/segmentio/kafka-go", ""},
		{"alerts/slack", module + "alerts", ""},
		{"rules", module + "app", "only cmd imports app"},
		{"app", module + "postgres", ""},
		{"internal/migrate", module + "procure", "internal packages import only internal packages"},
		{"console", module + "chdb/chtest", "test and benchmark harnesses are for tests"},
	}
	for _, tc := range tests {
		if got := violation(tc.from, tc.to); got != tc.want {
			t.Errorf("%s -> %s: %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}
