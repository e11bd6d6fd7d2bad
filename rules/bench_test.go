package rules_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/rules/sla"
)

// benchEvents is a document chain per PO: release, ack, ASN, receipt,
// invoice received and approved; every tenth PO has a changed quantity.
func benchEvents(n int) []*procure.Event {
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	var out []*procure.Event
	ev := func(id string, typ procure.Type, at time.Time, doc procure.DocumentRef, p any) *procure.Event {
		return &procure.Event{ID: id, Type: typ, Source: procure.SourceERP, Tenant: "acme", OccurredAt: at, Plant: "P01", Supplier: "S1", Document: doc, Payload: p}
	}
	out = append(out, ev("sup", procure.SupplierUpdated, t0, procure.DocumentRef{Kind: procure.DocSupplier, ID: "S1"}, &procure.Supplier{Name: "S", Tier: 2}))
	for i := 0; len(out) < n; i++ {
		po := fmt.Sprint(4500000000 + i)
		at := t0.Add(time.Duration(i) * time.Second)
		need := procure.DateOf(t0.AddDate(0, 0, 20))
		qty := 100.0
		if i%10 == 0 {
			qty = 60
		}
		d := procure.DocumentRef{Kind: procure.DocPO, ID: po, Version: 1}
		out = append(out,
			ev(po+"-rel", procure.POReleased, at, d, &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
				Lines: []procure.POLine{{Line: 10, Item: "I1", Quantity: 100, Unit: "C62", UnitPrice: 2, NeedBy: need}, {Line: 20, Item: "I2", Quantity: 5, Unit: "KGM", UnitPrice: 20, NeedBy: need}}}),
			ev(po+"-ack", procure.POAcknowledged, at.Add(2*time.Hour), d, &procure.Acknowledgement{AckID: "A" + po, POVersion: 1,
				Lines: []procure.AckLine{{Line: 10, Status: procure.AckChanged, Quantity: qty, PromisedDate: need}, {Line: 20, Status: procure.AckAccepted, Quantity: 5, PromisedDate: need}}}),
			ev(po+"-asn", procure.ASNSubmitted, at.Add(200*time.Hour), procure.DocumentRef{Kind: procure.DocASN, ID: "ASN" + po}, &procure.ShipNotice{
				ShipDate: at.Add(200 * time.Hour), ExpectedArrival: at.Add(240 * time.Hour), Lines: []procure.ASNLine{{PO: po, Line: 10, Quantity: qty, Unit: "C62", Lot: "L1"}}}),
			ev(po+"-gr", procure.GoodsReceived, at.Add(240*time.Hour), procure.DocumentRef{Kind: procure.DocReceipt, ID: "GR" + po}, &procure.Receipt{ASN: "ASN" + po,
				Lines: []procure.ReceiptLine{{PO: po, Line: 10, ReceivedQuantity: qty, Unit: "C62", Lot: "L1"}}}),
			ev(po+"-inv1", procure.InvoiceStatusChanged, at.Add(250*time.Hour), procure.DocumentRef{Kind: procure.DocInvoice, ID: "INV" + po}, &procure.InvoiceStatus{
				Status: procure.InvoiceReceived, PO: po, Amount: 200, Currency: "EUR", Lines: []procure.InvoiceLine{{Line: 10, Quantity: qty, UnitPrice: 2}}}),
			ev(po+"-inv2", procure.InvoiceStatusChanged, at.Add(260*time.Hour), procure.DocumentRef{Kind: procure.DocInvoice, ID: "INV" + po}, &procure.InvoiceStatus{
				Status: procure.InvoiceApproved, PO: po, Amount: 200, Currency: "EUR"}),
		)
	}
	return out[:n]
}

// BenchmarkEngine reports business events/s through document state, rules
// and timers with Postgres, and the share of it that is raw rule
// evaluation (expr) on the same events.
func BenchmarkEngine(b *testing.B) {
	ctx := context.Background()
	rs, err := rules.LoadDir("default", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	db := pgtest.New(b)
	store := postgres.NewStateStore(db)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	en := rules.NewEngine(store, rules.NewEvaluator(rs), sla.New(sla.Config{}, store, log, nil), log, nil)
	const batchSize = 500
	events := benchEvents(20000)
	b.ResetTimer()
	start := time.Now()
	done := 0
	for b.Loop() {
		for i := 0; i < len(events); i += batchSize {
			if _, err := en.Process(ctx, events[i:min(i+batchSize, len(events))]); err != nil {
				b.Fatal(err)
			}
		}
		done += len(events)
		// Fresh ids for the next round, so nothing is dropped as processed.
		for _, e := range events {
			e.ID += "+"
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(done) / elapsed.Seconds()

	// Raw evaluation of the same events on the state they leave.
	evalTime, err := rules.EvalTime(rs, events)
	if err != nil {
		b.Fatal(err)
	}
	evalRate := float64(len(events)) / evalTime.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(evalRate, "eval-events/s")
	b.ReportMetric(evalTime.Seconds()/float64(len(events))/(elapsed.Seconds()/float64(done)), "eval-share")
}
