package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/b2b/cxml"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/procure"
)

// CXML maps one cXML request for partner p. The caller has resolved the
// partner and verified the sender's credentials.
func CXML(p *partner.Profile, doc *cxml.Document, opt Options) Output {
	var out Output
	c := &xreq{p: p, doc: doc, opt: opt}
	evs, err := c.run()
	out.Warnings = c.warnings
	if err != nil {
		out.Rejections = append(out.Rejections, c.asProblem(err))
		return out
	}
	out.Events = evs
	return out
}

type xreq struct {
	p        *partner.Profile
	doc      *cxml.Document
	opt      Options
	warnings []*Problem
}

func (c *xreq) problem(path, field, value, format string, args ...any) *Problem {
	return &Problem{Standard: partner.CXML, Partner: c.p.ID, Interchange: c.doc.PayloadID, SetID: c.doc.Kind(), Index: 1,
		Tag: path, Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

func (c *xreq) warn(path, field, format string, args ...any) {
	c.warnings = append(c.warnings, c.problem(path, field, "", format, args...))
}

func (c *xreq) asProblem(err error) *Problem {
	var pr *Problem
	if errors.As(err, &pr) {
		return pr
	}
	return c.problem("", "", "", "%v", err)
}

func (c *xreq) unmapped(path string, err error) *Problem {
	var ue *partner.UnmappedError
	if errors.As(err, &ue) {
		pr := c.problem(path, ue.Field, ue.Code, "%s %q is not mapped for partner %s", ue.Kind, ue.Code, ue.Partner)
		pr.Unmapped, pr.Application = true, true
		return pr
	}
	return application(c.problem(path, "", "", "%v", err))
}

func (c *xreq) num(s, path, field string) (float64, bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	v, ok := parseNumber(s, '.')
	if !ok {
		return 0, false, c.problem(path, field, s, "%q is not a number", s)
	}
	return v, true, nil
}

func (c *xreq) unit(code, path, field string) (string, string, error) {
	code = strings.TrimSpace(code)
	u, err := c.p.MapUnit(partner.CXML, code, field)
	if err != nil {
		var ue *partner.UnmappedError
		if errors.As(err, &ue) && ue.Code != "" {
			// A tolerant receiver keeps what it cannot map: the code as
			// written, which the rules report as not mappable.
			pr := c.problem(path, field, code, "unit %q is not mapped for partner %s: kept as written (unit and unit_original %s)", code, c.p.ID, code)
			pr.Unmapped, pr.Application = true, true
			c.warnings = append(c.warnings, pr)
			return code, code, nil
		}
		return "", code, c.unmapped(path, err)
	}
	return u, code, nil
}

func (c *xreq) plant(addressID, path string) (string, error) {
	pl, err := c.p.MapPlant("", addressID, "plant")
	if err != nil {
		return "", c.unmapped(path, err)
	}
	return pl, nil
}

// supplier is the canonical supplier: a To or From credential that the
// profile's parties map, else the partner's supplier.
func (c *xreq) supplier() string {
	for _, cr := range append(slices.Clone(c.doc.Header.From.Credentials), c.doc.Header.To.Credentials...) {
		if s := c.p.SupplierFor(cr.Domain, cr.Identity); s != c.p.Supplier {
			return s
		}
	}
	return c.p.Supplier
}

func (c *xreq) at(times ...cxml.Time) time.Time {
	for _, t := range times {
		if usable(t.Time) {
			return t.Time
		}
	}
	if usable(c.doc.Timestamp.Time) {
		return c.doc.Timestamp.Time
	}
	c.warn("cXML@timestamp", "occurred_at", "timestamp %q is not a usable event time; occurred_at is the receive time", c.doc.Timestamp.Raw)
	return c.opt.ReceivedAt
}

func (c *xreq) event(typ procure.Type, docID string, version int, at time.Time, supplier, plant string, payload any) *procure.Event {
	from := ""
	if len(c.doc.Header.From.Credentials) > 0 {
		cr := c.doc.Header.From.Credentials[0]
		from = strings.ToLower(cr.Domain) + ":" + cr.Identity
	}
	// The request kind is part of the id: two requests of one sender may
	// share a payloadID (a ship notice and a status update do in the wild).
	return newEvent(c.p, typ, docID, version, at, supplier, plant, payload, "cxml", from, c.doc.PayloadID, c.doc.Kind())
}

func (c *xreq) run() ([]*procure.Event, error) {
	if c.p.CXML != nil && !partner.AcceptsVersion(c.p.CXML.Versions, c.doc.Version) {
		return nil, application(c.problem("cXML@version", "", c.doc.Version, "cXML version %s is not one partner %s sends (%s)", c.doc.Version, c.p.ID, strings.Join(c.p.CXML.Versions, ", ")))
	}
	r := c.doc.Request
	switch {
	case r.OrderRequest != nil:
		return c.order(r.OrderRequest)
	case r.ConfirmationRequest != nil:
		return c.confirmation(r.ConfirmationRequest)
	case r.ShipNoticeRequest != nil:
		return c.shipNotice(r.ShipNoticeRequest)
	case r.InvoiceDetailRequest != nil:
		return c.invoice(r.InvoiceDetailRequest)
	case r.StatusUpdateRequest != nil:
		return c.statusUpdate(r.StatusUpdateRequest)
	}
	return nil, c.problem("Request", "", "", "no supported request")
}

func (c *xreq) item(id cxml.ItemID) string {
	for _, q := range c.p.ProductQualifiers(partner.CXML) {
		switch q {
		case "BuyerPartID":
			if v := strings.TrimSpace(id.BuyerPartID); v != "" {
				return v
			}
		case "SupplierPartID":
			if v := strings.TrimSpace(id.SupplierPartID); v != "" {
				return v
			}
		case "SupplierPartAuxiliaryID":
			if v := strings.TrimSpace(id.SupplierPartAuxiliaryID); v != "" {
				return v
			}
		}
	}
	return ""
}

func (c *xreq) lineNo(s, path, field string, k int) int {
	if n, ok := lineNumber(s); ok {
		return n
	}
	c.warn(path, field+".line", "lineNumber %q is missing or not a number: line is the position %d", s, k+1)
	return k + 1
}

func (c *xreq) order(o *cxml.OrderRequest) ([]*procure.Event, error) {
	h := o.Header
	const hp = "OrderRequest/OrderRequestHeader"
	version := 0
	if v := strings.TrimSpace(h.OrderVersion); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			version = n
		} else {
			c.warn(hp+"@orderVersion", "document.version", "orderVersion %q is not a number; version left out", v)
		}
	}
	plant, err := c.plant(h.ShipTo.AddressID, hp+"/ShipTo/Address@addressID")
	if err != nil {
		return nil, err
	}
	at := c.at(h.OrderDate)
	if h.Type == "delete" {
		return []*procure.Event{c.event(procure.POCancelled, h.OrderID, version, at, c.supplier(), plant, &procure.Cancellation{Reason: "cancelled by the sender (OrderRequest type delete)"})}, nil
	}
	currency := h.Total.Money.Currency
	if currency == "" && len(o.Items) > 0 {
		currency = o.Items[0].Detail.UnitPrice.Money.Currency
	}
	cur, err := c.p.MapCurrency(currency, "currency")
	if err != nil {
		return nil, c.unmapped(hp+"/Total/Money@currency", err)
	}
	po := &procure.PurchaseOrder{OrderType: "standard", Currency: cur, ShipTo: plant}
	if t := strings.ToLower(h.OrderType); t == "blanket" {
		po.OrderType = "blanket"
	}
	for k, it := range o.Items {
		path := fmt.Sprintf("OrderRequest/ItemOut[%d]", k+1)
		field := fmt.Sprintf("lines[%d]", k)
		l := procure.POLine{Line: c.lineNo(it.LineNumber, path+"@lineNumber", field, k), Item: c.item(it.ItemID), Description: strings.TrimSpace(it.Detail.Description.Value)}
		if l.Item == "" {
			return nil, c.problem(path+"/ItemID", field+".item", "", "no part id the partner profile accepts (%s)", strings.Join(c.p.ProductQualifiers(partner.CXML), ", "))
		}
		q, ok, err := c.num(it.Quantity, path+"@quantity", field+".quantity")
		if err != nil {
			return nil, err
		}
		if !ok || q <= 0 {
			return nil, c.problem(path+"@quantity", field+".quantity", it.Quantity, "quantity is missing or not positive")
		}
		l.Quantity = q
		if l.Unit, l.UnitOriginal, err = c.unit(it.Detail.UnitOfMeasure, path+"/ItemDetail/UnitOfMeasure", field+".unit"); err != nil {
			return nil, err
		}
		if p, ok, err := c.num(it.Detail.UnitPrice.Money.Value, path+"/ItemDetail/UnitPrice/Money", field+".unit_price"); err != nil {
			return nil, err
		} else if ok {
			l.UnitPrice = p
		}
		for _, s := range it.Schedule {
			sq, ok, err := c.num(s.Quantity, path+"/ScheduleLine@quantity", field+".schedule.quantity")
			if err != nil {
				return nil, err
			}
			if ok && sq > 0 && !s.RequestedDeliveryDate.IsZero() {
				l.Schedule = append(l.Schedule, procure.ScheduleLine{Seq: len(l.Schedule) + 1, Quantity: sq, Date: procure.DateOf(s.RequestedDeliveryDate.Time)})
			}
		}
		switch {
		case !it.RequestedDeliveryDate.IsZero():
			l.NeedBy = procure.DateOf(it.RequestedDeliveryDate.Time)
		case len(l.Schedule) > 0:
			l.NeedBy = l.Schedule[0].Date
		case !h.RequestedDeliveryDate.IsZero():
			l.NeedBy = procure.DateOf(h.RequestedDeliveryDate.Time)
		default:
			c.warn(path+"@requestedDeliveryDate", field+".need_by", "line %d has no requestedDeliveryDate (item, schedule or header)", l.Line)
		}
		po.Lines = append(po.Lines, l)
	}
	if len(po.Lines) == 0 {
		return nil, c.problem("OrderRequest", "lines", "", "the order has no ItemOut")
	}
	typ := procure.POReleased
	if h.Type == "update" {
		typ = procure.POChanged
	}
	return []*procure.Event{c.event(typ, h.OrderID, version, at, c.supplier(), plant, po)}, nil
}

