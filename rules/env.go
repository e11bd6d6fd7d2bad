package rules

import (
	"math"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/supplywatch/supplywatch/procure"
)

// Env is what an expression sees. Every pointer is non-nil when an
// expression runs (an unknown order is an empty Order with Released false),
// so expressions need no nil checks.
type Env struct {
	Event    *EventView             `expr:"event"`
	ELine    *EventLine             `expr:"eline"`
	Document *procure.Order         `expr:"document"`
	Line     *procure.OrderLine     `expr:"line"`
	Supplier *procure.SupplierState `expr:"supplier"`
	Item     *procure.ItemState     `expr:"item"`
	Lot      *procure.LotState      `expr:"lot"`
	Invoice  *procure.InvoiceState  `expr:"invoice"`
	Plant    string                 `expr:"plant"`
	Now      time.Time              `expr:"now"`
	// Retry is the retry policy's decision on a message.failed (zero on
	// other events and where no retry worker runs).
	Retry *procure.RetryView `expr:"retry"`

	ackSLAs map[string]time.Duration
}

// PartnerAckSLA is the functional-acknowledgement SLA of the trading partner
// a delivery went to (target "partner:<id>"), from its B2B partner profile
// (functional_ack_sla), or fallback when the profile sets none.
func (e *Env) PartnerAckSLA(target string, fallback time.Duration) time.Duration {
	if id, ok := strings.CutPrefix(target, "partner:"); ok {
		if d := e.ackSLAs[id]; d > 0 {
			return d
		}
	}
	return fallback
}

// EventView is the event envelope with the payload fields rules use,
// flattened so that every event type has the same shape.
type EventView struct {
	ID         string    `expr:"id"`
	Type       string    `expr:"type"`
	Source     string    `expr:"source"`
	Tenant     string    `expr:"tenant"`
	OccurredAt time.Time `expr:"occurred_at"`
	Plant      string    `expr:"plant"`
	Supplier   string    `expr:"supplier"`
	DocKind    string    `expr:"doc_kind"`
	DocID      string    `expr:"doc_id"`
	Version    int       `expr:"version"`

	// po.released / po.changed
	OrderType       string `expr:"order_type"`
	Currency        string `expr:"currency"`
	Incoterm        string `expr:"incoterm"`
	IncotermEdition string `expr:"incoterm_edition"`
	// po.acknowledged
	AckID     string `expr:"ack_id"`
	POVersion int    `expr:"po_version"`
	// po.change_requested / po.change_decided
	RequestID   string `expr:"request_id"`
	RequestedBy string `expr:"requested_by"`
	Decision    string `expr:"decision"`
	// asn.submitted / goods.received
	ShipDate        time.Time `expr:"ship_date"`
	ExpectedArrival time.Time `expr:"expected_arrival"`
	ASN             string    `expr:"asn"`
	// quality.*
	DocType string `expr:"doc_type"`
	Item    string `expr:"item"`
	Lot     string `expr:"lot"`
	HoldID  string `expr:"hold_id"`
	Reason  string `expr:"reason"`
	// invoice.status_changed
	Status      string  `expr:"status"`
	BlockReason string  `expr:"block_reason"`
	Amount      float64 `expr:"amount"`
	PO          string  `expr:"po"`
	// message.failed / message.delivered
	MessageID    string `expr:"message_id"`
	Target       string `expr:"target"`
	ErrorClass   string `expr:"error_class"`
	Error        string `expr:"error"`
	Attempt      int    `expr:"attempt"`
	DocumentType string `expr:"document_type"`
	// supplier.updated
	Tier int `expr:"tier"`

	// Units are the units of every line of the event.
	Units []string    `expr:"units"`
	Lines []EventLine `expr:"lines"`
}

