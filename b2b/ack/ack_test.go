package ack

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/b2b/edifact"
	"github.com/supplywatch/supplywatch/b2b/mapping"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/b2b/x12"
)

var opt = Options{Control: 42, Now: time.Date(2026, 5, 12, 8, 1, 2, 0, time.UTC)}

func samples(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "testdata", "samples")
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.md")); err != nil {
		t.Fatalf("sample corpus missing at %s: %v", dir, err)
	}
	return dir
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// roundTripX12 parses our acknowledgement with our own tokenizer: it must
// pass every envelope check.
func roundTripX12(t *testing.T, body []byte) *x12.Document {
	t.Helper()
	doc, err := x12.Parse(body, x12.Limits{})
	if err != nil {
		t.Fatalf("our acknowledgement does not parse: %v\n%s", err, body)
	}
	if len(doc.Warnings) > 0 {
		t.Fatalf("our acknowledgement has warnings: %v\n%s", doc.Warnings, body)
	}
	return doc
}

func TestX12AcknowledgementsRoundTrip(t *testing.T) {
	tests := []struct {
		name, file, kind string
		verdict          Verdict
		want             []string
	}{
		{"clean 850 is accepted", "x12-850-nodex12-1.edi", "997", Accepted, []string{"AK1*PO*1421~", "AK2*850*000000010~", "AK5*A~", "AK9*A*1*1*1~"}},
		{"SE count mismatch rejects the set", "bad-x12-850-gozer-1.edi", "997", Rejected, []string{"AK5*R*4", "AK9*R*1*1*0"}},
		{"mixed terminators give a segment and element error", "bad-x12-856-stupidedi-1.edi", "997", Rejected, []string{"AK3*N1*11**8$", "AK4*4**6$", "AK5*R*5*4$"}},
		{"non fixed-width ISA is still acknowledged", "bad-x12-860-stupidedi-1.edi", "997", Accepted, []string{"AK1*PC*1!", "AK5*A!"}},
		{"999 carries the implementation reference", "x12-810-staedi-1.edi", "999", Accepted, []string{"ST*999*0001*005010X231~", "AK1*IN*1*004010~", "IK5*A~", "AK9*A*2*2*2~"}},
		{"999 of a rejected set", "bad-x12-850-gozer-1.edi", "999", Rejected, []string{"IK5*R*4", "AK9*R*1*1*0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := read(t, tt.file)
			doc, err := x12.Parse(data, x12.Limits{})
			var errs x12.Errors
			if err != nil && !errors.As(err, &errs) {
				t.Fatal(err)
			}
			ic := &doc.Interchanges[0]
			a, err := X12(tt.kind, ic, errs, nil, opt)
			if err != nil {
				t.Fatal(err)
			}
			if a.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s\n%s", a.Verdict, tt.verdict, a.Body)
			}
			for _, w := range tt.want {
				if !bytes.Contains(a.Body, []byte(w)) {
					t.Errorf("missing %q in\n%s", w, a.Body)
				}
			}
			ours := roundTripX12(t, a.Body)
			oic := ours.Interchanges[0]
			if oic.Sender != strings.TrimSpace(ic.Receiver) || oic.Receiver != strings.TrimSpace(ic.Sender) {
				t.Errorf("sender/receiver not swapped: %q %q", oic.Sender, oic.Receiver)
			}
			if len(oic.Groups) != 1 || oic.Groups[0].FunctionalID != "FA" || oic.Groups[0].Sets[0].ID != tt.kind {
				t.Errorf("unexpected structure %+v", oic.Groups)
			}
		})
	}
}

func TestX12MappingRejectionIsLocated(t *testing.T) {
	data := read(t, "x12-850-nodex12-1.edi")
	doc, err := x12.Parse(data, x12.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ic := &doc.Interchanges[0]
	rej := []*mapping.Problem{{Standard: partner.X12, Interchange: ic.Control, Group: "1421", Set: "000000010", SetID: "850",
		Segment: 16, Tag: "PO1", Element: 3, Value: "QQ", Unmapped: true}}
	a, err := X12("997", ic, nil, rej, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"AK3*PO1*16**8~", "AK4*3**7*QQ~", "AK5*R*5~", "AK9*R*1*1*0~"} {
		if !bytes.Contains(a.Body, []byte(w)) {
			t.Errorf("missing %q in\n%s", w, a.Body)
		}
	}
	roundTripX12(t, a.Body)
}

func TestCONTRLRoundTrip(t *testing.T) {
	tests := []struct {
		name, file string
		verdict    Verdict
		want       []string
	}{
		{"clean invoice is accepted", "edifact-invoic-staedi-1.edi", Accepted, []string{"UCI+00000000000778+005435656:1+006415160:1+7'", "UCM+00000000000117+INVOIC:D:97B:UN+7'"}},
		{"UNA separators are reused", "edifact-invoic-staedi-una.edi", Accepted, []string{"UNA=*.? ~", "UCM*00000000000117*INVOIC=D=97B=UN*7~"}},
		{"UNT count mismatch rejects the message", "bad-edifact-orders-staedi-1.edi", Rejected, []string{"UCF+1+++7'", "UCM+1+ORDERS:D:96B:UN:EAN008B+4+29+UNT+1'"}},
		{"element errors are UCS and UCD", "bad-edifact-invoic-staedi-1.edi", Rejected, []string{"UCS+5'", "UCD+12+1:1'", "UCD+12+1:2'", "UCS+21+35'"}},
		{"reference mismatches", "bad-edifact-ordrsp-edinet-1.edi", Rejected, []string{"UCI+DAREFNR0000001+9900080000007:500+990000000000X:500+4+28+UNZ+2'", "UCM+9IMX20YSP0009+ORDRSP:D:10A:UN:1.1e+4+29+UNT+1'"}},
		{"missing envelope elements", "bad-edifact-desadv-shogg-1.edi", Rejected, []string{"+4+13+UN", "UCM+1+DESADV:D:96A:UN+4+29+UNT+1'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := edifact.Parse(read(t, tt.file), edifact.Limits{})
			var errs edifact.Errors
			if err != nil && !errors.As(err, &errs) {
				t.Fatal(err)
			}
			ic := &doc.Interchanges[0]
			a, err := CONTRL(ic, errs, nil, opt)
			if err != nil {
				t.Fatal(err)
			}
			if a.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s\n%s", a.Verdict, tt.verdict, a.Body)
			}
			for _, w := range tt.want {
				if !bytes.Contains(a.Body, []byte(w)) {
					t.Errorf("missing %q in\n%s", w, a.Body)
				}
			}
			ours, err := edifact.Parse(a.Body, edifact.Limits{})
			if err != nil {
				t.Fatalf("our CONTRL does not parse: %v\n%s", err, a.Body)
			}
			m := ours.Interchanges[0].Messages
			if len(m) != 1 || m[0].Type != "CONTRL" {
				t.Fatalf("unexpected CONTRL structure %+v", m)
			}
			if ours.Interchanges[0].Sender != ic.Recipient {
				t.Errorf("sender %q, want %q", ours.Interchanges[0].Sender, ic.Recipient)
			}
		})
	}
}

func TestCXMLResponseIsWellFormed(t *testing.T) {
	a := CXMLResponse(401, `shared secret "x" & <y>`, opt)
	if a.Verdict != Rejected || !bytes.Contains(a.Body, []byte(`<Status code="401" text="Unauthorized">shared secret &#34;x&#34; &amp; &lt;y&gt;</Status>`)) {
		t.Fatalf("%s", a.Body)
	}
}
