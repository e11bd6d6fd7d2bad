package edifact_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supplywatch/supplywatch/b2b/edifact"
)

const samples = "../testdata/samples"

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samples, name))
	if err != nil {
		t.Fatalf("sample corpus missing (b2b/testdata/samples): %v", err)
	}
	return data
}

func TestSamples(t *testing.T) {
	tests := []struct {
		file                    string
		sender, control, syntax string
		messages                []string // "type/reference/segments"
		errs, warns             []string // substrings, in order
	}{
		{file: "edifact-invoic-staedi-1.edi", sender: "005435656", control: "00000000000778", syntax: "UNOA",
			messages: []string{"INVOIC/00000000000117/24"},
			warns:    []string{"segment 6 (NAD at byte 206) element 04: UTF-8 text outside the UNOA repertoire"}},
		{file: "edifact-invoic-staedi-d93a.edi", sender: "FHPEDAL", control: "9908021557", syntax: "UNOA",
			messages: []string{"INVOIC/INVOIC0001/28"},
			warns:    []string{"segment 6 (NAD at byte 171) element 06: UTF-8 text outside the UNOA repertoire"}},
		{file: "edifact-invoic-staedi-una.edi", sender: "005435656", control: "00000000000778", syntax: "UNOA",
			messages: []string{"INVOIC/00000000000117/24"}},
		{file: "bad-edifact-desadv-shogg-1.edi", sender: "sender", control: "1", syntax: "UNOC",
			messages: []string{"DESADV/1/13", "DESADV/1/13"},
			errs: []string{
				"segment 2 (UNG at byte 62) element 05: group reference number (UNG05) is missing",
				// Syntax 3: UNG02, 03, 04, 06 and 07 are mandatory too.
				"segment 2 (UNG at byte 62) element 02-1: application sender identification (UNG02-1) is missing",
				"segment 2 (UNG at byte 62) element 03-1: application recipient identification (UNG03-1) is missing",
				"segment 2 (UNG at byte 62) element 04-1: date of preparation (UNG04-1) is missing",
				"segment 2 (UNG at byte 62) element 04-2: time of preparation (UNG04-2) is missing",
				"segment 2 (UNG at byte 62) element 06: controlling agency (UNG06) is missing",
				"segment 2 (UNG at byte 62) element 07-1: message version number (UNG07-1) is missing",
				"segment 2 (UNG at byte 62) element 07-2: message release number (UNG07-2) is missing",
				"message 1 (DESADV): segment 13 (UNT at byte 271) element 01: count 9 does not match 13 segments",
				"message 1 (DESADV): segment 13 (UNT at byte 471) element 01: count 9 does not match 13 segments",
				"segment 29 (UNE at byte 481) element 01: count of messages is missing (2 counted)",
				"segment 29 (UNE at byte 481) element 02: group reference number (UNE02) is missing",
				"segment 30 (UNZ at byte 487) element 01: count of groups is missing (1 counted)",
				"segment 30 (UNZ at byte 487) element 02: interchange control reference (UNZ02) is missing",
			},
			warns: []string{`message reference "1" repeats message 1 of the interchange`}},
		{file: "bad-edifact-invoic-staedi-1.edi", sender: "005435656", control: "00000000000778", syntax: "UNOA",
			messages: []string{"INVOIC/00000000000117/25"},
			errs: []string{
				`segment 5 (NAD at byte 152) element 01-1: party function code qualifier (3035) "BYZZ" is not a code of up to 3 letters or digits`,
				`segment 10 (QTY at byte 301) element 01-2: quantity (6060) "1020A" is not numeric`,
				`segment 13 (PRI at byte 343) element 01-2: price amount (5118) "$1.179" is not numeric`,
				`segment 21 (UNS at byte 461): UNS+S repeats the section control of segment 20`,
			}},
		{file: "bad-edifact-orders-staedi-1.edi", sender: "5400110000009", control: "2722166169492", syntax: "UNOA",
			messages: []string{"ORDERS/1/18"},
			errs:     []string{"interchange 2722166169492 group 1 message 1 (ORDERS): segment 18 (UNT at byte 545) element 01: count 21 does not match 18 segments"}},
		{file: "bad-edifact-ordrsp-edinet-1.edi", sender: "9900080000007", control: "DAREFNR0000001", syntax: "UNOC",
			messages: []string{"ORDRSP/9IMX20YSP0009/31"},
			errs: []string{
				"segment 31 (UNT at byte 667) element 01: count 17 does not match 31 segments",
				`segment 31 (UNT at byte 667) element 02: message reference "9IM20YSP9" does not match UNH01 "9IMX20YSP0009"`,
				`segment 33 (UNZ at byte 684) element 02: control reference "DAREFNR00001" does not match UNB05 "DAREFNR0000001"`,
			}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		name := strings.TrimSuffix(tt.file, ".edi")
		t.Run(name, func(t *testing.T) {
			doc, err := edifact.Parse(readSample(t, tt.file), edifact.Limits{})
			var es edifact.Errors
			if err != nil && !errors.As(err, &es) {
				t.Fatalf("error is %T, not edifact.Errors: %v", err, err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Error())
			}
			matchAll(t, "error", got, tt.errs)
			var warns []string
			for _, w := range doc.Warnings {
				warns = append(warns, w.Error())
			}
			matchAll(t, "warning", warns, tt.warns)
			if len(doc.Interchanges) == 0 {
				t.Fatal("no interchange read")
			}
			ic := doc.Interchanges[0]
			if ic.Sender != tt.sender || ic.Control != tt.control || ic.SyntaxID != tt.syntax {
				t.Errorf("sender/control/syntax = %q/%q/%q, want %q/%q/%q", ic.Sender, ic.Control, ic.SyntaxID, tt.sender, tt.control, tt.syntax)
			}
			var msgs []string
			for _, m := range ic.Messages {
				msgs = append(msgs, fmt.Sprintf("%s/%s/%d", m.Type, m.Reference, len(m.Segments)))
			}
			if strings.Join(msgs, " ") != strings.Join(tt.messages, " ") {
				t.Errorf("messages = %v, want %v", msgs, tt.messages)
			}
			golden(t, filepath.Join("testdata", name+".golden"), dump(doc, err))
		})
	}
	files, err := filepath.Glob(filepath.Join(samples, "*edifact-*.edi"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no EDIFACT samples in %s: %v", samples, err)
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("sample %s is not covered by TestSamples", filepath.Base(f))
		}
	}
}

func TestTextUnescapesAndDecodes(t *testing.T) {
	tests := []struct {
		name, file string
		tag        string
		nth        int
		elem, comp int
		want       string
	}{
		{name: "drops a release before a non-delimiter", file: "edifact-invoic-staedi-una.edi", tag: "UNB", elem: 3, comp: 1, want: "006415160"},
		{name: "keeps a released apostrophe", file: "bad-edifact-desadv-shogg-1.edi", tag: "LIN", elem: 3, comp: 1, want: "Beck's"},
		{name: "keeps released separators and release", file: "bad-edifact-desadv-shogg-1.edi", tag: "LIN", nth: 1, elem: 3, comp: 1, want: ":++Chantr?"},
		{name: "keeps a released plus", file: "bad-edifact-ordrsp-edinet-1.edi", tag: "COM", elem: 1, comp: 1, want: "+49 123 45678 8652"},
		{name: "passes UTF-8 under UNOA through", file: "edifact-invoic-staedi-1.edi", tag: "NAD", nth: 1, elem: 4, want: "BÜTTNER WIDGET COMPANY"},
		{name: "reads a redefined component separator", file: "edifact-invoic-staedi-una.edi", tag: "QTY", elem: 1, comp: 2, want: "1020"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := edifact.NewScanner(readSample(t, tt.file), edifact.Limits{})
			n := 0
			for sc.Next() {
				seg := sc.Segment()
				if !seg.Is(tt.tag) {
					continue
				}
				if n == tt.nth {
					if got := seg.Text(tt.elem, tt.comp); got != tt.want {
						t.Fatalf("%s%02d-%d = %q, want %q", tt.tag, tt.elem, tt.comp, got, tt.want)
					}
					return
				}
				n++
			}
			t.Fatalf("segment %s #%d not found (err %v)", tt.tag, tt.nth, sc.Err())
		})
	}
}

