package console_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules"
)

const segmentRuleFile = `segments:
  - name: pilot
    description: Suppliers piloting new rules
    suppliers: [S1]
  - name: strategic
    where: supplier.tier == 1
  - name: beta-only
    tenants: [beta]
    suppliers: [B1]
rules:
  - id: ack-qty-pilot
    title: Quantity off (pilot)
    severity: high
    subject: line
    on: [po.acknowledged]
    when: line.ack.quantity > line.quantity
    segment: pilot
  - id: ack-qty-all
    title: Quantity off
    severity: high
    subject: line
    on: [po.acknowledged]
    when: line.ack.quantity > line.quantity
slas:
  - id: ack-late-rest
    title: Ack late
    severity: high
    subject: document
    start: event.type == "po.released"
    duration: hours(4)
    segment: "!pilot"
`

// newSegmentEnv is a console whose rules in force are segmentRuleFile.
func newSegmentEnv(t *testing.T) (*env, *rules.Evaluator) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(segmentRuleFile), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := rules.LoadDir(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev := rules.NewEvaluator(rs)
	return newEnv(t, func(_ *console.Config, d *console.Deps) { d.RuleBook = ev }), ev
}

// TestRulesListShowsSegmentsAndRoutingRulesMatchThem: GET /api/rules gives
// each rule's segment and the tenant's segments (not another tenant's);
// routing rules with an undefined segment are refused naming the field,
// and new exceptions are routed by the segment of their supplier (Postgres
// master data).
func TestRulesListShowsSegmentsAndRoutingRulesMatchThem(t *testing.T) {
	e, ev := newSegmentEnv(t)
	e.store.Segments = rules.NewSegmentFinder(ev, postgres.NewStateStore(e.db)).SegmentsOf
	p := e.signIn(procure.RoleProcurement)

	var list struct {
		Rules    []procure.RuleInfo    `json:"rules"`
		Segments []procure.SegmentInfo `json:"segments"`
	}
	p.mustOK("GET", "/api/rules", nil, &list)
	got := map[string]string{}
	for _, r := range list.Rules {
		got[r.ID] = r.Segment
	}
	if got["ack-qty-pilot"] != "pilot" || got["ack-qty-all"] != "" || got["ack-late-rest"] != "!pilot" || len(got) != 3 {
		t.Fatalf("rule segments %v", got)
	}
	var names []string
	for _, s := range list.Segments {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "pilot,strategic" {
		t.Fatalf("segments %v, want pilot and strategic (beta-only is another tenant's)", names)
	}
	if s := list.Segments[1]; s.Where != "supplier.tier == 1" || list.Segments[0].Suppliers[0] != "S1" {
		t.Fatalf("segment definitions %+v", list.Segments)
	}
	for _, tt := range []struct{ segment, want string }{
		{"pilots", `"pilots" is not a segment of the rule files (defined: pilot, strategic)`},
		{"!beta-only", `"!beta-only" is not a segment of the rule files`},
		{"!", `"!" is not a segment of the rule files`},
	} {
		var out struct {
			Error struct{ Field, Message string }
		}
		st := p.do("POST", "/api/routing/rules", map[string]any{"segment": tt.segment, "team": "x"}, &out)
		if st != 400 || out.Error.Field != "segment" || !strings.Contains(out.Error.Message, tt.want) {
			t.Errorf("segment %q: %d %+v, want 400 naming the field and %q", tt.segment, st, out.Error, tt.want)
		}
	}
	p.mustOK("POST", "/api/teams", map[string]any{"name": "pilot-desk", "default_assignee": "pia", "members": []string{"pia"}}, nil)
	p.mustOK("POST", "/api/teams", map[string]any{"name": "strategic-desk", "default_assignee": "sam", "members": []string{"sam"}}, nil)
	p.mustOK("POST", "/api/routing/rules", map[string]any{"position": 10, "plant": "P07", "segment": "pilot", "team": "pilot-desk"}, nil)
	p.mustOK("POST", "/api/routing/rules", map[string]any{"position": 20, "plant": "P07", "segment": " !pilot ", "team": "strategic-desk"}, nil)
	var routing struct {
		Rules []procure.RoutingRule `json:"rules"`
	}
	p.mustOK("GET", "/api/routing/rules", nil, &routing)
	if len(routing.Rules) != 2 || routing.Rules[0].Segment != "pilot" || routing.Rules[1].Segment != "!pilot" {
		t.Fatalf("routing rules %+v", routing.Rules)
	}

	// S1 (the pilot, tier 1) and S7 (tier 1) have master data; S8 none.
	ctx := context.Background()
	ids := map[string]int64{}
	err := postgresState(e).InTx(ctx, func(tx procure.StateTx) error {
		if err := tx.SaveStates(ctx, map[procure.StateKey][]byte{
			{Tenant: tenant, Kind: procure.StateSupplier, ID: "S1"}: e.mustJSON(&procure.SupplierState{ID: "S1", Known: true, Tier: 1}),
			{Tenant: tenant, Kind: procure.StateSupplier, ID: "S7"}: e.mustJSON(&procure.SupplierState{ID: "S7", Known: true, Tier: 1}),
		}); err != nil {
			return err
		}
		for _, sup := range []string{"S1", "S7"} {
			rule := map[string]string{"S1": "ack-qty-pilot", "S7": "ack-qty-all"}[sup]
			x, err := tx.Exceptions().RaiseException(ctx, &procure.ExceptionCandidate{Tenant: tenant, Rule: rule, Kind: procure.KindValidation,
				Subject: "po/PO-" + sup + "/10", Title: "Quantity off", Message: "m", Severity: procure.SeverityHigh, Team: "procurement", Plant: "P07", Supplier: sup, At: time.Now()})
			if err != nil {
				return err
			}
			ids[sup] = x.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"S1": "pilot-desk/pia", "S7": "strategic-desk/sam"}
	deadline := time.Now().Add(5 * time.Second)
	for sup, w := range want {
		for {
			var d struct {
				Exception procure.QueueItem `json:"exception"`
				Rule      procure.RuleInfo  `json:"rule"`
			}
			p.mustOK("GET", idPath("/api/exceptions/%d", ids[sup]), nil, &d)
			if sup == "S1" && d.Rule.Segment != "pilot" {
				t.Fatalf("the detail's rule %+v does not show its segment", d.Rule)
			}
			got := d.Exception.Team + "/" + d.Exception.Assignee
			if got == w {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("exception of %s routed to %q, want %q", sup, got, w)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
