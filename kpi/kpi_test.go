package kpi

import (
	"net/http/httptest"
	"strings"

	"context"
	"fmt"
	"github.com/gin-gonic/gin"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/procure"
)

func TestMain(m *testing.M) { chtest.Main(m) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// migrated returns a connection and a database with the whole schema.
func migrated(t testing.TB) (driver.Conn, string) {
	t.Helper()
	conn, db, _ := chtest.DB(t)
	ctx := context.Background()
	cfg := clickhouse.Config{Database: db, RetentionDays: 3650}
	if err := clickhouse.Migrate(ctx, conn, cfg, discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := SyncCalendars(ctx, conn, db, nil, ts("2025-12-01T00:00:00Z"), ts("2026-12-31T00:00:00Z")); err != nil {
		t.Fatalf("calendars: %v", err)
	}
	return conn, db
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) procure.Date { d, _ := procure.ParseDate(s); return d }

// scenario is a handful of events with known answers (docs/kpi.md worked
// example). Plant P1 has no calendar of its own: the default calendar,
// Monday to Friday 08:00–17:00 UTC. 2026-03-02 is a Monday.
func scenario() []*procure.Event {
	var evs []*procure.Event
	n := 0
	add := func(typ procure.Type, src procure.Source, at, supplier string, doc procure.DocumentRef, p any) {
		n++
		evs = append(evs, &procure.Event{ID: "e" + string(rune('a'+n/26)) + string(rune('a'+n%26)), Type: typ, Source: src, Tenant: "acme",
			OccurredAt: ts(at), Plant: "P1", Supplier: supplier, Document: doc, Payload: p})
	}
	po := func(id string) procure.DocumentRef {
		return procure.DocumentRef{Kind: procure.DocPO, ID: id, Version: 1}
	}
	add(procure.SupplierUpdated, procure.SourceERP, "2026-01-01T00:00:00Z", "S1", procure.DocumentRef{Kind: procure.DocSupplier, ID: "S1"}, &procure.Supplier{Name: "One", Tier: 1})
	add(procure.SupplierUpdated, procure.SourceERP, "2026-01-01T00:00:00Z", "S2", procure.DocumentRef{Kind: procure.DocSupplier, ID: "S2"}, &procure.Supplier{Name: "Two", Tier: 2})
	// PO A: acknowledged after 3 business hours, delivered on time and in full, paid without touch.
	add(procure.POReleased, procure.SourceERP, "2026-03-02T16:00:00Z", "S1", po("A"), &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
		Lines: []procure.POLine{{Line: 10, Item: "M1", Quantity: 100, Unit: "C62", UnitPrice: 1, NeedBy: date("2026-03-20")}}})
	add(procure.POAcknowledged, procure.SourcePortal, "2026-03-03T10:00:00Z", "S1", po("A"), &procure.Acknowledgement{Lines: []procure.AckLine{{Line: 10, Status: "accepted"}}})
	add(procure.ASNSubmitted, procure.SourcePortal, "2026-03-18T08:00:00Z", "S1", procure.DocumentRef{Kind: procure.DocASN, ID: "ASN-A"}, &procure.ShipNotice{
		ShipDate: ts("2026-03-18T07:00:00Z"), ExpectedArrival: ts("2026-03-19T08:00:00Z"), Lines: []procure.ASNLine{{PO: "A", Line: 10, Quantity: 100, Unit: "C62"}}})
	add(procure.GoodsReceived, procure.SourceWMS, "2026-03-19T09:00:00Z", "S1", procure.DocumentRef{Kind: procure.DocReceipt, ID: "GR-A"}, &procure.Receipt{
		ASN: "ASN-A", Lines: []procure.ReceiptLine{{PO: "A", Line: 10, ReceivedQuantity: 100, Unit: "C62"}}})
	inv := func(id, po, status, at, supplier string) {
		add(procure.InvoiceStatusChanged, procure.SourceAP, at, supplier, procure.DocumentRef{Kind: procure.DocInvoice, ID: id}, &procure.InvoiceStatus{Status: status, PO: po})
	}
	inv("INV-A", "A", "received", "2026-03-20T10:00:00Z", "S1")
	inv("INV-A", "A", "matched", "2026-03-21T10:00:00Z", "S1")
	inv("INV-A", "A", "paid", "2026-03-25T10:00:00Z", "S1")
	// PO B: acknowledged after 26 business hours (line 10 changed, line 20 rejected), ASN late and short.
	add(procure.POReleased, procure.SourceERP, "2026-03-02T09:00:00Z", "S2", po("B"), &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
		Lines: []procure.POLine{{Line: 10, Item: "M1", Quantity: 50, Unit: "C62", UnitPrice: 1, NeedBy: date("2026-03-10")},
			{Line: 20, Item: "M2", Quantity: 20, Unit: "C62", UnitPrice: 1, NeedBy: date("2026-03-12")}}})
	add(procure.POAcknowledged, procure.SourceERP, "2026-03-04T17:00:00Z", "S2", po("B"), &procure.Acknowledgement{Lines: []procure.AckLine{
		{Line: 10, Status: "changed", Quantity: 40, Unit: "C62", PromisedDate: date("2026-03-11")}, {Line: 20, Status: "rejected"}}})
	add(procure.ASNSubmitted, procure.SourceEDI, "2026-03-11T07:00:00Z", "S2", procure.DocumentRef{Kind: procure.DocASN, ID: "ASN-B"}, &procure.ShipNotice{
		ShipDate: ts("2026-03-11T06:00:00Z"), ExpectedArrival: ts("2026-03-11T08:00:00Z"), Lines: []procure.ASNLine{{PO: "B", Line: 10, Quantity: 45, Unit: "C62"}}})
	add(procure.GoodsReceived, procure.SourceWMS, "2026-03-11T10:00:00Z", "S2", procure.DocumentRef{Kind: procure.DocReceipt, ID: "GR-B"}, &procure.Receipt{
		ASN: "ASN-B", Lines: []procure.ReceiptLine{{PO: "B", Line: 10, ReceivedQuantity: 38, Unit: "C62"}}})
	inv("INV-B", "B", "received", "2026-03-12T10:00:00Z", "S2")
	inv("INV-B", "B", "blocked", "2026-03-13T10:00:00Z", "S2")
	inv("INV-B", "B", "approved", "2026-03-15T10:00:00Z", "S2")
	inv("INV-B", "B", "paid", "2026-03-20T10:00:00Z", "S2")
	// PO C: never acknowledged, nothing shipped.
	add(procure.POReleased, procure.SourceERP, "2026-03-03T08:00:00Z", "S1", po("C"), &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
		Lines: []procure.POLine{{Line: 10, Item: "M1", Quantity: 10, Unit: "C62", UnitPrice: 1, NeedBy: date("2026-03-06")}}})
	return evs
}

