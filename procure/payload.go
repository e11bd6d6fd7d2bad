package procure

import (
	"time"
)

// Quantity fields are in the unit named beside them: a UN/ECE Rec 20 code
// (C62, KGM, ...). UnitOriginal keeps the code as the sender wrote it where the
// edge mapped it (X12 EA → C62).

// PurchaseOrder is the payload of po.released and po.changed: the whole
// current version of the order (not a delta), so that state can be rebuilt
// from the newest version alone.
type PurchaseOrder struct {
	OrderType string     `json:"order_type"` // standard | blanket
	Buyer     string     `json:"buyer,omitzero"`
	Currency  string     `json:"currency"`
	Incoterms *Incoterms `json:"incoterms,omitzero"`
	ShipTo    string     `json:"ship_to,omitzero"`
	// ValidTo ends a blanket order's call-off period.
	ValidTo Date     `json:"valid_to,omitzero"`
	Lines   []POLine `json:"lines"`
}

// Incoterms is a trade term with its edition (2020, 2010, 2000).
type Incoterms struct {
	Code    string `json:"code"`
	Edition string `json:"edition,omitzero"`
	Place   string `json:"place,omitzero"`
}

// POLine is one line of a purchase order.
type POLine struct {
	Line          int     `json:"line"`
	Item          string  `json:"item"`
	Description   string  `json:"description,omitzero"`
	MaterialClass string  `json:"material_class,omitzero"`
	Quantity      float64 `json:"quantity"`
	Unit          string  `json:"unit"`
	UnitOriginal  string  `json:"unit_original,omitzero"`
	UnitPrice     float64 `json:"unit_price"`
	PriceUnit     float64 `json:"price_unit,omitzero"` // quantity the price is for; 1 when absent
	// NeedBy is when production needs the line; some orders (and EDI
	// documents) carry no date, so it may be zero.
	NeedBy   Date           `json:"need_by,omitzero"`
	Schedule []ScheduleLine `json:"schedule,omitzero"`
}

// ScheduleLine is a quantity due on a date (one delivery of a line).
type ScheduleLine struct {
	Seq      int     `json:"seq"`
	Quantity float64 `json:"quantity"`
	Date     Date    `json:"date"`
}

// Cancellation is the payload of po.cancelled and asn.cancelled.
type Cancellation struct {
	Reason string `json:"reason,omitzero"`
}

// Acknowledgement statuses per line.
const (
	AckAccepted    = "accepted"
	AckChanged     = "changed"
	AckRejected    = "rejected"
	AckBackordered = "backordered"
)

// Acknowledgement is the payload of po.acknowledged: the supplier's answer
// to one version of the order, line by line.
type Acknowledgement struct {
	AckID string `json:"ack_id,omitzero"`
	// POVersion is the order version answered; 0 means the latest.
	POVersion int       `json:"po_version,omitzero"`
	Lines     []AckLine `json:"lines"`
}

// AckLine is the supplier's answer for one PO line.
type AckLine struct {
	Line         int     `json:"line"`
	Status       string  `json:"status"` // accepted | changed | rejected | backordered
	Quantity     float64 `json:"quantity,omitzero"`
	Unit         string  `json:"unit,omitzero"`
	UnitOriginal string  `json:"unit_original,omitzero"`
	PromisedDate Date    `json:"promised_date,omitzero"`
	UnitPrice    float64 `json:"unit_price,omitzero"`
	Reason       string  `json:"reason,omitzero"`
}

// ChangeRequest is the payload of po.change_requested: a proposal by the
// supplier (split delivery, new date) or the buyer that the other side answers.
type ChangeRequest struct {
	RequestID   string       `json:"request_id"`
	RequestedBy string       `json:"requested_by"` // supplier | buyer
	Reason      string       `json:"reason,omitzero"`
	Lines       []ChangeLine `json:"lines"`
}

