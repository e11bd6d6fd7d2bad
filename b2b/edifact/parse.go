package edifact

import (
	"bytes"

	"github.com/supplywatch/supplywatch/b2b/edi"
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
	p := &parser{sc: NewScanner(data, lim), doc: &Document{}}
	p.d = edi.NewDriver(&standard, p, lim)
	p.run()
	p.doc.Warnings = p.d.Warnings
	if len(p.d.Errs) > 0 {
		return p.doc, p.d.Errs
	}
	return p.doc, nil
}

// standard describes the EDIFACT envelopes to the shared envelope driver.
var standard = edi.Standard[Kind]{
	Interchange: edi.Envelope[Kind]{
		Header: "UNB", Trailer: "UNZ", CountElem: 1, ControlElem: 2,
		Counted: "groups", ControlName: "control reference", HeaderControl: "UNB05",
		ControlRequired: "interchange control reference (UNZ02)",
		Missing: func(next string) string {
			if next == "" {
				return "interchange has no UNZ before the end of input"
			}
			return "interchange has no UNZ before the next " + next
		},
		TrailerMissing: KindInterchangeTrailerMissing, CountKind: KindInterchangeCount,
		ControlMismatch: KindInterchangeReferenceMismatch,
	},
	Group: edi.Envelope[Kind]{
		Header: "UNG", Trailer: "UNE", CountElem: 1, ControlElem: 2,
		Counted: "messages", ControlName: "group reference", HeaderControl: "UNG05",
		ControlRequired: "group reference number (UNE02)", SkipEmptyHeader: true,
		Missing:        func(next string) string { return "group has no UNE before " + orEnd(next) },
		TrailerMissing: KindGroupTrailerMissing, CountKind: KindGroupCount,
		ControlMismatch: KindGroupReferenceMismatch,
	},
	Unit: edi.Envelope[Kind]{
		Header: "UNH", Trailer: "UNT", CountElem: 1, ControlElem: 2,
		Counted: "segments", ControlName: "message reference", HeaderControl: "UNH01",
		ControlRequired: "message reference number (UNT02)",
		Missing:         func(next string) string { return "message has no UNT before " + orEnd(next) },
		TrailerMissing:  KindMessageTrailerMissing, CountKind: KindMessageCount,
		ControlMismatch: KindMessageReferenceMismatch,
	},
	OutsideInterchange: "segment outside an interchange (no UNB)",
	OutsideUnit:        "segment outside a message (no UNH)",
	// UNZ01 counts the groups, or the messages when there is no UNG.
	UnitsWithoutGroups: "messages",
	Unexpected:         KindUnexpectedSegment, MissingElement: KindMissingElement,
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

	ic       *Interchange
	grpFirst int // index in ic.Messages of the group's first message
	msgRef   string
	msgType  string
	msgID    [5]string // UNH02 S009 components: type, version, release, agency, association
	uns      [2]int    // ordinals in the message of UNS+D and UNS+S
	refs     map[string]int
}