func history() []*procure.OutboxEvent {
	x1 := &procure.Exception{ID: 1, Tenant: "acme", Rule: "invoice-blocked", Kind: "validation", Severity: "high", Team: "finance",
		Plant: "P1", Supplier: "S2", PO: "B", FirstSeen: ts("2026-03-13T10:00:00Z")}
	x2 := &procure.Exception{ID: 2, Tenant: "acme", Rule: "po-not-acknowledged", Kind: "sla", Severity: "high", Team: "procurement",
		Plant: "P1", Supplier: "S1", PO: "C", FirstSeen: ts("2026-03-04T08:00:00Z")}
	at := func(x procure.Exception, state string) *procure.Exception { x.State = state; return &x }
	return []*procure.OutboxEvent{
		{ID: 1, Tenant: "acme", Kind: procure.OutboxOpened, At: ts("2026-03-13T10:00:00Z"), Exception: at(*x1, "open")},
		{ID: 2, Tenant: "acme", Kind: procure.OutboxAcknowledged, At: ts("2026-03-13T12:00:00Z"), Exception: at(*x1, "acknowledged")},
		{ID: 3, Tenant: "acme", Kind: procure.OutboxResolved, At: ts("2026-03-15T10:00:00Z"), Exception: at(*x1, "resolved")},
		{ID: 4, Tenant: "acme", Kind: procure.OutboxOpened, At: ts("2026-03-04T08:00:00Z"), Exception: at(*x2, "open")},
		{ID: 5, Tenant: "acme", Kind: procure.OutboxAcknowledged, At: ts("2026-03-04T14:00:00Z"), Exception: at(*x2, "acknowledged")},
		{ID: 6, Tenant: "acme", Kind: procure.OutboxSLAWarning, At: ts("2026-03-04T15:00:00Z")},
	}
}

// load stores the scenario events and history, and refreshes the rollup
// as of asOf.
func load(t *testing.T, conn driver.Conn, db string, asOf time.Time) {
	t.Helper()
	ctx := context.Background()
	var rs []procure.Received
	for _, e := range scenario() {
		b, err := procure.Encode(e)
		if err != nil {
			t.Fatalf("encode %s: %v", e.Type, err)
		}
		rs = append(rs, procure.Received{Event: e, Raw: b, Channel: procure.ChannelKafka, ReceivedAt: e.OccurredAt})
	}
	if err := clickhouse.NewStore(conn, db).InsertEvents(ctx, rs); err != nil {
		t.Fatal(err)
	}
	m := NewMirror(conn, db, nil, Config{}, discard)
	if err := m.Insert(ctx, history()); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRefresher(conn, db, Config{}, discard, nil).RefreshAll(ctx, asOf); err != nil {
		t.Fatal(err)
	}
}

