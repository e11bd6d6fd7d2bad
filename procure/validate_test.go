package procure

import (
	"fmt"
	"testing"
	"time"
)

// The checker keeps the elements it is in as a stack of its own (each):
// an error names the element it is in, after others were checked with and
// without nested elements, and a repeated line number is found the same
// way in a short order (the lines before, scanned) and a long one (a map).
func TestValidateNamesTheElement(t *testing.T) {
	order := func(n int) *PurchaseOrder {
		p := &PurchaseOrder{OrderType: "standard", Currency: "EUR"}
		for i := range n {
			p.Lines = append(p.Lines, POLine{Line: 10 * (i + 1), Item: "M-1", Quantity: 1, Unit: "C62"})
		}
		p.Lines[0].Schedule = []ScheduleLine{{Quantity: 1, Date: DateOf(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))}}
		return p
	}
	for _, n := range []int{3, 40} {
		for _, tt := range []struct {
			name          string
			change        func(p *PurchaseOrder)
			field, reason string
		}{
			{"valid", func(*PurchaseOrder) {}, "", ""},
			{"repeated line", func(p *PurchaseOrder) { p.Lines[2].Line = 10 }, "data.lines[2].line", "line 10 appears twice"},
			{"repeated last line", func(p *PurchaseOrder) { p.Lines[n-1].Line = 20 }, fmt.Sprintf("data.lines[%d].line", n-1), "line 20 appears twice"},
			{"second schedule", func(p *PurchaseOrder) {
				p.Lines[1].Schedule = []ScheduleLine{{Quantity: 1, Date: DateOf(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))}, {Quantity: 0, Date: DateOf(time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC))}}
			}, "data.lines[1].schedule[1].quantity", "must be greater than 0"},
			{"after a schedule", func(p *PurchaseOrder) { p.Lines[1].Unit = "" }, "data.lines[1].unit", "is required"},
			{"order type", func(p *PurchaseOrder) { p.OrderType = "spot" }, "data.order_type", `"spot" is not one of [standard blanket]`},
		} {
			t.Run(fmt.Sprintf("%s of %d lines", tt.name, n), func(t *testing.T) {
				p := order(n)
				tt.change(p)
				c := checker{path: "data"}
				p.validate(&c)
				if tt.field == "" {
					if c.err != nil {
						t.Fatalf("err = %v, want none", c.err)
					}
					if c.depth != 0 {
						t.Fatalf("depth = %d after the check, want 0", c.depth)
					}
					return
				}
				if c.err == nil || c.err.Field != tt.field || c.err.Reason != tt.reason {
					t.Fatalf("err = %v, want %s: %s", c.err, tt.field, tt.reason)
				}
			})
		}
	}
}
