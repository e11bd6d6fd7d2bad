package x12

import (
	"bytes"
	"github.com/supplywatch/supplywatch/b2b/edi"
	"strings"
	"time"
	"unicode"
)

// Document is everything read from one input: one or more interchanges.
type Document struct {
	Interchanges []Interchange
	// Warnings are deviations a lenient reader accepts (a non fixed-width ISA,
	// inconsistent versions); they do not make Parse fail.
	Warnings Errors
}

// Interchange is one ISA … IEA envelope.
type Interchange struct {
	SenderQualifier, Sender     string // ISA05, ISA06 (trailing blanks trimmed)
	ReceiverQualifier, Receiver string // ISA07, ISA08
	Date, Time                  string // ISA09 YYMMDD, ISA10 HHMM
	Version                     string // ISA12
	Control                     string // ISA13
	AckRequested                bool   // ISA14 = 1
	Usage                       string // ISA15: P production, T test, I information
	Delimiters                  Delimiters
	Header                      Segment   // ISA
	Trailer                     Segment   // IEA; zero if missing
	Groups                      []Group   // GS … GE
	Stray                       []Segment // segments outside any group or set (each also an error)
}

// Group is one functional group, GS … GE.
type Group struct {
	FunctionalID       string // GS01 (PO, SH, IN, FA …)
	Sender, Receiver   string // GS02, GS03
	Date, Time         string // GS04, GS05
	Control            string // GS06
	Agency             string // GS07
	Version            string // GS08 (004010, 005010X231 …)
	Header, Trailer    Segment
	Sets               []Set
	implicit, trailerd bool
}

// Set is one transaction set, ST … SE inclusive.
type Set struct {
	ID             string // ST01 (850, 856 …)
	Control        string // ST02
	Implementation string // ST03 (005010 and later)
	// Segments runs from ST to SE inclusive (to the last segment read when SE
	// is missing); the position of a segment in the set is its index + 1.
	Segments []Segment
}

// Body returns the segments between ST and SE.
func (t Set) Body() []Segment {
	s := t.Segments
	if len(s) > 0 && s[0].Is("ST") {
		s = s[1:]
	}
	if len(s) > 0 && s[len(s)-1].Is("SE") {
		s = s[:len(s)-1]
	}
	return s
}

// Parse tokenizes data and checks every envelope. The returned document holds
// whatever could be read even when err is non-nil; err is an Errors listing
// every problem found (up to Limits.MaxErrors). A fatal syntax error (no ISA,
// unusable delimiters, a limit) ends reading at that point.
func Parse(data []byte, lim Limits) (*Document, error) {
	lim = lim.WithDefaults()
	p := &parser{sc: NewScanner(data, lim), doc: &Document{}}
	p.d = edi.NewDriver(&standard, p, lim)
	p.run()
	p.doc.Warnings = p.d.Warnings
	if len(p.d.Errs) > 0 {
		return p.doc, p.d.Errs
	}
	return p.doc, nil
}

// standard describes the X12 envelopes to the shared envelope driver.
var standard = edi.Standard[Kind]{
	Interchange: edi.Envelope[Kind]{
		Header: "ISA", Trailer: "IEA", CountElem: 1, ControlElem: 2,
		Counted: "functional groups", ControlName: "control number", HeaderControl: "ISA13",
		Missing: func(next string) string {
			if next == "" {
				return "interchange has no IEA: input ends first"
			}
			return "interchange has no IEA before the next " + next
		},
		TrailerMissing: KindInterchangeTrailerMissing, CountKind: KindInterchangeCount,
		ControlMismatch: KindInterchangeControlMismatch,
	},
	Group: edi.Envelope[Kind]{
		Header: "GS", Trailer: "GE", CountElem: 1, ControlElem: 2,
		Counted: "transaction sets", ControlName: "control number", HeaderControl: "GS06",
		Missing:        func(string) string { return "functional group has no GE" },
		TrailerMissing: KindGroupTrailerMissing, CountKind: KindGroupCount,
		ControlMismatch: KindGroupControlMismatch,
	},
	Unit: edi.Envelope[Kind]{
		Header: "ST", Trailer: "SE", CountElem: 1, ControlElem: 2,
		Counted: "segments", ControlName: "control number", HeaderControl: "ST02",
		Missing:        func(next string) string { return "transaction set has no SE before " + orEnd(next) },
		TrailerMissing: KindSetTrailerMissing, CountKind: KindSetCount,
		ControlMismatch: KindSetControlMismatch,
	},
	OutsideInterchange: "segment outside an interchange (after IEA, before ISA)",
	OutsideUnit:        "segment outside a transaction set",
	UnitOutsideGroup:   "ST outside a functional group (no GS)",
	// An interchange acknowledgement sits between ISA and the first GS (or
	// alone in the interchange): kept with the stray segments.
	Loose:      []string{"TA1"},
	Unexpected: KindUnexpectedSegment, MissingElement: KindMissingElement,
	InvalidValue: KindInvalidValue, Limit: KindLimit,
}

