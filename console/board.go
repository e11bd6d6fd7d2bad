package console

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/procure"
)

func (h *boardHandlers) plantBoard(g *gin.Context) {
	p := principalOf(g)
	plant := g.Param("plant")
	if !p.Scope().HasPlant(plant) {
		h.fail(g, procure.Errorf(procure.EFORBIDDEN, "plant %s is not one of yours", plant))
		return
	}
	now := h.now()
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if v := g.Query("from"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			h.fail(g, invalid("from", "must be a date like 2026-05-12"))
			return
		}
		from = t
	}
	days := 7
	if v := g.Query("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 31 {
			h.fail(g, invalid("days", "must be 1 to 31"))
			return
		}
		days = n
	}
	ctx := g.Request.Context()
	orders, err := h.store.FindOrders(ctx, p.Scope(), plant, "", 5000)
	if err != nil {
		h.fail(g, err)
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
	lots, err := h.store.FindLots(ctx, p.Tenant, lotIDs)
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, procure.BuildBoard(plant, orders, lots, from, days, now))
}

// supplierView is a supplier's open documents, exceptions and response
// times, within the caller's scope.
func (h *boardHandlers) supplierView(g *gin.Context) {
	p := principalOf(g)
	supplier := g.Param("supplier")
	ctx, sc := g.Request.Context(), p.Scope()
	orders, err := h.store.FindOrders(ctx, sc, "", supplier, 2000)
	if err != nil {
		h.fail(g, err)
		return
	}
	items, _, err := h.store.FindQueue(ctx, sc, procure.QueueFilter{Supplier: supplier, Limit: 100, Now: h.now(), IncludeSnoozed: true})
	if err != nil {
		h.fail(g, err)
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
	h.respond(g, http.StatusOK, gin.H{"supplier": supplier, "open_orders": open, "unacknowledged": unacked, "exceptions": items,
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

func (h *boardHandlers) supplierOrders(g *gin.Context) {
	p := principalOf(g)
	os, err := h.store.FindOrders(g.Request.Context(), p.Scope(), "", p.Supplier, 500)
	if err != nil {
		h.fail(g, err)
		return
	}
	out := make([]supplierOrder, 0, len(os))
	for _, o := range os {
		out = append(out, supplierOrderOf(o))
	}
	h.respond(g, http.StatusOK, gin.H{"orders": out})
}

func (h *boardHandlers) supplierOrder(g *gin.Context) {
	p := principalOf(g)
	id := g.Param("id")
	docs, err := h.store.FindDocuments(g.Request.Context(), p.Scope(), [][2]string{{procure.StateOrder, id}})
	if err != nil {
		h.fail(g, err)
		return
	}
	for _, d := range docs {
		var o procure.Order
		if d.Kind == procure.StateOrder && json.Unmarshal(d.Body, &o) == nil && o.Supplier == p.Supplier {
			h.respond(g, http.StatusOK, supplierOrderOf(&o))
			return
		}
	}
	h.fail(g, procure.Errorf(procure.ENOTFOUND, "order %s not found", id))
}

func (h *boardHandlers) supplierInvoices(g *gin.Context) {
	p := principalOf(g)
	invs, err := h.store.FindInvoices(g.Request.Context(), p.Scope(), p.Supplier, 500)
	if err != nil {
		h.fail(g, err)
		return
	}
	out := make([]supplierInvoice, 0, len(invs))
	for _, inv := range invs {
		out = append(out, supplierInvoiceOf(inv))
	}
	h.respond(g, http.StatusOK, gin.H{"invoices": out})
}

func (h *boardHandlers) supplierInvoice(g *gin.Context) {
	p := principalOf(g)
	id := g.Param("id")
	invs, err := h.store.FindInvoices(g.Request.Context(), p.Scope(), p.Supplier, 5000)
	if err != nil {
		h.fail(g, err)
		return
	}
	for _, inv := range invs {
		if inv.ID == id {
			h.respond(g, http.StatusOK, supplierInvoiceOf(inv))
			return
		}
	}
	h.fail(g, procure.Errorf(procure.ENOTFOUND, "invoice %s not found", id))
}
