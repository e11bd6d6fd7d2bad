package rules_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/rules/sla"
)

const segmentsFile = `segments:
  - name: pilot
    description: the suppliers of the first phase
    suppliers: [S1]
  - name: strategic
    where: supplier.tier == 1
`

// qtyRule is a validation rule on acknowledged quantities with the segment
// line seg ("" for none).
func qtyRule(id, seg string) string {
	s := `  - id: ` + id + `
    title: Quantity off
    severity: high
    subject: line
    on: [po.acknowledged]
    when: line.ack.status == "changed" && outside(line.ack.quantity, line.quantity, 0.05)
`
	if seg != "" {
		s += "    segment: " + seg + "\n"
	}
	return s
}

const ackSLA = `slas:
  - id: ack-strategic
    title: Strategic PO not acknowledged
    severity: high
    subject: document
    on: [po.released, po.acknowledged]
    start: event.type == "po.released"
    stop: event.type == "po.acknowledged"
    duration: hours(4)
    calendar: 24x7
    segment: strategic
`

func writeRules(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// segmentEvents: suppliers S1 (tier 1, the pilot), S2 (tier 3), S3 (tier 1)
// each get a PO released at t0 whose line 10 is acknowledged at qty by ack
// time (S3's is never acknowledged).
func segmentEvents(t0 time.Time, ackQty float64, ackAt time.Duration, suffix string) []*procure.Event {
	var out []*procure.Event
	need := procure.DateOf(t0.AddDate(0, 0, 20))
	for _, s := range []struct {
		id   string
		tier int
	}{{"S1", 1}, {"S2", 3}, {"S3", 1}} {
		ev := func(id string, typ procure.Type, at time.Time, doc procure.DocumentRef, p any) *procure.Event {
			return &procure.Event{ID: id + suffix, Type: typ, Source: procure.SourceERP, Tenant: "acme", OccurredAt: at, Plant: "P01", Supplier: s.id, Document: doc, Payload: p}
		}
		po := "PO-" + s.id
		d := procure.DocumentRef{Kind: procure.DocPO, ID: po, Version: 1}
		if suffix == "" {
			out = append(out,
				ev("sup-"+s.id, procure.SupplierUpdated, t0.Add(-time.Hour), procure.DocumentRef{Kind: procure.DocSupplier, ID: s.id}, &procure.Supplier{Name: s.id, Tier: s.tier, Country: "DE"}),
				ev(po+"-rel", procure.POReleased, t0, d, &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
					Lines: []procure.POLine{{Line: 10, Item: "I1", Quantity: 100, Unit: "C62", UnitPrice: 2, NeedBy: need}}}))
		}
		if s.id != "S3" {
			out = append(out, ev(po+"-ack", procure.POAcknowledged, t0.Add(ackAt), d, &procure.Acknowledgement{AckID: "A" + po + suffix, POVersion: 1,
				Lines: []procure.AckLine{{Line: 10, Status: procure.AckChanged, Quantity: ackQty, PromisedDate: need}}}))
		}
	}
	return out
}

