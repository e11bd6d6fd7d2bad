package ack

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/b2b/mapping"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/b2b/x12"
)

// X12 builds a 997 (kind "997") or 999 (kind "999") for one inbound
// interchange: one acknowledgement set per functional group, one AK2/IK5
// per transaction set. errs are the tokenizer's errors (x12.Parse), rejected
// the mapping rejections; both are filtered to this interchange. A TA1
// precedes the groups when the interchange envelope has errors.
func X12(kind string, ic *x12.Interchange, errs []*x12.Error, rejected []*mapping.Problem, opt Options) (*Ack, error) {
	if kind != "997" && kind != "999" {
		return nil, fmt.Errorf("x12 acknowledgement kind %q is not 997 or 999", kind)
	}
	// The acknowledgement is written in the version of the acknowledged
	// group, a 999 in 005010X231.
	gsVersion := ""
	if kind == "999" {
		gsVersion = "005010X231"
	}
	env, err := newX12Envelope(ic, gsVersion, opt)
	if err != nil {
		return nil, err
	}
	w, s, ctl, now := env.w, env.s, env.ctl, env.now
	gsVersion = env.gsVersion
	rejected = syntaxOnly(rejected)

	// Sort the errors by envelope level.
	var icErrs []*x12.Error
	groupErrs := map[string][]*x12.Error{}
	setErrs := map[[2]string][]*x12.Error{}
	for _, e := range errs {
		if e.Interchange != ic.Control {
			continue
		}
		switch {
		case e.Set != "":
			k := [2]string{e.Group, e.Set}
			setErrs[k] = append(setErrs[k], e)
		case e.Group != "":
			groupErrs[e.Group] = append(groupErrs[e.Group], e)
		default:
			icErrs = append(icErrs, e)
		}
	}
	setRej := map[[2]string][]*mapping.Problem{}
	for _, r := range rejected {
		if r.Standard == partner.X12 && r.Interchange == ic.Control && r.Set != "" {
			k := [2]string{r.Group, r.Set}
			setRej[k] = append(setRej[k], r)
		}
	}
	verdict := Accepted
	if len(icErrs) > 0 {
		note, code := ta1Note(icErrs)
		w.seg("TA1", s(ic.Control, 9), s(ic.Date, 6), s(ic.Time, 4), code, note)
		if code == "R" {
			verdict = Rejected
		} else {
			verdict = AcceptedWithErrors
		}
	}
	if len(ic.Groups) == 0 {
		w.seg("IEA", "0", ctl)
		return &Ack{Kind: kind, Verdict: verdictOr(verdict, Rejected), Body: []byte(w.b.String())}, nil
	}
	g0 := ic.Groups[0]
	w.seg("GS", "FA", s(g0.Receiver, 15), s(g0.Sender, 15), now.Format("20060102"), now.Format("1504"), strconv.FormatInt(opt.Control%1000000000, 10), "X", s(gsVersion, 12))
	setsAccepted, setsTotal := 0, 0
	for gi := range ic.Groups {
		g := &ic.Groups[gi]
		w.count = 0
		stCtl := fmt.Sprintf("%04d", gi+1)
		if kind == "999" {
			w.seg("ST", "999", stCtl, "005010X231")
			w.seg("AK1", s(g.FunctionalID, 2), s(g.Control, 9), s(g.Version, 12))
		} else {
			w.seg("ST", "997", stCtl)
			w.seg("AK1", s(g.FunctionalID, 2), s(g.Control, 9))
		}
		accepted := 0
		for _, set := range g.Sets {
			k := [2]string{g.Control, set.Control}
			st := setVerdict(w, kind, s, set, setErrs[k], setRej[k])
			if st != "R" {
				accepted++
			}
		}
		setsAccepted += accepted
		setsTotal += len(g.Sets)
		var gcodes []string
		for _, e := range groupErrs[g.Control] {
			if c := groupCode(e); c != "" && len(gcodes) < 5 {
				gcodes = append(gcodes, c)
			}
		}
		ak9 := "A"
		switch {
		case accepted == 0 && len(g.Sets) > 0 || len(g.Sets) == 0 && len(gcodes) > 0:
			ak9 = "R"
		case accepted < len(g.Sets):
			ak9 = "P"
		case len(gcodes) > 0:
			ak9 = "E"
		}
		included := strconv.Itoa(len(g.Sets))
		if g.Trailer.Ordinal() > 0 {
			if n := strings.TrimSpace(g.Trailer.String(1)); n != "" && len(n) <= 6 {
				included = s(n, 6)
			}
		}
		w.seg("AK9", append([]string{ak9, included, strconv.Itoa(len(g.Sets)), strconv.Itoa(accepted)}, gcodes...)...)
		w.seg("SE", strconv.Itoa(w.count+1), stCtl)
		switch ak9 {
		case "R":
			verdict = worst(verdict, Rejected)
		case "P":
			verdict = worst(verdict, PartiallyAccepted)
		case "E":
			verdict = worst(verdict, AcceptedWithErrors)
		}
	}
	w.seg("GE", strconv.Itoa(len(ic.Groups)), strconv.FormatInt(opt.Control%1000000000, 10))
	w.seg("IEA", "1", ctl)
	if setsTotal > 0 && setsAccepted == 0 {
		verdict = Rejected
	}
	return &Ack{Kind: kind, Verdict: verdict, Body: []byte(w.b.String())}, nil
}

