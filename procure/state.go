package procure

import (
	"context"
	stdjson "encoding/json"
	"slices"
	"time"
)

// Document state: the projections the rules engine keeps of the document
// chain. They are plain values rebuilt from events by Apply methods that do
// no I/O; where they are stored is the business of a StateStore.
//
// Field tags: json for storage, expr for the rule language (snake_case).

// Kinds of stored projection beyond the event document kinds.
const (
	StateOrder    = "po"
	StateSupplier = "supplier"
	StateItem     = "item"
	StateLot      = "lot"
	StateASN      = "asn"
	StateInvoice  = "invoice"
)

// Order is the projection of one purchase order: the version in force, and
// per line what the supplier answered, shipped, the plant received and AP
// was invoiced.
type Order struct {
	Tenant string `json:"tenant" expr:"tenant"`
	ID     string `json:"id" expr:"id"`
	// Released reports whether a version of the order has been applied;
	// events about an order not released yet are applied to its lines all the
	// same, and the order data fills in when the release arrives.
	Released        bool                 `json:"released" expr:"released"`
	Version         int                  `json:"version" expr:"version"`
	Status          string               `json:"status" expr:"status"` // open | cancelled
	Supplier        string               `json:"supplier" expr:"supplier"`
	Plant           string               `json:"plant" expr:"plant"`
	OrderType       string               `json:"order_type" expr:"order_type"`
	Buyer           string               `json:"buyer" expr:"buyer"`
	Currency        string               `json:"currency" expr:"currency"`
	Incoterm        string               `json:"incoterm" expr:"incoterm"`
	IncotermEdition string               `json:"incoterm_edition" expr:"incoterm_edition"`
	ReleasedAt      time.Time            `json:"released_at" expr:"released_at"`
	ChangedAt       time.Time            `json:"changed_at" expr:"changed_at"`
	CancelledAt     time.Time            `json:"cancelled_at" expr:"cancelled_at"`
	AckedAt         time.Time            `json:"acked_at" expr:"acked_at"`
	AckedVersion    int                  `json:"acked_version" expr:"acked_version"`
	Lines           []OrderLine          `json:"lines" expr:"lines"`
	ChangeRequests  []ChangeRequestState `json:"change_requests" expr:"change_requests"`
	ASNs            []string             `json:"asns" expr:"asns"`
	Invoices        []string             `json:"invoices" expr:"invoices"`
	// Superseded records versions that arrived after a newer one was
	// applied: kept for the trace, never applied.
	Superseded []SupersededVersion `json:"superseded,omitempty" expr:"superseded"`
}

// SupersededVersion is an order version that arrived out of order.
type SupersededVersion struct {
	EventID    string    `json:"event_id"`
	Version    int       `json:"version"`
	OccurredAt time.Time `json:"occurred_at"`
}

// OrderLine is one PO line with everything that happened to it.
type OrderLine struct {
	Number int `json:"number" expr:"number"`
	// Ordered reports whether the line is on the version in force (false for
	// a line known only from an early acknowledgement or ASN, or dropped).
	Ordered       bool           `json:"ordered" expr:"ordered"`
	Item          string         `json:"item" expr:"item"`
	MaterialClass string         `json:"material_class" expr:"material_class"`
	Quantity      float64        `json:"quantity" expr:"quantity"`
	Unit          string         `json:"unit" expr:"unit"`
	UnitPrice     float64        `json:"unit_price" expr:"unit_price"`
	PriceUnit     float64        `json:"price_unit" expr:"price_unit"`
	NeedBy        time.Time      `json:"need_by" expr:"need_by"`
	Schedule      []ScheduleLine `json:"schedule,omitempty" expr:"schedule"`
	Ack           LineAck        `json:"ack" expr:"ack"`
	// Shipped is the quantity on ASNs not cancelled; Received and Rejected
	// are the receipt totals.
	Shipped        float64       `json:"shipped" expr:"shipped"`
	Received       float64       `json:"received" expr:"received"`
	Rejected       float64       `json:"rejected" expr:"rejected"`
	FirstASNAt     time.Time     `json:"first_asn_at" expr:"first_asn_at"`
	FirstReceiptAt time.Time     `json:"first_receipt_at" expr:"first_receipt_at"`
	Shipments      []Shipment    `json:"shipments,omitempty" expr:"shipments"`
	Receipts       []LineReceipt `json:"receipts,omitempty" expr:"receipts"`
}

