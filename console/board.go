package console

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/procure"
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

func (c *Console) plantBoard(g *gin.Context) {
	p := principalOf(g)
	plant := g.Param("plant")
	if !p.Scope().HasPlant(plant) {
		c.fail(g, procure.Errorf(procure.EFORBIDDEN, "plant %s is not one of yours", plant))
		return
	}
	now := c.now()
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if v := g.Query("from"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			c.fail(g, invalid("from", "must be a date like 2026-05-12"))
			return
		}
		from = t
	}
	days := 7
	if v := g.Query("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 31 {
			c.fail(g, invalid("days", "must be 1 to 31"))
			return
		}
		days = n
	}
	ctx := g.Request.Context()
	orders, err := c.store.FindOrders(ctx, p.Scope(), plant, "", 5000)
	if err != nil {
		c.fail(g, err)
		return
	}
	var lotIDs []string
	for _, o := range orders {
		for _, l := range o.Lines {
			for _, s := range l.Shipments {
				if s.Lot != "" {
					lotIDs = append(lotIDs, l.Item+"/"+s.Lot)
				}
			}
		}
	}
	lots, err := c.store.FindLots(ctx, p.Tenant, lotIDs)
	if err != nil {
		c.fail(g, err)
		return
	}
	c.respond(g, http.StatusOK, buildBoard(plant, orders, lots, from, days, now))
}