// ChangeLine is a proposed change to one PO line.
type ChangeLine struct {
	Line      int            `json:"line"`
	Quantity  float64        `json:"quantity,omitzero"`
	Date      Date           `json:"date,omitzero"`
	UnitPrice float64        `json:"unit_price,omitzero"`
	Schedule  []ScheduleLine `json:"schedule,omitzero"`
}

// Change decisions.
const (
	DecisionApproved        = "approved"
	DecisionApprovedUpdated = "approved_and_updated"
	DecisionRejected        = "rejected"
)

// ChangeDecision is the payload of po.change_decided.
type ChangeDecision struct {
	RequestID string `json:"request_id"`
	Decision  string `json:"decision"` // approved | approved_and_updated | rejected
	DecidedBy string `json:"decided_by,omitzero"`
	Comment   string `json:"comment,omitzero"`
}

// ShipNotice is the payload of asn.submitted: shipment, packs and the items
// shipped against PO lines.
type ShipNotice struct {
	ShipDate        time.Time `json:"ship_date"`
	ExpectedArrival time.Time `json:"expected_arrival"`
	Carrier         Carrier   `json:"carrier,omitzero"`
	BillOfLading    string    `json:"bill_of_lading,omitzero"`
	Tracking        string    `json:"tracking,omitzero"`
	ShipTo          string    `json:"ship_to,omitzero"`
	Packs           []Pack    `json:"packs,omitzero"`
	// Lines may be empty: a ship notice can announce a shipment before
	// its contents are known (cXML ShipNoticeRequest without portions).
	Lines []ASNLine `json:"lines,omitzero"`
}

// Carrier is who moves the goods; SCAC is the Standard Carrier Alpha Code.
type Carrier struct {
	SCAC string `json:"scac,omitzero"`
	Name string `json:"name,omitzero"`
	Mode string `json:"mode,omitzero"` // road | rail | sea | air | parcel
}

// Pack is a handling unit, identified by its SSCC-18.
type Pack struct {
	SSCC       string `json:"sscc"`
	Packaging  string `json:"packaging,omitzero"` // UN/ECE Rec 21 (PX pallet, CS case)
	ParentSSCC string `json:"parent_sscc,omitzero"`
}

// ASNLine is a quantity of one PO line shipped, optionally in a pack and lot.
type ASNLine struct {
	PO           string  `json:"po"`
	Line         int     `json:"line"`
	Item         string  `json:"item,omitzero"`
	Quantity     float64 `json:"quantity"`
	Unit         string  `json:"unit"`
	UnitOriginal string  `json:"unit_original,omitzero"`
	Lot          string  `json:"lot,omitzero"`
	SSCC         string  `json:"sscc,omitzero"`
	ExpiryDate   Date    `json:"expiry_date,omitzero"`
}

// Receipt is the payload of goods.received: what the warehouse counted.
type Receipt struct {
	ASN   string        `json:"asn,omitzero"`
	Lines []ReceiptLine `json:"lines"`
}

// ReceiptLine is the quantity received and rejected against one PO line.
type ReceiptLine struct {
	PO               string  `json:"po"`
	Line             int     `json:"line"`
	Item             string  `json:"item,omitzero"`
	ReceivedQuantity float64 `json:"received_quantity"`
	RejectedQuantity float64 `json:"rejected_quantity,omitzero"`
	Unit             string  `json:"unit"`
	Lot              string  `json:"lot,omitzero"`
}

// QualityDocument is the payload of quality.document_attached: a certificate
// of analysis (coa) or conformance (coc) for a lot.
type QualityDocument struct {
	DocType       string `json:"doc_type"` // coa | coc | other
	CertificateID string `json:"certificate_id,omitzero"`
	Item          string `json:"item"`
	Lot           string `json:"lot"`
	PO            string `json:"po,omitzero"`
	Line          int    `json:"line,omitzero"`
	ValidUntil    Date   `json:"valid_until,omitzero"`
}

