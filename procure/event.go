package procure

import (
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Type is the type of a canonical event.
type Type string

// The event types. Each has one payload type, listed in payloadTypes.
const (
	POReleased              Type = "po.released"
	POChanged               Type = "po.changed"
	POCancelled             Type = "po.cancelled"
	POAcknowledged          Type = "po.acknowledged"
	POChangeRequested       Type = "po.change_requested"
	POChangeDecided         Type = "po.change_decided"
	ASNSubmitted            Type = "asn.submitted"
	ASNCancelled            Type = "asn.cancelled"
	GoodsReceived           Type = "goods.received"
	QualityDocumentAttached Type = "quality.document_attached"
	QualityHoldPlaced       Type = "quality.hold_placed"
	QualityHoldReleased     Type = "quality.hold_released"
	InvoiceStatusChanged    Type = "invoice.status_changed"
	SupplierUpdated         Type = "supplier.updated"
	ItemUpdated             Type = "item.updated"
	MessageFailed           Type = "message.failed"
	MessageDelivered        Type = "message.delivered"
)

// Source is the kind of system an event comes from.
type Source string

// The sources.
const (
	SourceERP        Source = "erp"
	SourcePortal     Source = "portal"
	SourceMiddleware Source = "middleware"
	SourceWMS        Source = "wms"
	SourceQMS        Source = "qms"
	SourceAP         Source = "ap"
	SourceEDI        Source = "edi"
)

// Sources lists every valid source.
var Sources = []Source{SourceERP, SourcePortal, SourceMiddleware, SourceWMS, SourceQMS, SourceAP, SourceEDI}

// DocumentKind is the kind of business document an event is about.
type DocumentKind string

// The document kinds.
const (
	DocPO       DocumentKind = "po"
	DocASN      DocumentKind = "asn"
	DocReceipt  DocumentKind = "receipt"
	DocInvoice  DocumentKind = "invoice"
	DocQuality  DocumentKind = "quality"
	DocSupplier DocumentKind = "supplier"
	DocItem     DocumentKind = "item"
	DocMessage  DocumentKind = "message"
)

// DocumentKinds lists every valid document kind.
var DocumentKinds = []DocumentKind{DocPO, DocASN, DocReceipt, DocInvoice, DocQuality, DocSupplier, DocItem, DocMessage}

// DocumentRef names the business document an event is about. Version is the
// document's revision where the sending system has one (PO versions).
type DocumentRef struct {
	Kind    DocumentKind `json:"kind"`
	ID      string       `json:"id"`
	Version int          `json:"version,omitzero"`
}

// Event is the canonical envelope. ID is globally unique and is the
// idempotency key: two deliveries with one ID are one event.
type Event struct {
	ID            string         `json:"id"`
	Type          Type           `json:"type"`
	Source        Source         `json:"source"`
	Tenant        string         `json:"tenant"`
	OccurredAt    time.Time      `json:"occurred_at"`
	CorrelationID string         `json:"correlation_id,omitzero"`
	TraceID       string         `json:"trace_id,omitzero"`
	Plant         string         `json:"plant,omitzero"`
	Supplier      string         `json:"supplier,omitzero"`
	Document      DocumentRef    `json:"document"`
	Data          jsontext.Value `json:"data"`

	// Payload is the decoded Data: a pointer to the payload type of Type
	// (*PurchaseOrder for po.released, ...). It is set by Decode.
	Payload any `json:"-"`
}

// DocumentKey is the partition key of the event: tenant, document kind and id.
// Every event of one document lands on one partition, in order.
func (e *Event) DocumentKey() string {
	return e.Tenant + "/" + string(e.Document.Kind) + "/" + e.Document.ID
}