const unb = "UNB+UNOC:3+SENDER:14+RECEIVER:14+240101:1200+REF1'"

func TestParse(t *testing.T) {
	msg := "UNH+M1+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+M1'"
	tests := []struct {
		name  string
		in    string
		kinds []edifact.Kind
		check func(t *testing.T, doc *edifact.Document)
	}{
		{name: "reads an interchange without UNA", in: unb + msg + "UNZ+1+REF1'"},
		{name: "skips a BOM and line breaks", in: "\xef\xbb\xbf" + strings.ReplaceAll(unb+msg+"UNZ+1+REF1'", "'", "'\r\n")},
		{name: "decodes ISO-8859-1 under UNOC", in: unb + strings.Replace(msg, "PO1", "M\xfcnchen", 1) + "UNZ+1+REF1'",
			check: func(t *testing.T, doc *edifact.Document) {
				if got := doc.Interchanges[0].Messages[0].Segments[1].Text(2, 0); got != "München" {
					t.Errorf("BGM02 = %q", got)
				}
			}},
		{name: "passes UTF-8 under UNOY", in: strings.Replace(unb, "UNOC:3", "UNOY:4", 1) + strings.Replace(msg, "PO1", "München", 1) + "UNZ+1+REF1'",
			check: func(t *testing.T, doc *edifact.Document) {
				ic := doc.Interchanges[0]
				if got := ic.Messages[0].Segments[1].Text(2, 0); got != "München" || ic.Delimiters.Repetition != '*' {
					t.Errorf("BGM02 = %q, repetition %q", got, ic.Delimiters.Repetition)
				}
			}},
		{name: "reads a UNA", in: "UNA|^.\\ !" + strings.NewReplacer("+", "^", ":", "|", "'", "!").Replace(unb+msg+"UNZ+1+REF1'"),
			check: func(t *testing.T, doc *edifact.Document) {
				d := doc.Interchanges[0].Delimiters
				if d.Component != '|' || d.Element != '^' || d.Release != '\\' || d.Segment != '!' || d.Repetition != 0 {
					t.Errorf("delimiters %+v", d)
				}
			}},
		{name: "reads two interchanges, the second without UNA",
			in: "UNA:+.? '" + unb + msg + "UNZ+1+REF1'" + "\n" + strings.Replace(unb, "REF1", "REF2", 1) + msg + "UNZ+1+REF2'",
			check: func(t *testing.T, doc *edifact.Document) {
				if len(doc.Interchanges) != 2 || doc.Interchanges[1].HasUNA || doc.Interchanges[1].Control != "REF2" {
					t.Errorf("interchanges %+v", len(doc.Interchanges))
				}
			}},
		{name: "reads groups", in: unb + "UNG+ORDERS+S+R+240101:1200+G1+UN+D:96A'" + msg + msg + "UNE+2+G1'UNZ+1+REF1'",
			check: func(t *testing.T, doc *edifact.Document) {
				ic := doc.Interchanges[0]
				if len(ic.Groups) != 1 || len(ic.Groups[0].Messages) != 2 || ic.Groups[0].Reference != "G1" {
					t.Errorf("groups %+v", ic.Groups)
				}
			}},
		{name: "rejects a wrong UNT count", in: unb + strings.Replace(msg, "UNT+3", "UNT+4", 1) + "UNZ+1+REF1'", kinds: []edifact.Kind{edifact.KindMessageCount}},
		{name: "rejects a wrong UNT reference", in: unb + strings.Replace(msg, "UNT+3+M1", "UNT+3+M2", 1) + "UNZ+1+REF1'", kinds: []edifact.Kind{edifact.KindMessageReferenceMismatch}},
		{name: "rejects a wrong UNZ count", in: unb + msg + "UNZ+2+REF1'", kinds: []edifact.Kind{edifact.KindInterchangeCount}},
		{name: "rejects a wrong UNZ reference", in: unb + msg + "UNZ+1+REF9'", kinds: []edifact.Kind{edifact.KindInterchangeReferenceMismatch}},
		{name: "rejects a wrong UNE count", in: unb + "UNG+ORDERS+S+R+240101:1200+G1+UN+D:96A'" + msg + "UNE+2+G1'UNZ+1+REF1'", kinds: []edifact.Kind{edifact.KindGroupCount}},
		{name: "rejects a wrong UNE reference", in: unb + "UNG+ORDERS+S+R+240101:1200+G1+UN+D:96A'" + msg + "UNE+1+G2'UNZ+1+REF1'", kinds: []edifact.Kind{edifact.KindGroupReferenceMismatch}},
		{name: "rejects a missing UNT", in: unb + strings.Replace(msg, "UNT+3+M1'", "", 1) + "UNZ+1+REF1'", kinds: []edifact.Kind{edifact.KindMessageTrailerMissing}},
		{name: "rejects a missing UNZ", in: unb + msg, kinds: []edifact.Kind{edifact.KindInterchangeTrailerMissing}},
		{name: "rejects a segment outside a message", in: unb + "BGM+220'" + msg + "UNZ+1+REF1'", kinds: []edifact.Kind{edifact.KindUnexpectedSegment}},
		{name: "rejects a bad tag", in: unb + strings.Replace(msg, "BGM", "bgm", 1) + "UNZ+1+REF1'", kinds: []edifact.Kind{edifact.KindBadTag}},
		{name: "rejects a UNA with letters", in: "UNA:+.?X'" + unb, kinds: []edifact.Kind{edifact.KindSyntax}},
		{name: "rejects empty input", in: "", kinds: []edifact.Kind{edifact.KindSyntax}},
		{name: "rejects a missing UNH reference", in: unb + strings.Replace(msg, "UNH+M1", "UNH+", 1) + "UNZ+1+REF1'",
			kinds: []edifact.Kind{edifact.KindMissingElement, edifact.KindMessageReferenceMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := edifact.Parse([]byte(tt.in), edifact.Limits{})
			var got []edifact.Kind
			var es edifact.Errors
			if errors.As(err, &es) {
				for _, e := range es {
					got = append(got, e.Kind)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.kinds) {
				t.Fatalf("error kinds %v, want %v; err: %v", got, tt.kinds, err)
			}
			if tt.check != nil {
				tt.check(t, doc)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	in := []byte(unb + "UNH+M1+ORDERS:D:96A:UN'FTX+AAI+++" + strings.Repeat("X", 100) + "'UNT+3+M1'UNZ+1+REF1'")
	tests := []struct {
		name string
		lim  edifact.Limits
		want string
	}{
		{name: "rejects too many bytes", lim: edifact.Limits{MaxBytes: 100}, want: "exceeds the limit of 100"},
		{name: "rejects too many segments", lim: edifact.Limits{MaxSegments: 2}, want: "more than 2 segments"},
		{name: "rejects a too long element", lim: edifact.Limits{MaxElementLen: 50}, want: "element 04: element of 100 bytes exceeds the limit of 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := edifact.Parse(in, tt.lim)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func matchAll(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d %ss, want %d:\n%s", len(got), what, len(want), strings.Join(got, "\n"))
		return
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("%s %d = %q, want it to contain %q", what, i, got[i], want[i])
		}
	}
}

func dump(doc *edifact.Document, err error) []byte {
	var b bytes.Buffer
	for _, ic := range doc.Interchanges {
		d := ic.Delimiters
		fmt.Fprintf(&b, "interchange %s syntax %s:%s from %s:%s to %s:%s una %v delimiters %q %q %q %q %q %q\n",
			ic.Control, ic.SyntaxID, ic.SyntaxVersion, ic.Sender, ic.SenderQualifier, ic.Recipient, ic.RecipientQualifier,
			ic.HasUNA, d.Component, d.Element, d.Decimal, d.Release, d.Repetition, d.Segment)
		for _, g := range ic.Groups {
			fmt.Fprintf(&b, "  group %q %s version %s: %d messages\n", g.Reference, g.ID, g.Version, len(g.Messages))
		}
		for _, m := range ic.Messages {
			fmt.Fprintf(&b, "  message %s %s:%s:%s:%s:%s\n", m.Reference, m.Type, m.Version, m.Release, m.Agency, m.Association)
			for i, seg := range m.Segments {
				fmt.Fprintf(&b, "    %3d @%-5d %q\n", i+1, seg.Offset(), seg.Raw())
			}
		}
	}
	for _, w := range doc.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if err != nil {
		fmt.Fprintf(&b, "error: %s\n", err)
	}
	return b.Bytes()
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", path, got)
	}
}
