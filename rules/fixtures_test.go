package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultPackPassesItsFixtures(t *testing.T) {
	rep, ok := RunFixtures("default")
	if !ok {
		t.Fatalf("fixtures failed:\n%s", rep)
	}
	t.Log("\n" + rep)
}

func TestRunFixturesRejectsABrokenFixtureWithADiff(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"orders.yaml", "calendars.yaml"} {
		b, err := os.ReadFile(filepath.Join("default", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "broken_test.yaml"), []byte(`tests:
  - name: wrong expectations
    events:
      - {at: "2026-05-11T08:00:00Z", type: po.released, supplier: S9, plant: P01, document: {id: "1", version: 1},
         data: {order_type: standard, currency: EUR, lines: [{line: 10, item: I1, quantity: 1, unit: C62, unit_price: 1, need_by: "2026-06-15"}]}}
    until: "2026-05-11T10:00:00Z"
    expect:
      - {rule: supplier-unknown, subject: supplier/S9, state: resolved}
      - {rule: po-not-acknowledged, subject: po/1, state: open}
`), 0o644)
	rep, ok := RunFixtures(dir)
	if ok {
		t.Fatalf("broken fixture passed:\n%s", rep)
	}
	for _, want := range []string{
		"FAIL broken_test.yaml: wrong expectations",
		"~ expected:   supplier-unknown supplier/S9 [resolved]",
		"got:      supplier-unknown supplier/S9 [open] x1",
		"- missing:    po-not-acknowledged po/1 [open]",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
}
