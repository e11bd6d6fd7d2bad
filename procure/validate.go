package procure

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// checker collects the first validation error of a payload, with the path of
// the field it is about. The path of an element (field[index] of its parent)
// is only spelled out when there is an error to report. The elements being
// checked are a stack in the checker itself (each), so that checking a
// line allocates nothing.
type checker struct {
	path   string // of the root
	frames [maxDepth]frame
	depth  int
	err    *FieldError
}

// frame is an element being checked: field[index] of the one before.
type frame struct {
	field string
	index int
}

// maxDepth is the deepest nesting of elements checked (lines[i].schedule[j]).
const maxDepth = 2

func (c *checker) prefix() string {
	p := c.path
	for _, f := range c.frames[:c.depth] {
		p = fmt.Sprintf("%s[%d]", joinPath(p, f.field), f.index)
	}
	return p
}

func (c *checker) at(field string) string { return joinPath(c.prefix(), field) }

func (c *checker) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = &FieldError{Field: c.at(field), Reason: fmt.Sprintf(format, args...)}
	}
}

func (c *checker) required(field, v string) {
	if v == "" {
		c.fail(field, "is required")
	}
}

func (c *checker) oneOf(field, v string, allowed ...string) {
	if v == "" {
		c.fail(field, "is required")
	} else if !slices.Contains(allowed, v) {
		// A copy, so that allowed (the caller's literal) does not escape
		// and cost an allocation on every call.
		c.fail(field, "%q is not one of %v", v, slices.Clone(allowed))
	}
}

func (c *checker) optionalOneOf(field, v string, allowed ...string) {
	if v != "" {
		c.oneOf(field, v, allowed...)
	}
}

func (c *checker) positive(field string, v float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		c.fail(field, "must be greater than 0")
	}
}

func (c *checker) nonNegative(field string, v float64) {
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		c.fail(field, "must not be negative")
	}
}

func (c *checker) lineNumber(field string, v int) {
	if v <= 0 {
		c.fail(field, "must be a line number of 1 or more")
	}
}

func (c *checker) date(field string, d Date) {
	if d.IsZero() {
		c.fail(field, "is required")
	}
}

func (c *checker) timestamp(field string, t time.Time) {
	if t.IsZero() {
		c.fail(field, "is required")
	}
}

func (c *checker) lines(field string, n int) {
	if n == 0 {
		c.fail(field, "must have at least one line")
	} else if n > maxLines {
		c.fail(field, "has %d lines, more than the limit of %d", n, maxLines)
	}
}

// each runs f with the checker's path moved to field[i] for each element
// i of v, until the first error.
func each[T any](c *checker, field string, v []T, f func(c *checker, x *T)) {
	c.depth++ // past maxDepth, a programming error: the index panics
	for i := range v {
		if c.err != nil {
			break
		}
		c.frames[c.depth-1] = frame{field: field, index: i}
		f(c, &v[i])
	}
	c.depth--
}

func (p *PurchaseOrder) validate(c *checker) {
	c.oneOf("order_type", p.OrderType, "standard", "blanket")
	c.required("currency", p.Currency)
	if p.Incoterms != nil {
		c.required("incoterms.code", p.Incoterms.Code)
	}
	c.lines("lines", len(p.Lines))
	// Line numbers seen: the lines before, scanned, for a short order; a
	// map for a long one.
	var seen map[int]bool
	if len(p.Lines) > 32 {
		seen = make(map[int]bool, len(p.Lines))
	}
	each(c, "lines", p.Lines, func(c *checker, l *POLine) {
		c.lineNumber("line", l.Line)
		if seen != nil {
			if seen[l.Line] {
				c.fail("line", "line %d appears twice", l.Line)
			}
			seen[l.Line] = true
		} else {
			for i := range p.Lines {
				if &p.Lines[i] == l {
					break
				}
				if p.Lines[i].Line == l.Line {
					c.fail("line", "line %d appears twice", l.Line)
					break
				}
			}
		}
		c.required("item", l.Item)
		c.positive("quantity", l.Quantity)
		c.required("unit", l.Unit)
		c.nonNegative("unit_price", l.UnitPrice)
		c.nonNegative("price_unit", l.PriceUnit)
		each(c, "schedule", l.Schedule, func(c *checker, s *ScheduleLine) {
			c.positive("quantity", s.Quantity)
			c.date("date", s.Date)
		})
	})
}

func (p *Cancellation) validate(*checker) {}

func (p *Acknowledgement) validate(c *checker) {
	c.lines("lines", len(p.Lines))
	each(c, "lines", p.Lines, func(c *checker, l *AckLine) {
		c.lineNumber("line", l.Line)
		c.oneOf("status", l.Status, AckAccepted, AckChanged, AckRejected, AckBackordered)
		c.nonNegative("quantity", l.Quantity)
		c.nonNegative("unit_price", l.UnitPrice)
		if l.Status == AckChanged && l.Quantity == 0 && l.PromisedDate.IsZero() && l.UnitPrice == 0 {
			c.fail("status", "a changed line must propose a quantity, promised_date or unit_price")
		}
	})
}

