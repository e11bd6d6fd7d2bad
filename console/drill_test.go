package console_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/procure"
)

// TestQueueDrillDownIsTheExactDocumentSetOfAFigure drills from KPI figures
// of the fixture (INV1 blocked; POs 4500000001 and 4500000002 released in
// the period) to the queue: exactly the exceptions about those documents,
// within the caller's scope, and nothing for a figure with no documents.
func TestQueueDrillDownIsTheExactDocumentSetOfAFigure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	kcfg := kpi.Config{}
	kcfg.Defaults()
	// ack-missing-3 was acknowledged 2 hours after it opened: an entity of
	// exception_ack_hours, named by its id.
	x := procure.Exception{ID: e.ids["ack-missing-3"], Tenant: tenant, Rule: "po-not-acknowledged", Kind: procure.KindSLA, Severity: procure.SeverityHigh,
		Team: "procurement", Plant: "P01", Supplier: "S2", PO: "4500000003", FirstSeen: e.now.Add(-5 * time.Hour)}
	opened, acked := x, x
	opened.State, acked.State = procure.ExceptionOpen, procure.ExceptionAcknowledged
	if err := kpi.NewMirror(e.ch, e.chdb, nil, kcfg, slog.New(slog.DiscardHandler)).Insert(ctx, []*procure.OutboxEvent{
		{ID: 1, Tenant: tenant, Kind: procure.OutboxOpened, At: x.FirstSeen, Exception: &opened},
		{ID: 2, Tenant: tenant, Kind: procure.OutboxAcknowledged, At: x.FirstSeen.Add(2 * time.Hour), Exception: &acked},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := kpi.NewRefresher(e.ch, e.chdb, kcfg, slog.New(slog.DiscardHandler), nil).RefreshAll(ctx, time.Now()); err != nil {
		t.Fatalf("kpi refresh: %v", err)
	}
	q := kpi.NewQuerier(e.ch, e.chdb, kcfg, nil)
	withDrill := e.withConsole(console.Config{}, console.Deps{Drill: kpiDrill(func() *kpi.Querier { return q })})
	span := "&from=" + e.now.AddDate(0, 0, -30).Format(time.DateOnly) + "&to=" + e.now.AddDate(0, 0, 2).Format(time.DateOnly)
	type answer struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
		Drill *struct {
			KPI       string `json:"kpi"`
			Docs      string `json:"docs"`
			Documents int    `json:"documents"`
			Entities  int    `json:"entities"`
		} `json:"drill"`
	}
	ids := func(a answer) []int64 {
		var out []int64
		for _, it := range a.Items {
			out = append(out, it.ID)
		}
		slices.Sort(out)
		return out
	}
	want := func(names ...string) []int64 {
		var out []int64
		for _, n := range names {
			out = append(out, e.ids[n])
		}
		slices.Sort(out)
		return out
	}
	proc := withDrill.signIn(procure.RoleProcurement)
	tests := []struct {
		name, query string
		want        []int64
		documents   int
	}{
		// INV1 is the blocked invoice: its exception only, not the other
		// exceptions of its PO (what the approximate scope filter showed).
		{"the invoices that missed the exception rate", "kpi=invoice_exception_rate&docs=missed", want("price"), 1},
		{"the invoices that missed first-pass match", "kpi=first_pass_match", want("price"), 1},
		// 4500000001, acknowledged: every exception about it, none of the
		// other orders'.
		{"every order behind the response SLA", "kpi=response_sla&docs=all", want("asn-over", "price", "delivery"), 1},
		{"none missed the response SLA: an empty queue, not an unfiltered one", "kpi=response_sla&docs=missed", nil, 0},
		{"a plant narrows the documents", "kpi=response_sla&docs=all&plant=P02", nil, 0},
		{"exception KPIs drill to the exceptions themselves", "kpi=exception_ack_hours", want("ack-missing-3"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			proc.mustOK("GET", "/api/exceptions?"+tt.query+span, nil, &a)
			if got := ids(a); !slices.Equal(got, tt.want) {
				t.Errorf("exceptions %v, want %v", got, tt.want)
			}
			if a.Drill == nil || a.Drill.Documents != tt.documents || a.Drill.Entities < tt.documents || a.Items == nil {
				t.Errorf("drill %+v, want %d documents", a.Drill, tt.documents)
			}
		})
	}

	t.Run("no documents behind the figure is an empty queue, not an unfiltered one", func(t *testing.T) {
		var a answer
		proc.mustOK("GET", "/api/exceptions?kpi=invoice_exception_rate&from=2020-01-01&to=2020-02-01", nil, &a)
		if len(a.Items) != 0 || a.Drill == nil || a.Drill.Documents != 0 {
			t.Errorf("%+v, want no exceptions", a)
		}
	})
	t.Run("another tenant's figure holds none of this tenant's documents", func(t *testing.T) {
		var a answer
		withDrill.addUser("other", "other-drill", procure.RoleProcurement).mustOK("GET", "/api/exceptions?kpi=response_sla&docs=all"+span, nil, &a)
		if len(a.Items) != 0 {
			t.Errorf("other tenant sees %v", ids(a))
		}
	})
	for _, bad := range []struct {
		name, query string
		status      int
	}{
		{"plant users do not read tenant-wide KPIs", "kpi=response_sla" + span, 403},
		{"a period is needed", "kpi=response_sla", 400},
		{"docs is missed or all", "kpi=response_sla&docs=some" + span, 400},
		{"supplier-day KPIs name no queue documents", "kpi=digital_documents" + span, 400},
		{"unknown KPI", "kpi=nope" + span, 400},
	} {
		t.Run(bad.name, func(t *testing.T) {
			c := proc
			if bad.status == 403 {
				c = withDrill.signIn(procure.RolePlant)
			}
			if st, b := c.raw("GET", "/api/exceptions?"+bad.query, nil); st != bad.status {
				t.Errorf("%d %s, want %d", st, b, bad.status)
			}
		})
	}
	if st, _ := e.signIn(procure.RoleProcurement).raw("GET", "/api/exceptions?kpi=response_sla"+span, nil); st != 503 {
		t.Errorf("a console without the KPI reader: %d, want 503", st)
	}
}

// kpiDrill is the KPI reader of the queue's drill-down, as app wires it;
// q is called at each drill (a test's querier may come after the console).
func kpiDrill(q func() *kpi.Querier) console.DrillFunc {
	return func(ctx context.Context, tenant string, d console.Drill) (*console.DrillSet, error) {
		s, err := q().DrillSet(ctx, kpi.Query{Tenant: tenant, From: d.From, To: d.To, Plant: d.Plant, Supplier: d.Supplier}, d.KPI, d.Missed, d.MaxDocuments)
		if err != nil {
			return nil, err
		}
		return &console.DrillSet{Documents: s.Documents, ExceptionIDs: s.ExceptionIDs, Entities: s.Entities}, nil
	}
}