// confirmStatus maps ConfirmationStatus@type to the canonical line status.
var confirmStatus = map[string]string{
	"accept": procure.AckAccepted, "allDetail": procure.AckChanged, "detail": procure.AckChanged,
	"reject": procure.AckRejected, "backordered": procure.AckBackordered,
}

func (c *xreq) confirmation(r *cxml.ConfirmationRequest) ([]*procure.Event, error) {
	const hp = "ConfirmationRequest/ConfirmationHeader"
	po := strings.TrimSpace(r.OrderReference.OrderID)
	if po == "" {
		return nil, c.problem("ConfirmationRequest/OrderReference@orderID", "document.id", "", "no orderID: the confirmed order is not named")
	}
	ack := &procure.Acknowledgement{AckID: strings.TrimSpace(r.Header.ConfirmID)}
	for k, it := range r.Items {
		path := fmt.Sprintf("ConfirmationRequest/ConfirmationItem[%d]", k+1)
		field := fmt.Sprintf("lines[%d]", len(ack.Lines))
		line := c.lineNo(it.LineNumber, path+"@lineNumber", field, k)
		for j, st := range it.Statuses {
			sp := fmt.Sprintf("%s/ConfirmationStatus[%d]", path, j+1)
			l := procure.AckLine{Line: line}
			status, ok := confirmStatus[st.Type]
			if !ok {
				return nil, c.problem(sp+"@type", field+".status", st.Type, "confirmation status %q is not mapped to accepted, changed, rejected or backordered", st.Type)
			}
			l.Status = status
			q, ok, err := c.num(st.Quantity, sp+"@quantity", field+".quantity")
			if err != nil {
				return nil, err
			}
			if ok {
				l.Quantity = q
				uom := st.UnitOfMeasure
				if uom == "" {
					uom = it.UnitOfMeasure
				}
				if l.Unit, l.UnitOriginal, err = c.unit(uom, sp+"/UnitOfMeasure", field+".unit"); err != nil {
					return nil, err
				}
			}
			switch {
			case !st.DeliveryDate.IsZero():
				l.PromisedDate = procure.DateOf(st.DeliveryDate.Time)
			case !st.ShipmentDate.IsZero():
				l.PromisedDate = procure.DateOf(st.ShipmentDate.Time)
			}
			if st.UnitPrice != nil {
				if p, ok, err := c.num(st.UnitPrice.Money.Value, sp+"/UnitPrice/Money", field+".unit_price"); err != nil {
					return nil, err
				} else if ok {
					l.UnitPrice = p
				}
			}
			if l.Status == procure.AckChanged && l.Quantity == 0 && l.PromisedDate.IsZero() && l.UnitPrice == 0 {
				return nil, c.problem(sp, field, st.Type, "line %d is changed (%s) but proposes no quantity, date or price", line, st.Type)
			}
			if l.Status == procure.AckRejected {
				for _, cm := range st.Comments {
					if v := strings.TrimSpace(cm.Value); v != "" {
						l.Reason = v
						break
					}
				}
			}
			ack.Lines = append(ack.Lines, l)
		}
	}
	if len(ack.Lines) == 0 {
		return nil, c.problem(hp+"@type", "lines", r.Header.Type, "confirmation of type %s without ConfirmationItem lines: the order lines it answers are not named", r.Header.Type)
	}
	var addr string
	for _, ct := range r.Header.Contacts {
		if ct.Role == "shipTo" {
			addr = ct.AddressID
		}
	}
	plant, err := c.plant(addr, hp+"/Contact@addressID")
	if err != nil {
		return nil, err
	}
	return []*procure.Event{c.event(procure.POAcknowledged, po, 0, c.at(r.Header.NoticeDate), c.supplier(), plant, ack)}, nil
}

