package rules_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/rules/sla"
)

// crossChains are document chains whose cross-document rules (receipt vs
// ASN, certificate vs receipt, invoice vs receipt and order) are decided
// within minutes of each other, so that partitions delivered a little
// behind one another invert them: chain i has a receipt 10-40 minutes
// after its ASN, a certificate up to 20 minutes before or after the
// receipt (or none), an invoice 10-40 minutes after the receipt, some short
// receipts and over-invoiced quantities.
func crossChains(n int, seed uint64) []*procure.Event {
	r := rand.New(rand.NewPCG(seed, 7))
	t0 := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	ev := func(id string, typ procure.Type, at time.Time, doc procure.DocumentRef, p any) *procure.Event {
		return &procure.Event{ID: id, Type: typ, Source: procure.SourceERP, Tenant: "acme", OccurredAt: at, Plant: "P01", Supplier: "S1", Document: doc, Payload: p}
	}
	min := func(a, b int) time.Duration { return time.Duration(a+r.IntN(b-a+1)) * time.Minute }
	out := []*procure.Event{
		ev("sup", procure.SupplierUpdated, t0.Add(-48*time.Hour), procure.DocumentRef{Kind: procure.DocSupplier, ID: "S1"}, &procure.Supplier{Name: "S", Tier: 2}),
		ev("item", procure.ItemUpdated, t0.Add(-48*time.Hour), procure.DocumentRef{Kind: procure.DocItem, ID: "I1"}, &procure.Item{BaseUnit: "C62", CertificateRequired: true}),
	}
	for i := range n {
		po := fmt.Sprint(4500000100 + i)
		rel := t0.Add(time.Duration(i) * 37 * time.Minute)
		need := procure.DateOf(rel.AddDate(0, 0, 20))
		d := procure.DocumentRef{Kind: procure.DocPO, ID: po, Version: 1}
		lot := "L" + po
		shipped, received, invoiced := 100.0, 100.0, 100.0
		if i%3 == 0 {
			received = 90
		}
		if i%4 == 1 {
			invoiced = 110
		}
		asnAt := rel.Add(48 * time.Hour)
		grAt := asnAt.Add(min(10, 40))
		lines := []procure.ASNLine{{PO: po, Line: 10, Quantity: shipped, Unit: "C62", Lot: lot}}
		if i%5 == 2 {
			lines = append(lines, procure.ASNLine{PO: po, Line: 99, Quantity: 1, Unit: "C62"})
		}
		out = append(out,
			ev(po+"-rel", procure.POReleased, rel, d, &procure.PurchaseOrder{OrderType: "standard", Currency: "EUR",
				Lines: []procure.POLine{{Line: 10, Item: "I1", Quantity: 100, Unit: "C62", UnitPrice: 2, NeedBy: need}}}),
			ev(po+"-ack", procure.POAcknowledged, rel.Add(time.Hour), d, &procure.Acknowledgement{AckID: "A" + po, POVersion: 1,
				Lines: []procure.AckLine{{Line: 10, Status: procure.AckAccepted, Quantity: 100, PromisedDate: need}}}),
			ev(po+"-asn", procure.ASNSubmitted, asnAt, procure.DocumentRef{Kind: procure.DocASN, ID: "ASN" + po}, &procure.ShipNotice{
				ShipDate: asnAt, ExpectedArrival: grAt, Lines: lines}),
			ev(po+"-gr", procure.GoodsReceived, grAt, procure.DocumentRef{Kind: procure.DocReceipt, ID: "GR" + po}, &procure.Receipt{ASN: "ASN" + po,
				Lines: []procure.ReceiptLine{{PO: po, Line: 10, Item: "I1", ReceivedQuantity: received, Unit: "C62", Lot: lot}}}),
			ev(po+"-inv", procure.InvoiceStatusChanged, grAt.Add(min(10, 40)), procure.DocumentRef{Kind: procure.DocInvoice, ID: "INV" + po}, &procure.InvoiceStatus{
				Status: procure.InvoiceReceived, PO: po, Amount: 2 * invoiced, Currency: "EUR", Lines: []procure.InvoiceLine{{PO: po, Line: 10, Quantity: invoiced, UnitPrice: 2}}}),
		)
		if i%4 != 3 { // every fourth lot never gets its certificate
			out = append(out, ev(po+"-coa", procure.QualityDocumentAttached, grAt.Add(min(-20, 20)), procure.DocumentRef{Kind: procure.DocQuality, ID: "COA" + po},
				&procure.QualityDocument{DocType: "coa", CertificateID: "COA" + po, Item: "I1", Lot: lot, PO: po, Line: 10}))
		}
	}
	// As the collector passes them on: encoded and decoded.
	for i, e := range out {
		raw, err := procure.Encode(e)
		if err != nil {
			panic(err)
		}
		if out[i], err = procure.Decode(raw); err != nil {
			panic(fmt.Sprintf("%s: %v", e.ID, err))
		}
	}
	slices.SortStableFunc(out, func(a, b *procure.Event) int { return a.OccurredAt.Compare(b.OccurredAt) })
	return out
}