// EventLine is one line of the event (an ack line, ASN line, receipt line,
// invoice line, changed line), flattened.
type EventLine struct {
	PO           string    `expr:"po"`
	Line         int       `expr:"line"`
	Item         string    `expr:"item"`
	Status       string    `expr:"status"`
	Quantity     float64   `expr:"quantity"`
	Unit         string    `expr:"unit"`
	PromisedDate time.Time `expr:"promised_date"`
	Date         time.Time `expr:"date"`
	UnitPrice    float64   `expr:"unit_price"`
	Lot          string    `expr:"lot"`
	Received     float64   `expr:"received"`
	Rejected     float64   `expr:"rejected"`
	// Shipped is, for a receipt line, the quantity of the line on the
	// receipt's ASN (0 without one).
	Shipped float64 `expr:"shipped"`
}

// newEventView flattens e.
func newEventView(e *procure.Event) *EventView {
	v := &EventView{ID: e.ID, Type: string(e.Type), Source: string(e.Source), Tenant: e.Tenant, OccurredAt: e.OccurredAt,
		Plant: e.Plant, Supplier: e.Supplier, DocKind: string(e.Document.Kind), DocID: e.Document.ID, Version: e.Document.Version}
	add := func(l EventLine) {
		v.Lines = append(v.Lines, l)
		if l.Unit != "" {
			v.Units = append(v.Units, l.Unit)
		}
	}
	switch p := e.Payload.(type) {
	case *procure.PurchaseOrder:
		v.OrderType, v.Currency = p.OrderType, p.Currency
		if p.Incoterms != nil {
			v.Incoterm, v.IncotermEdition = p.Incoterms.Code, p.Incoterms.Edition
		}
		for _, l := range p.Lines {
			add(EventLine{PO: e.Document.ID, Line: l.Line, Item: l.Item, Quantity: l.Quantity, Unit: l.Unit, UnitPrice: l.UnitPrice, Date: l.NeedBy.Time})
		}
	case *procure.Acknowledgement:
		v.AckID, v.POVersion = p.AckID, p.POVersion
		for _, l := range p.Lines {
			add(EventLine{PO: e.Document.ID, Line: l.Line, Status: l.Status, Quantity: l.Quantity, Unit: l.Unit, PromisedDate: l.PromisedDate.Time, UnitPrice: l.UnitPrice})
		}
	case *procure.ChangeRequest:
		v.RequestID, v.RequestedBy, v.Reason = p.RequestID, p.RequestedBy, p.Reason
		for _, l := range p.Lines {
			add(EventLine{PO: e.Document.ID, Line: l.Line, Quantity: l.Quantity, Date: l.Date.Time, UnitPrice: l.UnitPrice})
		}
	case *procure.ChangeDecision:
		v.RequestID, v.Decision = p.RequestID, p.Decision
	case *procure.Cancellation:
		v.Reason = p.Reason
	case *procure.ShipNotice:
		v.ShipDate, v.ExpectedArrival, v.ASN = p.ShipDate, p.ExpectedArrival, e.Document.ID
		for _, l := range p.Lines {
			add(EventLine{PO: l.PO, Line: l.Line, Item: l.Item, Quantity: l.Quantity, Unit: l.Unit, Lot: l.Lot})
		}
	case *procure.Receipt:
		v.ASN = p.ASN
		for _, l := range p.Lines {
			add(EventLine{PO: l.PO, Line: l.Line, Item: l.Item, Quantity: l.ReceivedQuantity, Received: l.ReceivedQuantity, Rejected: l.RejectedQuantity, Unit: l.Unit, Lot: l.Lot})
		}
	case *procure.QualityDocument:
		v.DocType, v.Item, v.Lot, v.PO = p.DocType, p.Item, p.Lot, p.PO
		if p.PO != "" && p.Line > 0 {
			v.Lines = append(v.Lines, EventLine{PO: p.PO, Line: p.Line, Item: p.Item, Lot: p.Lot})
		}
	case *procure.QualityHold:
		v.HoldID, v.Item, v.Lot, v.PO, v.Reason = p.HoldID, p.Item, p.Lot, p.PO, p.Reason
		if p.PO != "" && p.Line > 0 {
			v.Lines = append(v.Lines, EventLine{PO: p.PO, Line: p.Line, Item: p.Item, Lot: p.Lot, Quantity: p.Quantity, Unit: p.Unit})
		}
	case *procure.InvoiceStatus:
		v.Status, v.BlockReason, v.Amount, v.Currency, v.PO = p.Status, p.BlockReason, p.Amount, p.Currency, p.PO
		for _, l := range p.Lines {
			po := l.PO
			if po == "" {
				po = p.PO
			}
			add(EventLine{PO: po, Line: l.Line, Quantity: l.Quantity, Unit: l.Unit, UnitPrice: l.UnitPrice})
		}
	case *procure.Supplier:
		v.Tier, v.Status = p.Tier, p.Status
	case *procure.Item:
		if p.BaseUnit != "" {
			v.Units = append(v.Units, p.BaseUnit)
		}
	case *procure.Delivery:
		v.MessageID, v.Target, v.ErrorClass, v.Error, v.Attempt, v.DocumentType = p.MessageID, p.Target, p.ErrorClass, p.Error, p.Attempt, p.DocumentType
	}
	return v
}