func (c *xreq) shipNotice(r *cxml.ShipNoticeRequest) ([]*procure.Event, error) {
	h := r.Header
	const hp = "ShipNoticeRequest/ShipNoticeHeader"
	var addr string
	for _, ct := range h.Contacts {
		if ct.Role == "shipTo" {
			addr = ct.AddressID
		}
	}
	plant, err := c.plant(addr, hp+"/Contact@addressID")
	if err != nil {
		return nil, err
	}
	at := c.at(h.NoticeDate)
	if h.Operation == "delete" {
		return []*procure.Event{c.event(procure.ASNCancelled, h.ShipmentID, 0, at, c.supplier(), plant, &procure.Cancellation{Reason: "cancelled by the sender (ShipNoticeHeader operation delete)"})}, nil
	}
	if h.ShipmentDate.IsZero() {
		return nil, application(c.problem(hp+"@shipmentDate", "ship_date", "", "shipmentDate is missing"))
	}
	arrive := h.DeliveryDate.Time
	if arrive.IsZero() {
		arrive = arrivalFromShip(c.p, h.ShipmentDate.Time, func(format string, args ...any) {
			c.warn(hp+"@deliveryDate", "expected_arrival", format, args...)
			application(c.warnings[len(c.warnings)-1])
		})
	}
	sn := &procure.ShipNotice{ShipDate: h.ShipmentDate.UTC(), ExpectedArrival: arrive.UTC(), ShipTo: plant}
	for _, sc := range r.ShipControl {
		for _, ci := range sc.Carriers {
			switch strings.ToLower(ci.Domain) {
			case "scac":
				if sn.Carrier.SCAC == "" {
					sn.Carrier.SCAC = strings.TrimSpace(ci.Value)
				}
			case "companyname":
				if sn.Carrier.Name == "" {
					sn.Carrier.Name = strings.TrimSpace(ci.Value)
				}
			}
		}
		if sn.Tracking == "" {
			sn.Tracking = strings.TrimSpace(sc.ShipmentIdentifier)
		}
	}
	for pi, por := range r.Portions {
		po := strings.TrimSpace(por.OrderReference.OrderID)
		for k, it := range por.Items {
			path := fmt.Sprintf("ShipNoticeRequest/ShipNoticePortion[%d]/ShipNoticeItem[%d]", pi+1, k+1)
			field := fmt.Sprintf("lines[%d]", len(sn.Lines))
			if po == "" {
				return nil, c.problem(fmt.Sprintf("ShipNoticeRequest/ShipNoticePortion[%d]/OrderReference@orderID", pi+1), field+".po", "", "no orderID for the shipped items")
			}
			l := procure.ASNLine{PO: po, Line: c.lineNo(it.LineNumber, path+"@lineNumber", field, k), Item: c.item(it.ItemID)}
			q, ok, err := c.num(it.Quantity, path+"@quantity", field+".quantity")
			if err != nil {
				return nil, err
			}
			if !ok || q <= 0 {
				return nil, c.problem(path+"@quantity", field+".quantity", it.Quantity, "quantity is missing or not positive")
			}
			l.Quantity = q
			if l.Unit, l.UnitOriginal, err = c.unit(it.UnitOfMeasure, path+"/UnitOfMeasure", field+".unit"); err != nil {
				return nil, err
			}
			if it.Batch != nil {
				l.Lot = strings.TrimSpace(it.Batch.SupplierBatchID)
				if l.Lot == "" {
					l.Lot = strings.TrimSpace(it.Batch.BuyerBatchID)
				}
			}
			sn.Lines = append(sn.Lines, l)
		}
	}
	if len(sn.Lines) == 0 {
		c.warn("ShipNoticeRequest/ShipNoticePortion", "lines", "no ShipNoticeItem: the ship notice names no shipped lines, only orders")
	}
	return []*procure.Event{c.event(procure.ASNSubmitted, h.ShipmentID, 0, at, c.supplier(), plant, sn)}, nil
}