func TestValuesMatchHandComputedScenario(t *testing.T) {
	conn, db := migrated(t)
	asOf := ts("2026-03-31T12:00:00Z")
	load(t, conn, db, asOf)
	q := NewQuerier(conn, db, Config{}, func() time.Time { return asOf })
	vs, err := q.Values(context.Background(), Query{Tenant: "acme", From: ts("2026-03-01T00:00:00Z"), To: ts("2026-04-01T00:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Value{}
	for _, v := range vs.Values {
		got[v.KPI] = v
	}
	want := []struct {
		kpi      string
		num, den float64
		value    float64
	}{
		{"ack_cycle_hours", 29, 2, 14.5}, // 3 h and 26 h: median 14.5
		{"response_sla", 2, 3, 2.0 / 3},  // C is overdue against S1's 24 h
		{"confirmation_rate", 2, 4, 0.5}, // A/10, B/10 confirmed; B/20 rejected; C/10 silent
		{"confirmation_accuracy", 1, 2, 0.5},
		{"asn_timeliness", 1, 2, 0.5}, // ASN-B 3 h before receipt < 4 h
		{"asn_accuracy", 1, 2, 0.5},   // ASN-B 45 shipped, 38 received
		{"otd_on_time", 1, 4, 0.25},
		{"otd_late", 1, 4, 0.25},
		{"otd_overdue", 2, 4, 0.5},
		{"otd_early", 0, 4, 0},
		{"otd_over_delivered", 0, 4, 0},
		{"otif", 1, 3, 1.0 / 3},
		{"receipt_variance", 7, 145, 7.0 / 145},
		{"invoice_exception_rate", 1, 2, 0.5},
		{"first_pass_match", 1, 2, 0.5},
		{"touchless", 1, 2, 0.5},
		{"digital_documents", 3, 4, 0.75}, // B's ack keyed in ERP
		{"digital_suppliers", 1, 2, 0.5},
		{"exception_ack_hours", 8, 2, 4},
		{"exception_resolve_hours", 48, 1, 48},
	}
	for _, w := range want {
		g, ok := got[w.kpi]
		if !ok {
			t.Errorf("%s: missing", w.kpi)
			continue
		}
		if !near(g.Num, w.num) || !near(g.Den, w.den) || !near(g.Value, w.value) {
			t.Errorf("%s = %v (%v/%v), want %v (%v/%v)", w.kpi, g.Value, g.Num, g.Den, w.value, w.num, w.den)
		}
	}
	if g := got["ack_cycle_hours"]; !near(g.P90, 23.7) {
		t.Errorf("ack_cycle_hours p90 = %v, want 23.7", g.P90)
	}

	// The previous period read with the current one (one scan) is that
	// period's own answer, for the values and the breakdowns.
	ctx := context.Background()
	cur := Query{Tenant: "acme", From: ts("2026-03-11T00:00:00Z"), To: ts("2026-03-21T00:00:00Z")}
	before := Query{Tenant: "acme", From: ts("2026-03-01T00:00:00Z"), To: ts("2026-03-11T00:00:00Z")}
	vs, err = q.Values(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	pvs, err := q.Values(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for i, v := range vs.Values {
		p := pvs.Values[i]
		if v.Previous == nil {
			if p.Den > 0 && v.Den > 0 {
				t.Errorf("%s: no previous value, the period before has %v/%v", v.KPI, p.Num, p.Den)
			}
			continue
		}
		compared++
		if !near(*v.Previous, p.Value) || !near(*v.Change, v.Value-p.Value) {
			t.Errorf("%s: previous %v (change %v), the period before answers %v", v.KPI, *v.Previous, *v.Change, p.Value)
		}
	}
	for _, kpi := range []string{"otd_on_time", "ack_cycle_hours", "confirmation_rate"} {
		rows, _, err := q.Breakdown(ctx, cur, kpi, "plant")
		if err != nil {
			t.Fatal(err)
		}
		prows, _, err := q.Breakdown(ctx, before, kpi, "plant")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			for _, p := range prows {
				if p.Key == r.Key && p.Den > 0 && r.Den > 0 {
					compared++
					if r.Previous == nil || !near(*r.Previous, p.Value.Value) {
						t.Errorf("%s by plant %s: previous %v, the period before answers %v", kpi, r.Key, r.Previous, p.Value.Value)
					}
				}
			}
		}
	}
	if compared < 3 {
		t.Errorf("only %d previous values compared: the periods need data on both sides", compared)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestHandlerServesValuesDrillDownAndCSV(t *testing.T) {
	conn, db := migrated(t)
	asOf := ts("2026-03-31T12:00:00Z")
	load(t, conn, db, asOf)
	now := func() time.Time { return asOf }
	gin.SetMode(gin.TestMode)
	r := gin.New()
	NewHandler(NewQuerier(conn, db, Config{}, now), HandlerOptions{Now: now}).Register(r)
	get := func(url string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", url, nil))
		return w
	}
	tests := []struct {
		name, url string
		status    int
		contains  string
	}{
		{"values compare with the previous period", "/api/kpi/values?tenant=acme&from=2026-03-01&to=2026-04-01", 200, `"kpi":"otif"`},
		{"breakdown by supplier names both suppliers", "/api/kpi/breakdown?tenant=acme&from=2026-03-01&to=2026-04-01&kpi=otd_on_time&by=supplier", 200, `"key":"S2"`},
		{"documents carry their exceptions", "/api/kpi/documents?tenant=acme&from=2026-03-01&to=2026-04-01&kpi=touchless", 200, `"rule":"invoice-blocked"`},
		{"documents export as csv", "/api/kpi/documents?tenant=acme&from=2026-03-01&to=2026-04-01&kpi=otif&format=csv", 200, "doc,day,plant,supplier,num,den,x,exceptions\nB,"},
		{"trend by week", "/api/kpi/trend?tenant=acme&from=2026-03-01&to=2026-04-01&kpi=ack_cycle_hours&bucket=week", 200, `"start":"2026-03-02T00:00:00Z"`},
		{"ops list unacknowledged POs", "/api/kpi/ops?tenant=acme&window=720h&table=unacknowledged&format=csv", 200, "C,P1,S1,2026-03-03T08:00:00Z"},
		{"values say up to when they are complete", "/api/kpi/values?tenant=acme&from=2026-03-01&to=2026-04-01", 200, `"freshness":{"complete_through":"20`},
		{"every value says up to when it is complete", "/api/kpi/values?tenant=acme&from=2026-03-01&to=2026-04-01", 200, `"den":3,"complete_through":"20`},
		{"breakdown says up to when it is complete", "/api/kpi/breakdown?tenant=acme&from=2026-03-01&to=2026-04-01&kpi=otif&by=plant", 200, `"freshness":{"complete_through":"20`},
		{"missing tenant is refused", "/api/kpi/values", 400, `"code":"invalid"`},
		{"unknown kpi is refused", "/api/kpi/trend?tenant=acme&kpi=nope", 400, "unknown kpi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(tt.url)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.contains) {
				t.Fatalf("GET %s = %d %s, want %d containing %q", tt.url, w.Code, w.Body.String(), tt.status, tt.contains)
			}
		})
	}
}

// A PO line without need_by used to fail the whole insert of its block
// (toDate(”) throws in the view). Its due date is now its last schedule
// line's date, or unknown, and an unknown due date is not classed.
func TestLineWithoutNeedByIsDueByItsSchedule(t *testing.T) {
	conn, db := migrated(t)
	ctx := context.Background()
	e := &procure.Event{ID: "nb1", Type: procure.POReleased, Source: procure.SourceERP, Tenant: "acme", OccurredAt: ts("2026-03-02T09:00:00Z"),
		Plant: "P1", Supplier: "S1", Document: procure.DocumentRef{Kind: procure.DocPO, ID: "NB", Version: 1},
		Payload: &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR", Lines: []procure.POLine{
			{Line: 10, Item: "M1", Quantity: 10, Unit: "C62", Schedule: []procure.ScheduleLine{{Seq: 1, Quantity: 5, Date: date("2026-03-08")}, {Seq: 2, Quantity: 5, Date: date("2026-03-09")}}},
			{Line: 20, Item: "M2", Quantity: 10, Unit: "C62"},
		}}}
	b, err := procure.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := clickhouse.NewStore(conn, db).InsertEvents(ctx, []procure.Received{{Event: e, Raw: b, Channel: procure.ChannelKafka, ReceivedAt: e.OccurredAt}}); err != nil {
		t.Fatalf("insert of a line without need_by: %v", err)
	}
	rows, err := conn.Query(ctx, "SELECT line, toString(tupleElement(max(need_by), 2)) FROM "+db+".kpi_line_orders WHERE po = 'NB' GROUP BY line ORDER BY line")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var line int32
		var due string
		if err := rows.Scan(&line, &due); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s", line, due))
	}
	if want := "10:2026-03-09 20:1970-01-01"; strings.Join(got, " ") != want {
		t.Errorf("due dates %q, want %q", strings.Join(got, " "), want)
	}
	if _, err := NewRefresher(conn, db, Config{}, discard, nil).RefreshAll(ctx, ts("2026-04-01T00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	var overdue, total float64
	if err := conn.QueryRow(ctx, "SELECT sum(num), sum(den) FROM "+db+".kpi_rollup WHERE kpi = 'otd_overdue' AND grain = 'day'").Scan(&overdue, &total); err != nil {
		t.Fatal(err)
	}
	if overdue != 1 || total != 1 {
		t.Errorf("otd_overdue %v of %v lines, want 1 of 1 (line 10 by its schedule; line 20 has no due date)", overdue, total)
	}
	// Line 10 acknowledged (accepted), no ASN: due by its schedule, so its
	// ASN is missing on the operations board; line 20 is not confirmed.
	ack := &procure.Event{ID: "nb2", Type: procure.POAcknowledged, Source: procure.SourcePortal, Tenant: "acme", OccurredAt: ts("2026-03-03T09:00:00Z"),
		Plant: "P1", Supplier: "S1", Document: procure.DocumentRef{Kind: procure.DocPO, ID: "NB", Version: 1},
		Payload: &procure.Acknowledgement{Lines: []procure.AckLine{{Line: 10, Status: "accepted"}}}}
	if b, err = procure.Encode(ack); err != nil {
		t.Fatal(err)
	}
	if err := clickhouse.NewStore(conn, db).InsertEvents(ctx, []procure.Received{{Event: ack, Raw: b, Channel: procure.ChannelKafka, ReceivedAt: ack.OccurredAt}}); err != nil {
		t.Fatal(err)
	}
	ops, err := NewQuerier(conn, db, Config{}, func() time.Time { return ts("2026-03-08T12:00:00Z") }).Ops(ctx, "acme", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops.MissingASNs) != 1 || ops.MissingASNs[0].Doc != "NB/10" || !ops.MissingASNs[0].Since.Equal(ts("2026-03-09T00:00:00Z")) {
		t.Errorf("missing ASNs %+v, want NB/10 due 2026-03-09", ops.MissingASNs)
	}
}

// TestDocumentsCarryTheExceptionsOfTheirPOAndThemselves: an invoice row
// carries the exceptions of its invoice's PO (invoice-blocked on PO B for
// INV-B; it carried none when the PO was taken from the document's own
// id), an exception row carries that exception, and a PO row its PO's.
func TestDocumentsCarryTheExceptionsOfTheirPOAndThemselves(t *testing.T) {
	conn, db := migrated(t)
	asOf := ts("2026-03-31T12:00:00Z")
	load(t, conn, db, asOf)
	q := NewQuerier(conn, db, Config{}, func() time.Time { return asOf })
	qq := Query{Tenant: "acme", From: ts("2026-03-01T00:00:00Z"), To: ts("2026-04-01T00:00:00Z")}
	rules := func(kpi, doc string) []string {
		t.Helper()
		ds, err := q.Documents(context.Background(), qq, kpi, 100)
		if err != nil {
			t.Fatal(err)
		}
		var docs []string
		for _, d := range ds {
			docs = append(docs, d.Doc)
			if d.Doc == doc {
				var out []string
				for _, x := range d.Exceptions {
					out = append(out, fmt.Sprintf("%d %s", x.ID, x.Rule))
				}
				return out
			}
		}
		t.Fatalf("%s: no document %s among %v", kpi, doc, docs)
		return nil
	}
	for _, c := range []struct{ kpi, doc, want string }{
		{"invoice_exception_rate", "INV-B", "[1 invoice-blocked]"},
		{"invoice_exception_rate", "INV-A", "[]"},
		{"touchless", "B", "[1 invoice-blocked]"},
		{"asn_timeliness", "ASN-B", "[1 invoice-blocked]"},
		{"asn_timeliness", "ASN-A", "[]"},
		{"exception_ack_hours", "2", "[2 po-not-acknowledged]"},
		{"exception_resolve_hours", "1", "[1 invoice-blocked]"},
	} {
		if got := fmt.Sprint(rules(c.kpi, c.doc)); got != c.want {
			t.Errorf("%s %s: exceptions %s, want %s", c.kpi, c.doc, got, c.want)
		}
	}
}
