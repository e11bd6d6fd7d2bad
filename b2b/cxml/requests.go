package cxml

// Request holds exactly one of the supported requests.
type Request struct {
	DeploymentMode       string                `xml:"deploymentMode,attr"` // production (default) or test
	OrderRequest         *OrderRequest         `xml:"OrderRequest"`
	ConfirmationRequest  *ConfirmationRequest  `xml:"ConfirmationRequest"`
	ShipNoticeRequest    *ShipNoticeRequest    `xml:"ShipNoticeRequest"`
	InvoiceDetailRequest *InvoiceDetailRequest `xml:"InvoiceDetailRequest"`
	StatusUpdateRequest  *StatusUpdateRequest  `xml:"StatusUpdateRequest"`
}

// Money is an amount as written (decimal text) with its currency.
type Money struct {
	Currency string `xml:"currency,attr"`
	Value    string `xml:",chardata"`
}

// Amount wraps a Money, as in <Total><Money …/></Total>.
type Amount struct {
	Money Money `xml:"Money"`
}

// Text is a language-tagged string (Description, Comments …).
type Text struct {
	Lang  string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

// Extrinsic is a named extension value.
type Extrinsic struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

// Address is a ShipTo/BillTo address.
type Address struct {
	AddressID     string        `xml:"addressID,attr"`
	IsoCountry    string        `xml:"isoCountryCode,attr"`
	Name          Text          `xml:"Name"`
	PostalAddress PostalAddress `xml:"PostalAddress"`
}

// PostalAddress is a postal address.
type PostalAddress struct {
	Name       string   `xml:"name,attr"`
	DeliverTo  []string `xml:"DeliverTo"`
	Street     []string `xml:"Street"`
	City       string   `xml:"City"`
	State      string   `xml:"State"`
	PostalCode string   `xml:"PostalCode"`
	Country    struct {
		ISOCode string `xml:"isoCountryCode,attr"`
		Name    string `xml:",chardata"`
	} `xml:"Country"`
}

// Contact is a party of a confirmation or ship notice header.
type Contact struct {
	Role          string        `xml:"role,attr"`
	AddressID     string        `xml:"addressID,attr"`
	Name          Text          `xml:"Name"`
	PostalAddress PostalAddress `xml:"PostalAddress"`
}

// ItemID identifies an item.
type ItemID struct {
	SupplierPartID          string `xml:"SupplierPartID"`
	SupplierPartAuxiliaryID string `xml:"SupplierPartAuxiliaryID"`
	BuyerPartID             string `xml:"BuyerPartID"`
}

// DocumentReference points at an earlier document by payloadID.
type DocumentReference struct {
	PayloadID string `xml:"payloadID,attr"`
}

// OrderReference points at a purchase order.
type OrderReference struct {
	OrderID           string            `xml:"orderID,attr"`
	OrderDate         Time              `xml:"orderDate,attr"`
	DocumentReference DocumentReference `xml:"DocumentReference"`
}

// OrderRequest is a purchase order: new, update (a revision) or delete.
type OrderRequest struct {
	Header OrderRequestHeader `xml:"OrderRequestHeader"`
	Items  []ItemOut          `xml:"ItemOut"`
}

// OrderRequestHeader is the header of an OrderRequest.
type OrderRequestHeader struct {
	OrderID               string             `xml:"orderID,attr"`
	OrderDate             Time               `xml:"orderDate,attr"`
	Type                  string             `xml:"type,attr"` // new, update, delete
	OrderVersion          string             `xml:"orderVersion,attr"`
	OrderType             string             `xml:"orderType,attr"` // regular, release, blanket …
	RequestedDeliveryDate Time               `xml:"requestedDeliveryDate,attr"`
	Total                 Amount             `xml:"Total"`
	ShipTo                Address            `xml:"ShipTo>Address"`
	BillTo                Address            `xml:"BillTo>Address"`
	Comments              []Text             `xml:"Comments"`
	Extrinsics            []Extrinsic        `xml:"Extrinsic"`
	DocumentReference     *DocumentReference `xml:"DocumentReference"` // the order an update/delete replaces
}

// ItemOut is one order line.
type ItemOut struct {
	LineNumber            string         `xml:"lineNumber,attr"`
	Quantity              string         `xml:"quantity,attr"`
	RequestedDeliveryDate Time           `xml:"requestedDeliveryDate,attr"`
	ItemID                ItemID         `xml:"ItemID"`
	Detail                ItemDetail     `xml:"ItemDetail"`
	ShipTo                *Address       `xml:"ShipTo>Address"`
	Schedule              []ScheduleLine `xml:"ScheduleLine"`
	Comments              []Text         `xml:"Comments"`
}

// ItemDetail describes the ordered item.
type ItemDetail struct {
	UnitPrice      Amount `xml:"UnitPrice"`
	Description    Text   `xml:"Description"`
	UnitOfMeasure  string `xml:"UnitOfMeasure"`
	Classification []struct {
		Domain string `xml:"domain,attr"`
		Value  string `xml:",chardata"`
	} `xml:"Classification"`
	ManufacturerPartID string      `xml:"ManufacturerPartID"`
	Extrinsics         []Extrinsic `xml:"Extrinsic"`
}

// ScheduleLine is one delivery of an order line.
type ScheduleLine struct {
	Quantity              string `xml:"quantity,attr"`
	RequestedDeliveryDate Time   `xml:"requestedDeliveryDate,attr"`
	LineNumber            string `xml:"lineNumber,attr"`
	UnitOfMeasure         string `xml:"UnitOfMeasure"`
}

// ConfirmationRequest is the supplier's order confirmation.
type ConfirmationRequest struct {
	Header         ConfirmationHeader `xml:"ConfirmationHeader"`
	OrderReference OrderReference     `xml:"OrderReference"`
	Items          []ConfirmationItem `xml:"ConfirmationItem"`
}

// ConfirmationHeader says what the confirmation covers.
type ConfirmationHeader struct {
	ConfirmID  string    `xml:"confirmID,attr"`
	Operation  string    `xml:"operation,attr"` // new, update
	Type       string    `xml:"type,attr"`      // accept, allDetail, detail, backordered, except, reject …
	NoticeDate Time      `xml:"noticeDate,attr"`
	Total      *Amount   `xml:"Total"`
	Contacts   []Contact `xml:"Contact"`
	Comments   []Text    `xml:"Comments"`
}

// ConfirmationItem confirms one order line, possibly split by status.
type ConfirmationItem struct {
	LineNumber    string               `xml:"lineNumber,attr"`
	Quantity      string               `xml:"quantity,attr"`
	UnitOfMeasure string               `xml:"UnitOfMeasure"`
	Statuses      []ConfirmationStatus `xml:"ConfirmationStatus"`
}

// ConfirmationStatus is the answer for (part of) a line.
type ConfirmationStatus struct {
	Type          string  `xml:"type,attr"` // accept, reject, backordered, detail, unknown
	Quantity      string  `xml:"quantity,attr"`
	ShipmentDate  Time    `xml:"shipmentDate,attr"`
	DeliveryDate  Time    `xml:"deliveryDate,attr"`
	UnitOfMeasure string  `xml:"UnitOfMeasure"`
	UnitPrice     *Amount `xml:"UnitPrice"`
	ItemIn        *struct {
		ItemID ItemID `xml:"ItemID"`
	} `xml:"ItemIn"`
	Comments   []Text      `xml:"Comments"`
	Extrinsics []Extrinsic `xml:"Extrinsic"`
}

// ShipNoticeRequest is an advance ship notice.
type ShipNoticeRequest struct {
	Header      ShipNoticeHeader    `xml:"ShipNoticeHeader"`
	ShipControl []ShipControl       `xml:"ShipControl"`
	Portions    []ShipNoticePortion `xml:"ShipNoticePortion"`
}

// ShipNoticeHeader describes the shipment.
type ShipNoticeHeader struct {
	ShipmentID   string    `xml:"shipmentID,attr"`
	Operation    string    `xml:"operation,attr"` // new, update, delete
	NoticeDate   Time      `xml:"noticeDate,attr"`
	ShipmentDate Time      `xml:"shipmentDate,attr"`
	DeliveryDate Time      `xml:"deliveryDate,attr"`
	Contacts     []Contact `xml:"Contact"`
	Comments     []Text    `xml:"Comments"`
}

// ShipControl names the carrier and tracking id.
type ShipControl struct {
	Carriers []struct {
		Domain string `xml:"domain,attr"` // SCAC, companyName …
		Value  string `xml:",chardata"`
	} `xml:"CarrierIdentifier"`
	ShipmentIdentifier string `xml:"ShipmentIdentifier"`
}

// ShipNoticePortion is the part of the shipment for one order.
type ShipNoticePortion struct {
	OrderReference OrderReference   `xml:"OrderReference"`
	Items          []ShipNoticeItem `xml:"ShipNoticeItem"`
}

// ShipNoticeItem is one shipped order line.
type ShipNoticeItem struct {
	LineNumber    string `xml:"lineNumber,attr"`
	Quantity      string `xml:"quantity,attr"`
	ItemID        ItemID `xml:"ItemID"`
	UnitOfMeasure string `xml:"UnitOfMeasure"`
	Batch         *struct {
		SupplierBatchID string `xml:"SupplierBatchID"`
		BuyerBatchID    string `xml:"BuyerBatchID"`
	} `xml:"Batch"`
}

// InvoiceDetailRequest is an invoice.
type InvoiceDetailRequest struct {
	Header  InvoiceDetailRequestHeader `xml:"InvoiceDetailRequestHeader"`
	Orders  []InvoiceDetailOrder       `xml:"InvoiceDetailOrder"`
	Summary InvoiceDetailSummary       `xml:"InvoiceDetailSummary"`
}

// InvoiceDetailRequestHeader describes the invoice.
type InvoiceDetailRequestHeader struct {
	InvoiceID   string `xml:"invoiceID,attr"`
	Purpose     string `xml:"purpose,attr"`   // standard, creditMemo, debitMemo, lineLevelCreditMemo …
	Operation   string `xml:"operation,attr"` // new, delete
	InvoiceDate Time   `xml:"invoiceDate,attr"`
	PaymentTerm []struct {
		PayInNumberOfDays string `xml:"payInNumberOfDays,attr"`
	} `xml:"PaymentTerm"`
}

// InvoiceDetailOrder is the part of the invoice for one order.
type InvoiceDetailOrder struct {
	OrderReference OrderReference `xml:"InvoiceDetailOrderInfo>OrderReference"`
	// OrderIDInfo names the order when OrderReference does not.
	OrderIDInfo struct {
		OrderID string `xml:"orderID,attr"`
	} `xml:"InvoiceDetailOrderInfo>OrderIDInfo"`
	Items []InvoiceDetailItem `xml:"InvoiceDetailItem"`
}

// InvoiceDetailItem is one invoiced line.
type InvoiceDetailItem struct {
	InvoiceLineNumber string `xml:"invoiceLineNumber,attr"`
	Quantity          string `xml:"quantity,attr"`
	UnitOfMeasure     string `xml:"UnitOfMeasure"`
	UnitPrice         Amount `xml:"UnitPrice"`
	Reference         struct {
		LineNumber  string `xml:"lineNumber,attr"`
		ItemID      ItemID `xml:"ItemID"`
		Description Text   `xml:"Description"`
	} `xml:"InvoiceDetailItemReference"`
	Subtotal Amount `xml:"SubtotalAmount"`
}

// InvoiceDetailSummary holds the invoice totals.
type InvoiceDetailSummary struct {
	Subtotal        Amount  `xml:"SubtotalAmount"`
	Tax             Amount  `xml:"Tax"`
	SpecialHandling *Amount `xml:"SpecialHandlingAmount"`
	Shipping        *Amount `xml:"ShippingAmount"`
	Gross           *Amount `xml:"GrossAmount"`
	Net             *Amount `xml:"NetAmount"`
	Due             *Amount `xml:"DueAmount"`
}

// StatusUpdateRequest reports the status of an earlier document (invoice
// status, order forwarding …).
type StatusUpdateRequest struct {
	DocumentReference DocumentReference `xml:"DocumentReference"`
	Status            struct {
		Code string `xml:"code,attr"`
		Text string `xml:"text,attr"`
		Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
		Body string `xml:",chardata"`
	} `xml:"Status"`
	InvoiceStatus *struct {
		Type          string `xml:"type,attr"` // processing, reconciled, rejected, paying, paid
		InvoiceIDInfo struct {
			InvoiceID   string `xml:"invoiceID,attr"`
			InvoiceDate Time   `xml:"invoiceDate,attr"`
		} `xml:"InvoiceIDInfo"`
		Comments []Text `xml:"Comments"`
	} `xml:"InvoiceStatus"`
}
