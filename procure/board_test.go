package procure

import (
	"reflect"
	"testing"
	"time"
)

// TestBuildBoard buckets a plant's order lines into a week from Monday 18
// May 2026, judged on that Monday at 09:00: each order below is one line
// of 100 named by its PO, needed on a literal date.
func TestBuildBoard(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 5, d, 0, 0, 0, 0, time.UTC) }
	from, now := day(18), day(18).Add(9*time.Hour)
	order := func(po string, needBy time.Time, mod func(l *OrderLine)) *Order {
		o := &Order{ID: po, Released: true, Status: "open", Supplier: "S-" + po, Plant: "P1",
			Lines: []OrderLine{{Number: 10, Ordered: true, Item: "I1", Quantity: 100, Unit: "C62", NeedBy: needBy}}}
		if mod != nil {
			mod(&o.Lines[0])
		}
		return o
	}
	shipped := func(lot string, arrival time.Time) func(l *OrderLine) {
		return func(l *OrderLine) {
			l.Shipped = 100
			l.Shipments = []Shipment{{ASN: "ASN-" + lot, Quantity: 100, Lot: lot, Arrival: arrival}, {ASN: "ASN-X", Quantity: 100, Lot: "HELD", Arrival: day(30), Cancelled: true}}
		}
	}
	cancelled := order("I", day(19), nil)
	cancelled.Status = "cancelled"
	orders := []*Order{
		order("A", day(19), nil),                                     // no ASN, needed tomorrow: ASN missing, at risk
		order("B", day(23), nil),                                     // no ASN, needed Saturday: awaiting, fine
		order("C", day(19), shipped("LC", day(21))),                  // on its way, arrives after it is needed
		order("D", day(20), shipped("LD", day(19))),                  // on its way in time (its lot's hold is released)
		order("E", day(15), nil),                                     // before the week, not received: overdue
		order("F", day(15), func(l *OrderLine) { l.Received = 100 }), // before the week, received: gone
		order("G", day(21), func(l *OrderLine) { shipped("HELD", day(20))(l); l.Received = 100 }), // received, lot on hold
		order("H", day(26), nil), // after the week
		cancelled,
		order("J", day(19), func(l *OrderLine) { l.Ordered = false }), // not on the version in force
		order("K", day(19), func(l *OrderLine) { l.Ack = LineAck{Acked: true, Status: AckChanged, PromisedDate: day(24)} }),
		order("L", time.Time{}, nil), // no date at all: not on the board
	}
	lots := []*LotState{
		{Item: "I1", Lot: "HELD", Holds: []Hold{{ID: "H1", PlacedAt: day(17)}}},
		{Item: "I1", Lot: "LD", Holds: []Hold{{ID: "H2", PlacedAt: day(17), ReleasedAt: day(18)}}},
		{Item: "I2", Lot: "LC", Holds: []Hold{{ID: "H3", PlacedAt: day(17)}}}, // another item's lot of that name
	}
	b := BuildBoard("P1", orders, lots, from, 7, now)

	if b.Plant != "P1" || b.From != "2026-05-18" {
		t.Errorf("board of %s from %s", b.Plant, b.From)
	}
	type line struct {
		po, status string
		atRisk     bool
		why        string
		expected   time.Time
	}
	lines := func(ls []*BoardLine) []line {
		out := []line{}
		for _, l := range ls {
			out = append(out, line{l.PO, l.Status, l.AtRisk, l.Why, l.ExpectedAt})
		}
		return out
	}
	// At risk first, then by expected date, then by PO and line.
	wantLines := []line{
		{"A", InboundASNMissing, true, "needed by May 19 and no ASN", day(19)},
		{"C", InboundInTransit, true, "arrives May 21, after it is needed", day(19)},
		{"G", InboundReceived, true, "lot on quality hold", day(21)},
		{"K", InboundAwaiting, true, "needed by May 19 and no ASN", day(24)},
		{"D", InboundInTransit, false, "", day(20)},
		{"B", InboundAwaiting, false, "", day(23)},
	}
	if got := lines(b.Lines); !reflect.DeepEqual(got, wantLines) {
		t.Errorf("lines:\n got %+v\nwant %+v", got, wantLines)
	}
	if got, want := lines(b.Overdue), []line{{"E", InboundASNMissing, true, "needed by May 15 and no ASN", day(15)}}; !reflect.DeepEqual(got, want) {
		t.Errorf("overdue: %+v, want %+v", got, want)
	}
	wantDays := []BoardDay{
		{Date: "2026-05-18"},
		{Date: "2026-05-19", Expected: 2, ASNReceived: 1, ASNMissing: 1, InTransit: 1, AtRisk: 2},
		{Date: "2026-05-20", Expected: 1, ASNReceived: 1, InTransit: 1},
		{Date: "2026-05-21", Expected: 1, ASNReceived: 1, Received: 1, QualityHolds: 1, AtRisk: 1},
		{Date: "2026-05-22"},
		{Date: "2026-05-23", Expected: 1},
		{Date: "2026-05-24", Expected: 1, AtRisk: 1},
	}
	if !reflect.DeepEqual(b.Days, wantDays) {
		t.Errorf("days:\n got %+v\nwant %+v", b.Days, wantDays)
	}
	for _, l := range b.Lines {
		switch l.PO {
		case "C":
			if !reflect.DeepEqual(l.ASNs, []string{"ASN-LC"}) || !l.Arrival.Equal(day(21)) || l.OnHold || l.Supplier != "S-C" || l.Quantity != 100 || l.Unit != "C62" {
				t.Errorf("C: %+v (the cancelled shipment's ASN and lot must not count)", l)
			}
		case "K":
			if !l.NeedBy.Equal(day(19)) || !l.ExpectedAt.Equal(day(24)) || len(l.ASNs) != 0 || l.ASNs == nil {
				t.Errorf("K: %+v (expected on the promised date, need-by kept, ASNs an empty list)", l)
			}
		}
	}
}

// TestBuildBoardHoldOnALateLine says both reasons when a held lot also
// arrives after it is needed, and leaves an empty week empty.
func TestBuildBoardHoldOnALateLine(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 5, d, 0, 0, 0, 0, time.UTC) }
	o := &Order{ID: "M", Status: "open", Lines: []OrderLine{{Number: 1, Ordered: true, Item: "I1", Quantity: 10, NeedBy: day(19), Shipped: 10,
		Shipments: []Shipment{{ASN: "S1", Lot: "L", Arrival: day(22)}}}}}
	lots := []*LotState{{Item: "I1", Lot: "L", Holds: []Hold{{ID: "H"}}}}
	b := BuildBoard("P1", []*Order{o}, lots, day(18), 3, day(18))
	if len(b.Lines) != 1 || b.Lines[0].Why != "lot on quality hold; arrives May 22, after it is needed" || !b.Lines[0].OnHold {
		t.Fatalf("lines: %+v", b.Lines)
	}
	if len(b.Days) != 3 || b.Days[2].Date != "2026-05-20" {
		t.Errorf("days: %+v", b.Days)
	}
	empty := BuildBoard("P2", nil, nil, day(18), 2, day(18))
	if empty.Lines == nil || empty.Overdue == nil || len(empty.Lines)+len(empty.Overdue) != 0 || len(empty.Days) != 2 {
		t.Errorf("empty board: %+v (lists must be empty, not null, in the JSON)", empty)
	}
}