// QualityHold is the payload of quality.hold_placed and quality.hold_released.
type QualityHold struct {
	HoldID   string  `json:"hold_id"`
	Item     string  `json:"item"`
	Lot      string  `json:"lot,omitzero"`
	PO       string  `json:"po,omitzero"`
	Line     int     `json:"line,omitzero"`
	Quantity float64 `json:"quantity,omitzero"`
	Unit     string  `json:"unit,omitzero"`
	Reason   string  `json:"reason,omitzero"`
}

// Invoice statuses.
const (
	InvoiceReceived = "received"
	InvoiceMatched  = "matched"
	InvoiceBlocked  = "blocked"
	InvoiceApproved = "approved"
	InvoicePaid     = "paid"
	InvoiceDisputed = "disputed"
)

// InvoiceStatus is the payload of invoice.status_changed. BlockReason is an
// internal financial control: it is never shown to suppliers.
type InvoiceStatus struct {
	Status      string        `json:"status"`
	BlockReason string        `json:"block_reason,omitzero"` // price_variance | quantity_variance | missing_receipt | other
	PO          string        `json:"po,omitzero"`
	Amount      float64       `json:"amount,omitzero"`
	Currency    string        `json:"currency,omitzero"`
	DueDate     Date          `json:"due_date,omitzero"`
	Lines       []InvoiceLine `json:"lines,omitzero"`
	// CreditNote is true when the document is a credit note (EDIFACT BGM
	// 381, X12 810 BIG07 CR, cXML purpose creditMemo): Amount and the lines
	// are what is credited, not what is owed.
	CreditNote bool `json:"credit_note,omitzero"`
}

// InvoiceLine is an invoiced quantity and price against a PO line.
type InvoiceLine struct {
	PO        string  `json:"po,omitzero"`
	Line      int     `json:"line"`
	Quantity  float64 `json:"quantity"`
	Unit      string  `json:"unit,omitzero"`
	UnitPrice float64 `json:"unit_price"`
	// InvoiceLine is the line's number on the invoice, when the invoice
	// numbers its lines apart from the order lines (cXML invoiceLineNumber).
	InvoiceLine int `json:"invoice_line,omitzero"`
}

// Supplier is the payload of supplier.updated (ERP owns supplier master data).
type Supplier struct {
	Name     string `json:"name"`
	Tier     int    `json:"tier"`            // 1 strategic, 2 preferred, 3 standard
	Status   string `json:"status,omitzero"` // active | blocked | inactive
	Country  string `json:"country,omitzero"`
	TimeZone string `json:"time_zone,omitzero"`
	Channel  string `json:"channel,omitzero"` // portal | edi | cxml | email
}

// Item is the payload of item.updated (ERP owns item master data).
type Item struct {
	Description         string   `json:"description,omitzero"`
	MaterialClass       string   `json:"material_class,omitzero"`
	BaseUnit            string   `json:"base_unit"`
	CertificateRequired bool     `json:"certificate_required,omitzero"`
	CertificateTypes    []string `json:"certificate_types,omitzero"`
}

// Delivery is the payload of message.failed and message.delivered: the
// technical outcome of moving one message between two systems.
type Delivery struct {
	MessageID      string `json:"message_id"`
	Target         string `json:"target"` // the receiving system: erp, portal, wms, ...
	Endpoint       string `json:"endpoint,omitzero"`
	DocumentType   string `json:"document_type,omitzero"` // po.released, asn.submitted, ...
	ErrorClass     string `json:"error_class,omitzero"`   // transient | timeout | auth | validation | mapping | unknown
	Error          string `json:"error,omitzero"`
	HTTPStatus     int    `json:"http_status,omitzero"`
	Attempt        int    `json:"attempt,omitzero"`
	IdempotencyKey string `json:"idempotency_key,omitzero"`
	PayloadRef     string `json:"payload_ref,omitzero"`
	// Payload is the message as sent, where the middleware includes it; a
	// retry re-publishes exactly these bytes.
	Payload string `json:"payload,omitzero"`
}
