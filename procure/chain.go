package procure

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Chain is the document chain of an order: each step, what happened, what
// is missing and what is due next.
type Chain struct {
	PO    string      `json:"po"`
	Steps []ChainStep `json:"steps"`
	// Next is the first step not done.
	Next string `json:"next,omitempty"`
}

// Chain step statuses.
const (
	StepDone      = "done"
	StepAttention = "attention" // happened, with a problem
	StepMissing   = "missing"   // should have happened
	StepDue       = "due"       // not yet, due at Due
	StepNone      = "none"      // not applicable
)

// ChainStep is one link of the chain.
type ChainStep struct {
	Step   string    `json:"step"` // po | acknowledgement | changes | asn | receipt | quality | invoice
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Due    time.Time `json:"due"`
	Detail string    `json:"detail"`
	Refs   []string  `json:"refs,omitempty"`
}

// BuildChain judges each step of an order's chain at now, from the order,
// its invoices and the lots its shipments carry (read beforehand: it does
// no I/O and reads no clock). The instants its
// texts name are in the plant's zone loc (the page shows the plant's
// times); need-by dates are dates, the same in every zone.
func BuildChain(o *Order, invs []*InvoiceState, lots []*LotState, now time.Time, loc *time.Location) *Chain {
	ch := &Chain{PO: o.ID}
	add := func(s ChainStep) { ch.Steps = append(ch.Steps, s) }
	var ordered []OrderLine
	for _, l := range o.Lines {
		if l.Ordered {
			ordered = append(ordered, l)
		}
	}
	earliestNeed := time.Time{}
	for _, l := range ordered {
		d := l.NeedBy
		if l.Ack.Acked && !l.Ack.PromisedDate.IsZero() {
			d = l.Ack.PromisedDate
		}
		if !d.IsZero() && (earliestNeed.IsZero() || d.Before(earliestNeed)) {
			earliestNeed = d
		}
	}
	// PO
	if o.Released {
		st := StepDone
		detail := fmt.Sprintf("version %d, %d lines, %.2f %s", o.Version, len(ordered), o.Value(), o.Currency)
		if o.Status == "cancelled" {
			st, detail = StepAttention, "cancelled "+o.CancelledAt.In(loc).Format("2006-01-02")
		}
		add(ChainStep{Step: "po", Status: st, At: o.ReleasedAt, Detail: detail})
	} else {
		add(ChainStep{Step: "po", Status: StepMissing, Detail: "events about this order arrived, its release did not"})
	}
	// Acknowledgement
	acked, statuses := 0, map[string]int{}
	for _, l := range ordered {
		if l.Ack.Acked {
			acked++
			statuses[l.Ack.Status]++
		}
	}
	switch {
	case len(ordered) > 0 && acked == 0:
		add(ChainStep{Step: "acknowledgement", Status: StepMissing, Detail: fmt.Sprintf("not acknowledged since %s", o.ReleasedAt.In(loc).Format("2006-01-02 15:04 MST"))})
	case acked < len(ordered):
		add(ChainStep{Step: "acknowledgement", Status: StepAttention, At: o.AckedAt, Detail: fmt.Sprintf("%d of %d lines acknowledged", acked, len(ordered))})
	default:
		st, detail := StepDone, summarize(statuses)
		if o.AckedVersion > 0 && o.AckedVersion < o.Version {
			st, detail = StepAttention, fmt.Sprintf("acknowledged version %d, version %d is in force; %s", o.AckedVersion, o.Version, detail)
		} else if statuses["rejected"] > 0 || statuses["changed"] > 0 || statuses["accepted_with_changes"] > 0 {
			st = StepAttention
		}
		add(ChainStep{Step: "acknowledgement", Status: st, At: o.AckedAt, Detail: detail})
	}
	// Changes
	pending := 0
	for _, cr := range o.ChangeRequests {
		if cr.Decision == "" {
			pending++
		}
	}
	switch {
	case len(o.ChangeRequests) == 0:
		add(ChainStep{Step: "changes", Status: StepNone, Detail: "no change requests"})
	case pending > 0:
		add(ChainStep{Step: "changes", Status: StepAttention, Detail: fmt.Sprintf("%d of %s await a decision", pending, plural(len(o.ChangeRequests), "change request"))})
	default:
		add(ChainStep{Step: "changes", Status: StepDone, Detail: plural(len(o.ChangeRequests), "change request") + " decided"})
	}
	// ASN
	var shipped, qty, received, rejected float64
	var firstASN, firstGR, arrival time.Time
	for _, l := range ordered {
		qty += l.Quantity
		shipped += l.Shipped
		received += l.Received
		rejected += l.Rejected
		if !l.FirstASNAt.IsZero() && (firstASN.IsZero() || l.FirstASNAt.Before(firstASN)) {
			firstASN = l.FirstASNAt
		}
		if !l.FirstReceiptAt.IsZero() && (firstGR.IsZero() || l.FirstReceiptAt.Before(firstGR)) {
			firstGR = l.FirstReceiptAt
		}
		for _, s := range l.Shipments {
			if !s.Cancelled && s.Arrival.After(arrival) {
				arrival = s.Arrival
			}
		}
	}
	switch {
	case shipped == 0 && !earliestNeed.IsZero() && now.After(earliestNeed.Add(-48*time.Hour)):
		add(ChainStep{Step: "asn", Status: StepMissing, Due: earliestNeed, Detail: "no ASN, delivery due " + earliestNeed.Format("2006-01-02")})
	case shipped == 0:
		add(ChainStep{Step: "asn", Status: StepDue, Due: earliestNeed, Detail: "no ASN yet"})
	case shipped+1e-9 < qty:
		add(ChainStep{Step: "asn", Status: StepAttention, At: firstASN, Refs: o.ASNs, Detail: fmt.Sprintf("%g of %g shipped on %s", shipped, qty, plural(len(o.ASNs), "ASN"))})
	default:
		add(ChainStep{Step: "asn", Status: StepDone, At: firstASN, Refs: o.ASNs, Detail: fmt.Sprintf("%g shipped on %s", shipped, plural(len(o.ASNs), "ASN"))})
	}
	// Receipt
	switch {
	case received == 0 && shipped > 0 && !arrival.IsZero() && now.After(arrival):
		add(ChainStep{Step: "receipt", Status: StepMissing, Due: arrival, Detail: "expected arrival " + arrival.In(loc).Format("2006-01-02") + " passed, nothing received"})
	case received == 0:
		add(ChainStep{Step: "receipt", Status: StepDue, Due: arrival, Detail: "nothing received yet"})
	case rejected > 0 || received+1e-9 < shipped:
		add(ChainStep{Step: "receipt", Status: StepAttention, At: firstGR, Detail: fmt.Sprintf("%g received, %g rejected of %g shipped", received, rejected, shipped)})
	default:
		add(ChainStep{Step: "receipt", Status: StepDone, At: firstGR, Detail: fmt.Sprintf("%g received", received)})
	}
	// Quality
	holds, certs := 0, 0
	for _, l := range lots {
		certs += len(l.Certificates)
		for _, h := range l.Holds {
			if h.ReleasedAt.IsZero() {
				holds++
			}
		}
	}
	switch {
	case holds > 0:
		add(ChainStep{Step: "quality", Status: StepAttention, Detail: plural(holds, "lot") + " on quality hold"})
	case len(lots) == 0:
		add(ChainStep{Step: "quality", Status: StepNone, Detail: "no lots recorded"})
	default:
		add(ChainStep{Step: "quality", Status: StepDone, Detail: plural(len(lots), "lot") + ", " + plural(certs, "certificate")})
	}
	// Invoice
	if len(invs) == 0 {
		add(ChainStep{Step: "invoice", Status: StepDue, Detail: "no invoice yet"})
	} else {
		st, parts := StepDone, []string{}
		var ids []string
		for _, inv := range invs {
			ids = append(ids, inv.ID)
			p := inv.ID + " " + inv.Status
			if inv.Status == "blocked" || inv.Status == "disputed" {
				st = StepAttention
				if inv.BlockReason != "" {
					p += " (" + inv.BlockReason + ")"
				}
			}
			parts = append(parts, p)
		}
		add(ChainStep{Step: "invoice", Status: st, Refs: ids, Detail: strings.Join(parts, "; ")})
	}
	for _, s := range ch.Steps {
		if s.Status == StepMissing || s.Status == StepDue || s.Status == StepAttention {
			ch.Next = s.Step
			break
		}
	}
	return ch
}

func summarize(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