// Value is the line's ordered value in the order currency.
func (l *OrderLine) Value() float64 {
	pu := l.PriceUnit
	if pu <= 0 {
		pu = 1
	}
	return l.Quantity * l.UnitPrice / pu
}

// LineAck is the supplier's latest answer for a line.
type LineAck struct {
	Acked        bool      `json:"acked" expr:"acked"`
	AckID        string    `json:"ack_id,omitempty" expr:"ack_id"`
	Status       string    `json:"status,omitempty" expr:"status"`
	Quantity     float64   `json:"quantity,omitempty" expr:"quantity"`
	Unit         string    `json:"unit,omitempty" expr:"unit"`
	PromisedDate time.Time `json:"promised_date" expr:"promised_date"`
	UnitPrice    float64   `json:"unit_price,omitempty" expr:"unit_price"`
	Version      int       `json:"version,omitempty" expr:"version"`
	At           time.Time `json:"at" expr:"at"`
	// Decision is the buyer's decision on a changed acknowledgement
	// (po.change_decided naming the ack id).
	Decision string `json:"decision,omitempty" expr:"decision"`
}

// Shipment is one ASN line against a PO line.
type Shipment struct {
	ASN       string    `json:"asn" expr:"asn"`
	Quantity  float64   `json:"quantity" expr:"quantity"`
	Unit      string    `json:"unit" expr:"unit"`
	Lot       string    `json:"lot,omitempty" expr:"lot"`
	At        time.Time `json:"at" expr:"at"`
	Arrival   time.Time `json:"arrival" expr:"arrival"`
	Cancelled bool      `json:"cancelled,omitempty" expr:"cancelled"`
}

// LineReceipt is one goods receipt line against a PO line.
type LineReceipt struct {
	Receipt  string    `json:"receipt" expr:"receipt"`
	ASN      string    `json:"asn,omitempty" expr:"asn"`
	Received float64   `json:"received" expr:"received"`
	Rejected float64   `json:"rejected" expr:"rejected"`
	Unit     string    `json:"unit" expr:"unit"`
	Lot      string    `json:"lot,omitempty" expr:"lot"`
	At       time.Time `json:"at" expr:"at"`
}

// ChangeRequestState is a change request and the decision on it.
type ChangeRequestState struct {
	ID          string    `json:"id" expr:"id"`
	RequestedBy string    `json:"requested_by" expr:"requested_by"`
	Reason      string    `json:"reason,omitempty" expr:"reason"`
	At          time.Time `json:"at" expr:"at"`
	Lines       []int     `json:"lines,omitempty" expr:"lines"`
	Decision    string    `json:"decision,omitempty" expr:"decision"`
	DecidedAt   time.Time `json:"decided_at" expr:"decided_at"`
}

// SupplierState is supplier master data as ERP last sent it.
type SupplierState struct {
	ID      string    `json:"id" expr:"id"`
	Known   bool      `json:"known" expr:"known"`
	Name    string    `json:"name" expr:"name"`
	Tier    int       `json:"tier" expr:"tier"`
	Status  string    `json:"status" expr:"status"`
	Country string    `json:"country" expr:"country"`
	Channel string    `json:"channel" expr:"channel"`
	At      time.Time `json:"at" expr:"at"`
}

// ItemState is item master data as ERP last sent it.
type ItemState struct {
	ID                  string    `json:"id" expr:"id"`
	Known               bool      `json:"known" expr:"known"`
	MaterialClass       string    `json:"material_class" expr:"material_class"`
	BaseUnit            string    `json:"base_unit" expr:"base_unit"`
	CertificateRequired bool      `json:"certificate_required" expr:"certificate_required"`
	CertificateTypes    []string  `json:"certificate_types,omitempty" expr:"certificate_types"`
	At                  time.Time `json:"at" expr:"at"`
}

// LotState is the quality record of one lot of one item.
type LotState struct {
	Item         string        `json:"item" expr:"item"`
	Lot          string        `json:"lot" expr:"lot"`
	Certificates []Certificate `json:"certificates,omitempty" expr:"certificates"`
	Holds        []Hold        `json:"holds,omitempty" expr:"holds"`
}

// HasCertificate reports whether a certificate for the lot is attached.
func (l *LotState) HasCertificate() bool { return l != nil && len(l.Certificates) > 0 }

