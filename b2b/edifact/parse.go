package edifact

import (
	"bytes"
	"fmt"
	"strconv"
)

// Document is everything read from one input: one or more interchanges.
type Document struct {
	Interchanges []Interchange
	// Warnings are deviations a lenient reader accepts (characters outside the
	// declared repertoire, repeated message references, a missing final
	// terminator); they do not make Parse fail.
	Warnings Errors
}

// Interchange is one UNB … UNZ envelope.
type Interchange struct {
	SyntaxID, SyntaxVersion       string // UNB01: UNOA…UNOY, 1…4
	Sender, SenderQualifier       string // UNB02
	Recipient, RecipientQualifier string // UNB03
	Date, Time                    string // UNB04
	Control                       string // UNB05
	AckRequested                  bool   // UNB09 = 1
	Test                          bool   // UNB11 = 1
	Delimiters                    Delimiters
	HasUNA                        bool
	Charset                       Charset
	Header, Trailer               Segment // UNB, UNZ (zero if missing)
	// Groups are the UNG … UNE groups, when the interchange uses them.
	Groups []Group
	// Messages are all messages in order, grouped or not; each group's
	// Messages is a sub-slice of this one.
	Messages []Message
}

// Group is one functional group, UNG … UNE.
type Group struct {
	ID              string // UNG01 message group identification (ORDERS …)
	Reference       string // UNG05
	Agency          string // UNG06
	Version         string // UNG07 (S008 as written, e.g. D:96A:EAN008A)
	Header, Trailer Segment
	Messages        []Message
}

// Message is one message, UNH … UNT inclusive.
type Message struct {
	Reference   string // UNH01
	Type        string // UNH02-1 (ORDERS, DESADV …)
	Version     string // UNH02-2 (D)
	Release     string // UNH02-3 (96A)
	Agency      string // UNH02-4 (UN)
	Association string // UNH02-5 (EAN008 …)
	// Segments runs from UNH to UNT inclusive (to the last segment read when
	// UNT is missing); the position of a segment in the message is its index + 1.
	Segments []Segment
}

// Body returns the segments between UNH and UNT.
func (m Message) Body() []Segment {
	s := m.Segments
	if len(s) > 0 && s[0].Is("UNH") {
		s = s[1:]
	}
	if len(s) > 0 && s[len(s)-1].Is("UNT") {
		s = s[:len(s)-1]
	}
	return s
}

// Parse tokenizes data and checks every envelope. The returned document holds
// whatever could be read even when err is non-nil; err is an Errors listing
// every problem found (up to Limits.MaxErrors).
func Parse(data []byte, lim Limits) (*Document, error) {
	lim = lim.WithDefaults()
	p := parser{sc: NewScanner(data, lim), lim: lim, doc: &Document{}, msgStart: -1}
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
	segs []Segment

	ic         *Interchange
	inGroup    bool
	grpFirst   int // index in ic.Messages of the group's first message
	msgStart   int // index in segs of the open UNH, -1 if none
	msgRef     string
	msgType    string
	msgID      [5]string // UNH02 S009 components: type, version, release, agency, association
	uns        [2]int    // ordinals in the message of UNS+D and UNS+S
	refs       map[string]int
	groupsSeen int
}