// x12Envelope is the ISA of an acknowledgement or advice answering ic:
// sender and receiver swapped, the inbound delimiters reused.
type x12Envelope struct {
	w         *writer
	s         func(string, int) string // echo a value safely
	ctl       string                   // our ISA13
	now       time.Time
	gsVersion string
}

// newX12Envelope writes the ISA; gsVersion empty means the version of the
// first group of ic (004010 when it has none).
func newX12Envelope(ic *x12.Interchange, gsVersion string, opt Options) (*x12Envelope, error) {
	d := ic.Delimiters
	if d.Element == 0 || d.Segment == 0 {
		return nil, fmt.Errorf("interchange %s: no delimiters to answer with", ic.Control)
	}
	comp := d.Component
	if comp == 0 {
		comp = '>'
	}
	w := &writer{el: d.Element, term: string(d.Segment)}
	if d.Segment != '\n' && d.Segment != '\r' {
		w.term += "\n"
	}
	delims := []byte{d.Element, comp, d.Segment}
	if d.Repetition != 0 {
		delims = append(delims, d.Repetition)
	}
	s := func(v string, max int) string { return safe(v, max, delims...) }
	ctl := opt.control9()
	now := opt.Now.UTC()
	if gsVersion == "" {
		gsVersion = "004010"
		if len(ic.Groups) > 0 && len(ic.Groups[0].Version) >= 6 {
			gsVersion = s(ic.Groups[0].Version, 12)
		}
	}
	// safe may have shortened the group's version (it drops delimiters).
	version := gsVersion[:min(5, len(gsVersion))]
	if len(version) != 5 || !allDigits(version) {
		version = "00401"
	}
	rep := "U"
	if version >= "00402" {
		rep = "^"
		if d.Repetition != 0 {
			rep = string(d.Repetition)
		} else if d.Element == '^' || comp == '^' || d.Segment == '^' {
			rep = "{"
		}
	}
	usage := ic.Usage
	if usage == "" {
		usage = "P"
	}
	w.seg("ISA", "00", "          ", "00", "          ",
		pad(s(ic.ReceiverQualifier, 2), 2), pad(s(ic.Receiver, 15), 15), pad(s(ic.SenderQualifier, 2), 2), pad(s(ic.Sender, 15), 15),
		now.Format("060102"), now.Format("1504"), rep, version, ctl, "0", usage, string(comp))
	return &x12Envelope{w: w, s: s, ctl: ctl, now: now, gsVersion: gsVersion}, nil
}

// syntaxOnly drops the application and configuration problems: a
// 997/999/CONTRL reports syntax, an 824/APERAK the rest.
func syntaxOnly(ps []*mapping.Problem) []*mapping.Problem {
	out := make([]*mapping.Problem, 0, len(ps))
	for _, p := range ps {
		if !p.Application {
			out = append(out, p)
		}
	}
	return out
}

