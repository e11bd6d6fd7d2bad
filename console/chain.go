package console

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// chainOf loads the order an exception is about and the ASNs, invoices
// and lots it links to, and builds the chain.
func (h *queueHandlers) chainOf(ctx context.Context, sc procure.Scope, x *procure.Exception) (*procure.Chain, []*procure.Document, error) {
	po := x.PO
	kind, id := subjectDoc(x.Subject)
	keys := [][2]string{}
	if kind != "" && kind != "po" {
		keys = append(keys, [2]string{kind, id})
	}
	if kind == "po" && po == "" {
		po = id
	}
	docs, err := h.store.FindDocuments(ctx, sc, append(keys, [2]string{procure.StateOrder, po}))
	if err != nil {
		return nil, nil, err
	}
	var o *procure.Order
	for _, d := range docs {
		switch d.Kind {
		case procure.StateOrder:
			o = new(procure.Order)
			if err := json.Unmarshal(d.Body, o); err != nil {
				return nil, nil, fmt.Errorf("order %s: %w", d.ID, err)
			}
		case procure.StateInvoice:
			var inv procure.InvoiceState
			if json.Unmarshal(d.Body, &inv) == nil && inv.PO != "" && po == "" {
				po = inv.PO
				more, err := h.store.FindDocuments(ctx, sc, [][2]string{{procure.StateOrder, po}})
				if err != nil {
					return nil, nil, err
				}
				for _, m := range more {
					o = new(procure.Order)
					if err := json.Unmarshal(m.Body, o); err != nil {
						return nil, nil, err
					}
					docs = append(docs, m)
				}
			}
		}
	}
	if o == nil {
		return nil, docs, nil
	}
	var linked [][2]string
	for _, a := range o.ASNs {
		linked = append(linked, [2]string{procure.StateASN, a})
	}
	for _, inv := range o.Invoices {
		if !(kind == procure.StateInvoice && inv == id) {
			linked = append(linked, [2]string{procure.StateInvoice, inv})
		}
	}
	more, err := h.store.FindDocuments(ctx, sc, linked)
	if err != nil {
		return nil, nil, err
	}
	docs = append(docs, more...)
	var lotIDs []string
	for _, l := range o.Lines {
		for _, s := range l.Shipments {
			if s.Lot != "" {
				lotIDs = append(lotIDs, l.Item+"/"+s.Lot)
			}
		}
	}
	lots, err := h.store.FindLots(ctx, sc.Tenant, lotIDs)
	if err != nil {
		return nil, nil, err
	}
	var invs []*procure.InvoiceState
	for _, d := range docs {
		if d.Kind == procure.StateInvoice {
			var inv procure.InvoiceState
			if json.Unmarshal(d.Body, &inv) == nil {
				invs = append(invs, &inv)
			}
		}
	}
	return procure.BuildChain(o, invs, lots, h.now(), h.plantLocation(o.Plant)), docs, nil
}

// plantLocation is the time zone of a plant (Deps.PlantZones), UTC when it
// has none.
func (h *queueHandlers) plantLocation(plant string) *time.Location {
	if z, ok := h.zones[plant]; ok {
		if loc, err := time.LoadLocation(z); err == nil {
			return loc
		}
	}
	return time.UTC
}