// orEnd names the segment before which a trailer was due.
func orEnd(next string) string {
	if next == "" {
		return "the end of input"
	}
	return next
}

// parser builds the Document as the envelope driver walks the input; it
// implements edi.Hooks.
type parser struct {
	sc  *Scanner
	d   edi.Driver[Segment, *Error, Kind]
	doc *Document

	ic     *Interchange
	grp    *Group
	setCtl string
	setID  string
	sets   map[string]int // ST02 → position, per group
	groups map[string]int // GS06 → position, per interchange
}

func (p *parser) run() {
	sc, d := p.sc, &p.d
	for sc.Next() {
		// The common case: a data segment inside a set, without issues.
		if !sc.env && d.InUnit() && len(sc.issues) == 0 {
			p.appendSeg(&sc.seg)
			continue
		}
		if !d.Segment(sc.seg, sc.issues) {
			return
		}
	}
	if err := sc.err; err != nil {
		d.Add(err, Segment{ord: uint32(err.Segment), start: uint32(max(err.Offset, 0))})
	}
	d.End(len(sc.data), sc.ordinal)
}

// appendSeg stores *seg field by field: one pointer write instead of a bulk
// copy with write barriers while the collector runs.
func (p *parser) appendSeg(seg *Segment) {
	n := len(p.d.Segs)
	if n == cap(p.d.Segs) {
		p.d.Segs = append(p.d.Segs, *seg)
		return
	}
	// Reslicing in place writes the length only (no pointer store).
	p.d.Segs = p.d.Segs[:n+1]
	d := &p.d.Segs[n]
	d.in = seg.in
	d.start, d.end, d.ord, d.tagLen = seg.start, seg.end, seg.ord, seg.tagLen
}

// Where locates a segment (edi.Hooks).
func (p *parser) Where(seg Segment) (tag string, offset, ordinal int) {
	return seg.Tag(), seg.Offset(), seg.Ordinal()
}

// Capacity bounds the segments by the terminators (edi.Hooks).
func (p *parser) Capacity() int { return bytes.Count(p.sc.data, []byte{p.sc.d.Segment}) + 16 }

// NewError makes an *Error without envelope context (edi.Hooks).
func (p *parser) NewError(kind Kind, tag string, offset, elem, comp int, reason string) *Error {
	return &Error{Kind: kind, Tag: tag, Offset: offset, Element: elem, Component: comp, Reason: reason}
}

// Locate fills the envelope context of e (edi.Hooks).
func (p *parser) Locate(e *Error, at edi.Loc) {
	e.Interchange, e.Group, e.Set, e.SetID = at.Interchange, at.Group, at.Unit, at.Type
	if at.Override || e.Segment == 0 {
		e.Segment = at.Segment
	}
	if e.Tag == "" {
		e.Tag = at.Tag
	}
}

// Warning reports the scanner issues a lenient reader accepts (edi.Hooks).
func (p *parser) Warning(e *Error) bool { return e.Kind == KindISAFormat || e.Kind == KindUnterminated }

// Value reads a trailer element (edi.Hooks): SE02 as written, like ST02,
// the others trimmed.
func (p *parser) Value(l edi.Level, seg Segment, elem int) string {
	if l == edi.Unit && elem == 2 {
		return bstr(seg.Element(elem))
	}
	return trim(seg.Element(elem))
}

func (p *parser) errorf(kind Kind, seg Segment, elem int, format string, args ...any) {
	p.d.Errorf(kind, seg, elem, 0, format, args...)
}

// trim trims blanks, including Unicode ones (a non-breaking space used as
// ISA padding is reported by the scanner, and the id still resolves).
func trim(b []byte) string { return strings.TrimFunc(bstr(b), unicode.IsSpace) }

// Open starts an interchange, group or set (edi.Hooks).
func (p *parser) Open(l edi.Level, seg Segment) (control, typ string) {
	switch l {
	case edi.Interchange:
		p.doc.Interchanges = append(p.doc.Interchanges, Interchange{
			SenderQualifier:   trim(seg.Element(5)),
			Sender:            trim(seg.Element(6)),
			ReceiverQualifier: trim(seg.Element(7)),
			Receiver:          trim(seg.Element(8)),
			Date:              trim(seg.Element(9)),
			Time:              trim(seg.Element(10)),
			Version:           trim(seg.Element(12)),
			Control:           trim(seg.Element(13)),
			AckRequested:      trim(seg.Element(14)) == "1",
			Usage:             trim(seg.Element(15)),
			Delimiters:        p.sc.d,
			Header:            seg,
		})
		p.ic = &p.doc.Interchanges[len(p.doc.Interchanges)-1]
		p.groups = map[string]int{}
		return p.ic.Control, ""
	case edi.Group:
		p.ic.Groups = append(p.ic.Groups, Group{
			FunctionalID: trim(seg.Element(1)),
			Sender:       trim(seg.Element(2)),
			Receiver:     trim(seg.Element(3)),
			Date:         trim(seg.Element(4)),
			Time:         trim(seg.Element(5)),
			Control:      trim(seg.Element(6)),
			Agency:       trim(seg.Element(7)),
			Version:      trim(seg.Element(8)),
			Header:       seg,
		})
		p.grp = &p.ic.Groups[len(p.ic.Groups)-1]
		p.sets = map[string]int{}
		return p.grp.Control, ""
	}
	p.setID = bstr(seg.Element(1))
	p.setCtl = bstr(seg.Element(2))
	return p.setCtl, p.setID
}

