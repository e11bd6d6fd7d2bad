// Package errpos writes the position part of an EDI error message the same
// way for X12 and EDIFACT: "<scope>: segment 14 (SE at byte 631) element
// 01-2: <reason>". It knows nothing of either standard's envelopes; the
// caller builds the scope (interchange, group, set or message).
package errpos

import (
	"strconv"
	"strings"
)

// Format returns scope, the position and the reason. Zero or negative
// values are left out: segment and tag 0/"" (no segment), offset < 0 (no
// byte offset), element 0 (no element), component 0 (no component).
func Format(scope string, segment int, tag string, offset, element, component int, reason string) string {
	var b strings.Builder
	if scope != "" {
		b.WriteString(scope)
		b.WriteString(": ")
	}
	switch {
	case segment > 0 || tag != "":
		b.WriteString("segment ")
		b.WriteString(strconv.Itoa(segment))
		if tag != "" {
			b.WriteString(" (")
			b.WriteString(tag)
			if offset >= 0 {
				b.WriteString(" at byte ")
				b.WriteString(strconv.Itoa(offset))
			}
			b.WriteString(")")
		} else if offset >= 0 {
			b.WriteString(" (at byte ")
			b.WriteString(strconv.Itoa(offset))
			b.WriteString(")")
		}
		if element > 0 {
			b.WriteString(" element ")
			if element < 10 {
				b.WriteByte('0')
			}
			b.WriteString(strconv.Itoa(element))
			if component > 0 {
				b.WriteString("-")
				b.WriteString(strconv.Itoa(component))
			}
		}
		b.WriteString(": ")
	case offset >= 0:
		b.WriteString("byte ")
		b.WriteString(strconv.Itoa(offset))
		b.WriteString(": ")
	}
	b.WriteString(reason)
	return b.String()
}
