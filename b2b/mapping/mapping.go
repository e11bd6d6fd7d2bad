// Package mapping turns tokenized B2B documents into canonical events: X12
// transaction sets, EDIFACT messages and cXML requests become
// []*procure.Event with a typed Payload (each passes procure.Decode after
// procure.Encode).
//
// One set (X12), message (EDIFACT) or request (cXML) is the unit: it maps to
// its events or is rejected as a whole with a *Problem naming the
// interchange, group, set, segment position, element, the partner and the
// reason. Codes go through the partner profile (units, currencies, Incoterms,
// ship-to locations); an unmapped code rejects the unit, it is never passed
// through. Event ids are derived from the sender, the interchange, group and
// set control numbers and the set's position, so a re-sent interchange maps
// to the same ids and deduplicates downstream.
//
// It leaves to others: tokenizing and envelope checks (b2b/x12, b2b/edifact,
// b2b/cxml), resolving the partner (b2b/partner, b2b/intake), acknowledging
// (b2b/ack), and publishing or storing anything: it does no I/O.
package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/procure"
)

// Options are the inputs of a mapping that are not in the document.
type Options struct {
	// ReceivedAt is the occurred_at of events whose document carries no
	// usable date (and the reference for two-digit years).
	ReceivedAt time.Time
}

// Problem is a rejection or a warning about one unit of a document.
type Problem struct {
	Standard    partner.Standard
	Partner     string
	Interchange string // ISA13 / UNB05 / cXML payloadID
	Group       string // GS06 / UNG05
	Set         string // ST02 / UNH01
	SetID       string // ST01 / UNH02-1 / cXML request name
	// Index is the 1-based position of the set or message in its
	// interchange (0 for problems of the whole interchange).
	Index     int
	Segment   int // position in the set/message (ST/UNH = 1)
	Tag       string
	Element   int
	Component int
	// Field is the canonical field concerned (lines[2].unit), Value the
	// offending value as written.
	Field  string
	Value  string
	Reason string
	// Unmapped is true when the problem is a code the partner profile does
	// not map (the integration team's exception).
	Unmapped bool
	// Unsupported is true when the set or message type is not mapped at all.
	Unsupported bool
	// Application is true for an application or configuration problem in
	// a syntactically valid unit: a code the partner profile does not map
	// (unit, ship-to, currency), a value the canonical model needs and the
	// document lacks (an arrival date), a version the profile does not list.
	// It goes back to the partner in an 824 or APERAK when the profile asks
	// for one, otherwise it stays internal (the rejection raises an exception
	// for the integration team); 997/999/CONTRL report syntax only.
	Application bool
	// Offset is the byte offset of the segment in the input (with Tag set).
	Offset int
}