func (p *parser) run() {
	sc, d := p.sc, &p.d
	for sc.Next() {
		// The common case: a data segment inside a message, without issues.
		if !sc.service && d.InUnit() && len(sc.issues) == 0 {
			p.appendSeg(&sc.seg)
			p.checkData(sc.seg)
			if d.Full() {
				d.GiveUp()
				return
			}
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
	e.Interchange, e.Group, e.Message, e.MessageType = at.Interchange, at.Group, at.Unit, at.Type
	if at.Override || e.Segment == 0 {
		e.Segment = at.Segment
	}
	if e.Tag == "" {
		e.Tag = at.Tag
	}
}

// Warning reports the scanner issues a lenient reader accepts (edi.Hooks).
func (p *parser) Warning(e *Error) bool { return e.Kind == KindCharset || e.Kind == KindUnterminated }

// Value reads a trailer element (edi.Hooks).
func (p *parser) Value(_ edi.Level, seg Segment, elem int) string { return seg.Text(elem, 0) }

func (p *parser) errorf(kind Kind, seg Segment, elem, comp int, format string, args ...any) {
	p.d.Errorf(kind, seg, elem, comp, format, args...)
}

// required reports component j of element i of seg when it is empty.
func (p *parser) required(seg Segment, i, j int, what string) {
	p.requiredValue(seg, i, j, seg.Text(i, j), what)
}

// requiredValue reports v (component j of element i) when it is empty.
func (p *parser) requiredValue(seg Segment, i, j int, v, what string) {
	if v == "" {
		p.errorf(KindMissingElement, seg, i, j, "%s is missing", what)
	}
}

// Open starts an interchange, group or message (edi.Hooks).
func (p *parser) Open(l edi.Level, seg Segment) (control, typ string) {
	switch l {
	case edi.Interchange:
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
		return p.ic.Control, ""
	case edi.Group:
		p.ic.Groups = append(p.ic.Groups, Group{
			ID:        seg.Text(1, 0),
			Reference: seg.Text(5, 0),
			Agency:    seg.Text(6, 0),
			Version:   seg.Text(7, 0),
			Header:    seg,
		})
		p.grpFirst = len(p.ic.Messages)
		return p.ic.Groups[len(p.ic.Groups)-1].Reference, ""
	}
	p.msgRef = seg.Text(1, 0)
	seg.texts(2, p.msgID[:]) // S009 in one pass
	p.msgType = p.msgID[0]
	p.uns = [2]int{}
	return p.msgRef, p.msgType
}

// Implicit is not used: messages may stand without a group (edi.Hooks).
func (p *parser) Implicit() {}

// Check checks the mandatory header elements of an interchange, group or
// message (edi.Hooks).
func (p *parser) Check(l edi.Level, seg Segment) {
	switch l {
	case edi.Interchange:
		p.required(seg, 1, 1, "syntax identifier (UNB01-1)")
		p.required(seg, 1, 2, "syntax version (UNB01-2)")
		p.required(seg, 2, 1, "interchange sender (UNB02-1)")
		p.required(seg, 3, 1, "interchange recipient (UNB03-1)")
		p.required(seg, 5, 0, "interchange control reference (UNB05)")
	case edi.Group:
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
	case edi.Unit:
		p.requiredValue(seg, 1, 0, p.msgRef, "message reference number (UNH01)")
		p.requiredValue(seg, 2, 1, p.msgID[0], "message type (UNH02-1)")
		p.requiredValue(seg, 2, 2, p.msgID[1], "message version (UNH02-2)")
		p.requiredValue(seg, 2, 3, p.msgID[2], "message release (UNH02-3)")
		p.requiredValue(seg, 2, 4, p.msgID[3], "controlling agency (UNH02-4)")
		if prev, ok := p.refs[p.msgRef]; ok && p.msgRef != "" {
			p.d.Warnf(KindDuplicateReference, seg, 1, "message reference %q repeats message %d of the interchange", p.msgRef, prev)
		}
		p.refs[p.msgRef] = len(p.ic.Messages) + 1
	}
}

// Close ends an interchange, group or message (edi.Hooks).
func (p *parser) Close(l edi.Level, segs []Segment, trailer Segment, complete bool) {
	switch l {
	case edi.Interchange:
		if complete {
			p.ic.Trailer = trailer
		}
		p.ic = nil
	case edi.Group:
		g := &p.ic.Groups[len(p.ic.Groups)-1]
		g.Messages = p.ic.Messages[p.grpFirst:len(p.ic.Messages):len(p.ic.Messages)]
		if complete {
			g.Trailer = trailer
		}
	case edi.Unit:
		p.ic.Messages = append(p.ic.Messages, Message{Reference: p.msgRef, Type: p.msgType, Version: p.msgID[1],
			Release: p.msgID[2], Agency: p.msgID[3], Association: p.msgID[4], Segments: segs})
		p.msgRef, p.msgType, p.msgID = "", "", [5]string{}
	}
}

// Data checks a message's data segment (edi.Hooks).
func (p *parser) Data(seg Segment) { p.checkData(seg) }

// Stray drops a segment outside any message: it is reported (edi.Hooks).
func (p *parser) Stray(Segment) {}
