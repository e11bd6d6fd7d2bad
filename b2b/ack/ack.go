// Package ack builds the functional acknowledgements supplywatch returns for
// every inbound interchange: X12 997 or 999 (with a TA1 when the interchange
// envelope itself is faulty), EDIFACT CONTRL, and a cXML Response status.
//
// The verdicts come from two sources: the tokenizers' *Error values (their
// Kind maps onto the standards' codes: AK3/IK3 segment syntax errors, AK4/IK4
// element errors, AK5/IK5 and AK9 set and group verdicts, TA1 notes; UCI,
// UCF, UCM, UCS and UCD with ISO 9735 syntax error codes 0085) and the
// mapping rejections (b2b/mapping.Problem), which reject their set or message
// at the segment and element they name.
//
// It leaves to others: choosing the control numbers (the caller passes
// them; they must be unique per partner), sending the acknowledgement, and
// tracking the acknowledgements partners owe us.
package ack

import (
	"fmt"
	"strings"
	"time"
)

// Verdict is the outcome of an acknowledged unit.
type Verdict string

// The verdicts.
const (
	Accepted           Verdict = "accepted"
	AcceptedWithErrors Verdict = "accepted_with_errors"
	PartiallyAccepted  Verdict = "partially_accepted"
	Rejected           Verdict = "rejected"
)

// Ack is a generated acknowledgement document.
type Ack struct {
	// Kind is 997, 999, CONTRL or cXML.
	Kind    string
	Verdict Verdict
	Body    []byte
}

// Options are what the caller decides for an acknowledgement.
type Options struct {
	// Control is our interchange (and group) control number; the caller
	// keeps it unique per partner. 1 to 999999999.
	Control int64
	// Now is the creation time written into the envelope.
	Now time.Time
}

func (o Options) control9() string { return fmt.Sprintf("%09d", o.Control%1000000000) }

// writer assembles segments with given delimiters.
type writer struct {
	b     strings.Builder
	el    byte
	term  string
	count int // segments since the last reset (for SE01 / UNT01)
}

func (w *writer) seg(tag string, els ...string) {
	// Trailing empty elements are dropped, as the standards require.
	n := len(els)
	for n > 0 && els[n-1] == "" {
		n--
	}
	w.b.WriteString(tag)
	for _, e := range els[:n] {
		w.b.WriteByte(w.el)
		w.b.WriteString(e)
	}
	w.b.WriteString(w.term)
	w.count++
}

// safe drops characters that would break the envelope when echoing a value
// from the inbound document (delimiters, control characters) and truncates.
func safe(s string, max int, delims ...byte) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(string(delims), c) >= 0 {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