// Implicit opens a group for a set without GS (edi.Hooks).
func (p *parser) Implicit() {
	p.ic.Groups = append(p.ic.Groups, Group{implicit: true})
	p.grp = &p.ic.Groups[len(p.ic.Groups)-1]
	p.sets = map[string]int{}
}

// Check checks the header elements of an interchange, group or set
// (edi.Hooks).
func (p *parser) Check(l edi.Level, seg Segment) {
	switch l {
	case edi.Interchange:
		if n := seg.Len(); n != 16 {
			p.errorf(KindInvalidValue, seg, 0, "ISA has %d elements, not 16", n)
		}
		if !digits(p.ic.Control, 9, 9) {
			p.errorf(KindInvalidValue, seg, 13, "interchange control number %q is not 9 digits", p.ic.Control)
		}
		if !digits(p.ic.Version, 5, 5) {
			p.errorf(KindInvalidValue, seg, 12, "interchange version %q is not 5 digits", p.ic.Version)
		}
		if d := p.ic.Date; !digits(d, 6, 6) || !validYYMMDD(d) {
			p.errorf(KindInvalidValue, seg, 9, "interchange date %q is not a date YYMMDD", d)
		}
		if t := p.ic.Time; !digits(t, 4, 4) || t[:2] > "23" || t[2:] > "59" {
			p.errorf(KindInvalidValue, seg, 10, "interchange time %q is not a time HHMM", t)
		}
		if u := p.ic.Usage; u != "P" && u != "T" && u != "I" {
			p.errorf(KindInvalidValue, seg, 15, "usage indicator %q is not P, T or I", u)
		}
	case edi.Group:
		if !digits(p.grp.Control, 1, 9) {
			p.errorf(KindInvalidValue, seg, 6, "group control number %q is not 1-9 digits", p.grp.Control)
		} else if prev, ok := p.groups[p.grp.Control]; ok {
			p.errorf(KindDuplicateControl, seg, 6, "group control number %s repeats group %d of the interchange", p.grp.Control, prev)
		}
		p.groups[p.grp.Control] = len(p.ic.Groups)
		if p.grp.Version == "" {
			p.errorf(KindMissingElement, seg, 8, "version (GS08) is missing")
		} else if v := p.ic.Version; len(v) == 5 && len(p.grp.Version) >= 3 && v[:3] != p.grp.Version[:3] {
			p.d.Warnf(KindVersion, seg, 8, "group version %s is not of the interchange version %s (ISA12)", p.grp.Version, v)
		}
	case edi.Unit:
		if !digits(p.setID, 3, 3) {
			p.errorf(KindInvalidValue, seg, 1, "transaction set identifier %q is not 3 digits", edi.Clip(seg.Element(1)))
		}
		if n := len(p.setCtl); n < 4 || n > 9 {
			p.errorf(KindInvalidValue, seg, 2, "control number %q is not 4-9 characters", p.setCtl)
		} else if prev, ok := p.sets[p.setCtl]; ok {
			p.errorf(KindDuplicateControl, seg, 2, "control number %s repeats transaction set %d of the group", p.setCtl, prev)
		}
		p.sets[p.setCtl] = len(p.grp.Sets) + 1
	}
}

// Close ends an interchange, group or set (edi.Hooks).
func (p *parser) Close(l edi.Level, segs []Segment, trailer Segment, complete bool) {
	switch l {
	case edi.Interchange:
		if complete {
			p.ic.Trailer = trailer
		}
		p.ic = nil
	case edi.Group:
		if complete {
			p.grp.Trailer = trailer
		}
		p.grp = nil
	case edi.Unit:
		p.grp.Sets = append(p.grp.Sets, Set{ID: p.setID, Control: p.setCtl, Implementation: bstr(segs[0].Element(3)), Segments: segs})
		p.setCtl, p.setID = "", ""
	}
}

// Data has nothing to check in a set's segments (edi.Hooks).
func (p *parser) Data(Segment) {}

// Stray keeps a segment outside any set (edi.Hooks).
func (p *parser) Stray(seg Segment) { p.ic.Stray = append(p.ic.Stray, seg) }

// validYYMMDD reports whether six digits are a calendar date (any century).
func validYYMMDD(d string) bool {
	m, day := (d[2]-'0')*10+d[3]-'0', (d[4]-'0')*10+d[5]-'0'
	if m < 1 || m > 12 || day < 1 {
		return false
	}
	y := int(d[0]-'0')*10 + int(d[1]-'0') + 2000
	return int(day) <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