// Certificate is a quality document attached to a lot.
type Certificate struct {
	Type string    `json:"type" expr:"type"`
	ID   string    `json:"id" expr:"id"`
	At   time.Time `json:"at" expr:"at"`
}

// Hold is a quality hold on a lot.
type Hold struct {
	ID         string    `json:"id" expr:"id"`
	Reason     string    `json:"reason" expr:"reason"`
	PlacedAt   time.Time `json:"placed_at" expr:"placed_at"`
	ReleasedAt time.Time `json:"released_at" expr:"released_at"`
}

// ASNState indexes an ASN: the orders it ships against.
type ASNState struct {
	ID              string    `json:"id" expr:"id"`
	Orders          []string  `json:"orders" expr:"orders"`
	SubmittedAt     time.Time `json:"submitted_at" expr:"submitted_at"`
	ExpectedArrival time.Time `json:"expected_arrival" expr:"expected_arrival"`
	Cancelled       bool      `json:"cancelled" expr:"cancelled"`
}

// InvoiceState is an invoice and its status in AP. Lines carry the order
// price and received quantity when the invoice was received, so variances
// can be judged on the invoice alone.
type InvoiceState struct {
	ID          string            `json:"id" expr:"id"`
	PO          string            `json:"po" expr:"po"`
	Status      string            `json:"status" expr:"status"`
	BlockReason string            `json:"block_reason,omitempty" expr:"block_reason"`
	Amount      float64           `json:"amount" expr:"amount"`
	Currency    string            `json:"currency" expr:"currency"`
	StatusAt    time.Time         `json:"status_at" expr:"status_at"`
	Lines       []InvoiceLineView `json:"lines,omitempty" expr:"lines"`
}

// InvoiceLineView is an invoice line beside the order line it bills.
type InvoiceLineView struct {
	Line        int     `json:"line" expr:"line"`
	Quantity    float64 `json:"quantity" expr:"quantity"`
	UnitPrice   float64 `json:"unit_price" expr:"unit_price"`
	POKnown     bool    `json:"po_known" expr:"po_known"`
	POUnitPrice float64 `json:"po_unit_price" expr:"po_unit_price"`
	POQuantity  float64 `json:"po_quantity" expr:"po_quantity"`
	Received    float64 `json:"received" expr:"received"` // accepted: received − rejected
}

// Line returns the order line n, creating it (not ordered) when absent.
func (o *Order) Line(n int) *OrderLine {
	for i := range o.Lines {
		if o.Lines[i].Number == n {
			return &o.Lines[i]
		}
	}
	o.Lines = append(o.Lines, OrderLine{Number: n})
	slices.SortFunc(o.Lines, func(a, b OrderLine) int { return a.Number - b.Number })
	for i := range o.Lines {
		if o.Lines[i].Number == n {
			return &o.Lines[i]
		}
	}
	return nil
}

// FindLine returns line n or nil.
func (o *Order) FindLine(n int) *OrderLine {
	for i := range o.Lines {
		if o.Lines[i].Number == n {
			return &o.Lines[i]
		}
	}
	return nil
}

// Value is the order's value in its currency (the lines in force).
func (o *Order) Value() float64 {
	v := 0.0
	for i := range o.Lines {
		if o.Lines[i].Ordered {
			v += o.Lines[i].Value()
		}
	}
	return v
}

// ApplyVersion applies po.released or po.changed. A version older than the
// one in force is recorded in Superseded and otherwise ignored; it reports
// whether the order changed.
func (o *Order) ApplyVersion(e *Event, p *PurchaseOrder) bool {
	v := e.Document.Version
	if o.Released && (v < o.Version || v == o.Version && !e.OccurredAt.After(o.ChangedAt)) {
		if v < o.Version {
			o.Superseded = append(o.Superseded, SupersededVersion{EventID: e.ID, Version: v, OccurredAt: e.OccurredAt})
		}
		return false
	}
	if !o.Released || o.ReleasedAt.IsZero() || e.OccurredAt.Before(o.ReleasedAt) {
		o.ReleasedAt = e.OccurredAt
	}
	o.Released, o.Version, o.ChangedAt = true, v, e.OccurredAt
	if o.Status == "" {
		o.Status = "open"
	}
	o.Supplier, o.Plant = e.Supplier, e.Plant
	o.OrderType, o.Buyer, o.Currency = p.OrderType, p.Buyer, p.Currency
	o.Incoterm, o.IncotermEdition = "", ""
	if p.Incoterms != nil {
		o.Incoterm, o.IncotermEdition = p.Incoterms.Code, p.Incoterms.Edition
	}
	for i := range o.Lines {
		o.Lines[i].Ordered = false
	}
	for _, pl := range p.Lines {
		l := o.Line(pl.Line)
		l.Ordered = true
		l.Item, l.MaterialClass, l.Quantity, l.Unit = pl.Item, pl.MaterialClass, pl.Quantity, pl.Unit
		l.UnitPrice, l.PriceUnit, l.NeedBy = pl.UnitPrice, pl.PriceUnit, pl.NeedBy.Time
		l.Schedule = pl.Schedule
	}
	return true
}

