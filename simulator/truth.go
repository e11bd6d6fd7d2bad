package simulator

import (
	"slices"
	"sync"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Failure is a failure mode the simulator injects.
type Failure string

// The failure modes. Each Injection of a Chain names one.
const (
	AckLate          Failure = "ack_late"          // acknowledged after 30 business hours or more
	AckMissing       Failure = "ack_missing"       // never acknowledged (Document.Version: the version left unanswered)
	AckChanged       Failure = "ack_changed"       // a line acknowledged with a changed quantity, date or price (Detail: which)
	AckLineRejected  Failure = "ack_line_rejected" // a line rejected by the supplier
	ChangeRequested  Failure = "change_requested"  // the supplier asked for a change (Detail: split | date)
	BuyerChanged     Failure = "buyer_changed"     // the buyer revised the order after acknowledgement
	Cancelled        Failure = "cancelled"         // the buyer cancelled the order
	DeliveryLate     Failure = "delivery_late"     // goods arrived after the promised date
	ASNMissing       Failure = "asn_missing"       // goods received without an ASN
	ReceiptVariance  Failure = "receipt_variance"  // received or rejected quantity differs from shipped (Detail: short | over | rejected)
	CertMissing      Failure = "cert_missing"      // a required certificate was not sent with the lot (Detail: late | never)
	QualityHold      Failure = "quality_hold"      // a lot was put on hold (Detail: certificate_missing | inspection)
	InvoiceBlocked   Failure = "invoice_blocked"   // the invoice was blocked (Detail: the block reason)
	MessageFailed    Failure = "message_failed"    // a message failed and was delivered on a retry (Detail: error class)
	MessageExhausted Failure = "message_exhausted" // a message failed on every attempt (Detail: error class)
)

// Injection is one failure injected into a chain.
type Injection struct {
	Failure Failure
	// Document is the document the failure shows on: the PO (with the
	// version concerned), the ASN, receipt, certificate, hold, invoice or
	// message.
	Document procure.DocumentRef
	Line     int // the PO line, where the failure is about one line
	// At is when the failure becomes observable (the late event, or when
	// the missing one was due).
	At     time.Time
	Detail string
}

// Chain is the ground truth of one simulated purchase order and everything
// that follows from it.
type Chain struct {
	CorrelationID string
	PO            string
	OrderType     string
	Plant         string
	Supplier      string
	ReleasedAt    time.Time
	// LastEventAt is the time of the chain's last event: a chain whose
	// LastEventAt is after the end of a Backfill is not complete yet.
	LastEventAt time.Time
	Events      int
	Injected    []Injection
}

// Has reports whether f was injected into the chain.
func (c *Chain) Has(f Failure) bool {
	return slices.ContainsFunc(c.Injected, func(in Injection) bool { return in.Failure == f })
}

// GroundTruth collects chains; its Record method is an Options.OnChain.
// It is safe for concurrent use.
type GroundTruth struct {
	mu     sync.Mutex
	chains []Chain
}

// Record adds a chain.
func (g *GroundTruth) Record(c Chain) {
	g.mu.Lock()
	g.chains = append(g.chains, c)
	g.mu.Unlock()
}

// Chains returns the chains recorded so far, in the order they were planned.
func (g *GroundTruth) Chains() []Chain {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.chains)
}
