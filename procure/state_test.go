package procure

import (
	"testing"
	"time"
)

func TestOrderApply(t *testing.T) {
	t0 := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	po := func(v int, at time.Time, qty float64) (*Event, *PurchaseOrder) {
		return &Event{ID: "po" + at.String(), Type: POReleased, OccurredAt: at, Supplier: "S1", Plant: "P1", Document: DocumentRef{Kind: DocPO, ID: "1", Version: v}},
			&PurchaseOrder{OrderType: "standard", Currency: "EUR", Lines: []POLine{{Line: 10, Item: "I1", Quantity: qty, Unit: "C62", UnitPrice: 2, NeedBy: DateOf(t0.AddDate(0, 0, 20))}}}
	}
	t.Run("ack before its PO is kept and the PO fills in the line", func(t *testing.T) {
		o := &Order{ID: "1"}
		o.ApplyAck(&Event{OccurredAt: t0.Add(time.Hour), Supplier: "S1"}, &Acknowledgement{AckID: "A1", Lines: []AckLine{{Line: 10, Status: AckAccepted, Quantity: 100}}})
		if o.Released || !o.Lines[0].Ack.Acked || o.Lines[0].Ordered {
			t.Fatalf("after early ack: %+v", o)
		}
		e, p := po(1, t0, 100)
		if !o.ApplyVersion(e, p) {
			t.Fatal("release not applied")
		}
		l := o.FindLine(10)
		if !l.Ordered || l.Quantity != 100 || !l.Ack.Acked || l.Ack.Quantity != 100 || o.Value() != 200 {
			t.Fatalf("after release: %+v", l)
		}
	})
	t.Run("older version after a newer one is recorded, not applied", func(t *testing.T) {
		o := &Order{ID: "1"}
		e2, p2 := po(2, t0.Add(time.Hour), 80)
		e1, p1 := po(1, t0, 100)
		o.ApplyVersion(e2, p2)
		if o.ApplyVersion(e1, p1) {
			t.Fatal("older version applied")
		}
		if o.Version != 2 || o.FindLine(10).Quantity != 80 || len(o.Superseded) != 1 || o.Superseded[0].Version != 1 {
			t.Fatalf("state: %+v", o)
		}
	})
	t.Run("ASN resubmitted replaces its lines and cancel removes them", func(t *testing.T) {
		o := &Order{ID: "1"}
		e := &Event{OccurredAt: t0, Document: DocumentRef{Kind: DocASN, ID: "ASN1"}}
		asn := &ShipNotice{Lines: []ASNLine{{PO: "1", Line: 10, Quantity: 40}, {PO: "1", Line: 10, Quantity: 10}, {PO: "2", Line: 10, Quantity: 5}}}
		o.ApplyShipNotice(e, asn)
		o.ApplyShipNotice(e, asn)
		if got := o.FindLine(10).Shipped; got != 50 {
			t.Fatalf("shipped %v, want 50", got)
		}
		o.ApplyASNCancel("ASN1")
		if got := o.FindLine(10).Shipped; got != 0 {
			t.Fatalf("shipped after cancel %v", got)
		}
	})
	t.Run("older ack does not overwrite a newer answer", func(t *testing.T) {
		o := &Order{ID: "1"}
		o.ApplyAck(&Event{OccurredAt: t0.Add(2 * time.Hour)}, &Acknowledgement{AckID: "A2", Lines: []AckLine{{Line: 10, Status: AckAccepted, Quantity: 100}}})
		o.ApplyAck(&Event{OccurredAt: t0.Add(time.Hour)}, &Acknowledgement{AckID: "A1", Lines: []AckLine{{Line: 10, Status: AckChanged, Quantity: 50}}})
		if a := o.FindLine(10).Ack; a.AckID != "A2" {
			t.Fatalf("ack %+v", a)
		}
	})
}

func TestExceptionTransitions(t *testing.T) {
	t0 := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	c := &ExceptionCandidate{Tenant: "acme", Rule: "r", Subject: "po/1", Severity: SeverityLow, At: t0}
	x := NewException(c)
	if err := x.Transition(ExceptionIgnored, t0); err != nil {
		t.Fatal(err)
	}
	if k := x.Recur(c); k != OutboxRecurred || x.State != ExceptionIgnored || x.Occurrences != 2 {
		t.Fatalf("ignored exception after recurrence: %s %+v", k, x)
	}
	if err := x.Transition(ExceptionAcknowledged, t0); ErrorCode(err) != EINVALID {
		t.Fatalf("ignored → acknowledged: %v", err)
	}
	if p := Priority(SeverityCritical, t0.Add(24*time.Hour), 200000, t0); p != 1 {
		t.Fatalf("priority %d", p)
	}
	if p := Priority(SeverityLow, time.Time{}, 0, t0); p != 4 {
		t.Fatalf("priority %d", p)
	}
}