// The exceptions of a set of document chains do not depend on how the
// events are batched or on the partitions they arrive on: fed one event at
// a time in business order, all in one batch (in random order), and
// spread over four partitions by document key, each partition delivered
// in order but up to 55 minutes (business time) behind another, merged
// and cut into random batches with the scheduler firing on event time in
// between, the engine raises the same exceptions, and none of them is
// raised and then cleared. The partitioned run must actually apply
// receipts before their ASN and certificates after their receipt.
func TestExceptionsDoNotDependOnBatchingOrPartitions(t *testing.T) {
	ctx := context.Background()
	rs, err := rules.LoadDir("default", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	events := crossChains(60, 1)
	end := events[len(events)-1].OccurredAt.Add(2 * time.Hour)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// run feeds the batches, firing due timers on event time before each,
	// and returns the exceptions once everything has settled.
	run := func(batches [][]*procure.Event) ([]string, []procure.Exception) {
		store := rules.NewMemStore()
		var clock time.Time
		sched := sla.New(sla.Config{}, store, log, func() time.Time { return clock })
		en := rules.NewEngine(store, rules.NewEvaluator(rs), sched, log, func() time.Time { return clock })
		for _, b := range batches {
			if _, err := sched.FireDue(ctx, clock); err != nil {
				t.Fatal(err)
			}
			if _, err := en.Process(ctx, b); err != nil {
				t.Fatal(err)
			}
			for _, e := range b {
				if e.OccurredAt.After(clock) {
					clock = e.OccurredAt
				}
			}
		}
		clock = end
		if _, err := sched.FireDue(ctx, end); err != nil {
			t.Fatal(err)
		}
		xs := store.Exceptions()
		return summary(xs), xs
	}

	// One event at a time, in business order.
	var single [][]*procure.Event
	for _, e := range events {
		single = append(single, []*procure.Event{e})
	}
	want, xs := run(single)

	// All in one batch, in random order.
	r := rand.New(rand.NewPCG(2, 3))
	all := slices.Clone(events)
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	oneBatch, _ := run([][]*procure.Event{all})

	// Four partitions by document key, each behind by its own lag.
	type arrival struct {
		at time.Time
		e  *procure.Event
	}
	lags := []time.Duration{0, 20 * time.Minute, 40 * time.Minute, 55 * time.Minute}
	var merged []arrival
	last := make([]time.Time, len(lags))
	for _, e := range events {
		h := fnv.New32a()
		h.Write([]byte(e.DocumentKey()))
		p := int(h.Sum32() % uint32(len(lags)))
		at := e.OccurredAt.Add(lags[p] + time.Duration(r.IntN(300))*time.Second)
		if at.Before(last[p]) { // in order within a partition
			at = last[p]
		}
		last[p] = at
		merged = append(merged, arrival{at, e})
	}
	slices.SortStableFunc(merged, func(a, b arrival) int { return a.at.Compare(b.at) })
	var parts [][]*procure.Event
	for i := 0; i < len(merged); {
		n := min(1+r.IntN(30), len(merged)-i)
		var b []*procure.Event
		for _, a := range merged[i : i+n] {
			b = append(b, a.e)
		}
		parts = append(parts, b)
		i += n
	}
	// The scenario must invert cross-document order.
	pos := map[string]int{}
	for i, a := range merged {
		pos[a.e.ID] = i
	}
	var receiptFirst, certLate int
	for _, e := range events {
		if e.Type == procure.GoodsReceived {
			po := e.ID[:len(e.ID)-len("-gr")]
			if pos[e.ID] < pos[po+"-asn"] {
				receiptFirst++
			}
			if c, ok := pos[po+"-coa"]; ok && c > pos[e.ID] {
				certLate++
			}
		}
	}
	if receiptFirst == 0 || certLate == 0 {
		t.Fatalf("the partitioned delivery inverts nothing (%d receipts before their ASN, %d certificates after their receipt)", receiptFirst, certLate)
	}
	partitioned, _ := run(parts)

	counts := map[string]int{}
	for _, x := range xs {
		counts[x.Rule]++
		if x.State != procure.ExceptionOpen {
			t.Errorf("raised then cleared: %s", rules.Describe(x))
		}
	}
	for _, rule := range []string{"receipt-variance", "certificate-missing-at-receipt", "invoice-quantity-variance", "asn-unknown-po-line"} {
		if counts[rule] == 0 {
			t.Errorf("the chains raise no %s (%v)", rule, counts)
		}
	}
	t.Logf("%d events, %d exceptions %v; partitioned: %d batches, %d receipts before their ASN, %d certificates after their receipt",
		len(events), len(xs), counts, len(parts), receiptFirst, certLate)
	if !slices.Equal(oneBatch, want) {
		t.Errorf("all in one batch:\n%v\nwant (one at a time):\n%v", oneBatch, want)
	}
	if !slices.Equal(partitioned, want) {
		t.Errorf("across partitions:\n%v\nwant (one at a time):\n%v", partitioned, want)
	}
}