func (c *xreq) invoice(r *cxml.InvoiceDetailRequest) ([]*procure.Event, error) {
	h := r.Header
	const hp = "InvoiceDetailRequest/InvoiceDetailRequestHeader"
	if h.Operation == "delete" {
		return nil, c.problem(hp+"@operation", "", h.Operation, "invoice operation delete is not supported: there is no canonical invoice cancellation")
	}
	s := r.Summary
	currency := s.Subtotal.Money.Currency
	inv := &procure.InvoiceStatus{Status: procure.InvoiceReceived}
	switch h.Purpose {
	case "creditMemo", "lineLevelCreditMemo":
		inv.CreditNote = true
	}
	const sumPath = "InvoiceDetailRequest/InvoiceDetailSummary"
	subtotal, _, err := c.num(s.Subtotal.Money.Value, sumPath+"/SubtotalAmount/Money", "amount")
	if err != nil {
		return nil, err
	}
	// The invoice amount: DueAmount, NetAmount, GrossAmount when given,
	// else the cXML definition of gross: subtotal + tax + special handling +
	// shipping. An explicit 0 against a non-zero subtotal is a sender's
	// placeholder, not the amount: it is passed over with a warning.
	var amount float64
	found := false
	for i, a := range []*cxml.Amount{s.Due, s.Net, s.Gross} {
		if a == nil || strings.TrimSpace(a.Money.Value) == "" {
			continue
		}
		name := [...]string{"DueAmount", "NetAmount", "GrossAmount"}[i]
		v, ok, err := c.num(a.Money.Value, sumPath+"/"+name+"/Money", "amount")
		if err != nil {
			return nil, err
		}
		if ok && v == 0 && subtotal != 0 {
			c.warn(sumPath+"/"+name+"/Money", "amount", "%s is 0 while SubtotalAmount is %s: not taken as the invoice amount", name, strings.TrimSpace(s.Subtotal.Money.Value))
			continue
		}
		if ok {
			amount, found = v, true
			if a.Money.Currency != "" {
				currency = a.Money.Currency
			}
			break
		}
	}
	if !found {
		for _, a := range []*cxml.Amount{&s.Subtotal, &s.Tax, s.SpecialHandling, s.Shipping} {
			if a == nil {
				continue
			}
			v, _, err := c.num(a.Money.Value, "InvoiceDetailRequest/InvoiceDetailSummary", "amount")
			if err != nil {
				return nil, err
			}
			amount += v
		}
	}
	cur, err := c.p.MapCurrency(currency, "currency")
	if err != nil {
		return nil, c.unmapped("InvoiceDetailRequest/InvoiceDetailSummary/SubtotalAmount/Money@currency", err)
	}
	inv.Currency, inv.Amount = cur, round(amount, procure.CurrencyMinorUnits(cur))
	if inv.Amount < 0 {
		if !inv.CreditNote {
			c.warn(sumPath, "credit_note", "invoice amount %v is negative: the invoice is read as a credit note", inv.Amount)
		}
		inv.CreditNote, inv.Amount = true, -inv.Amount
	}
	var linesTotal float64
	lineAmounts := true
	if len(h.PaymentTerm) > 0 && !h.InvoiceDate.IsZero() {
		if n, err := strconv.Atoi(strings.TrimSpace(h.PaymentTerm[0].PayInNumberOfDays)); err == nil && n >= 0 {
			inv.DueDate = procure.DateOf(h.InvoiceDate.AddDate(0, 0, n))
		}
	}
	for oi, o := range r.Orders {
		po := strings.TrimSpace(o.OrderReference.OrderID)
		if po == "" {
			po = strings.TrimSpace(o.OrderIDInfo.OrderID)
		}
		if po == "" {
			opath := fmt.Sprintf("InvoiceDetailRequest/InvoiceDetailOrder[%d]/InvoiceDetailOrderInfo/OrderReference", oi+1)
			if ref := strings.TrimSpace(o.OrderReference.DocumentReference.PayloadID); ref != "" {
				c.warn(opath+"/DocumentReference@payloadID", fmt.Sprintf("lines[%d].po", len(inv.Lines)), "the order is named only by the payloadID %s of its OrderRequest, not by an orderID: its lines carry no PO", ref)
			} else {
				c.warn(opath+"@orderID", fmt.Sprintf("lines[%d].po", len(inv.Lines)), "the order is not named (no orderID, OrderIDInfo or DocumentReference): its lines carry no PO")
			}
		}
		if inv.PO == "" {
			inv.PO = po
		}
		for k, it := range o.Items {
			path := fmt.Sprintf("InvoiceDetailRequest/InvoiceDetailOrder[%d]/InvoiceDetailItem[%d]", oi+1, k+1)
			field := fmt.Sprintf("lines[%d]", len(inv.Lines))
			ln := it.Reference.LineNumber
			if ln == "" {
				ln = it.InvoiceLineNumber
			}
			l := procure.InvoiceLine{PO: po, Line: c.lineNo(ln, path+"/InvoiceDetailItemReference@lineNumber", field, k)}
			if n, ok := lineNumber(it.InvoiceLineNumber); ok {
				l.InvoiceLine = n
			}
			q, _, err := c.num(it.Quantity, path+"@quantity", field+".quantity")
			if err != nil {
				return nil, err
			}
			l.Quantity = q
			if l.Quantity < 0 && inv.CreditNote {
				l.Quantity = -l.Quantity
			}
			if v, ok, err := c.num(it.Subtotal.Money.Value, path+"/SubtotalAmount/Money", field+".amount"); err != nil {
				return nil, err
			} else if ok {
				linesTotal += v
			} else {
				lineAmounts = false
			}
			if strings.TrimSpace(it.UnitOfMeasure) != "" {
				if l.Unit, _, err = c.unit(it.UnitOfMeasure, path+"/UnitOfMeasure", field+".unit"); err != nil {
					return nil, err
				}
			}
			p, _, err := c.num(it.UnitPrice.Money.Value, path+"/UnitPrice/Money", field+".unit_price")
			if err != nil {
				return nil, err
			}
			l.UnitPrice = p
			inv.Lines = append(inv.Lines, l)
		}
	}
	if lineAmounts && len(inv.Lines) > 0 && strings.TrimSpace(s.Subtotal.Money.Value) != "" {
		if d := round(linesTotal-subtotal, 2); d >= 0.01 || d <= -0.01 {
			c.warn(sumPath+"/SubtotalAmount/Money", "amount", "SubtotalAmount %s differs from the sum of the line subtotals %v by %v", strings.TrimSpace(s.Subtotal.Money.Value), round(linesTotal, 2), d)
		}
	}
	plant, err := c.plant("", "")
	if err != nil {
		return nil, err
	}
	return []*procure.Event{c.event(procure.InvoiceStatusChanged, h.InvoiceID, 0, c.at(h.InvoiceDate), c.supplier(), plant, inv)}, nil
}

