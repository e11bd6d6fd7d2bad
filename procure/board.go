package procure

import (
	"slices"
	"sort"
	"strconv"
	"time"
)

// Inbound line statuses on the plant board.
const (
	InboundReceived   = "received"
	InboundInTransit  = "in_transit"
	InboundASNMissing = "asn_missing"
	InboundAwaiting   = "awaiting_asn"
)

// BoardDay is one day of a plant's inbound.
type BoardDay struct {
	Date         string `json:"date"`
	Expected     int    `json:"expected"`
	ASNReceived  int    `json:"asn_received"`
	ASNMissing   int    `json:"asn_missing"`
	InTransit    int    `json:"in_transit"`
	Received     int    `json:"received"`
	QualityHolds int    `json:"quality_holds"`
	AtRisk       int    `json:"at_risk"`
}

// BoardLine is one expected delivery: an order line not fully received.
type BoardLine struct {
	PO         string    `json:"po"`
	Line       int       `json:"line"`
	Item       string    `json:"item"`
	Supplier   string    `json:"supplier"`
	Quantity   float64   `json:"quantity"`
	Unit       string    `json:"unit"`
	Shipped    float64   `json:"shipped"`
	Received   float64   `json:"received"`
	ExpectedAt time.Time `json:"expected_at"`
	NeedBy     time.Time `json:"need_by"`
	Arrival    time.Time `json:"arrival"`
	ASNs       []string  `json:"asns"`
	Status     string    `json:"status"`
	OnHold     bool      `json:"on_hold"`
	// AtRisk marks what will hit production: needed within two days and
	// not on its way in time, or on hold.
	AtRisk bool   `json:"at_risk"`
	Why    string `json:"why,omitempty"`
}

// Board is a plant's inbound over some days, plus what is overdue.
type Board struct {
	Plant   string       `json:"plant"`
	From    string       `json:"from"`
	Days    []BoardDay   `json:"days"`
	Overdue []*BoardLine `json:"overdue"`
	Lines   []*BoardLine `json:"lines"`
}

// BuildBoard buckets the open order lines of a plant by expected date (the
// supplier's promised date, else the need-by date) into days from from on,
// judged at now, with the lots their shipments carry (read beforehand: it
// does no I/O and reads no clock).
func BuildBoard(plant string, orders []*Order, lots []*LotState, from time.Time, days int, now time.Time) *Board {
	onHold := map[string]bool{}
	for _, l := range lots {
		for _, h := range l.Holds {
			if h.ReleasedAt.IsZero() {
				onHold[l.Item+"/"+l.Lot] = true
			}
		}
	}
	b := &Board{Plant: plant, From: from.Format("2006-01-02"), Overdue: []*BoardLine{}, Lines: []*BoardLine{}}
	for i := range days {
		b.Days = append(b.Days, BoardDay{Date: from.AddDate(0, 0, i).Format("2006-01-02")})
	}
	to := from.AddDate(0, 0, days)
	for _, o := range orders {
		if o.Status == "cancelled" {
			continue
		}
		for _, l := range o.Lines {
			if !l.Ordered {
				continue
			}
			bl := &BoardLine{PO: o.ID, Line: l.Number, Item: l.Item, Supplier: o.Supplier, Quantity: l.Quantity, Unit: l.Unit,
				Shipped: l.Shipped, Received: l.Received, NeedBy: l.NeedBy, ExpectedAt: l.NeedBy, ASNs: []string{}}
			if l.Ack.Acked && !l.Ack.PromisedDate.IsZero() {
				bl.ExpectedAt = l.Ack.PromisedDate
			}
			if bl.ExpectedAt.IsZero() {
				continue
			}
			for _, s := range l.Shipments {
				if s.Cancelled {
					continue
				}
				if !slices.Contains(bl.ASNs, s.ASN) {
					bl.ASNs = append(bl.ASNs, s.ASN)
				}
				if s.Arrival.After(bl.Arrival) {
					bl.Arrival = s.Arrival
				}
				if onHold[l.Item+"/"+s.Lot] {
					bl.OnHold = true
				}
			}
			fully := l.Received > 0 && l.Received+1e-9 >= l.Quantity
			switch {
			case l.Received > 0:
				bl.Status = InboundReceived
			case l.Shipped > 0:
				bl.Status = InboundInTransit
			case bl.ExpectedAt.Before(now.Add(48 * time.Hour)):
				bl.Status = InboundASNMissing
			default:
				bl.Status = InboundAwaiting
			}
			need := bl.NeedBy
			if need.IsZero() {
				need = bl.ExpectedAt
			}
			if !fully && need.Before(now.Add(48*time.Hour)) {
				switch {
				case bl.Status == InboundASNMissing || bl.Status == InboundAwaiting:
					bl.AtRisk, bl.Why = true, "needed by "+need.Format("Jan 2")+" and no ASN"
				case bl.Status == InboundInTransit && bl.Arrival.After(need):
					bl.AtRisk, bl.Why = true, "arrives "+bl.Arrival.Format("Jan 2")+", after it is needed"
				}
			}
			if bl.OnHold {
				bl.AtRisk, bl.Why = true, "lot on quality hold"
				if !fully && bl.Arrival.After(need) {
					bl.Why += "; arrives " + bl.Arrival.Format("Jan 2") + ", after it is needed"
				}
			}
			switch {
			case bl.ExpectedAt.Before(from):
				if !fully {
					b.Overdue = append(b.Overdue, bl)
				}
			case bl.ExpectedAt.Before(to):
				d := &b.Days[int(bl.ExpectedAt.Sub(from).Hours()/24)]
				d.Expected++
				if len(bl.ASNs) > 0 {
					d.ASNReceived++
				}
				switch bl.Status {
				case InboundASNMissing:
					d.ASNMissing++
				case InboundInTransit:
					d.InTransit++
				case InboundReceived:
					d.Received++
				}
				if bl.OnHold {
					d.QualityHolds++
				}
				if bl.AtRisk {
					d.AtRisk++
				}
				b.Lines = append(b.Lines, bl)
			}
		}
	}
	order := func(ls []*BoardLine) {
		sort.SliceStable(ls, func(i, j int) bool {
			if ls[i].AtRisk != ls[j].AtRisk {
				return ls[i].AtRisk
			}
			if !ls[i].ExpectedAt.Equal(ls[j].ExpectedAt) {
				return ls[i].ExpectedAt.Before(ls[j].ExpectedAt)
			}
			return ls[i].PO+strconv.Itoa(ls[i].Line) < ls[j].PO+strconv.Itoa(ls[j].Line)
		})
	}
	order(b.Overdue)
	order(b.Lines)
	return b
}