func (p *parser) run(data []byte) {
	sc := p.sc
	for sc.Next() {
		// The common case: a data segment inside a message, without issues.
		if !sc.service && p.msgStart >= 0 && len(sc.issues) == 0 {
			p.appendSeg(&sc.seg)
			p.checkData(sc.seg)
			if len(p.errs) >= p.lim.MaxErrors {
				p.errs = append(p.errs, &Error{Kind: KindLimit, Offset: -1, Reason: fmt.Sprintf("more than %d errors: giving up", p.lim.MaxErrors)})
				return
			}
			continue
		}
		seg := sc.seg
		if p.segs == nil {
			n := bytes.Count(data, []byte{p.sc.d.Segment}) + 16
			p.segs = make([]Segment, 0, n)
		}
		tag := seg.Tag()
		unb := tag == "UNB"
		if unb {
			p.segment(seg, tag)
		}
		for _, e := range p.sc.Issues() {
			if e.Kind == KindCharset || e.Kind == KindUnterminated {
				p.locate(e, seg)
				p.doc.Warnings = append(p.doc.Warnings, e)
				continue
			}
			p.add(e, seg)
		}
		if !unb {
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

func (p *parser) locate(e *Error, seg Segment) {
	if p.ic != nil {
		e.Interchange = p.ic.Control
		if p.inGroup && len(p.ic.Groups) > 0 {
			e.Group = p.ic.Groups[len(p.ic.Groups)-1].Reference
		}
	}
	if p.msgStart >= 0 {
		e.Message = p.msgRef
		e.MessageType = p.msgType
		e.Segment = seg.Ordinal() - p.segs[p.msgStart].Ordinal() + 1
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

func (p *parser) errorf(kind Kind, seg Segment, elem, comp int, format string, args ...any) {
	p.add(&Error{Kind: kind, Tag: seg.Tag(), Offset: seg.Offset(), Element: elem, Component: comp, Reason: fmt.Sprintf(format, args...)}, seg)
}

func (p *parser) warnf(kind Kind, seg Segment, elem int, format string, args ...any) {
	e := &Error{Kind: kind, Tag: seg.Tag(), Offset: seg.Offset(), Element: elem, Reason: fmt.Sprintf(format, args...)}
	p.locate(e, seg)
	p.doc.Warnings = append(p.doc.Warnings, e)
}

// required returns component j of element i as text, reporting it when empty.
func (p *parser) required(seg Segment, i, j int, what string) string {
	v := seg.Text(i, j)
	if v == "" {
		p.errorf(KindMissingElement, seg, i, j, "%s is missing", what)
	}
	return v
}

// requiredValue reports v (component j of element i) when it is empty.
func (p *parser) requiredValue(seg Segment, i, j int, v, what string) {
	if v == "" {
		p.errorf(KindMissingElement, seg, i, j, "%s is missing", what)
	}
}

func (p *parser) segment(seg Segment, tag string) {
	if tag == "UNB" {
		p.closeInterchange(&seg)
		p.openInterchange(seg)
		return
	}
	if p.ic == nil {
		p.errorf(KindUnexpectedSegment, seg, 0, 0, "segment outside an interchange (no UNB)")
		return
	}
	switch tag {
	case "UNZ":
		p.closeInterchange(&seg)
	case "UNG":
		p.closeGroup(&seg)
		p.openGroup(seg)
	case "UNE":
		if !p.inGroup {
			p.closeMessage(&seg)
			p.errorf(KindUnexpectedSegment, seg, 0, 0, "UNE without UNG")
			return
		}
		p.closeGroup(&seg)
	case "UNH":
		p.closeMessage(&seg)
		p.openMessage(seg)
	case "UNT":
		if p.msgStart < 0 {
			p.errorf(KindUnexpectedSegment, seg, 0, 0, "UNT without UNH")
			return
		}
		p.segs = append(p.segs, seg)
		p.closeMessage(nil)
	default:
		if p.msgStart < 0 {
			p.errorf(KindUnexpectedSegment, seg, 0, 0, "segment outside a message (no UNH)")
			return
		}
		p.segs = append(p.segs, seg)
		p.checkData(seg)
	}
}

func (p *parser) openInterchange(seg Segment) {
	p.doc.Interchanges = append(p.doc.Interchanges, Interchange{
		SyntaxID:           seg.Text(1, 1),
		SyntaxVersion:      seg.Text(1, 2),
		Sender:             seg.Text(2, 1),
		SenderQualifier:    seg.Text(2, 2),
		Recipient:          seg.Text(3, 1),
		RecipientQualifier: seg.Text(3, 2),
		Date:               seg.Text(4, 1),
		Time:               seg.Text(4, 2),
		Control:            seg.Text(5, 0),
		AckRequested:       seg.Text(9, 0) == "1",
		Test:               seg.Text(11, 0) == "1",
		Delimiters:         p.sc.d,
		HasUNA:             p.sc.una,
		Charset:            p.sc.charset,
		Header:             seg,
	})
	p.ic = &p.doc.Interchanges[len(p.doc.Interchanges)-1]
	p.refs = map[string]int{}
	p.groupsSeen = 0
	p.required(seg, 1, 1, "syntax identifier (UNB01-1)")
	p.required(seg, 1, 2, "syntax version (UNB01-2)")
	p.required(seg, 2, 1, "interchange sender (UNB02-1)")
	p.required(seg, 3, 1, "interchange recipient (UNB03-1)")
	p.required(seg, 5, 0, "interchange control reference (UNB05)")
}

func (p *parser) closeInterchange(unz *Segment) {
	if p.ic == nil {
		return
	}
	p.closeGroup(unz)
	if unz == nil || !unz.Is("UNZ") {
		what := "the end of input"
		if unz != nil {
			what = "the next UNB"
		}
		p.trailerMissing(KindInterchangeTrailerMissing, "UNZ", unz, "interchange has no UNZ before %s", what)
		p.ic = nil
		return
	}
	p.ic.Trailer = *unz
	counted, what := len(p.ic.Messages), "messages"
	if len(p.ic.Groups) > 0 {
		counted, what = len(p.ic.Groups), "groups"
	}
	p.checkCount(*unz, counted, what, KindInterchangeCount)
	if ref := p.required(*unz, 2, 0, "interchange control reference (UNZ02)"); ref != "" && ref != p.ic.Control {
		p.errorf(KindInterchangeReferenceMismatch, *unz, 2, 0, "control reference %q does not match UNB05 %q", ref, p.ic.Control)
	}
	p.ic = nil
}

func (p *parser) openGroup(seg Segment) {
	p.ic.Groups = append(p.ic.Groups, Group{
		ID:        seg.Text(1, 0),
		Reference: seg.Text(5, 0),
		Agency:    seg.Text(6, 0),
		Version:   seg.Text(7, 0),
		Header:    seg,
	})
	p.inGroup = true
	p.grpFirst = len(p.ic.Messages)
	p.required(seg, 1, 0, "message group identification (UNG01)")
	p.required(seg, 5, 0, "group reference number (UNG05)")
	if v := p.ic.SyntaxVersion; v != "" && v < "4" {
		// Syntax 1-3 (ISO 9735:1988): sender, recipient, date/time,
		// agency and message version are mandatory too (conditional from 4).
		p.required(seg, 2, 1, "application sender identification (UNG02-1)")
		p.required(seg, 3, 1, "application recipient identification (UNG03-1)")
		p.required(seg, 4, 1, "date of preparation (UNG04-1)")
		p.required(seg, 4, 2, "time of preparation (UNG04-2)")
		p.required(seg, 6, 0, "controlling agency (UNG06)")
		p.required(seg, 7, 1, "message version number (UNG07-1)")
		p.required(seg, 7, 2, "message release number (UNG07-2)")
	}
}

func (p *parser) closeGroup(une *Segment) {
	p.closeMessage(une)
	if !p.inGroup {
		return
	}
	g := &p.ic.Groups[len(p.ic.Groups)-1]
	g.Messages = p.ic.Messages[p.grpFirst:len(p.ic.Messages):len(p.ic.Messages)]
	if une == nil || !une.Is("UNE") {
		what := "the end of input"
		if une != nil {
			what = une.Tag()
		}
		p.trailerMissing(KindGroupTrailerMissing, "UNE", une, "group has no UNE before %s", what)
		p.inGroup = false
		return
	}
	g.Trailer = *une
	p.checkCount(*une, len(g.Messages), "messages", KindGroupCount)
	if ref := p.required(*une, 2, 0, "group reference number (UNE02)"); ref != "" && g.Reference != "" && ref != g.Reference {
		p.errorf(KindGroupReferenceMismatch, *une, 2, 0, "group reference %q does not match UNG05 %q", ref, g.Reference)
	}
	p.inGroup = false
}

func (p *parser) openMessage(seg Segment) {
	p.msgStart = len(p.segs)
	p.segs = append(p.segs, seg)
	p.msgRef = seg.Text(1, 0)
	seg.texts(2, p.msgID[:]) // S009 in one pass
	p.msgType = p.msgID[0]
	p.uns = [2]int{}
	p.requiredValue(seg, 1, 0, p.msgRef, "message reference number (UNH01)")
	p.requiredValue(seg, 2, 1, p.msgID[0], "message type (UNH02-1)")
	p.requiredValue(seg, 2, 2, p.msgID[1], "message version (UNH02-2)")
	p.requiredValue(seg, 2, 3, p.msgID[2], "message release (UNH02-3)")
	p.requiredValue(seg, 2, 4, p.msgID[3], "controlling agency (UNH02-4)")
	if prev, ok := p.refs[p.msgRef]; ok && p.msgRef != "" {
		p.warnf(KindDuplicateReference, seg, 1, "message reference %q repeats message %d of the interchange", p.msgRef, prev)
	}
	p.refs[p.msgRef] = len(p.ic.Messages) + 1
}

// closeMessage ends the open message; next is the envelope segment that cut
// it short, or nil after its UNT or at the end of input.
func (p *parser) closeMessage(next *Segment) {
	if p.msgStart < 0 {
		return
	}
	segs := p.segs[p.msgStart:len(p.segs):len(p.segs)]
	m := Message{Reference: p.msgRef, Type: p.msgType, Version: p.msgID[1], Release: p.msgID[2],
		Agency: p.msgID[3], Association: p.msgID[4], Segments: segs}
	last := segs[len(segs)-1]
	if len(segs) > 1 && last.Is("UNT") && next == nil {
		p.checkCount(last, len(segs), "segments", KindMessageCount)
		if ref := p.required(last, 2, 0, "message reference number (UNT02)"); ref != "" && ref != p.msgRef {
			p.errorf(KindMessageReferenceMismatch, last, 2, 0, "message reference %q does not match UNH01 %q", ref, p.msgRef)
		}
	} else {
		what := "the end of input"
		if next != nil {
			what = next.Tag()
		}
		p.trailerMissing(KindMessageTrailerMissing, "UNT", next, "message has no UNT before %s", what)
	}
	p.ic.Messages = append(p.ic.Messages, m)
	p.msgStart = -1
	p.msgRef, p.msgType, p.msgID = "", "", [5]string{}
}

// trailerMissing reports a missing trailer under the trailer's tag (not the
// header's: a CONTRL names the segment that is missing), located where it
// was due: before next, or at the end of input.
func (p *parser) trailerMissing(kind Kind, tag string, next *Segment, format string, args ...any) {
	e := &Error{Kind: kind, Tag: tag, Offset: len(p.sc.data), Reason: fmt.Sprintf(format, args...)}
	at := Segment{}
	if next != nil {
		e.Offset = next.Offset()
		at = *next
	}
	p.locate(e, at)
	switch {
	case p.msgStart >= 0:
		e.Segment = len(p.segs) - p.msgStart + 1
	case next != nil:
		e.Segment = next.Ordinal()
	default:
		e.Segment = p.sc.ordinal + 1
	}
	e.Tag = tag
	p.errs = append(p.errs, e)
}

func (p *parser) checkCount(seg Segment, counted int, what string, kind Kind) {
	raw := seg.Text(1, 0)
	if raw == "" {
		p.errorf(KindMissingElement, seg, 1, 0, "count of %s is missing (%d counted)", what, counted)
		return
	}
	n, err := strconv.Atoi(raw)
	if err != nil || !digits(raw) {
		p.errorf(KindInvalidValue, seg, 1, 0, "count %q is not a number (%d %s counted)", raw, counted, what)
		return
	}
	if n != counted {
		p.errorf(kind, seg, 1, 0, "count %d does not match %d %s", n, counted, what)
	}
}

func digits(s string) bool {
	if len(s) == 0 || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
