package alerts_test

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

	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/rules/sla"
)

const segmentRules = `segments:
  - name: pilot
    suppliers: [S1]
  - name: strategic
    where: supplier.tier == 1
rules:
  - id: qty
    title: Quantity off
    severity: high
    team: procurement
    subject: line
    on: [po.acknowledged]
    when: line.ack.status == "changed" && outside(line.ack.quantity, line.quantity, 0.05)
`

// raiseForSuppliers runs the rules engine on Postgres: suppliers S1 (tier
// 1, the pilot), S2 (tier 3), S3 (tier 1) and S4 (no master data) each get a
// PO whose acknowledgement raises rule qty.
func raiseForSuppliers(t *testing.T, db *postgres.DB) *rules.SegmentFinder {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(segmentRules), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := rules.LoadDir(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	state := postgres.NewStateStore(db)
	ev := rules.NewEvaluator(rs)
	en := rules.NewEngine(state, ev, sla.New(sla.Config{}, state, log, nil), log, nil)
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	need := procure.DateOf(t0.AddDate(0, 0, 20))
	var evs []*procure.Event
	for _, s := range []struct {
		id   string
		tier int
	}{{"S1", 1}, {"S2", 3}, {"S3", 1}, {"S4", 0}} {
		e := func(id string, typ procure.Type, at time.Time, doc procure.DocumentRef, p any) *procure.Event {
			return &procure.Event{ID: id, Type: typ, Source: procure.SourceERP, Tenant: "acme", OccurredAt: at, Plant: "P01", Supplier: s.id, Document: doc, Payload: p}
		}
		if s.tier > 0 {
			evs = append(evs, e("sup-"+s.id, procure.SupplierUpdated, t0.Add(-time.Hour), procure.DocumentRef{Kind: procure.DocSupplier, ID: s.id}, &procure.Supplier{Name: s.id, Tier: s.tier}))
		}
		po := "PO-" + s.id
		d := procure.DocumentRef{Kind: procure.DocPO, ID: po, Version: 1}
		evs = append(evs,
			e(po+"-rel", procure.POReleased, t0, d, &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
				Lines: []procure.POLine{{Line: 10, Item: "I1", Quantity: 100, Unit: "C62", UnitPrice: 2, NeedBy: need}}}),
			e(po+"-ack", procure.POAcknowledged, t0.Add(time.Hour), d, &procure.Acknowledgement{AckID: "A" + po, POVersion: 1,
				Lines: []procure.AckLine{{Line: 10, Status: procure.AckChanged, Quantity: 60, PromisedDate: need}}}))
	}
	if _, err := en.Process(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return rules.NewSegmentFinder(ev, state)
}

// TestRoutesWithASegmentMatchOnlyItsSuppliers: exceptions raised by the
// rules engine into Postgres go through the alert feed; the pilot route
// takes the pilot supplier's, the "!pilot" route under the strategic one
// the other tier-1 supplier's, the root the rest (a supplier without
// master data is in no predicate segment).
func TestRoutesWithASegmentMatchOnlyItsSuppliers(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	segs := raiseForSuppliers(t, db)
	cfg := alerts.Config{Consumers: []string{"clickhouse"}, Route: alerts.RouteConfig{Receiver: "C-ALL", Routes: []alerts.RouteConfig{
		{Name: "pilot", Segment: "pilot", Receiver: "C-PILOT"},
		{Name: "strategic", Segment: "strategic", Receiver: "C-STRAT", Routes: []alerts.RouteConfig{
			{Name: "not-pilot", Segment: "!pilot", Matchers: []string{"rule=qty"}, Receiver: "C-STRAT-REST"},
		}},
	}}}
	if got := cfg.Segments(); !slices.Equal(got, []string{"pilot", "strategic"}) {
		t.Fatalf("segments the routes use: %v", got)
	}
	d, err := alerts.New(cfg, alerts.Deps{Store: postgres.NewAlertStore(db), Exceptions: postgres.NewExceptionStore(db, nil), Segments: segs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Feeder().Once(ctx, 500); err != nil {
		t.Fatal(err)
	}
	if err := d.Consume(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT labels->>'supplier' || ' ' || route || ' ' || channel FROM alert_groups ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	want := []string{"S1 root/pilot C-PILOT", "S2 root C-ALL", "S3 root/strategic/not-pilot C-STRAT-REST", "S4 root C-ALL"}
	if !slices.Equal(got, want) {
		t.Fatalf("groups:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRouteSegmentsAreChecked(t *testing.T) {
	db := pgtest.New(t)
	segs := raiseForSuppliers(t, db)
	route := func(seg string) alerts.Config {
		return alerts.Config{Route: alerts.RouteConfig{Receiver: "C-ALL", Routes: []alerts.RouteConfig{{Name: "p", Segment: seg, Receiver: "C-P"}}}}
	}
	tests := []struct {
		name string
		cfg  alerts.Config
		segs alerts.Segments
		want string
	}{
		{"undefined segment", route("pilots"), segs, `alerts.route: segment "pilots" is not defined`},
		{"no segment source", route("pilot"), nil, "alerts.route: routes name segments (pilot) but no segment source is set"},
		{"malformed segment", route("!"), segs, `alerts.route.routes[0].segment: "!" is not a segment name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := alerts.New(tt.cfg, alerts.Deps{Store: postgres.NewAlertStore(db), Exceptions: postgres.NewExceptionStore(db, nil), Segments: tt.segs})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