// ApplyCancel applies po.cancelled.
func (o *Order) ApplyCancel(e *Event) {
	o.Status, o.CancelledAt = "cancelled", e.OccurredAt
}

// ApplyAck applies po.acknowledged. A line's answer older than the one it
// holds is ignored (acknowledgements can arrive out of order).
func (o *Order) ApplyAck(e *Event, p *Acknowledgement) {
	if e.OccurredAt.After(o.AckedAt) {
		o.AckedAt = e.OccurredAt
		o.AckedVersion = p.POVersion
		if p.POVersion == 0 {
			o.AckedVersion = max(o.Version, e.Document.Version)
		}
	}
	if o.Supplier == "" {
		o.Supplier, o.Plant = e.Supplier, e.Plant
	}
	for _, al := range p.Lines {
		l := o.Line(al.Line)
		if l.Ack.Acked && e.OccurredAt.Before(l.Ack.At) {
			continue
		}
		l.Ack = LineAck{Acked: true, AckID: p.AckID, Status: al.Status, Quantity: al.Quantity, Unit: al.Unit,
			PromisedDate: al.PromisedDate.Time, UnitPrice: al.UnitPrice, Version: p.POVersion, At: e.OccurredAt}
	}
}

// ApplyChangeRequest applies po.change_requested.
func (o *Order) ApplyChangeRequest(e *Event, p *ChangeRequest) {
	cr := o.changeRequest(p.RequestID)
	cr.RequestedBy, cr.Reason, cr.At = p.RequestedBy, p.Reason, e.OccurredAt
	cr.Lines = cr.Lines[:0]
	for _, l := range p.Lines {
		cr.Lines = append(cr.Lines, l.Line)
	}
}

// ApplyChangeDecision applies po.change_decided: to the change request, or
// to the changed acknowledgement it names.
func (o *Order) ApplyChangeDecision(e *Event, p *ChangeDecision) {
	for i := range o.Lines {
		if o.Lines[i].Ack.AckID == p.RequestID && p.RequestID != "" {
			o.Lines[i].Ack.Decision = p.Decision
		}
	}
	cr := o.changeRequest(p.RequestID)
	cr.Decision, cr.DecidedAt = p.Decision, e.OccurredAt
}

func (o *Order) changeRequest(id string) *ChangeRequestState {
	for i := range o.ChangeRequests {
		if o.ChangeRequests[i].ID == id {
			return &o.ChangeRequests[i]
		}
	}
	o.ChangeRequests = append(o.ChangeRequests, ChangeRequestState{ID: id})
	return &o.ChangeRequests[len(o.ChangeRequests)-1]
}

// ApplyShipNotice applies the lines of an ASN that ship against this order.
// A resubmitted ASN replaces its earlier lines.
func (o *Order) ApplyShipNotice(e *Event, p *ShipNotice) {
	asn := e.Document.ID
	if !slices.Contains(o.ASNs, asn) {
		o.ASNs = append(o.ASNs, asn)
	}
	touched := map[int]bool{}
	for _, al := range p.Lines {
		if al.PO != o.ID {
			continue
		}
		l := o.Line(al.Line)
		if !touched[al.Line] {
			l.Shipments = slices.DeleteFunc(l.Shipments, func(s Shipment) bool { return s.ASN == asn })
			touched[al.Line] = true
		}
		l.Shipments = append(l.Shipments, Shipment{ASN: asn, Quantity: al.Quantity, Unit: al.Unit, Lot: al.Lot, At: e.OccurredAt, Arrival: p.ExpectedArrival})
		l.sumShipments()
	}
}