// TestSegmentsLimitWhatRulesRaiseAndTimersStart runs rules with segments on
// the Postgres state store: a pilot rule raises for the pilot supplier
// only, its "!pilot" twin for everyone else, an unsegmented rule for all;
// an SLA on the tier-1 segment starts timers for tier-1 suppliers only.
// Phase 2 (the segment line removed) raises for everyone; a rule narrowed
// to the pilot still clears outside it.
func TestSegmentsLimitWhatRulesRaiseAndTimersStart(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	dir := t.TempDir()
	writeRules(t, dir, map[string]string{
		"segments.yaml": segmentsFile,
		"qty.yaml":      "rules:\n" + qtyRule("qty-pilot", "pilot") + qtyRule("qty-rest", `"!pilot"`) + qtyRule("qty-all", "") + ackSLA,
	})
	rs, err := rules.LoadDir(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	state := postgres.NewStateStore(db)
	ev := rules.NewEvaluator(rs)
	en := rules.NewEngine(state, ev, sla.New(sla.Config{}, state, log, nil), log, nil)
	xs := postgres.NewExceptionStore(db, nil)
	open := func() []string {
		t.Helper()
		got, err := xs.FindExceptions(ctx, procure.ExceptionFilter{Tenant: "acme", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range got {
			if x.Active() {
				out = append(out, x.Rule+" "+x.Supplier)
			}
		}
		slices.Sort(out)
		return out
	}
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	if _, err := en.Process(ctx, segmentEvents(t0, 60, time.Hour, "")); err != nil {
		t.Fatal(err)
	}
	want := []string{"qty-all S1", "qty-all S2", "qty-pilot S1", "qty-rest S2"}
	if got := open(); !slices.Equal(got, want) {
		t.Fatalf("phase 1 open exceptions:\n%v\nwant\n%v", got, want)
	}
	var timers []string
	rows, err := db.Pool.Query(ctx, `SELECT subject FROM sla_timers WHERE sla_id = 'ack-strategic' AND due_at IS NOT NULL ORDER BY subject`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		timers = append(timers, s)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if want := []string{"po/PO-S1", "po/PO-S3"}; !slices.Equal(timers, want) {
		t.Fatalf("timers of the strategic SLA: %v, want the tier-1 suppliers' POs %v", timers, want)
	}

	// Phase 2: qty-pilot's segment line is removed; qty-all is narrowed to
	// the pilot. A second changed ack raises qty-pilot for S2 too, and a
	// corrected ack of S2 still clears qty-all although S2 is outside.
	writeRules(t, dir, map[string]string{
		"qty.yaml": "rules:\n" + qtyRule("qty-pilot", "") + qtyRule("qty-rest", `"!pilot"`) + qtyRule("qty-all", "pilot") + ackSLA,
	})
	rs2, err := rules.LoadDir(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev.Set(rs2)
	if _, err := en.Process(ctx, segmentEvents(t0, 70, 2*time.Hour, "-2")); err != nil {
		t.Fatal(err)
	}
	want = []string{"qty-all S1", "qty-all S2", "qty-pilot S1", "qty-pilot S2", "qty-rest S2"}
	if got := open(); !slices.Equal(got, want) {
		t.Fatalf("phase 2 open exceptions:\n%v\nwant\n%v", got, want)
	}
	if _, err := en.Process(ctx, segmentEvents(t0, 100, 3*time.Hour, "-3")); err != nil {
		t.Fatal(err)
	}
	if got := open(); len(got) != 0 {
		t.Fatalf("after corrected acks: %v still open; a segment must not keep evidence from resolving", got)
	}
}

func TestSegmentFinderReadsSupplierMasterData(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	dir := t.TempDir()
	writeRules(t, dir, map[string]string{"segments.yaml": segmentsFile + `  - name: beta-tenant
    tenants: [beta]
    suppliers: [S1]
`, "qty.yaml": "rules:\n" + qtyRule("qty-all", "")})
	rs, err := rules.LoadDir(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	state := postgres.NewStateStore(db)
	ev := rules.NewEvaluator(rs)
	en := rules.NewEngine(state, ev, sla.New(sla.Config{}, state, log, nil), log, nil)
	if _, err := en.Process(ctx, segmentEvents(time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC), 100, time.Hour, "")); err != nil {
		t.Fatal(err)
	}
	f := rules.NewSegmentFinder(ev, state)
	for _, tt := range []struct{ tenant, supplier, want string }{
		{"acme", "S1", "pilot strategic"},
		{"acme", "S2", ""},
		{"acme", "S3", "strategic"},
		{"acme", "S9", ""},                  // no master data: not tier 1
		{"beta", "S1", "pilot beta-tenant"}, // beta has no master data; the lists name S1
	} {
		got, err := f.SegmentsOf(ctx, tt.tenant, tt.supplier)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s/%s: segments %v, want %q", tt.tenant, tt.supplier, got, tt.want)
		}
	}
	if !f.Defined("pilot") || f.Defined("nope") {
		t.Error("Defined")
	}
}

func TestLoadRefusesBadSegments(t *testing.T) {
	rule := "rules:\n" + qtyRule("r1", "pilot")
	tests := []struct {
		name, segs, rule, want string
	}{
		{"unknown segment named with the rule", segmentsFile, strings.Replace(rule, "pilot", "pilots", 1), `rule "r1": segment: "pilots" is not defined (defined: pilot, strategic)`},
		{"segment without any segments section", "", rule, `rule "r1": segment: "pilot" is not defined (no file has a segments: section)`},
		{"bad segment reference", segmentsFile, strings.Replace(rule, "pilot", `"!"`, 1), `rule "r1": segment: "!" is not a segment name`},
		{"empty supplier list", "segments:\n  - name: pilot\n    suppliers: []\n", rule, `segments.yaml:2: segment "pilot": suppliers: the list is empty`},
		{"list and predicate", "segments:\n  - name: pilot\n    suppliers: [S1]\n    where: supplier.tier == 1\n", rule, `segment "pilot": give suppliers or where, not both`},
		{"predicate on an unknown field", "segments:\n  - name: pilot\n    where: supplier.region == \"EU\"\n", rule, `segments.yaml:3: segment "pilot": where: type procure.SupplierState has no field region`},
		{"predicate not boolean", "segments:\n  - name: pilot\n    where: supplier.tier\n", rule, `segment "pilot": where:`},
		{"duplicate name", segmentsFile + "  - name: pilot\n    suppliers: [S2]\n", rule, `segment "pilot": name already used in`},
		{"supplier listed twice", "segments:\n  - name: pilot\n    suppliers: [S1, S1]\n", rule, `suppliers[1]: "S1" is listed twice`},
		{"unknown key in a segment", "segments:\n  - name: pilot\n    supplier: [S1]\n", rule, "field supplier not found in a segment"},
		{"bad name", "segments:\n  - name: Pilot One\n    suppliers: [S1]\n", rule, `segment "Pilot One": name must be`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"rules.yaml": tt.rule}
			if tt.segs != "" {
				files["segments.yaml"] = tt.segs
			}
			writeRules(t, dir, files)
			_, err := rules.LoadDir(dir, time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestReloadKeepsTheSegmentsOthersReferTo: a reload whose files no longer
// define a segment an alert route uses is refused, and the rules in force
// stay.
func TestReloadKeepsTheSegmentsOthersReferTo(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, map[string]string{"segments.yaml": segmentsFile, "qty.yaml": "rules:\n" + qtyRule("qty", "")})
	ev := rules.NewEvaluator(nil)
	r := rules.NewReloader(dir, ev, slog.New(slog.DiscardHandler), nil)
	r.RequireSegments("alerts.route", "pilot")
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	before := ev.Rules()
	writeRules(t, dir, map[string]string{"segments.yaml": "segments:\n  - name: strategic\n    where: supplier.tier == 1\n"})
	err := r.Reload()
	if err == nil || !strings.Contains(err.Error(), `segment "pilot" is used by alerts.route but no longer defined`) {
		t.Fatalf("err = %v", err)
	}
	if ev.Rules() != before {
		t.Fatal("the refused set was put in force")
	}
}
