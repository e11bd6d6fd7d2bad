package procure

import (
	"reflect"
	"testing"
	"time"
)

// TestBuildChain judges the chain of one order at literal instants: each
// case changes the order (or its invoices and lots) and names the steps
// whose status and text it expects, and the next step.
func TestBuildChain(t *testing.T) {
	released := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	need := time.Date(2026, 5, 22, 0, 0, 0, 0, time.UTC)
	acked := released.Add(3 * time.Hour)
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	// order is a released, unacknowledged order of one line of 100 at 2
	// EUR, needed on 22 May, with a line not on the version in force.
	order := func(mod func(o *Order)) *Order {
		o := &Order{ID: "4500001", Released: true, Version: 1, Status: "open", Supplier: "S1", Plant: "P1", Currency: "EUR", ReleasedAt: released,
			Lines: []OrderLine{
				{Number: 10, Ordered: true, Item: "I1", Quantity: 100, UnitPrice: 2, NeedBy: need},
				{Number: 20, Item: "I9", Quantity: 7, UnitPrice: 50, NeedBy: need.AddDate(0, 0, -9), Ack: LineAck{Acked: true, Status: AckRejected}},
			}}
		if mod != nil {
			mod(o)
		}
		return o
	}
	ack := func(o *Order) {
		o.AckedAt, o.AckedVersion = acked, o.Version
		o.Lines[0].Ack = LineAck{Acked: true, Status: AckAccepted}
	}
	ship := func(qty float64, arrival time.Time) func(o *Order) {
		return func(o *Order) {
			ack(o)
			o.ASNs = []string{"ASN1"}
			l := &o.Lines[0]
			l.Shipped, l.FirstASNAt = qty, released.AddDate(0, 0, 5)
			l.Shipments = []Shipment{{ASN: "ASN1", Quantity: qty, Lot: "L1", Arrival: arrival}, {ASN: "ASN0", Quantity: 40, Arrival: arrival.AddDate(0, 0, 3), Cancelled: true}}
		}
	}
	receive := func(qty, rej float64) func(o *Order) {
		return func(o *Order) {
			ship(100, need.Add(-30*time.Hour))(o)
			l := &o.Lines[0]
			l.Received, l.Rejected, l.FirstReceiptAt = qty, rej, need.Add(-20*time.Hour)
		}
	}
	type want struct{ status, detail string }
	cases := []struct {
		name  string
		o     *Order
		invs  []*InvoiceState
		lots  []*LotState
		now   time.Time
		loc   *time.Location
		steps map[string]want
		next  string
	}{
		{name: "just released: acknowledgement missing, the rest to come", o: order(nil), now: released.Add(time.Hour),
			steps: map[string]want{
				"po":              {StepDone, "version 1, 1 lines, 200.00 EUR"},
				"acknowledgement": {StepMissing, "not acknowledged since 2026-05-12 08:00 UTC"},
				"changes":         {StepNone, "no change requests"},
				"asn":             {StepDue, "no ASN yet"},
				"receipt":         {StepDue, "nothing received yet"},
				"quality":         {StepNone, "no lots recorded"},
				"invoice":         {StepDue, "no invoice yet"},
			}, next: "acknowledgement"},
		{name: "missing acknowledgement is told in the plant's zone", o: order(nil), now: released.Add(time.Hour), loc: chicago,
			steps: map[string]want{"acknowledgement": {StepMissing, "not acknowledged since 2026-05-12 03:00 CDT"}}, next: "acknowledgement"},
		{name: "ASN still due exactly 48h before the need-by date", o: order(ack), now: need.Add(-48 * time.Hour),
			steps: map[string]want{"acknowledgement": {StepDone, "1 accepted"}, "asn": {StepDue, "no ASN yet"}}, next: "asn"},
		{name: "late ASN: missing within 48h of the need-by date", o: order(ack), now: need.Add(-48*time.Hour + time.Second),
			steps: map[string]want{"asn": {StepMissing, "no ASN, delivery due 2026-05-22"}}, next: "asn"},
		{name: "a promised date earlier than the need-by date makes the ASN late sooner", o: order(func(o *Order) {
			ack(o)
			o.Lines[0].Ack.PromisedDate = need.AddDate(0, 0, -5)
		}), now: need.AddDate(0, 0, -6),
			steps: map[string]want{"asn": {StepMissing, "no ASN, delivery due 2026-05-17"}}, next: "asn"},
		{name: "partial ASN", o: order(ship(60, need)), now: need.AddDate(0, 0, -3),
			steps: map[string]want{"asn": {StepAttention, "60 of 100 shipped on 1 ASN"}, "receipt": {StepDue, "nothing received yet"}}, next: "asn"},
		{name: "missing receipt after the expected arrival, dated in the plant's zone", o: order(ship(100, time.Date(2026, 5, 21, 2, 0, 0, 0, time.UTC))),
			now: time.Date(2026, 5, 21, 3, 0, 0, 0, time.UTC), loc: chicago,
			steps: map[string]want{"asn": {StepDone, "100 shipped on 1 ASN"}, "receipt": {StepMissing, "expected arrival 2026-05-20 passed, nothing received"}}, next: "receipt"},
		{name: "receipt not missing before the arrival", o: order(ship(100, time.Date(2026, 5, 21, 2, 0, 0, 0, time.UTC))),
			now:   time.Date(2026, 5, 21, 2, 0, 0, 0, time.UTC),
			steps: map[string]want{"receipt": {StepDue, "nothing received yet"}}, next: "receipt"},
		{name: "partial receipt with rejects", o: order(receive(80, 5)), now: need,
			steps: map[string]want{"receipt": {StepAttention, "80 received, 5 rejected of 100 shipped"}}, next: "receipt"},
		{name: "full receipt; lot on hold; invoice blocked", o: order(receive(100, 0)), now: need,
			lots: []*LotState{{Item: "I1", Lot: "L1", Certificates: []Certificate{{Type: "3.1", ID: "C1"}}, Holds: []Hold{{ID: "H1", PlacedAt: need}}}},
			invs: []*InvoiceState{{ID: "INV1", Status: InvoiceBlocked, BlockReason: "price variance"}, {ID: "INV2", Status: InvoicePaid}},
			steps: map[string]want{
				"receipt": {StepDone, "100 received"},
				"quality": {StepAttention, "1 lot on quality hold"},
				"invoice": {StepAttention, "INV1 blocked (price variance); INV2 paid"},
			}, next: "quality"},
		{name: "released holds and paid invoice: the chain is done", o: order(receive(100, 0)), now: need,
			lots:  []*LotState{{Item: "I1", Lot: "L1", Certificates: []Certificate{{Type: "3.1", ID: "C1"}}, Holds: []Hold{{ID: "H1", PlacedAt: need, ReleasedAt: need.Add(time.Hour)}}}, {Item: "I1", Lot: "L2"}},
			invs:  []*InvoiceState{{ID: "INV2", Status: InvoicePaid}},
			steps: map[string]want{"quality": {StepDone, "2 lots, 1 certificate"}, "invoice": {StepDone, "INV2 paid"}}, next: ""},
		{name: "acknowledged an older version", o: order(func(o *Order) { ack(o); o.Version = 2 }), now: released,
			steps: map[string]want{"po": {StepDone, "version 2, 1 lines, 200.00 EUR"}, "acknowledgement": {StepAttention, "acknowledged version 1, version 2 is in force; 1 accepted"}}, next: "acknowledgement"},
		{name: "acknowledged with changes", o: order(func(o *Order) { ack(o); o.Lines[0].Ack.Status = AckChanged }), now: released,
			steps: map[string]want{"acknowledgement": {StepAttention, "1 changed"}}, next: "acknowledgement"},
		{name: "one of two ordered lines acknowledged", o: order(func(o *Order) {
			ack(o)
			o.Lines[1].Ordered = true
			o.Lines[1].Ack = LineAck{}
		}), now: released,
			steps: map[string]want{"po": {StepDone, "version 1, 2 lines, 550.00 EUR"}, "acknowledgement": {StepAttention, "1 of 2 lines acknowledged"}}, next: "acknowledgement"},
		{name: "change requests awaiting a decision", o: order(func(o *Order) {
			ack(o)
			o.ChangeRequests = []ChangeRequestState{{ID: "CR1", Decision: "accepted"}, {ID: "CR2"}}
		}), now: released,
			steps: map[string]want{"changes": {StepAttention, "1 of 2 change requests await a decision"}}, next: "changes"},
		{name: "change requests decided", o: order(func(o *Order) {
			ack(o)
			o.ChangeRequests = []ChangeRequestState{{ID: "CR1", Decision: "accepted"}}
		}), now: released,
			steps: map[string]want{"changes": {StepDone, "1 change request decided"}}, next: "asn"},
		{name: "cancelled order", o: order(func(o *Order) { o.Status, o.CancelledAt = "cancelled", need.Add(-time.Minute) }), now: need,
			steps: map[string]want{"po": {StepAttention, "cancelled 2026-05-21"}}, next: "po"},
		{name: "events arrived before the release", o: order(func(o *Order) { o.Released = false }), now: released,
			steps: map[string]want{"po": {StepMissing, "events about this order arrived, its release did not"}}, next: "po"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := tc.loc
			if loc == nil {
				loc = time.UTC
			}
			ch := BuildChain(tc.o, tc.invs, tc.lots, tc.now, loc)
			var names []string
			got := map[string]ChainStep{}
			for _, s := range ch.Steps {
				names = append(names, s.Step)
				got[s.Step] = s
			}
			if want := []string{"po", "acknowledgement", "changes", "asn", "receipt", "quality", "invoice"}; !reflect.DeepEqual(names, want) || ch.PO != "4500001" {
				t.Fatalf("chain of %s has steps %v, want %v", ch.PO, names, want)
			}
			for step, w := range tc.steps {
				if s := got[step]; s.Status != w.status || s.Detail != w.detail {
					t.Errorf("%s: %s %q, want %s %q", step, s.Status, s.Detail, w.status, w.detail)
				}
			}
			if ch.Next != tc.next {
				t.Errorf("next: %q, want %q", ch.Next, tc.next)
			}
		})
	}
}