// buildBoard buckets the open order lines of a plant by expected date (the
// supplier's promised date, else the need-by date).
func buildBoard(plant string, orders []*procure.Order, lots []*procure.LotState, from time.Time, days int, now time.Time) *Board {
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

// supplierView is a supplier's open documents, exceptions and response
// times, within the caller's scope.
func (c *Console) supplierView(g *gin.Context) {
	p := principalOf(g)
	supplier := g.Param("supplier")
	ctx, sc := g.Request.Context(), p.Scope()
	orders, err := c.store.FindOrders(ctx, sc, "", supplier, 2000)
	if err != nil {
		c.fail(g, err)
		return
	}
	items, _, err := c.store.FindQueue(ctx, sc, procure.QueueFilter{Supplier: supplier, Limit: 100, Now: c.now(), IncludeSnoozed: true})
	if err != nil {
		c.fail(g, err)
		return
	}
	var ackHours []float64
	open, unacked := []gin.H{}, 0
	for _, o := range orders {
		if !o.AckedAt.IsZero() && !o.ReleasedAt.IsZero() && o.AckedAt.After(o.ReleasedAt) {
			ackHours = append(ackHours, o.AckedAt.Sub(o.ReleasedAt).Hours())
		}
		if o.Status == "cancelled" {
			continue
		}
		var qty, rec float64
		for _, l := range o.Lines {
			if l.Ordered {
				qty += l.Quantity
				rec += l.Received
			}
		}
		if rec+1e-9 >= qty && qty > 0 {
			continue
		}
		if o.AckedAt.IsZero() {
			unacked++
		}
		open = append(open, gin.H{"po": o.ID, "plant": o.Plant, "version": o.Version, "released_at": o.ReleasedAt, "acked_at": o.AckedAt,
			"acked_version": o.AckedVersion, "value": amountString(o.Value()), "currency": o.Currency, "quantity": qty, "received": rec, "asns": o.ASNs, "invoices": o.Invoices})
	}
	sort.Float64s(ackHours)
	pct := func(q float64) float64 {
		if len(ackHours) == 0 {
			return 0
		}
		return ackHours[min(len(ackHours)-1, int(q*float64(len(ackHours))))]
	}
	byRule := map[string]int{}
	for _, it := range items {
		byRule[it.Rule]++
	}
	c.respond(g, http.StatusOK, gin.H{"supplier": supplier, "open_orders": open, "unacknowledged": unacked, "exceptions": items,
		"exceptions_by_rule": byRule, "ack_hours_p50": pct(0.5), "ack_hours_p90": pct(0.9), "acknowledged_orders": len(ackHours)})
}

// Supplier API: what a supplier may see of its own orders and invoices.
// It never shows internal controls: block reasons, tolerances, the buyer's
// price comparison, internal notes or exceptions.

type supplierLine struct {
	Line         int       `json:"line"`
	Item         string    `json:"item"`
	Quantity     float64   `json:"quantity"`
	Unit         string    `json:"unit"`
	UnitPrice    float64   `json:"unit_price"`
	NeedBy       time.Time `json:"need_by"`
	AckStatus    string    `json:"ack_status,omitempty"`
	PromisedDate time.Time `json:"promised_date"`
	Shipped      float64   `json:"shipped"`
	Received     float64   `json:"received"`
	Rejected     float64   `json:"rejected"`
}

type supplierOrder struct {
	PO           string         `json:"po"`
	Version      int            `json:"version"`
	Status       string         `json:"status"`
	Plant        string         `json:"plant"`
	Currency     string         `json:"currency"`
	Incoterm     string         `json:"incoterm,omitempty"`
	ReleasedAt   time.Time      `json:"released_at"`
	AckedAt      time.Time      `json:"acked_at"`
	AckedVersion int            `json:"acked_version"`
	Lines        []supplierLine `json:"lines"`
	ASNs         []string       `json:"asns"`
	Invoices     []string       `json:"invoices"`
}

func supplierOrderOf(o *procure.Order) supplierOrder {
	so := supplierOrder{PO: o.ID, Version: o.Version, Status: o.Status, Plant: o.Plant, Currency: o.Currency, Incoterm: o.Incoterm,
		ReleasedAt: o.ReleasedAt, AckedAt: o.AckedAt, AckedVersion: o.AckedVersion, Lines: []supplierLine{}, ASNs: o.ASNs, Invoices: o.Invoices}
	if so.ASNs == nil {
		so.ASNs = []string{}
	}
	if so.Invoices == nil {
		so.Invoices = []string{}
	}
	for _, l := range o.Lines {
		if !l.Ordered {
			continue
		}
		so.Lines = append(so.Lines, supplierLine{Line: l.Number, Item: l.Item, Quantity: l.Quantity, Unit: l.Unit, UnitPrice: l.UnitPrice,
			NeedBy: l.NeedBy, AckStatus: l.Ack.Status, PromisedDate: l.Ack.PromisedDate, Shipped: l.Shipped, Received: l.Received, Rejected: l.Rejected})
	}
	return so
}

type supplierInvoice struct {
	Invoice  string    `json:"invoice"`
	PO       string    `json:"po"`
	Status   string    `json:"status"`
	Amount   float64   `json:"amount"`
	Currency string    `json:"currency"`
	StatusAt time.Time `json:"status_at"`
}

func supplierInvoiceOf(inv *procure.InvoiceState) supplierInvoice {
	return supplierInvoice{Invoice: inv.ID, PO: inv.PO, Status: inv.Status, Amount: inv.Amount, Currency: inv.Currency, StatusAt: inv.StatusAt}
}

func (c *Console) supplierOrders(g *gin.Context) {
	p := principalOf(g)
	os, err := c.store.FindOrders(g.Request.Context(), p.Scope(), "", p.Supplier, 500)
	if err != nil {
		c.fail(g, err)
		return
	}
	out := make([]supplierOrder, 0, len(os))
	for _, o := range os {
		out = append(out, supplierOrderOf(o))
	}
	c.respond(g, http.StatusOK, gin.H{"orders": out})
}

func (c *Console) supplierOrder(g *gin.Context) {
	p := principalOf(g)
	id := g.Param("id")
	docs, err := c.store.FindDocuments(g.Request.Context(), p.Scope(), [][2]string{{procure.StateOrder, id}})
	if err != nil {
		c.fail(g, err)
		return
	}
	for _, d := range docs {
		var o procure.Order
		if d.Kind == procure.StateOrder && json.Unmarshal(d.Body, &o) == nil && o.Supplier == p.Supplier {
			c.respond(g, http.StatusOK, supplierOrderOf(&o))
			return
		}
	}
	c.fail(g, procure.Errorf(procure.ENOTFOUND, "order %s not found", id))
}

func (c *Console) supplierInvoices(g *gin.Context) {
	p := principalOf(g)
	invs, err := c.store.FindInvoices(g.Request.Context(), p.Scope(), p.Supplier, 500)
	if err != nil {
		c.fail(g, err)
		return
	}
	out := make([]supplierInvoice, 0, len(invs))
	for _, inv := range invs {
		out = append(out, supplierInvoiceOf(inv))
	}
	c.respond(g, http.StatusOK, gin.H{"invoices": out})
}

func (c *Console) supplierInvoice(g *gin.Context) {
	p := principalOf(g)
	id := g.Param("id")
	invs, err := c.store.FindInvoices(g.Request.Context(), p.Scope(), p.Supplier, 5000)
	if err != nil {
		c.fail(g, err)
		return
	}
	for _, inv := range invs {
		if inv.ID == id {
			c.respond(g, http.StatusOK, supplierInvoiceOf(inv))
			return
		}
	}
	c.fail(g, procure.Errorf(procure.ENOTFOUND, "invoice %s not found", id))
}
