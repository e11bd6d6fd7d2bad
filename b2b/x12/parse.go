package x12

import (
	"bytes"
	"fmt"
	"github.com/supplywatch/supplywatch/b2b/edi"
	"strconv"
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
	p := parser{sc: NewScanner(data, lim), lim: lim, doc: &Document{}}
	p.run(data)
	if len(p.errs) > 0 {
		return p.doc, p.errs
	}
	return p.doc, nil
}

type parser struct {
	sc   *Scanner
	lim  Limits
	doc  *Document
	errs Errors
	segs []Segment // backing store for all sets' segments

	ic       *Interchange
	grp      *Group
	setStart int // index in segs of the open ST, -1 if none
	setCtl   string
	setID    string
	sets     map[string]int // ST02 → position, per group
	groups   map[string]int // GS06 → position, per interchange
}

func (p *parser) run(data []byte) {
	p.setStart = -1
	sc := p.sc
	for sc.Next() {
		// The common case: a data segment inside a set, without issues.
		if !sc.env && p.setStart >= 0 && len(sc.issues) == 0 {
			p.appendSeg(&sc.seg)
			continue
		}
		seg := sc.seg
		if p.segs == nil {
			// One allocation for all segments: the terminator count bounds them.
			n := bytes.Count(data, []byte{sc.d.Segment}) + 16
			p.segs = make([]Segment, 0, n)
		}
		tag := seg.Tag()
		isa := tag == "ISA"
		if isa {
			p.segment(seg, tag)
		}
		for _, e := range p.sc.Issues() {
			if e.Kind == KindISAFormat || e.Kind == KindUnterminated {
				p.locate(e, seg)
				p.doc.Warnings = append(p.doc.Warnings, e)
				continue
			}
			p.add(e, seg)
		}
		if !isa {
			p.segment(seg, tag)
		}
		if len(p.errs) >= p.lim.MaxErrors {
			p.errs = append(p.errs, &Error{Kind: KindLimit, Offset: -1, Reason: fmt.Sprintf("more than %d errors: giving up", p.lim.MaxErrors)})
			return
		}
	}
	if err := p.sc.err; err != nil {
		p.add(err, Segment{ord: uint32(err.Segment), start: uint32(max(err.Offset, 0))})
	}
	p.closeInterchange(nil)
}

// appendSeg stores *seg field by field: one pointer write instead of a bulk
// copy with write barriers while the collector runs.
func (p *parser) appendSeg(seg *Segment) {
	n := len(p.segs)
	if n == cap(p.segs) {
		p.segs = append(p.segs, *seg)
		return
	}
	p.segs = p.segs[:n+1]
	d := &p.segs[n]
	d.in = seg.in
	d.start, d.end, d.ord, d.tagLen = seg.start, seg.end, seg.ord, seg.tagLen
}

// locate fills the envelope context of e from the parser state.
func (p *parser) locate(e *Error, seg Segment) {
	if p.ic != nil {
		e.Interchange = p.ic.Control
	}
	if p.grp != nil && !p.grp.implicit {
		e.Group = p.grp.Control
	}
	if p.setStart >= 0 {
		e.Set = p.setCtl
		e.SetID = p.setID
		e.Segment = seg.Ordinal() - p.segs[p.setStart].Ordinal() + 1
	} else if e.Segment == 0 {
		e.Segment = seg.Ordinal()
	}
	if e.Tag == "" && seg.in != nil {
		e.Tag = seg.Tag()
	}
}

func (p *parser) add(e *Error, seg Segment) {
	p.locate(e, seg)
	p.errs = append(p.errs, e)
}

func (p *parser) errorf(kind Kind, seg Segment, elem int, format string, args ...any) {
	p.add(&Error{Kind: kind, Tag: seg.Tag(), Offset: seg.Offset(), Element: elem, Reason: fmt.Sprintf(format, args...)}, seg)
}