// cxmlInvoiceStatus maps InvoiceStatus@type to the canonical status.
var cxmlInvoiceStatus = map[string]string{
	"processing": procure.InvoiceReceived, "reconciled": procure.InvoiceMatched, "rejected": procure.InvoiceDisputed,
	"paying": procure.InvoiceApproved, "paid": procure.InvoicePaid,
}

// statusUpdate maps a StatusUpdateRequest: with an InvoiceStatus to
// invoice.status_changed; otherwise to the delivery outcome of the
// referenced document (message.delivered for 2xx codes, message.failed).
func (c *xreq) statusUpdate(r *cxml.StatusUpdateRequest) ([]*procure.Event, error) {
	const sp = "StatusUpdateRequest"
	ref := strings.TrimSpace(r.DocumentReference.PayloadID)
	at := c.at()
	if is := r.InvoiceStatus; is != nil {
		st, ok := cxmlInvoiceStatus[is.Type]
		if !ok {
			return nil, c.problem(sp+"/InvoiceStatus@type", "status", is.Type, "invoice status %q is not mapped", is.Type)
		}
		id := strings.TrimSpace(is.InvoiceIDInfo.InvoiceID)
		if id == "" {
			return nil, c.problem(sp+"/InvoiceStatus/InvoiceIDInfo@invoiceID", "document.id", "", "the invoice is not named (InvoiceIDInfo@invoiceID)")
		}
		return []*procure.Event{c.event(procure.InvoiceStatusChanged, id, 0, at, c.supplier(), c.p.Plant, &procure.InvoiceStatus{Status: st})}, nil
	}
	if ref == "" {
		return nil, c.problem(sp+"/DocumentReference@payloadID", "document.id", "", "no DocumentReference payloadID")
	}
	code, err := strconv.Atoi(strings.TrimSpace(r.Status.Code))
	if err != nil {
		return nil, c.problem(sp+"/Status@code", "http_status", r.Status.Code, "status code %q is not a number", r.Status.Code)
	}
	text := strings.TrimSpace(r.Status.Body)
	if text == "" {
		text = strings.TrimSpace(r.Status.Text)
	}
	d := &procure.Delivery{MessageID: ref, Target: c.p.ID, HTTPStatus: code}
	typ := procure.MessageDelivered
	if code >= 300 {
		typ = procure.MessageFailed
		d.Error = text
		switch {
		case code == 401 || code == 403:
			d.ErrorClass = "auth"
		case code >= 500:
			d.ErrorClass = "transient"
		default:
			d.ErrorClass = "validation"
		}
	}
	return []*procure.Event{c.event(typ, ref, 0, at, c.supplier(), c.p.Plant, d)}, nil
}
