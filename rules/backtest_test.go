package rules_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules"
)

// storeEvents writes events into a fresh ClickHouse database and returns
// the connection and the database.
func storeEvents(t *testing.T, evs []*procure.Event) (ctx context.Context, conn driver.Conn, db string) {
	t.Helper()
	ctx = context.Background()
	conn, db, _ = chtest.DB(t)
	cfg := clickhouse.Config{Database: db}
	cfg.Defaults()
	if err := clickhouse.Migrate(ctx, conn, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	var rs []procure.Received
	for _, e := range evs {
		raw, err := procure.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, procure.Received{Event: e, Raw: raw, Channel: "test", ReceivedAt: e.OccurredAt})
	}
	if err := clickhouse.NewStore(conn, db).InsertEvents(ctx, rs); err != nil {
		t.Fatal(err)
	}
	return ctx, conn, db
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// backtestHistory: supplier S1 (master data from long ago) and POs around
// the period 2026-06-16 12:00 – 2026-06-30 12:00 (P01, Europe/Berlin,
// 28 business hours to acknowledge):
//
//	4500000001 released 06-23, acknowledged 3 h later         nothing
//	4500000002 released 06-22, never acknowledged             raised, open
//	4500000003 released 05-25 (before the period), never      raised before the period: not reported
//	4500000004 released 06-15 (before), due 06-18 (in it)     raised, open
//	4500000005 released 06-22, acknowledged 06-29             raised, resolved
//	4500000006 released by S9, which has no master data       (supplier-unknown)
func backtestHistory() []*procure.Event {
	ev := func(id string, typ procure.Type, when string, sup string, doc procure.DocumentRef, p any) *procure.Event {
		return &procure.Event{ID: id, Type: typ, Source: procure.SourceERP, Tenant: "acme", OccurredAt: at(when), Plant: "P01", Supplier: sup, Document: doc, Payload: p}
	}
	po := func(id string) procure.DocumentRef {
		return procure.DocumentRef{Kind: procure.DocPO, ID: id, Version: 1}
	}
	need := procure.DateOf(at("2026-08-03T00:00:00Z"))
	release := func(id, when, sup string) *procure.Event {
		return ev(id+"-rel", procure.POReleased, when, sup, po(id), &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
			Lines: []procure.POLine{{Line: 10, Item: "I1", Quantity: 100, Unit: "C62", UnitPrice: 2, NeedBy: need}}})
	}
	ack := func(id, when string) *procure.Event {
		e := ev(id+"-ack", procure.POAcknowledged, when, "S1", po(id), &procure.Acknowledgement{AckID: "A" + id, POVersion: 1,
			Lines: []procure.AckLine{{Line: 10, Status: procure.AckAccepted, Quantity: 100, PromisedDate: need}}})
		e.Source = procure.SourcePortal
		return e
	}
	evs := []*procure.Event{
		ev("sup-S1", procure.SupplierUpdated, "2025-12-01T09:00:00Z", "S1", procure.DocumentRef{Kind: procure.DocSupplier, ID: "S1"}, &procure.Supplier{Name: "Steel", Tier: 2}),
		release("4500000003", "2026-05-25T08:00:00Z", "S1"),
		release("4500000004", "2026-06-15T08:00:00Z", "S1"),
		release("4500000002", "2026-06-22T08:00:00Z", "S1"),
		release("4500000005", "2026-06-22T09:00:00Z", "S1"),
		release("4500000001", "2026-06-23T09:00:00Z", "S1"),
		ack("4500000001", "2026-06-23T12:00:00Z"),
		release("4500000006", "2026-06-24T09:00:00Z", "S9"),
		ack("4500000006", "2026-06-24T12:00:00Z"),
		ack("4500000005", "2026-06-29T10:00:00Z"),
	}
	return evs
}

func TestBacktestReportsWhatTheRuleWouldHaveRaisedInThePeriod(t *testing.T) {
	ctx, conn, db := storeEvents(t, backtestHistory())
	rs, err := rules.LoadDir("default", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	now := at("2026-06-30T12:00:00Z")

	rep, err := rules.Backtest(ctx, clickhouse.NewHistory(conn, db), rs, "po-not-acknowledged", 14*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Raised != 3 || rep.Open != 2 || rep.Resolved != 1 || rep.Kind != procure.KindSLA {
		t.Errorf("raised %d (open %d, resolved %d, kind %s), want 3 (2, 1, sla)", rep.Raised, rep.Open, rep.Resolved, rep.Kind)
	}
	var subjects []string
	for _, h := range rep.First {
		subjects = append(subjects, h.Subject+" "+h.State)
	}
	want := []string{"po/4500000004 open", "po/4500000002 open", "po/4500000005 resolved"}
	if !slices.Equal(subjects, want) {
		t.Errorf("first raised %q, want %q", subjects, want)
	}
	if !rep.First[0].At.Equal(at("2026-06-18T09:00:00Z")) {
		t.Errorf("4500000004 raised at %s, want its due time 2026-06-18T09:00Z (28 business hours from Monday 10:00 Berlin: Thursday 11:00)", rep.First[0].At)
	}
	if rep.Events != 7 || rep.Warmup != 3 {
		t.Errorf("replayed %d events of the period and %d before it, want 7 and 3", rep.Events, rep.Warmup)
	}
	if !slices.Equal(rep.BySupplier, []rules.Count{{Key: "S1", Exceptions: 3}}) || !slices.Equal(rep.ByPlant, []rules.Count{{Key: "P01", Exceptions: 3}}) {
		t.Errorf("by supplier %v, by plant %v, want S1 and P01 3 each", rep.BySupplier, rep.ByPlant)
	}
	var out strings.Builder
	if err := rep.Print(&out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"would have raised 3 exceptions", "po/4500000004", "S1"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, out.String())
		}
	}
	t.Log("\n" + out.String())

	// Master data from before the warm-up still counts: only S9 is unknown.
	rep, err = rules.Backtest(ctx, clickhouse.NewHistory(conn, db), rs, "supplier-unknown", 14*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Raised != 1 || rep.First[0].Subject != "supplier/S9" {
		t.Errorf("supplier-unknown raised %d %v, want supplier/S9 only", rep.Raised, rep.First)
	}

	if _, err := rules.Backtest(ctx, clickhouse.NewHistory(conn, db), rs, "no-such-rule", time.Hour, now); procure.ErrorCode(err) != procure.ENOTFOUND {
		t.Errorf("unknown rule: %v, want ENOTFOUND", err)
	}
	if _, err := rules.Backtest(ctx, clickhouse.NewHistory(conn, db+"; DROP"), rs, "po-not-acknowledged", time.Hour, now); procure.ErrorCode(err) != procure.EINVALID {
		t.Errorf("bad database name: %v, want EINVALID", err)
	}
}