func (p *parser) warnf(kind Kind, seg Segment, elem int, format string, args ...any) {
	e := &Error{Kind: kind, Tag: seg.Tag(), Offset: seg.Offset(), Element: elem, Reason: fmt.Sprintf(format, args...)}
	p.locate(e, seg)
	p.doc.Warnings = append(p.doc.Warnings, e)
}

// trim trims blanks, including Unicode ones (a non-breaking space used as
// ISA padding is reported by the scanner, and the id still resolves).
func trim(b []byte) string { return strings.TrimFunc(bstr(b), unicode.IsSpace) }

func (p *parser) segment(seg Segment, tag string) {
	if tag == "ISA" {
		p.closeInterchange(&seg)
		p.openInterchange(seg)
		return
	}
	if p.ic == nil {
		p.errorf(KindUnexpectedSegment, seg, 0, "segment outside an interchange (after IEA, before ISA)")
		return
	}
	switch tag {
	case "IEA":
		p.closeInterchange(&seg)
	case "GS":
		p.closeGroup(&seg)
		p.openGroup(seg)
	case "GE":
		if p.grp == nil || p.grp.implicit {
			p.closeGroup(&seg)
			p.errorf(KindUnexpectedSegment, seg, 0, "GE without GS")
			return
		}
		p.closeGroup(&seg)
	case "ST":
		p.closeSet(&seg)
		if p.grp == nil {
			p.errorf(KindUnexpectedSegment, seg, 0, "ST outside a functional group (no GS)")
			p.ic.Groups = append(p.ic.Groups, Group{implicit: true})
			p.grp = &p.ic.Groups[len(p.ic.Groups)-1]
			p.sets = map[string]int{}
		}
		p.openSet(seg)
	case "SE":
		if p.setStart < 0 {
			p.errorf(KindUnexpectedSegment, seg, 0, "SE without ST")
			return
		}
		p.segs = append(p.segs, seg)
		p.closeSet(nil)
	case "TA1":
		// An interchange acknowledgement sits between ISA and the first GS
		// (or alone in the interchange): kept with the stray segments.
		if p.grp == nil {
			p.ic.Stray = append(p.ic.Stray, seg)
			return
		}
		fallthrough
	default:
		if p.setStart < 0 {
			p.errorf(KindUnexpectedSegment, seg, 0, "segment outside a transaction set")
			p.ic.Stray = append(p.ic.Stray, seg)
			return
		}
		p.segs = append(p.segs, seg)
	}
}

func (p *parser) openInterchange(seg Segment) {
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
}

func (p *parser) closeInterchange(iea *Segment) {
	if p.ic == nil {
		return
	}
	if iea != nil && !iea.Is("IEA") {
		p.closeGroup(iea)
		p.trailerMissing(KindInterchangeTrailerMissing, "IEA", iea, "interchange has no IEA before the next ISA")
		p.ic = nil
		return
	}
	p.closeGroup(iea)
	if iea == nil {
		p.trailerMissing(KindInterchangeTrailerMissing, "IEA", nil, "interchange has no IEA: input ends first")
		p.ic = nil
		return
	}
	p.ic.Trailer = *iea
	n := 0
	for _, g := range p.ic.Groups {
		if !g.implicit {
			n++
		}
	}
	p.checkCount(*iea, 1, n, "functional groups", KindInterchangeCount)
	if c := trim(iea.Element(2)); c != p.ic.Control {
		p.errorf(KindInterchangeControlMismatch, *iea, 2, "control number %q does not match ISA13 %q", c, p.ic.Control)
	}
	p.ic = nil
}

func (p *parser) openGroup(seg Segment) {
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
	if !digits(p.grp.Control, 1, 9) {
		p.errorf(KindInvalidValue, seg, 6, "group control number %q is not 1-9 digits", p.grp.Control)
	} else if prev, ok := p.groups[p.grp.Control]; ok {
		p.errorf(KindDuplicateControl, seg, 6, "group control number %s repeats group %d of the interchange", p.grp.Control, prev)
	}
	p.groups[p.grp.Control] = len(p.ic.Groups)
	if p.grp.Version == "" {
		p.errorf(KindMissingElement, seg, 8, "version (GS08) is missing")
	} else if v := p.ic.Version; len(v) == 5 && len(p.grp.Version) >= 3 && v[:3] != p.grp.Version[:3] {
		p.warnf(KindVersion, seg, 8, "group version %s is not of the interchange version %s (ISA12)", p.grp.Version, v)
	}
}