// functions are the helpers of the rule language; calendars serve
// businessHours and addBusiness.
func functions(cals *procure.Calendars) []expr.Option {
	return []expr.Option{
		expr.Function("hours", func(p ...any) (any, error) {
			return time.Duration(p[0].(float64) * float64(time.Hour)), nil
		}, new(func(float64) time.Duration)),
		expr.Function("days", func(p ...any) (any, error) {
			return time.Duration(p[0].(float64) * 24 * float64(time.Hour)), nil
		}, new(func(float64) time.Duration)),
		expr.Function("businessHours", func(p ...any) (any, error) {
			return cals.For(p[2].(string)).Between(p[0].(time.Time), p[1].(time.Time)).Hours(), nil
		}, new(func(time.Time, time.Time, string) float64)),
		expr.Function("addBusiness", func(p ...any) (any, error) {
			return cals.For(p[2].(string)).Add(p[0].(time.Time), p[1].(time.Duration)), nil
		}, new(func(time.Time, time.Duration, string) time.Time)),
		expr.Function("outside", func(p ...any) (any, error) {
			return outside(p[0].(float64), p[1].(float64), p[2].(float64)), nil
		}, new(func(float64, float64, float64) bool)),
		expr.Function("pct", func(p ...any) (any, error) {
			a, e := p[0].(float64), p[1].(float64)
			if e == 0 {
				return 0.0, nil
			}
			return (a - e) / e * 100, nil
		}, new(func(float64, float64) float64)),
		expr.Function("knownUnit", func(p ...any) (any, error) { return procure.KnownUnit(p[0].(string)), nil }, new(func(string) bool)),
		expr.Function("knownCurrency", func(p ...any) (any, error) { return procure.KnownCurrency(p[0].(string)), nil }, new(func(string) bool)),
		expr.Function("knownIncoterm", func(p ...any) (any, error) {
			return procure.KnownIncoterm(p[0].(string), p[1].(string)), nil
		}, new(func(string, string) bool)),
		expr.Function("isSet", func(p ...any) (any, error) { return !p[0].(time.Time).IsZero(), nil }, new(func(time.Time) bool)),
		expr.Function("dateOf", func(p ...any) (any, error) { return procure.DateOf(p[0].(time.Time)).Time, nil }, new(func(time.Time) time.Time)),
		expr.Function("fmtDate", func(p ...any) (any, error) {
			t := p[0].(time.Time)
			if t.IsZero() {
				return "-", nil
			}
			return t.UTC().Format(time.DateOnly), nil
		}, new(func(time.Time) string)),
	}
}

// outside reports whether actual differs from expected by more than the
// fraction of expected (any difference when expected is 0).
func outside(actual, expected, fraction float64) bool {
	if expected == 0 {
		return actual != 0
	}
	return math.Abs(actual-expected)/math.Abs(expected) > fraction+1e-9
}
