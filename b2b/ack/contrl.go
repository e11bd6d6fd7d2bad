package ack

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/b2b/edifact"
	"github.com/supplywatch/supplywatch/b2b/mapping"
	"github.com/supplywatch/supplywatch/b2b/partner"
)

// CONTRL builds a CONTRL message for one inbound EDIFACT interchange: UCI
// for the interchange, UCF per group (when the interchange has groups), UCM
// for every message with UCS/UCD for the segment and element errors. errs
// are the tokenizer's errors, rejected the mapping rejections.
func CONTRL(ic *edifact.Interchange, errs []*edifact.Error, rejected []*mapping.Problem, opt Options) (*Ack, error) {
	env := newEDIFACTEnvelope(ic, opt)
	w, s, comp, ctl, sv, party := env.w, env.s, env.comp, env.ctl, env.sv, env.party
	w.count = 0
	msgType := "CONTRL" + comp + "D" + comp + "3" + comp + "UN"
	if sv == "4" {
		msgType = "CONTRL" + comp + "4" + comp + "1" + comp + "UN"
	}
	w.seg("UNH", "1", msgType)

	var icErrs []*edifact.Error
	groupErrs := map[string][]*edifact.Error{}
	msgErrs := map[string][]*edifact.Error{}
	for _, e := range errs {
		if e.Interchange != ic.Control {
			continue
		}
		switch {
		case e.Message != "":
			msgErrs[e.Message] = append(msgErrs[e.Message], e)
		case e.Group != "":
			groupErrs[e.Group] = append(groupErrs[e.Group], e)
		default:
			icErrs = append(icErrs, e)
		}
	}
	rej := map[string][]*mapping.Problem{}
	for _, r := range syntaxOnly(rejected) {
		if r.Standard == partner.EDIFACT && r.Interchange == ic.Control {
			rej[r.Set] = append(rej[r.Set], r)
		}
	}
	uci := []string{s(ic.Control, 14), party(ic.Sender, ic.SenderQualifier), party(ic.Recipient, ic.RecipientQualifier), "7"}
	verdict := Accepted
	if len(icErrs) > 0 {
		code, tag, el := envelopeCode(icErrs[0])
		uci[3] = "4"
		uci = append(uci, code, tag, el)
		verdict = Rejected
	}
	w.seg("UCI", uci...)
	total, accepted := 0, 0
	ucm := func(m *edifact.Message) {
		total++
		t := s(m.Type, 6) + comp + s(m.Version, 3) + comp + s(m.Release, 3) + comp + s(m.Agency, 3)
		if m.Association != "" {
			t += comp + s(m.Association, 35)
		}
		var lines [][]string
		head := []string{s(m.Reference, 14), t, "7"}
		for _, e := range msgErrs[m.Reference] {
			head[2] = "4"
			switch e.Kind {
			case edifact.KindMessageCount, edifact.KindMessageReferenceMismatch, edifact.KindMessageTrailerMissing:
				if len(head) == 3 {
					code, tag, el := envelopeCode(e)
					head = append(head, code, tag, el)
				}
				continue
			}
			code := syntaxCode(e.Kind)
			if e.Element > 0 {
				lines = append(lines, []string{"UCS", strconv.Itoa(max(e.Segment, 1))},
					[]string{"UCD", code, strconv.Itoa(e.Element) + compPart(e.Component, comp)})
			} else {
				lines = append(lines, []string{"UCS", strconv.Itoa(max(e.Segment, 1)), code})
			}
		}
		for _, r := range rej[m.Reference] {
			head[2] = "4"
			switch {
			case r.Unsupported:
				if len(head) == 3 {
					head = append(head, "18")
				}
			case r.Segment > 0 && r.Element > 0:
				code := "12" // invalid value
				if r.Value == "" {
					code = "13" // missing
				}
				lines = append(lines, []string{"UCS", strconv.Itoa(r.Segment)}, []string{"UCD", code, strconv.Itoa(r.Element) + compPart(r.Component, comp)})
			case r.Segment > 0 && r.Value == "":
				lines = append(lines, []string{"UCS", strconv.Itoa(r.Segment), "13"}) // missing
			case r.Segment > 0:
				lines = append(lines, []string{"UCS", strconv.Itoa(r.Segment), "18"})
			default:
				if len(head) == 3 {
					head = append(head, "18")
				}
			}
		}
		if head[2] == "7" {
			accepted++
		}
		w.seg("UCM", head...)
		for _, l := range lines {
			w.seg(l[0], l[1:]...)
		}
	}
	if len(ic.Groups) > 0 {
		for gi := range ic.Groups {
			g := &ic.Groups[gi]
			ucf := []string{s(g.Reference, 14), "", "", "7"}
			if ge := groupErrs[g.Reference]; len(ge) > 0 {
				code, tag, el := envelopeCode(ge[0])
				ucf[3] = "4"
				ucf = append(ucf, code, tag, el)
				verdict = worst(verdict, PartiallyAccepted)
			}
			w.seg("UCF", ucf...)
			for i := range g.Messages {
				ucm(&g.Messages[i])
			}
		}
	} else {
		for i := range ic.Messages {
			ucm(&ic.Messages[i])
		}
	}
	switch {
	case total > 0 && accepted == 0:
		verdict = Rejected
	case accepted < total:
		verdict = worst(verdict, PartiallyAccepted)
	}
	w.seg("UNT", strconv.Itoa(w.count+1), "1")
	w.seg("UNZ", "1", ctl)
	return &Ack{Kind: "CONTRL", Verdict: verdict, Body: []byte(w.b.String())}, nil
}