func (p *parser) closeGroup(ge *Segment) {
	if p.grp == nil {
		return
	}
	p.closeSet(ge)
	g := p.grp
	p.grp = nil
	if g.implicit {
		return
	}
	if ge == nil || !ge.Is("GE") {
		p.grp = g
		p.trailerMissing(KindGroupTrailerMissing, "GE", ge, "functional group has no GE")
		p.grp = nil
		return
	}
	g.Trailer = *ge
	p.grp = g
	p.checkCount(*ge, 1, len(g.Sets), "transaction sets", KindGroupCount)
	if c := trim(ge.Element(2)); c != g.Control {
		p.errorf(KindGroupControlMismatch, *ge, 2, "control number %q does not match GS06 %q", c, g.Control)
	}
	p.grp = nil
}

func (p *parser) openSet(seg Segment) {
	p.setStart = len(p.segs)
	p.segs = append(p.segs, seg)
	p.setID = bstr(seg.Element(1))
	p.setCtl = bstr(seg.Element(2))
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

// closeSet ends the open set; next is the segment that ends it (SE already
// appended, or the envelope segment that cut it short, or nil at end of input).
func (p *parser) closeSet(next *Segment) {
	if p.setStart < 0 {
		return
	}
	segs := p.segs[p.setStart:len(p.segs):len(p.segs)]
	st := segs[0]
	set := Set{ID: p.setID, Control: p.setCtl, Implementation: bstr(st.Element(3)), Segments: segs}
	last := segs[len(segs)-1]
	if len(segs) > 1 && last.Is("SE") && next == nil {
		p.checkCount(last, 1, len(segs), "segments", KindSetCount)
		if c := bstr(last.Element(2)); c != p.setCtl {
			p.errorf(KindSetControlMismatch, last, 2, "control number %q does not match ST02 %q", c, p.setCtl)
		}
	} else {
		what := "the end of input"
		if next != nil {
			what = next.Tag()
		}
		p.trailerMissing(KindSetTrailerMissing, "SE", next, "transaction set has no SE before %s", what)
	}
	p.grp.Sets = append(p.grp.Sets, set)
	p.setStart = -1
	p.setCtl, p.setID = "", ""
}

// trailerMissing reports a missing trailer under the trailer's tag (not the
// header's), located where it was due: before next, or at the end of input.
func (p *parser) trailerMissing(kind Kind, tag string, next *Segment, format string, args ...any) {
	e := &Error{Kind: kind, Tag: tag, Offset: len(p.sc.data), Reason: fmt.Sprintf(format, args...)}
	at := Segment{}
	if next != nil {
		e.Offset = next.Offset()
		at = *next
	}
	p.locate(e, at)
	switch {
	case p.setStart >= 0:
		e.Segment = len(p.segs) - p.setStart + 1
	case next != nil:
		e.Segment = next.Ordinal()
	default:
		e.Segment = p.sc.ordinal + 1
	}
	e.Tag = tag
	p.errs = append(p.errs, e)
}

// checkCount compares a count element with what was counted.
func (p *parser) checkCount(seg Segment, elem, counted int, what string, kind Kind) {
	raw := trim(seg.Element(elem))
	if raw == "" {
		p.errorf(KindMissingElement, seg, elem, "count of %s is missing (%d counted)", what, counted)
		return
	}
	n, err := strconv.Atoi(raw)
	if err != nil || !digits(raw, 1, 10) {
		p.errorf(KindInvalidValue, seg, elem, "count %q is not a number (%d %s counted)", raw, counted, what)
		return
	}
	if n != counted {
		p.errorf(kind, seg, elem, "count %d does not match %d %s", n, counted, what)
	}
}

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
