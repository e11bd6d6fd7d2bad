package rules

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

func TestDescribeNamesTheConditionsOfTheRuleInForce(t *testing.T) {
	dir := t.TempDir()
	src := goodRule + `slas:
  - id: s1
    title: Acknowledge in time
    severity: high
    subject: document
    on: [po.released, po.acknowledged]
    start: event.type == "po.released"
    stop: event.type == "po.acknowledged"
    duration: hours(48)
    warn_at: [0.5]
`
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := LoadDir(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(rs)
	var book procure.RuleBook = ev

	r, ok := book.Describe("r1")
	if !ok || r.Kind != procure.KindValidation || r.Title != "T" || r.Severity != "low" ||
		!slices.Equal(r.On, []string{"po.acknowledged"}) || r.Conditions["when"] != "line.ack.quantity > line.quantity" {
		t.Fatalf("r1: %v %+v", ok, r)
	}
	s, ok := book.Describe("s1")
	if !ok || s.Kind != procure.KindSLA || s.Conditions["start"] != `event.type == "po.released"` ||
		s.Conditions["stop"] != `event.type == "po.acknowledged"` || s.Conditions["duration"] != "hours(48)" || s.Conditions["when"] != "" || !slices.Equal(s.WarnAt, []float64{0.5}) {
		t.Fatalf("s1: %v %+v", ok, s)
	}
	if _, ok := book.Describe("nope"); ok {
		t.Fatal("an unknown id is described")
	}
	if _, ok := NewEvaluator(nil).Describe("r1"); ok {
		t.Fatal("an evaluator without rules describes r1")
	}
}