// TestBuildChainInstants checks the instants and references the steps carry,
// not only their texts.
func TestBuildChainInstants(t *testing.T) {
	released := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	need := time.Date(2026, 5, 22, 0, 0, 0, 0, time.UTC)
	arrival := time.Date(2026, 5, 20, 14, 0, 0, 0, time.UTC)
	o := &Order{ID: "1", Released: true, Version: 1, ReleasedAt: released, AckedAt: released.Add(time.Hour), AckedVersion: 1, Currency: "EUR", ASNs: []string{"A1", "A2"},
		Lines: []OrderLine{
			{Number: 10, Ordered: true, Quantity: 10, NeedBy: need, Ack: LineAck{Acked: true, Status: AckAccepted}, Shipped: 10, FirstASNAt: released.AddDate(0, 0, 2),
				Shipments: []Shipment{{ASN: "A1", Quantity: 10, Arrival: arrival}}},
			{Number: 20, Ordered: true, Quantity: 5, NeedBy: need, Ack: LineAck{Acked: true, Status: AckAccepted}, Shipped: 5, FirstASNAt: released.AddDate(0, 0, 1),
				Shipments: []Shipment{{ASN: "A2", Quantity: 5, Arrival: arrival.Add(-time.Hour)}, {ASN: "A3", Quantity: 5, Arrival: arrival.Add(time.Hour), Cancelled: true}}},
		}}
	ch := BuildChain(o, nil, nil, arrival.Add(time.Minute), time.UTC)
	steps := map[string]ChainStep{}
	for _, s := range ch.Steps {
		steps[s.Step] = s
	}
	if s := steps["po"]; !s.At.Equal(released) {
		t.Errorf("po at %v, want %v", s.At, released)
	}
	if s := steps["acknowledgement"]; !s.At.Equal(released.Add(time.Hour)) {
		t.Errorf("acknowledgement at %v", s.At)
	}
	// The first ASN of any line; the latest arrival of a shipment not
	// cancelled.
	if s := steps["asn"]; s.Status != StepDone || !s.At.Equal(released.AddDate(0, 0, 1)) || !reflect.DeepEqual(s.Refs, []string{"A1", "A2"}) || s.Detail != "15 shipped on 2 ASNs" {
		t.Errorf("asn: %+v", s)
	}
	if s := steps["receipt"]; s.Status != StepMissing || !s.Due.Equal(arrival) {
		t.Errorf("receipt: %+v, want missing, due %v", s, arrival)
	}
	if s := steps["invoice"]; s.Refs != nil {
		t.Errorf("invoice refs without invoices: %v", s.Refs)
	}
}