func (p *ChangeRequest) validate(c *checker) {
	c.required("request_id", p.RequestID)
	c.oneOf("requested_by", p.RequestedBy, "supplier", "buyer")
	c.lines("lines", len(p.Lines))
	each(c, "lines", p.Lines, func(c *checker, l *ChangeLine) {
		c.lineNumber("line", l.Line)
		c.nonNegative("quantity", l.Quantity)
		c.nonNegative("unit_price", l.UnitPrice)
	})
}

func (p *ChangeDecision) validate(c *checker) {
	c.required("request_id", p.RequestID)
	c.oneOf("decision", p.Decision, DecisionApproved, DecisionApprovedUpdated, DecisionRejected)
}

func (p *ShipNotice) validate(c *checker) {
	c.timestamp("ship_date", p.ShipDate)
	c.timestamp("expected_arrival", p.ExpectedArrival)
	if c.err == nil && p.ExpectedArrival.Before(p.ShipDate) {
		c.fail("expected_arrival", "is before ship_date")
	}
	c.optionalOneOf("carrier.mode", p.Carrier.Mode, "road", "rail", "sea", "air", "parcel")
	each(c, "packs", p.Packs, func(c *checker, pk *Pack) {
		c.required("sscc", pk.SSCC)
		if pk.SSCC != "" && !validSSCCSyntax(pk.SSCC) {
			c.fail("sscc", "%q is not 18 digits", pk.SSCC)
		}
	})
	if len(p.Lines) > maxLines {
		c.fail("lines", "has %d lines, more than the limit of %d", len(p.Lines), maxLines)
	}
	each(c, "lines", p.Lines, func(c *checker, l *ASNLine) {
		c.required("po", l.PO)
		c.lineNumber("line", l.Line)
		c.positive("quantity", l.Quantity)
		c.required("unit", l.Unit)
	})
}

func (p *Receipt) validate(c *checker) {
	c.lines("lines", len(p.Lines))
	each(c, "lines", p.Lines, func(c *checker, l *ReceiptLine) {
		c.required("po", l.PO)
		c.lineNumber("line", l.Line)
		c.nonNegative("received_quantity", l.ReceivedQuantity)
		c.nonNegative("rejected_quantity", l.RejectedQuantity)
		c.required("unit", l.Unit)
	})
}

func (p *QualityDocument) validate(c *checker) {
	c.oneOf("doc_type", p.DocType, "coa", "coc", "other")
	c.required("item", p.Item)
	c.required("lot", p.Lot)
}

func (p *QualityHold) validate(c *checker) {
	c.required("hold_id", p.HoldID)
	c.required("item", p.Item)
	c.nonNegative("quantity", p.Quantity)
}

func (p *InvoiceStatus) validate(c *checker) {
	c.oneOf("status", p.Status, InvoiceReceived, InvoiceMatched, InvoiceBlocked, InvoiceApproved, InvoicePaid, InvoiceDisputed)
	if p.Status == InvoiceBlocked {
		c.oneOf("block_reason", p.BlockReason, "price_variance", "quantity_variance", "missing_receipt", "other")
	} else {
		c.optionalOneOf("block_reason", p.BlockReason, "price_variance", "quantity_variance", "missing_receipt", "other")
	}
	c.nonNegative("amount", p.Amount)
	each(c, "lines", p.Lines, func(c *checker, l *InvoiceLine) {
		c.lineNumber("line", l.Line)
		c.nonNegative("quantity", l.Quantity)
		c.nonNegative("unit_price", l.UnitPrice)
	})
}

func (p *Supplier) validate(c *checker) {
	c.required("name", p.Name)
	if p.Tier < 1 || p.Tier > 3 {
		c.fail("tier", "must be 1 (strategic), 2 (preferred) or 3 (standard)")
	}
	c.optionalOneOf("status", p.Status, "active", "blocked", "inactive")
	c.optionalOneOf("channel", p.Channel, "portal", "edi", "cxml", "email")
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil {
			c.fail("time_zone", "%q is not an IANA time zone", p.TimeZone)
		}
	}
}

func (p *Item) validate(c *checker) {
	c.required("base_unit", p.BaseUnit)
}

func (p *Delivery) validate(c *checker) {
	c.required("message_id", p.MessageID)
	c.required("target", p.Target)
	c.optionalOneOf("error_class", p.ErrorClass, "transient", "timeout", "auth", "validation", "mapping", "unknown")
	if p.Attempt < 0 {
		c.fail("attempt", "must not be negative")
	}
}

func validSSCCSyntax(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidSSCC reports whether s is an SSCC-18 with a correct GS1 mod-10 check digit.
func ValidSSCC(s string) bool {
	if !validSSCCSyntax(s) {
		return false
	}
	return GS1CheckDigit(s[:17]) == s[17]-'0'
}

// GS1CheckDigit computes the GS1 mod-10 check digit of the digits in s.
func GS1CheckDigit(s string) byte {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte((10 - sum%10) % 10)
}