// ApplyASNCancel marks the ASN's shipments cancelled.
func (o *Order) ApplyASNCancel(asn string) {
	for i := range o.Lines {
		l := &o.Lines[i]
		for j := range l.Shipments {
			if l.Shipments[j].ASN == asn {
				l.Shipments[j].Cancelled = true
			}
		}
		l.sumShipments()
	}
}

func (l *OrderLine) sumShipments() {
	l.Shipped, l.FirstASNAt = 0, time.Time{}
	for _, s := range l.Shipments {
		if s.Cancelled {
			continue
		}
		l.Shipped += s.Quantity
		if l.FirstASNAt.IsZero() || s.At.Before(l.FirstASNAt) {
			l.FirstASNAt = s.At
		}
	}
}

// ShippedOn returns the quantity of the line on one ASN (0 when absent or
// cancelled).
func (l *OrderLine) ShippedOn(asn string) float64 {
	q := 0.0
	for _, s := range l.Shipments {
		if s.ASN == asn && !s.Cancelled {
			q += s.Quantity
		}
	}
	return q
}

// ApplyReceipt applies the lines of a goods receipt against this order; a
// receipt sent again replaces its earlier lines.
func (o *Order) ApplyReceipt(e *Event, p *Receipt) {
	rc := e.Document.ID
	touched := map[int]bool{}
	for _, rl := range p.Lines {
		if rl.PO != o.ID {
			continue
		}
		l := o.Line(rl.Line)
		if !touched[rl.Line] {
			l.Receipts = slices.DeleteFunc(l.Receipts, func(r LineReceipt) bool { return r.Receipt == rc })
			touched[rl.Line] = true
		}
		l.Receipts = append(l.Receipts, LineReceipt{Receipt: rc, ASN: p.ASN, Received: rl.ReceivedQuantity, Rejected: rl.RejectedQuantity, Unit: rl.Unit, Lot: rl.Lot, At: e.OccurredAt})
		l.Received, l.Rejected, l.FirstReceiptAt = 0, 0, time.Time{}
		for _, r := range l.Receipts {
			l.Received += r.Received
			l.Rejected += r.Rejected
			if l.FirstReceiptAt.IsZero() || r.At.Before(l.FirstReceiptAt) {
				l.FirstReceiptAt = r.At
			}
		}
	}
}

// ApplyInvoice records an invoice of the order.
func (o *Order) ApplyInvoice(id string) {
	if !slices.Contains(o.Invoices, id) {
		o.Invoices = append(o.Invoices, id)
	}
}

// Apply applies invoice.status_changed. A status older than the one held is
// ignored; it reports whether the invoice changed. o may be nil.
func (s *InvoiceState) Apply(e *Event, p *InvoiceStatus, o *Order) bool {
	if !s.StatusAt.IsZero() && e.OccurredAt.Before(s.StatusAt) {
		if len(p.Lines) > 0 && len(s.Lines) == 0 {
			s.setLines(p, o)
		}
		return false
	}
	s.ID, s.Status, s.BlockReason, s.StatusAt = e.Document.ID, p.Status, p.BlockReason, e.OccurredAt
	if p.PO != "" {
		s.PO = p.PO
	}
	if p.Amount > 0 {
		s.Amount, s.Currency = p.Amount, p.Currency
	}
	if len(p.Lines) > 0 {
		s.setLines(p, o)
	}
	return true
}

func (s *InvoiceState) setLines(p *InvoiceStatus, o *Order) {
	s.Lines = s.Lines[:0]
	for _, il := range p.Lines {
		v := InvoiceLineView{Line: il.Line, Quantity: il.Quantity, UnitPrice: il.UnitPrice}
		if o != nil {
			if l := o.FindLine(il.Line); l != nil && l.Ordered {
				v.POKnown, v.POUnitPrice, v.POQuantity, v.Received = true, l.UnitPrice, l.Quantity, l.Received-l.Rejected
			}
		}
		s.Lines = append(s.Lines, v)
	}
}

// StateStore keeps document state, the processed-events record and SLA
// timers. Everything the engine does for a batch of events happens in one
// StateTx, committed together.
type StateStore interface {
	// InTx runs f in a transaction and commits it if f returns nil. It
	// retries f on a serialization failure or deadlock.
	InTx(ctx context.Context, f func(tx StateTx) error) error
}