func (p *Problem) Error() string {
	var b strings.Builder
	if p.Partner != "" {
		fmt.Fprintf(&b, "partner %s ", p.Partner)
	}
	if p.Interchange != "" {
		if p.Standard == partner.CXML {
			fmt.Fprintf(&b, "payload %s ", p.Interchange)
		} else {
			fmt.Fprintf(&b, "interchange %s ", p.Interchange)
		}
	}
	if p.Group != "" {
		fmt.Fprintf(&b, "group %s ", p.Group)
	}
	if p.Set != "" || p.SetID != "" {
		what := "set"
		if p.Standard == partner.EDIFACT {
			what = "message"
		}
		if p.Standard == partner.CXML {
			what = "request"
		}
		fmt.Fprintf(&b, "%s %s", what, p.Set)
		if p.SetID != "" {
			if p.Set != "" {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "(%s)", p.SetID)
		}
		b.WriteByte(' ')
	}
	s := strings.TrimSuffix(b.String(), " ")
	b.Reset()
	b.WriteString(s)
	if s != "" {
		b.WriteString(": ")
	}
	if p.Tag != "" {
		// Outside any interchange the byte offset is the only way to find
		// the segment; inside, the positions are enough.
		at := ""
		if p.Interchange == "" && p.Standard != partner.CXML {
			at = fmt.Sprintf(" at byte %d", p.Offset)
		}
		if p.Segment > 0 {
			fmt.Fprintf(&b, "segment %d (%s%s)", p.Segment, p.Tag, at)
		} else {
			b.WriteString(p.Tag + at)
		}
		if p.Element > 0 {
			fmt.Fprintf(&b, " element %02d", p.Element)
			if p.Component > 0 {
				fmt.Fprintf(&b, "-%d", p.Component)
			}
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	if p.Field != "" {
		fmt.Fprintf(&b, " (field %s)", p.Field)
	}
	return b.String()
}

// Output is what a mapping produced: the events of the units that mapped,
// the rejected units and the warnings.
type Output struct {
	Events     []*procure.Event
	Rejections []*Problem
	Warnings   []*Problem
	// Acknowledgements are functional acknowledgements the partner sent us
	// (997, 999, CONTRL) for our outbound documents; they become no event
	// but let the caller close "acknowledgement overdue" timers.
	Acknowledgements []FunctionalAck
}

// FunctionalAck is a received 997/999/CONTRL: which of our groups (or
// interchanges) it answers and the verdict.
type FunctionalAck struct {
	Standard partner.Standard
	Partner  string
	// Kind is 997, 999 or CONTRL.
	Kind string
	// Group is the group control number (AK102) or interchange reference
	// (UCI01) acknowledged; FunctionalID its GS01 (PO, IN …).
	Group        string
	FunctionalID string
	// Status is accepted, accepted_with_errors, partially_accepted or rejected.
	Status string
}

func (o *Output) merge(x Output) {
	o.Events = append(o.Events, x.Events...)
	o.Rejections = append(o.Rejections, x.Rejections...)
	o.Warnings = append(o.Warnings, x.Warnings...)
	o.Acknowledgements = append(o.Acknowledgements, x.Acknowledgements...)
}

// eventID derives a deterministic event id from the parts that identify one
// unit of one interchange of one sender: a re-sent interchange gives the
// same id.
func eventID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "b2b-" + hex.EncodeToString(h.Sum(nil)[:20])
}

// newEvent builds an event with its payload; Data is filled by Encode.
func newEvent(p *partner.Profile, typ procure.Type, docID string, version int, at time.Time, supplier, plant string, payload any, idParts ...string) *procure.Event {
	return &procure.Event{
		ID:         eventID(append(idParts, string(typ))...),
		Type:       typ,
		Source:     procure.Source(p.Source),
		Tenant:     p.Tenant,
		OccurredAt: at.UTC(),
		Supplier:   supplier,
		Plant:      plant,
		Document:   procure.DocumentRef{Kind: procure.DocumentKindOf(typ), ID: docID, Version: version},
		Payload:    payload,
	}
}

// occurred returns t when it is a usable event time, else the receive time
// (with a warning from the caller).
func usable(t time.Time) bool {
	return !t.IsZero() && t.Year() >= 2000 && t.Year() <= 2200
}

// application marks pr as an application or configuration problem.
func application(pr *Problem) *Problem {
	pr.Application = true
	return pr
}

// arrivalFromShip is the expected arrival of a ship notice that states
// none: the ship date plus the partner's transit days (the canonical model
// needs an arrival; a tolerant receiver derives it and says so).
func arrivalFromShip(p *partner.Profile, ship time.Time, warn func(format string, args ...any)) time.Time {
	if p.TransitDays > 0 {
		warn("no estimated arrival: expected_arrival is the ship date plus partner %s's transit_days (%d)", p.ID, p.TransitDays)
		return ship.AddDate(0, 0, p.TransitDays)
	}
	warn("no estimated arrival and partner %s has no transit_days: expected_arrival is the ship date", p.ID)
	return ship
}

// parseNumber reads a decimal number as B2B standards write it: optional
// sign, digits, one decimal mark ('.' or the given mark), no exponent.
func parseNumber(s string, mark byte) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if len(s) <= 15 { // plain digits (most quantities): exact without ParseFloat
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 0 {
			return float64(n), true
		}
	}
	if mark != 0 && mark != '.' {
		s = strings.Replace(s, string(mark), ".", 1)
	} else if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		// ISO 9735: the comma is always a valid decimal mark.
		s = strings.Replace(s, ",", ".", 1)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || (i == 0 && (c == '-' || c == '+'))) {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// lineNumber reads a line number ("001" → 1).
func lineNumber(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		// "1.1" style sub-line ids and alphanumerics are not line numbers.
		return 0, false
	}
	return n, true
}

// parseDate reads CCYYMMDD or YYMMDD (two-digit years pivot at 50, as X12
// 003xxx and EDIFACT format 101 are used), with an optional HHMM[SS] time,
// in loc.
func parseDate(d, t string, loc *time.Location) (time.Time, bool) {
	d = strings.TrimSpace(d)
	var y, m, day int
	switch len(d) {
	case 8:
		y, m, day = atoi(d[0:4]), atoi(d[4:6]), atoi(d[6:8])
	case 6:
		y, m, day = atoi(d[0:2]), atoi(d[2:4]), atoi(d[4:6])
		if y < 0 {
			return time.Time{}, false
		}
		if y < 50 {
			y += 2000
		} else {
			y += 1900
		}
	default:
		return time.Time{}, false
	}
	if y < 0 || m < 1 || m > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	hh, mm, ss := 0, 0, 0
	t = strings.TrimSpace(t)
	if len(t) >= 4 {
		hh, mm = atoi(t[0:2]), atoi(t[2:4])
		if len(t) >= 6 {
			ss = atoi(t[4:6])
		}
		if hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59 {
			hh, mm, ss = 0, 0, 0
		}
	}
	tm := time.Date(y, time.Month(m), day, hh, mm, ss, 0, loc)
	if tm.Day() != day { // 31 February
		return time.Time{}, false
	}
	return tm, true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// clone copies a string that aliases the input buffer, trimming blanks.
func clone(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return strings.Clone(s)
}

// scale divides an implied-decimal integer amount (X12 N2 …) by the minor
// units of currency.
func scale(v float64, currency string) float64 {
	d := procure.CurrencyMinorUnits(currency)
	for range d {
		v /= 10
	}
	return round(v, d)
}

func round(v float64, d int) float64 {
	p := 1.0
	for range d {
		p *= 10
	}
	return float64(int64(v*p+copysign(0.5, v))) / p
}

func copysign(a, b float64) float64 {
	if b < 0 {
		return -a
	}
	return a
}