// setVerdict writes AK2 … AK5 (IK3/IK4/IK5 for a 999) for one set and
// returns its AK501 code.
func setVerdict(w *writer, kind string, s func(string, int) string, set x12.Set, errs []*x12.Error, rej []*mapping.Problem) string {
	seg3, seg4, seg5 := "AK3", "AK4", "AK5"
	if kind == "999" {
		seg3, seg4, seg5 = "IK3", "IK4", "IK5"
		w.seg("AK2", s(set.ID, 3), s(set.Control, 9), s(set.Implementation, 35))
	} else {
		w.seg("AK2", s(set.ID, 3), s(set.Control, 9))
	}
	var codes []string
	addCode := func(c string) {
		for _, x := range codes {
			if x == c {
				return
			}
		}
		if len(codes) < 5 {
			codes = append(codes, c)
		}
	}
	for _, e := range errs {
		if c := setCode(e); c != "" {
			addCode(c)
			continue
		}
		segCode, elCode := segmentCodes(e.Kind)
		w.seg(seg3, s(e.Tag, 3), strconv.Itoa(max(e.Segment, 1)), "", segCode)
		if e.Element > 0 && elCode != "" {
			w.seg(seg4, position(e.Element, e.Component, w), "", elCode)
		}
		addCode("5")
	}
	for _, r := range rej {
		if r.Unsupported {
			addCode("1")
			continue
		}
		if r.Tag != "" && r.Segment > 0 {
			w.seg(seg3, s(r.Tag, 3), strconv.Itoa(r.Segment), "", "8")
			if r.Element > 0 {
				code := "7" // invalid code value (an unmapped or wrong value)
				if r.Value == "" {
					code = "1" // mandatory data element missing
				}
				bad := s(r.Value, 99)
				w.seg(seg4, position(r.Element, r.Component, w), "", code, bad)
			}
		}
		addCode("5")
	}
	status := "A"
	if len(codes) > 0 {
		status = "R"
	}
	w.seg(seg5, append([]string{status}, codes...)...)
	return status
}

func position(el, comp int, w *writer) string {
	if comp > 0 {
		return strconv.Itoa(el) + ":" + strconv.Itoa(comp)
	}
	return strconv.Itoa(el)
}

// setCode maps set-level errors to AK502 (718) codes; "" means a segment
// error reported in an AK3.
func setCode(e *x12.Error) string {
	switch e.Kind {
	case x12.KindSetTrailerMissing:
		return "2"
	case x12.KindSetControlMismatch:
		return "3"
	case x12.KindSetCount:
		return "4"
	case x12.KindDuplicateControl:
		return "23"
	}
	if e.Tag == "ST" && (e.Kind == x12.KindMissingElement || e.Kind == x12.KindInvalidValue) {
		if e.Element == 1 {
			return "6"
		}
		return "7"
	}
	return ""
}

// segmentCodes maps a segment-level error to the AK304 (720) and AK403
// (723) codes.
func segmentCodes(k x12.Kind) (seg, el string) {
	switch k {
	case x12.KindBadTag:
		return "1", ""
	case x12.KindUnexpectedSegment:
		return "2", ""
	case x12.KindLineBreak:
		return "8", "6" // invalid character in data element
	case x12.KindMissingElement:
		return "8", "1"
	case x12.KindInvalidValue:
		return "8", "7"
	case x12.KindLimit:
		return "8", "5" // data element too long
	}
	return "8", ""
}

// groupCode maps group-level errors to AK905 (716) codes.
func groupCode(e *x12.Error) string {
	switch e.Kind {
	case x12.KindGroupTrailerMissing:
		return "3"
	case x12.KindGroupControlMismatch:
		return "4"
	case x12.KindGroupCount:
		return "5"
	case x12.KindDuplicateControl, x12.KindInvalidValue, x12.KindMissingElement:
		return "6"
	}
	return ""
}

// ta1Note maps interchange-level errors to a TA1 note code (I18) and
// acknowledgement code (I17).
func ta1Note(errs []*x12.Error) (note, code string) {
	code = "E"
	note = "024" // invalid interchange content
	for _, e := range errs {
		if e.Kind == x12.KindLineBreak && e.Tag == "ISA" {
			return "024", "R" // the ISA is cut in two: its fields cannot be trusted
		}
	}
	for _, e := range errs {
		switch e.Kind {
		case x12.KindInterchangeControlMismatch:
			return "001", code
		case x12.KindInterchangeCount:
			return "021", code
		case x12.KindInterchangeTrailerMissing:
			return "023", code
		}
		if e.Tag == "ISA" && e.Kind == x12.KindInvalidValue {
			if n, ok := isaNotes[e.Element]; ok {
				return n, code
			}
		}
	}
	return note, code
}

// isaNotes are the TA1 note codes (I18) for an invalid ISA element.
var isaNotes = map[int]string{
	5: "005", 6: "006", 7: "007", 8: "008", 9: "014", 10: "015", 11: "016", 12: "017", 13: "018", 15: "020",
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s[:n]
	}
	return s + strings.Repeat(" ", n-len(s))
}

var rank = map[Verdict]int{Accepted: 0, AcceptedWithErrors: 1, PartiallyAccepted: 2, Rejected: 3}

func worst(a, b Verdict) Verdict {
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func verdictOr(v, or Verdict) Verdict {
	if v == Accepted {
		return or
	}
	return v
}
