package ack

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/supplywatch/supplywatch/b2b/edifact"
	"github.com/supplywatch/supplywatch/b2b/mapping"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/b2b/x12"
)

// An application advice (X12 824, EDIFACT APERAK) tells the partner what
// our application made of documents that were syntactically valid: the
// units rejected for an application or configuration reason (a code the
// profile does not map, a value the canonical model needs) and the units
// accepted with a note (a unit kept as written, a derived arrival date).
// The functional acknowledgement (997/999/CONTRL) stays about syntax.

// adviceUnit gathers the application problems of one set or message.
type adviceUnit struct {
	group, ref, id string
	rejected       []*mapping.Problem
	warned         []*mapping.Problem
}

// adviceUnits groups the application problems of one interchange by unit,
// in the order the units first appear.
func adviceUnits(std partner.Standard, control string, rejected, warnings []*mapping.Problem) []*adviceUnit {
	var units []*adviceUnit
	byKey := map[[2]string]*adviceUnit{}
	add := func(p *mapping.Problem, rej bool) {
		if !p.Application || p.Standard != std || p.Interchange != control || p.Set == "" {
			return
		}
		k := [2]string{p.Group, p.Set}
		u := byKey[k]
		if u == nil {
			u = &adviceUnit{group: p.Group, ref: p.Set, id: p.SetID}
			byKey[k] = u
			units = append(units, u)
		}
		if rej {
			u.rejected = append(u.rejected, p)
		} else {
			u.warned = append(u.warned, p)
		}
	}
	for _, p := range rejected {
		add(p, true)
	}
	for _, p := range warnings {
		add(p, false)
	}
	return units
}

// problemText is the reason of p with its field, for free-text elements.
func problemText(p *mapping.Problem) string {
	t := p.Reason
	if p.Field != "" {
		t += " (field " + p.Field + ")"
	}
	return t
}

// X12Advice builds an 824 (application advice) for one inbound interchange:
// one OTI per set with application problems (TR rejected, TE accepted with
// errors), one TED per problem (647 code 007 missing data or 848 incorrect
// data, the text, the segment, its position, the element and the value).
// It returns nil when the interchange has no application problem.
func X12Advice(ic *x12.Interchange, rejected, warnings []*mapping.Problem, opt Options) (*Ack, error) {
	units := adviceUnits(partner.X12, ic.Control, rejected, warnings)
	if len(units) == 0 {
		return nil, nil
	}
	env, err := newX12Envelope(ic, "", opt)
	if err != nil {
		return nil, err
	}
	w, s := env.w, env.s
	gs := ic.Groups[0]
	w.seg("GS", "AG", s(gs.Receiver, 15), s(gs.Sender, 15), env.now.Format("20060102"), env.now.Format("1504"),
		strconv.FormatInt(opt.Control%1000000000, 10), "X", s(env.gsVersion, 12))
	w.count = 0
	w.seg("ST", "824", "0001")
	w.seg("BGN", "00", env.ctl, env.now.Format("20060102"))
	verdict := AcceptedWithErrors
	rejectedUnits := 0
	for _, u := range units {
		code := "TE"
		if len(u.rejected) > 0 {
			code = "TR"
			rejectedUnits++
		}
		var gdate, gtime, gsender, greceiver string
		for _, g := range ic.Groups {
			if g.Control == u.group {
				gdate, gtime, gsender, greceiver = g.Date, g.Time, g.Sender, g.Receiver
			}
		}
		w.seg("OTI", code, "TN", s(u.ref, 30), s(gsender, 15), s(greceiver, 15), s(gdate, 8), s(gtime, 8),
			s(u.group, 9), s(u.ref, 9), s(u.id, 3))
		for _, p := range append(u.rejected, u.warned...) {
			ted := "848" // incorrect data
			if p.Value == "" {
				ted = "007" // missing data
			}
			var seg, pos, el string
			if p.Tag != "" && p.Segment > 0 {
				seg, pos = s(p.Tag, 3), strconv.Itoa(p.Segment)
				if p.Element > 0 {
					el = strconv.Itoa(p.Element)
				}
			}
			w.seg("TED", ted, s(problemText(p), 60), seg, pos, el, "", s(p.Value, 99))
		}
	}
	if rejectedUnits > 0 {
		verdict = PartiallyAccepted
	}
	w.seg("SE", strconv.Itoa(w.count+1), "0001")
	w.seg("GE", "1", strconv.FormatInt(opt.Control%1000000000, 10))
	w.seg("IEA", "1", env.ctl)
	return &Ack{Kind: "824", Verdict: verdict, Body: []byte(w.b.String())}, nil
}

// APERAK builds one APERAK (application error and acknowledgement, D.96A)
// per message with application problems in one inbound interchange: BGM 313
// with 1225 = 27 (not accepted) or 29 (accepted without amendment: kept
// with a note), RFF+ACW naming the message, then ERC (12 invalid value, 13
// missing) and FTX+AAO with the reason per problem. It returns nil when the
// interchange has no application problem.
func APERAK(ic *edifact.Interchange, rejected, warnings []*mapping.Problem, opt Options) (*Ack, error) {
	units := adviceUnits(partner.EDIFACT, ic.Control, rejected, warnings)
	if len(units) == 0 {
		return nil, nil
	}
	env := newEDIFACTEnvelope(ic, opt)
	w, s, comp := env.w, env.s, env.comp
	verdict := AcceptedWithErrors
	for i, u := range units {
		w.count = 0
		ref := strconv.Itoa(i + 1)
		w.seg("UNH", ref, "APERAK"+comp+"D"+comp+"96A"+comp+"UN")
		fn := "29"
		if len(u.rejected) > 0 {
			fn = "27"
			verdict = PartiallyAccepted
		}
		w.seg("BGM", "313", s(env.ctl+"-"+ref, 35), fn)
		w.seg("DTM", "137"+comp+env.now.Format("200601021504")+comp+"203")
		w.seg("RFF", "ACW"+comp+s(u.ref, 35))
		for _, p := range append(u.rejected, u.warned...) {
			code := "12"
			if p.Value == "" {
				code = "13"
			}
			w.seg("ERC", code)
			text := problemText(p)
			if p.Tag != "" && p.Segment > 0 {
				text = fmt.Sprintf("segment %d (%s) element %d: %s", p.Segment, p.Tag, p.Element, text)
			}
			w.seg("FTX", "AAO", "", "", chunks(text, 70, comp, env.esc))
		}
		w.seg("UNT", strconv.Itoa(w.count+1), ref)
	}
	w.seg("UNZ", strconv.Itoa(len(units)), env.ctl)
	return &Ack{Kind: "APERAK", Verdict: verdict, Body: []byte(w.b.String())}, nil
}

// chunks splits text into the up to five an..70 components of C108 (one
// element: components joined by comp, each escaped by esc).
func chunks(text string, n int, comp string, esc func(string) string) string {
	var parts []string
	for len(text) > 0 && len(parts) < 5 {
		k := min(n, len(text))
		for k < len(text) && k > 0 && text[k]&0xC0 == 0x80 {
			k-- // not inside a UTF-8 sequence
		}
		parts = append(parts, esc(text[:k]))
		text = text[k:]
	}
	return strings.Join(parts, comp)
}