// StateKey names one stored projection.
type StateKey struct {
	Tenant string
	Kind   string // StateOrder, StateSupplier, ...
	ID     string
}

// StateTx is one transaction on the workflow state. Loaded projections and
// timers are locked until the transaction ends.
type StateTx interface {
	// MarkProcessed records the event keys and reports, per key, whether it
	// was new (false: applied before, drop it).
	MarkProcessed(ctx context.Context, keys []EventKey, at time.Time) ([]bool, error)
	// LoadStates returns the JSON of the projections that exist, by key.
	LoadStates(ctx context.Context, keys []StateKey) (map[StateKey][]byte, error)
	// SaveStates writes projections (insert or replace).
	SaveStates(ctx context.Context, states map[StateKey][]byte) error
	// LoadTimers returns the timers of the given subjects' documents
	// (Timer.DocKey), locked.
	LoadTimers(ctx context.Context, tenant string, docKeys []string) ([]*Timer, error)
	// SaveTimers inserts or updates timers.
	SaveTimers(ctx context.Context, ts []*Timer) error
	// AdvanceEventTime moves the event-time clock of the SLA scheduler to t
	// if t is later than it.
	AdvanceEventTime(ctx context.Context, t time.Time) error
	// Exceptions is the exception store inside the same transaction.
	Exceptions() ExceptionTx
}

// Timer states.
const (
	TimerRunning   = "running"
	TimerPaused    = "paused"
	TimerMet       = "met"       // stopped before due
	TimerBreached  = "breached"  // due passed (fired, or stopped late)
	TimerCancelled = "cancelled" // ended without outcome
)

// Timer is one SLA timer: one SLA definition on one subject. Times are
// business times (occurred_at of the events), never arrival times.
type Timer struct {
	Tenant  string `json:"tenant"`
	SLA     string `json:"sla"`
	Subject string `json:"subject"` // po/4500012345/10, invoice/INV1, ...
	// DocKey is the document the subject belongs to (po/4500012345): timers
	// are loaded per document.
	DocKey    string        `json:"doc_key"`
	State     string        `json:"state"`
	Calendar  string        `json:"calendar"` // plant code, or "24x7"
	StartedAt time.Time     `json:"started_at"`
	DueAt     time.Time     `json:"due_at"`
	Duration  time.Duration `json:"duration"` // business duration; 0 for a deadline
	// Remaining is the business time left when paused.
	Remaining time.Duration `json:"remaining"`
	PausedAt  time.Time     `json:"paused_at"`
	StoppedAt time.Time     `json:"stopped_at"`
	// WarnAt are the warning instants not fired yet, ascending.
	WarnAt []time.Time `json:"warn_at,omitempty"`
	// NextFireAt is the earliest of the next warning and the due time while
	// running; zero otherwise.
	NextFireAt time.Time `json:"next_fire_at"`
	FiredAt    time.Time `json:"fired_at"`
	// Raise is the exception a breach raises, prepared when the timer
	// started so that any process can fire it without the rules.
	Raise ExceptionCandidate `json:"raise"`
	// Event, on a deferred rule evaluation (SLA "grace:<rule>"), is the
	// event to evaluate the rule on when the timer is due.
	Event stdjson.RawMessage `json:"event,omitempty"`
	// Version counts updates (optimistic check for the firing path).
	Version int64 `json:"version"`
	// New marks a timer not stored yet.
	New bool `json:"-"`
}

// GracePrefix starts the SLA id of a deferred rule evaluation: the timer
// "grace:<rule id>" evaluates the rule on Event when it is due.
const GracePrefix = "grace:"

// Deferred reports whether t is a deferred rule evaluation rather than an
// SLA timer.
func (t *Timer) Deferred() bool {
	return len(t.SLA) > len(GracePrefix) && t.SLA[:len(GracePrefix)] == GracePrefix
}

// Schedule recomputes NextFireAt from State, WarnAt and DueAt.
func (t *Timer) Schedule() {
	t.NextFireAt = time.Time{}
	if t.State != TimerRunning {
		return
	}
	t.NextFireAt = t.DueAt
	if len(t.WarnAt) > 0 && t.WarnAt[0].Before(t.DueAt) {
		t.NextFireAt = t.WarnAt[0]
	}
}
