package ack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/b2b/cxml"
	"github.com/supplywatch/supplywatch/b2b/edifact"
	"github.com/supplywatch/supplywatch/b2b/mapping"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/b2b/x12"
	"github.com/supplywatch/supplywatch/procure"
)

// outcome is what the B2B pipeline below intake (tokenize, resolve the
// partner, map, acknowledge, advise) made of one document.
type outcome struct {
	errors, warnings, rejections []string // Error() texts
	events                       []*procure.Event
	acks                         []*Ack
	problems                     []*mapping.Problem // rejections and warnings, for their flags
}

func (o *outcome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "errors:\n  %s\nwarnings:\n  %s\nrejections:\n  %s\n", strings.Join(o.errors, "\n  "), strings.Join(o.warnings, "\n  "), strings.Join(o.rejections, "\n  "))
	for _, a := range o.acks {
		fmt.Fprintf(&b, "%s %s\n%s", a.Kind, a.Verdict, a.Body)
	}
	return b.String()
}

func (o *outcome) ack(kind string) *Ack {
	for _, a := range o.acks {
		if a.Kind == kind {
			return a
		}
	}
	return nil
}

// pipeline runs data through the packages the way b2b/intake chains them.
func pipeline(t *testing.T, reg *partner.Registry, data []byte) *outcome {
	t.Helper()
	o := &outcome{}
	mopt := mapping.Options{ReceivedAt: opt.Now}
	addOut := func(out mapping.Output) {
		o.events = append(o.events, out.Events...)
		for _, p := range out.Rejections {
			o.rejections = append(o.rejections, p.Error())
		}
		for _, p := range out.Warnings {
			o.warnings = append(o.warnings, p.Error())
		}
		o.problems = append(append(o.problems, out.Rejections...), out.Warnings...)
	}
	trimmed := bytes.TrimLeft(data, " \r\n")
	switch {
	case bytes.HasPrefix(trimmed, []byte("ISA")):
		doc, err := x12.Parse(data, x12.Limits{})
		var errs x12.Errors
		if err != nil && !errors.As(err, &errs) {
			t.Fatal(err)
		}
		for _, e := range errs {
			o.errors = append(o.errors, e.Error())
		}
		for _, e := range doc.Warnings {
			o.warnings = append(o.warnings, e.Error())
		}
		for i := range doc.Interchanges {
			ic := &doc.Interchanges[i]
			pf := reg.ForX12(ic.SenderQualifier, ic.Sender)
			if pf == nil {
				t.Fatalf("no partner for %s:%q", ic.SenderQualifier, ic.Sender)
			}
			out := mapping.X12(pf, ic, errs, mopt)
			addOut(out)
			a, err := X12("997", ic, errs, out.Rejections, opt)
			if err != nil {
				t.Fatal(err)
			}
			roundTripX12(t, a.Body)
			o.acks = append(o.acks, a)
			if pf.X12.ApplicationAdvice == "824" {
				if a, err := X12Advice(ic, out.Rejections, out.Warnings, opt); err != nil {
					t.Fatal(err)
				} else if a != nil {
					roundTripX12(t, a.Body)
					o.acks = append(o.acks, a)
				}
			}
		}
	case bytes.HasPrefix(trimmed, []byte("UN")):
		doc, err := edifact.Parse(data, edifact.Limits{})
		var errs edifact.Errors
		if err != nil && !errors.As(err, &errs) {
			t.Fatal(err)
		}
		for _, e := range errs {
			o.errors = append(o.errors, e.Error())
		}
		for _, e := range doc.Warnings {
			o.warnings = append(o.warnings, e.Error())
		}
		for i := range doc.Interchanges {
			ic := &doc.Interchanges[i]
			pf := reg.ForEDIFACT(ic.SenderQualifier, ic.Sender)
			if pf == nil {
				t.Fatalf("no partner for %s", ic.Sender)
			}
			out := mapping.EDIFACT(pf, ic, errs, mopt)
			addOut(out)
			a, err := CONTRL(ic, errs, out.Rejections, opt)
			if err != nil {
				t.Fatal(err)
			}
			roundTripEDIFACT(t, a.Body)
			o.acks = append(o.acks, a)
			if pf.EDIFACT.ApplicationAdvice == "aperak" {
				if a, err := APERAK(ic, out.Rejections, out.Warnings, opt); err != nil {
					t.Fatal(err)
				} else if a != nil {
					roundTripEDIFACT(t, a.Body)
					o.acks = append(o.acks, a)
				}
			}
		}
	default:
		doc, err := cxml.Parse(data, cxml.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		var creds []partner.Credential
		for _, c := range doc.Header.From.Credentials {
			creds = append(creds, partner.Credential{Domain: c.Domain, Identity: c.Identity})
		}
		pf := reg.ForCXML(creds)
		if pf == nil {
			t.Fatalf("no partner for %v", creds)
		}
		addOut(mapping.CXML(pf, doc, mopt))
	}
	for _, ev := range o.events {
		b, err := procure.Encode(ev)
		if err == nil {
			_, err = procure.Decode(b)
		}
		if err != nil {
			t.Fatalf("event %s does not decode: %v", ev.ID, err)
		}
	}
	return o
}

// roundTripEDIFACT parses our CONTRL/APERAK with our own tokenizer.
func roundTripEDIFACT(t *testing.T, body []byte) {
	t.Helper()
	doc, err := edifact.Parse(body, edifact.Limits{})
	if err != nil {
		t.Fatalf("our acknowledgement does not parse: %v\n%s", err, body)
	}
	for _, w := range doc.Warnings {
		// Answered in the partner's own syntax identifier, even a non-UNO one.
		if w.Kind != edifact.KindCharset || !strings.Contains(w.Reason, "not a UN/ECE level") {
			t.Fatalf("our acknowledgement has warnings: %v\n%s", doc.Warnings, body)
		}
	}
}

func issue14Registry(t *testing.T) *partner.Registry {
	t.Helper()
	reg, err := partner.LoadFile(filepath.Join("..", "testdata", "issue14", "partners.yaml"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestIssue14Documents runs every document written for issue 14 (B2B
// documents from partners we have never seen, one per cause) through the
// pipeline and checks the diagnosis, the events and what goes back to the
// partner: 997/999/CONTRL about syntax only, 824/APERAK about the
// application problems when the profile asks for them.
func TestIssue14Documents(t *testing.T) {
	reg := issue14Registry(t)
	dir := filepath.Join("..", "testdata", "issue14")
	type ackWant struct {
		kind string
		has  []string // substrings of the body
		not  []string
	}
	tests := []struct {
		file                         string
		errors, warnings, rejections []string // substrings, each must match one line
		clean                        bool     // no error, warning or rejection at all
		events                       int
		acks                         []ackWant
		noAck                        []string // kinds that must not be sent
		check                        func(t *testing.T, o *outcome)
	}{
		{file: "x12-856-no-arrival.edi", events: 1, // cause 1
			warnings: []string{"segment 2 (BSN): no estimated arrival: expected_arrival is the ship date plus partner unseen-x12's transit_days (3)"},
			acks:     []ackWant{{kind: "997", has: []string{"AK5*A~", "AK9*A*1*1*1~"}}, {kind: "824", has: []string{"OTI*TE*TN*0001", "TED*007*no estimated arrival"}}},
			check: func(t *testing.T, o *outcome) {
				sn := o.events[0].Payload.(*procure.ShipNotice)
				if want := time.Date(2024, 1, 8, 12, 0, 0, 0, time.UTC); !sn.ExpectedArrival.Equal(want) {
					t.Errorf("expected_arrival %v, want %v (ship date + 3 days)", sn.ExpectedArrival, want)
				}
			}},
		{file: "x12-850-units.edi", events: 1, // cause 2
			warnings: []string{`segment 6 (PO1) element 03: unit "XK" is not mapped for partner unseen-x12: kept as written (unit and unit_original XK) (field lines[1].unit)`},
			acks:     []ackWant{{kind: "997", has: []string{"AK5*A~"}, not: []string{"AK3"}}, {kind: "824", has: []string{"OTI*TE*", "TED*848*unit \"XK\" is not mapped", "*PO1*6*3**XK~"}}},
			check: func(t *testing.T, o *outcome) {
				ls := o.events[0].Payload.(*procure.PurchaseOrder).Lines
				if ls[0].Unit != "KT" || ls[1].Unit != "XK" || ls[1].UnitOriginal != "XK" {
					t.Errorf("units %q, %q (original %q): want KT (X12 kit), XK kept as written", ls[0].Unit, ls[1].Unit, ls[1].UnitOriginal)
				}
			}},
		{file: "edifact-invoic-credit-note.edi", events: 1, // causes 3 and 14 (DTM+140)
			acks: []ackWant{{kind: "CONTRL", has: []string{"UCM+1+INVOIC:D:96A:UN+7'"}}},
			check: func(t *testing.T, o *outcome) {
				inv := o.events[0].Payload.(*procure.InvoiceStatus)
				if !inv.CreditNote || inv.Amount != 20 || inv.DueDate.String() != "2024-02-09" {
					t.Errorf("credit note %v, amount %v, due %v: want a credit note of 20 due 2024-02-09 (DTM+140)", inv.CreditNote, inv.Amount, inv.DueDate)
				}
			}},
		{file: "x12-810-credit-memo.edi", events: 1, // causes 3 and 14 (empty IT103)
			warnings: []string{"segment 4 (IT1) element 03: unit (IT103) is empty: the invoiced quantity 2 has no unit (field lines[0].unit)"},
			check: func(t *testing.T, o *outcome) {
				inv := o.events[0].Payload.(*procure.InvoiceStatus)
				if !inv.CreditNote || inv.Amount != 25 || inv.Lines[1].Unit != "C62" {
					t.Errorf("credit note %v, amount %v: want a credit note of 25.00 (BIG07 CR)", inv.CreditNote, inv.Amount)
				}
			}},
		{file: "cxml-invoice-credit-memo.xml", events: 1, clean: true, // cause 3
			check: func(t *testing.T, o *outcome) {
				inv := o.events[0].Payload.(*procure.InvoiceStatus)
				if !inv.CreditNote || inv.Amount != 20 || inv.Lines[0].Quantity != 2 {
					t.Errorf("credit note %v, amount %v, quantity %v: want a credit note of 20 for 2", inv.CreditNote, inv.Amount, inv.Lines[0].Quantity)
				}
			}},
		{file: "cxml-invoice-zero-due.xml", events: 1, // causes 4 and 14 (subtotal vs lines)
			warnings: []string{
				"InvoiceDetailSummary/DueAmount/Money: DueAmount is 0 while SubtotalAmount is 100.00: not taken as the invoice amount",
				"InvoiceDetailSummary/SubtotalAmount/Money: SubtotalAmount 100.00 differs from the sum of the line subtotals 105 by 5",
			},
			check: func(t *testing.T, o *outcome) {
				if inv := o.events[0].Payload.(*procure.InvoiceStatus); inv.Amount != 108 {
					t.Errorf("amount %v, want 108 (GrossAmount, the DueAmount 0 passed over)", inv.Amount)
				}
			}},
		{file: "cxml-invoice-two-orders.xml", events: 1, // cause 5
			warnings: []string{"InvoiceDetailOrder[1]/InvoiceDetailOrderInfo/OrderReference/DocumentReference@payloadID: the order is named only by the payloadID po-5001@buyer.example of its OrderRequest, not by an orderID: its lines carry no PO (field lines[0].po)"},
			check: func(t *testing.T, o *outcome) {
				var got []string
				for _, l := range o.events[0].Payload.(*procure.InvoiceStatus).Lines {
					got = append(got, fmt.Sprintf("%s/%d/%d", l.PO, l.Line, l.InvoiceLine))
				}
				if strings.Join(got, " ") != "/1/1 /2/2 PO5002/1/3" {
					t.Errorf("lines (po/line/invoice_line) %v, want [/1/1 /2/2 PO5002/1/3]", got)
				}
			}},
		{file: "x12-850-blank-line-after-iea.edi", events: 1, clean: true, // cause 6
			acks: []ackWant{{kind: "997", has: []string{"AK9*A*1*1*1"}, not: []string{"TA1"}}}, noAck: []string{"824"}},
		{file: "x12-850-isa-bad-date.edi", events: 1, // cause 7
			errors: []string{`(ISA at byte 0) element 09: interchange date "241341" is not a date YYMMDD`, `(ISA at byte 0) element 10: interchange time "2561" is not a time HHMM`},
			acks:   []ackWant{{kind: "997", has: []string{"TA1*000000107*241341*2561*E*014~"}}}},
		{file: "x12-850-isa-line-break.edi", events: 1, // cause 7
			errors: []string{"(ISA at byte 0) element 08: line break inside the ISA (at byte 69)"},
			acks:   []ackWant{{kind: "997", has: []string{"TA1*000000108*240105*1200*R*024\n"}}}},
		{file: "x12-850-isa-nbsp.edi", events: 1, // cause 8
			errors: []string{`(ISA at byte 0) element 06: ISA06 holds U+00A0 '\u00a0' (at byte 44), a character outside the X12 character set`},
			acks:   []ackWant{{kind: "997", has: []string{"*E*006~"}}},
			check: func(t *testing.T, o *outcome) {
				for _, w := range o.warnings {
					if strings.Contains(w, "fixed-width") {
						t.Errorf("a right-width ISA reported as off its width: %s", w)
					}
				}
			}},
		{file: "edifact-orders-unt-count-no-bgm.edi", // cause 9
			errors:     []string{"segment 8 (UNT at byte 208) element 01: count 9 does not match 8 segments"},
			rejections: []string{"message 1 (ORDERS): segment 2 (BGM): no BGM segment: it is mandatory after UNH (field document.id)"},
			acks:       []ackWant{{kind: "CONTRL", has: []string{"UCM+1+ORDERS:D:96A:UN+4+29+UNT+1'", "UCS+2+13'"}}}},
		{file: "edifact-orders-missing-trailers.edi", events: 1, // cause 10
			errors: []string{"message 1 (ORDERS): segment 9 (UNT at byte 226): message has no UNT before UNH", "interchange REF1: segment 19 (UNZ at byte 388): interchange has no UNZ before the end of input"},
			acks:   []ackWant{{kind: "CONTRL", has: []string{"+4+13+UNZ'", "UCM+1+ORDERS:D:96A:UN+4+13+UNT'", "UCM+2+ORDERS:D:96A:UN+7'"}, not: []string{"UNB'"}}}},
		{file: "edifact-orders-ung-syntax3.edi", events: 1, // cause 11
			errors: []string{"(UNG at byte 73) element 02-1: application sender identification (UNG02-1) is missing",
				"element 03-1: application recipient identification (UNG03-1) is missing", "element 04-1: date of preparation (UNG04-1) is missing",
				"element 04-2: time of preparation (UNG04-2) is missing", "element 06: controlling agency (UNG06) is missing",
				"element 07-1: message version number (UNG07-1) is missing", "element 07-2: message release number (UNG07-2) is missing"},
			acks: []ackWant{{kind: "CONTRL", has: []string{"UCF+G1+++4+13+UNG+2'"}}}},
		{file: "edifact-orders-lookalike-terminator.edi", // cause 12
			errors: []string{"segment 3 (DTM at byte 114) element 01: byte 0x92 (Windows-1252 right single quotation mark) followed by NAD inside the segment (at byte 134): it stands in for the segment terminator \"'\", so segments are merged",
				"segment 8 (UNT at byte 226) element 01: count 9 does not match 8 segments"},
			acks: []ackWant{{kind: "CONTRL", has: []string{"UCS+3'\nUCD+16+1'"}}}},
		{file: "edifact-orders-lost-terminator.edi", // cause 12
			errors: []string{"segment 3 (DTM at byte 114) element 01: line break followed by NAD inside the segment (at byte 134): the segment terminator '\\'' before it is missing",
				"segment 8 (UNT at byte 225) element 01: count 9 does not match 8 segments"},
			acks: []ackWant{{kind: "CONTRL", has: []string{"UCS+3'\nUCD+16+1'"}}}},
		{file: "edifact-orders-c1-control.edi", // cause 12
			errors: []string{"segment 6 (FTX at byte 174) element 04: byte 0x85 (at byte 207) is a C1 control character, not a character of UNOC (ISO 8859-1)"},
			acks:   []ackWant{{kind: "CONTRL", has: []string{"UCS+6'\nUCD+21+4'"}}}},
		{file: "x12-850-unmapped-shipto.edi", // cause 13
			rejections: []string{`segment 3 (N1) element 04: ship-to location "92:DC9" is not mapped for partner unseen-x12 (field plant)`},
			acks: []ackWant{{kind: "997", has: []string{"AK5*A~", "AK9*A*1*1*1~"}, not: []string{"AK3", "AK5*R"}},
				{kind: "824", has: []string{"OTI*TR*TN*0001*UNSEENX12*SUPPLYWATCH*20240105*1200*113*0001*850~", "TED*848*ship-to location \"92:DC9\" is not mapped", "*N1*3*4**92:DC9~"}}}},
		{file: "x12-850-no-currency.edi", // cause 13: no profile currency
			rejections: []string{`currency "" is not mapped for partner unseen-x12-nocur (field currency)`},
			acks:       []ackWant{{kind: "997", has: []string{"AK5*A~"}, not: []string{"AK5*R"}}}, noAck: []string{"824"}},
		{file: "edifact-orders-unmapped.edi", // cause 13
			rejections: []string{`segment 4 (NAD) element 02-1: ship-to location "9:4000000000099" is not mapped for partner unseen-edifact (field plant)`},
			acks: []ackWant{{kind: "CONTRL", has: []string{"UCM+1+ORDERS:D:96A:UN+7'"}, not: []string{"UCS"}},
				{kind: "APERAK", has: []string{"UNH+1+APERAK:D:96A:UN'", "BGM+313+42-1+27'", "RFF+ACW:1'", "ERC+12'", `FTX+AAO+++segment 4 (NAD) element 2?: ship-to location "9?:4000000000099" is not m:apped`}}}},
		{file: "edifact-orders-iatb.edi", events: 1, // cause 14
			warnings: []string{`syntax identifier "IATB" is not a UN/ECE level (UNOx): text is passed through undecoded`},
			acks:     []ackWant{{kind: "CONTRL", has: []string{"UCI+REF14+4000000000007:14+5000000000000:14+7'"}}}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			o := pipeline(t, reg, data)
			match := func(what string, got, want []string) {
				t.Helper()
				if len(got) != len(want) && !(what == "warnings" && len(want) == 0 && !tt.clean) {
					t.Errorf("%d %s, want %d:\n%s", len(got), what, len(want), o)
				}
				for _, w := range want {
					found := false
					for _, g := range got {
						found = found || strings.Contains(g, w)
					}
					if !found {
						t.Errorf("no %s with %q:\n%s", what, w, o)
					}
				}
			}
			match("errors", o.errors, tt.errors)
			match("warnings", o.warnings, tt.warnings)
			match("rejections", o.rejections, tt.rejections)
			if len(o.events) != tt.events {
				t.Fatalf("%d events, want %d:\n%s", len(o.events), tt.events, o)
			}
			for _, aw := range tt.acks {
				a := o.ack(aw.kind)
				if a == nil {
					t.Errorf("no %s sent:\n%s", aw.kind, o)
					continue
				}
				for _, h := range aw.has {
					if !bytes.Contains(a.Body, []byte(h)) {
						t.Errorf("%s lacks %q:\n%s", aw.kind, h, a.Body)
					}
				}
				for _, n := range aw.not {
					if bytes.Contains(a.Body, []byte(n)) {
						t.Errorf("%s has %q:\n%s", aw.kind, n, a.Body)
					}
				}
			}
			for _, k := range tt.noAck {
				if o.ack(k) != nil {
					t.Errorf("%s sent:\n%s", k, o)
				}
			}
			for _, p := range o.problems {
				if p.Unmapped && !p.Application {
					t.Errorf("unmapped code not marked as an application problem: %v", p)
				}
			}
			if tt.check != nil && len(o.events) > 0 {
				tt.check(t, o)
			}
		})
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if n := e.Name(); n != "partners.yaml" && n != "README.md" && !covered[n] {
			t.Errorf("%s is not checked by this test", n)
		}
	}
}

// TestPublicSamples runs the public samples of b2b/testdata/public (other
// projects' test files, see its MANIFEST.md; none of them in the shared
// corpus) through the pipeline: each must be handled as its MANIFEST says.
func TestPublicSamples(t *testing.T) {
	dir := filepath.Join("..", "testdata", "public")
	reg, err := partner.LoadFile(filepath.Join(dir, "partners.yaml"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file       string
		fix        [2]string // a replacement that repairs the documented defect
		errors     []string
		rejections []string
		events     int // after the fix
		ack        string
	}{
		{file: "edifact-orders-edifactrails-1.edi", fix: [2]string{"UNT+22+", "UNT+20+"},
			errors: []string{"message SSDD1 (ORDERS): segment 20 (UNT at byte 494) element 01: count 22 does not match 20 segments"},
			events: 1, ack: "UCM+SSDD1+ORDERS:D:03B:UN:EAN008+4+29+UNT+1'"},
		{file: "edifact-orders-edifactrails-2.edi", fix: [2]string{"UNT^22^", "UNT^20^"},
			errors: []string{"message SSDD1 (ORDERS): segment 20 (UNT at byte 492) element 01: count 22 does not match 20 segments"},
			events: 1, ack: "UCM^SSDD1^ORDERS!D!03B!UN!EAN008^4^29^UNT^1~"},
		{file: "x12-862-edifactrails-1.edi", rejections: []string{"set 0001 (862): segment 1 (ST) element 01: transaction set 862 is not supported"}, ack: "AK5*R*1~"},
		{file: "x12-862-edifactrails-2.edi", rejections: []string{"set 0001 (862): segment 1 (ST) element 01: transaction set 862 is not supported"}, ack: "AK5*R*1\n"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			o := pipeline(t, reg, data)
			if fmt.Sprint(len(o.errors), len(o.rejections)) != fmt.Sprint(len(tt.errors), len(tt.rejections)) {
				t.Fatalf("%d errors, %d rejections; want %d, %d:\n%s", len(o.errors), len(o.rejections), len(tt.errors), len(tt.rejections), o)
			}
			for i, e := range tt.errors {
				if !strings.Contains(o.errors[i], e) {
					t.Errorf("error %q, want %q", o.errors[i], e)
				}
			}
			for i, e := range tt.rejections {
				if !strings.Contains(o.rejections[i], e) {
					t.Errorf("rejection %q, want %q", o.rejections[i], e)
				}
			}
			if len(o.acks) == 0 || !bytes.Contains(o.acks[0].Body, []byte(tt.ack)) {
				t.Errorf("acknowledgement lacks %q:\n%s", tt.ack, o)
			}
			if tt.fix[0] == "" {
				return
			}
			fixed := pipeline(t, reg, bytes.Replace(data, []byte(tt.fix[0]), []byte(tt.fix[1]), 1))
			if len(fixed.errors)+len(fixed.rejections) != 0 || len(fixed.events) != tt.events {
				t.Fatalf("repaired: %d events, want %d:\n%s", len(fixed.events), tt.events, fixed)
			}
		})
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".edi") || strings.HasSuffix(n, ".xml") {
			if !covered[n] {
				t.Errorf("%s is not checked by this test", n)
			}
		}
	}
}