// edifactEnvelope is the UNA/UNB of an acknowledgement or advice answering
// ic: sender and recipient swapped, the inbound service characters reused.
type edifactEnvelope struct {
	w     *writer
	s     func(string, int) string // echo a value safely
	comp  string
	ctl   string // our UNB05
	sv    string // syntax version
	party func(id, qualifier string) string
	now   time.Time
	// esc escapes free text with the release character (dropping the
	// service characters when the interchange has none).
	esc func(string) string
}

func newEDIFACTEnvelope(ic *edifact.Interchange, opt Options) *edifactEnvelope {
	d := ic.Delimiters
	if d.Element == 0 || d.Segment == 0 {
		d = edifact.DefaultDelimiters()
	}
	w := &writer{el: d.Element, term: string(d.Segment) + "\n"}
	delims := []byte{d.Element, d.Component, d.Segment, d.Release}
	s := func(v string, max int) string { return safe(v, max, delims...) }
	comp := string(d.Component)
	ctl := strconv.FormatInt(opt.Control, 10)
	now := opt.Now.UTC()
	if ic.HasUNA || d != edifact.DefaultDelimiters() {
		rep := d.Repetition
		if rep == 0 {
			rep = ' '
		}
		w.b.WriteString("UNA" + string([]byte{d.Component, d.Element, orDot(d.Decimal), orRel(d.Release), rep, d.Segment}) + "\n")
	}
	syntax := s(ic.SyntaxID, 4)
	if syntax == "" {
		syntax = "UNOA"
	}
	sv := s(ic.SyntaxVersion, 1)
	if sv == "" {
		sv = "3"
	}
	party := func(id, q string) string {
		if q == "" {
			return s(id, 35)
		}
		return s(id, 35) + comp + s(q, 4)
	}
	w.seg("UNB", syntax+comp+sv, party(ic.Recipient, ic.RecipientQualifier), party(ic.Sender, ic.SenderQualifier),
		now.Format("060102")+comp+now.Format("1504"), ctl)
	esc := func(v string) string {
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			c := v[i]
			switch {
			case c < 0x20 || c == 0x7f:
				continue
			case c == d.Element || c == d.Component || c == d.Segment || c == d.Release || d.Repetition != 0 && c == d.Repetition:
				if d.Release == 0 {
					continue
				}
				b.WriteByte(d.Release)
			}
			b.WriteByte(c)
		}
		return b.String()
	}
	return &edifactEnvelope{w: w, s: s, comp: comp, ctl: ctl, sv: sv, party: party, now: now, esc: esc}
}

func compPart(c int, comp string) string {
	if c > 0 {
		return comp + strconv.Itoa(c)
	}
	return ""
}

func orDot(b byte) byte {
	if b == 0 {
		return '.'
	}
	return b
}

func orRel(b byte) byte {
	if b == 0 {
		return ' '
	}
	return b
}

// envelopeCode maps an envelope error to the 0085 code and the erroneous
// service segment tag and data element position.
func envelopeCode(e *edifact.Error) (code, tag, el string) {
	tag = e.Tag
	if e.Element > 0 {
		el = strconv.Itoa(e.Element)
	}
	switch e.Kind {
	case edifact.KindInterchangeCount, edifact.KindGroupCount, edifact.KindMessageCount:
		code = "29" // control count does not match number of instances received
	case edifact.KindInterchangeReferenceMismatch, edifact.KindGroupReferenceMismatch, edifact.KindMessageReferenceMismatch:
		code = "28" // references do not match
	case edifact.KindInterchangeTrailerMissing, edifact.KindGroupTrailerMissing, edifact.KindMessageTrailerMissing, edifact.KindMissingElement:
		code = "13" // missing
	default:
		code = syntaxCode(e.Kind)
	}
	return code, tag, el
}

// syntaxCode maps a segment or element error to 0085.
func syntaxCode(k edifact.Kind) string {
	switch k {
	case edifact.KindMissingElement:
		return "13" // missing
	case edifact.KindInvalidValue, edifact.KindBadTag:
		return "12" // invalid value
	case edifact.KindUnexpectedSegment:
		return "15" // not supported in this position
	case edifact.KindSegmentRepeated:
		return "35" // too many repetitions
	case edifact.KindLimit:
		return "39" // data element too long
	case edifact.KindCharset, edifact.KindInvalidCharacter:
		return "21" // invalid character(s)
	case edifact.KindMergedSegments:
		return "16" // too many constituents: the segments that follow were merged in
	}
	return "18" // unspecified error
}

// CXMLResponse builds the cXML Response answering a request:
// 200 OK, 401 Unauthorized for failed credentials, 400 Bad Request for a
// document that did not decode, 406 Not Acceptable for a rejected request.
func CXMLResponse(code int, text string, opt Options) *Ack {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.050/cXML.dtd">` + "\n")
	fmt.Fprintf(&b, `<cXML payloadID="%s" timestamp="%s">`+"\n", attr(fmt.Sprintf("%d.ack@supplywatch", opt.Control)), opt.Now.UTC().Format("2006-01-02T15:04:05Z07:00"))
	status := map[int]string{200: "OK", 400: "Bad Request", 401: "Unauthorized", 406: "Not Acceptable"}[code]
	fmt.Fprintf(&b, `  <Response><Status code="%d" text="%s">%s</Status></Response>`+"\n", code, attr(status), attr(text))
	b.WriteString("</cXML>\n")
	v := Accepted
	if code >= 300 {
		v = Rejected
	}
	return &Ack{Kind: "cXML", Verdict: v, Body: []byte(b.String())}
}

func attr(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), `"`, "&#34;")
}
