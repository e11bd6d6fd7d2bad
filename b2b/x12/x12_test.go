package x12_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supplywatch/supplywatch/b2b/x12"
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

// kinds returns the kinds of the errors in err.
func kinds(err error) []x12.Kind {
	var out []x12.Kind
	var es x12.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			out = append(out, e.Kind)
		}
	}
	return out
}

func TestSamples(t *testing.T) {
	tests := []struct {
		file string
		// checks on the first interchange
		sender, control, version string
		sets                     []string // "ID/control/segments"
		errs                     []string // substrings, one per expected error, in order
		warns                    []string
	}{
		{file: "x12-810-moovio-1.edi", sender: "8004171844", control: "000000001", version: "00401",
			sets: []string{"810/0001/53", "810/0002/58"}},
		{file: "x12-810-staedi-1.edi", sender: "SENDERISA", control: "000000020", version: "00401",
			sets: []string{"810/000000001/32", "810/000000002/22"}},
		{file: "x12-850-ediengine-1.edi", sender: "ABCDEFGHIJKLMNO", control: "000003438", version: "00400",
			sets: []string{"850/000000010/11"}},
		{file: "x12-850-nodex12-1.edi", sender: "4405197800", control: "000003438", version: "00400",
			sets: []string{"850/000000010/33"}},
		{file: "x12-855-nodex12-1.edi", sender: "1556150", control: "000000005", version: "00401",
			sets: []string{"855/0005/26"}},
		{file: "x12-856-ediengine-1.edi", sender: "SENDER", control: "000000091", version: "00401",
			sets: []string{"856/0001/57"}},
		{file: "x12-997-staedi-1.edi", sender: "ReceiverID", control: "508121953", version: "00501",
			sets: []string{"997/0001/8"}},
		{file: "x12-999-staedi-1.edi", sender: "123456789", control: "000000286", version: "00501",
			sets: []string{"999/2870001/16"}},
		{file: "bad-x12-850-gozer-1.edi", sender: "ABCDEFGHIJKLMNO", control: "000003438", version: "00400",
			sets: []string{"850/000000010/21"},
			errs: []string{"set 000000010: segment 21 (SE at byte 631) element 01: count 33 does not match 21 segments"}},
		{file: "bad-x12-856-stupidedi-1.edi", sender: "010020001ABCINC", control: "000000089", version: "00400",
			sets: []string{"856/0000001/22"},
			errs: []string{
				"set 0000001: segment 11 (N1 at byte 357) element 04: line break after '~' inside the segment: mixed segment terminators (the ISA declares '$')",
				"set 0000001: segment 22 (SE at byte 655) element 01: count 25 does not match 22 segments",
			}},
		{file: "bad-x12-860-stupidedi-1.edi", sender: "054481205PURP", control: "000000001", version: "00200",
			sets: []string{"860/0001/17"},
			warns: []string{
				"ISA is not fixed-width (86 bytes instead of 106); ISA02 is 1 characters, not 10; ISA04 is 1 characters, not 10; ISA06 is 14 characters, not 15; ISA08 is 14 characters, not 15",
				"group version 003010 is not of the interchange version 00200",
			}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		name := strings.TrimSuffix(tt.file, ".edi")
		t.Run(name, func(t *testing.T) {
			data := readSample(t, tt.file)
			doc, err := x12.Parse(data, x12.Limits{})
			var got []string
			var es x12.Errors
			if err != nil && !errors.As(err, &es) {
				t.Fatalf("error is %T, not x12.Errors: %v", err, err)
			}
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
			if ic.Sender != tt.sender || ic.Control != tt.control || ic.Version != tt.version {
				t.Errorf("interchange sender/control/version = %q/%q/%q, want %q/%q/%q", ic.Sender, ic.Control, ic.Version, tt.sender, tt.control, tt.version)
			}
			var sets []string
			for _, g := range ic.Groups {
				for _, s := range g.Sets {
					sets = append(sets, fmt.Sprintf("%s/%s/%d", s.ID, s.Control, len(s.Segments)))
				}
			}
			if strings.Join(sets, " ") != strings.Join(tt.sets, " ") {
				t.Errorf("sets = %v, want %v", sets, tt.sets)
			}
			golden(t, filepath.Join("testdata", name+".golden"), dump(doc, err))
		})
	}
	files, err := filepath.Glob(filepath.Join(samples, "*x12-*.edi"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no X12 samples in %s: %v", samples, err)
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("sample %s is not covered by TestSamples", filepath.Base(f))
		}
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

// dump renders the structure the tokenizer found, one segment per line.
func dump(doc *x12.Document, err error) []byte {
	var b bytes.Buffer
	for _, ic := range doc.Interchanges {
		d := ic.Delimiters
		fmt.Fprintf(&b, "interchange %s from %s:%s to %s:%s version %s usage %s delimiters %q %q %q %q\n",
			ic.Control, ic.SenderQualifier, ic.Sender, ic.ReceiverQualifier, ic.Receiver, ic.Version, ic.Usage,
			d.Element, d.Component, d.Repetition, d.Segment)
		for _, g := range ic.Groups {
			fmt.Fprintf(&b, "  group %s %s from %s to %s version %s\n", g.Control, g.FunctionalID, g.Sender, g.Receiver, g.Version)
			for _, s := range g.Sets {
				fmt.Fprintf(&b, "    set %s %s\n", s.ID, s.Control)
				for i, seg := range s.Segments {
					fmt.Fprintf(&b, "      %3d @%-5d %q\n", i+1, seg.Offset(), seg.Raw())
				}
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

const isa = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>~"

func TestParse(t *testing.T) {
	body := "GS*PO*S*R*20240101*1200*1*X*004010~ST*850*0001~BEG*00*SA*PO1**20240101~SE*3*0001~GE*1*1~IEA*1*000000001~"
	tests := []struct {
		name  string
		in    string
		kinds []x12.Kind
		check func(t *testing.T, doc *x12.Document)
	}{
		{name: "reads a plain interchange", in: isa + body},
		{name: "skips a BOM and CRLF after terminators", in: "\xef\xbb\xbf" + strings.ReplaceAll(isa+body, "~", "~\r\n")},
		{name: "takes a newline as terminator", in: strings.ReplaceAll(isa+body, "~", "\n"),
			check: func(t *testing.T, doc *x12.Document) {
				if d := doc.Interchanges[0].Delimiters; d.Segment != '\n' {
					t.Errorf("terminator %q", d.Segment)
				}
			}},
		{name: "takes CR LF as terminator", in: strings.ReplaceAll(isa+body, "~", "\r\n")},
		{name: "reads the repetition separator from 00402 on",
			in: strings.Replace(strings.Replace(isa, "*U*00401*", "*^*00501*", 1), "BEG", "BEG", 1) + strings.Replace(body, "PO1", "A^B:C", 1),
			check: func(t *testing.T, doc *x12.Document) {
				seg := doc.Interchanges[0].Groups[0].Sets[0].Segments[1]
				if got := string(seg.Repetition(3, 2)); got != "B:C" {
					t.Errorf("BEG03 repetition 2 = %q, want B:C", got)
				}
			}},
		{name: "ignores ISA11 before 00402",
			in: isa + strings.Replace(body, "PO1", "A^B", 1),
			check: func(t *testing.T, doc *x12.Document) {
				seg := doc.Interchanges[0].Groups[0].Sets[0].Segments[1]
				if got := string(seg.Element(3)); got != "A^B" {
					t.Errorf("BEG03 = %q, want A^B", got)
				}
			}},
		{name: "splits components", in: isa + strings.Replace(body, "PO1", "PO1>X>>Z", 1),
			check: func(t *testing.T, doc *x12.Document) {
				seg := doc.Interchanges[0].Groups[0].Sets[0].Segments[1]
				if got := string(seg.Component(3, 4)); got != "Z" || seg.Component(3, 3) == nil || len(seg.Component(3, 3)) != 0 {
					t.Errorf("BEG03-4 = %q", got)
				}
			}},
		{name: "reads two interchanges with different delimiters",
			in: isa + body + "\n" + strings.NewReplacer("*", "|", "~", "!", ">", "^").Replace(isa+body),
			check: func(t *testing.T, doc *x12.Document) {
				if len(doc.Interchanges) != 2 || doc.Interchanges[1].Delimiters.Element != '|' {
					t.Fatalf("interchanges %d", len(doc.Interchanges))
				}
				if s := doc.Interchanges[1].Groups[0].Sets[0]; s.ID != "850" || len(s.Segments) != 3 {
					t.Errorf("second set %s with %d segments", s.ID, len(s.Segments))
				}
			}},
		{name: "rejects a wrong SE count", in: isa + strings.Replace(body, "SE*3", "SE*4", 1), kinds: []x12.Kind{x12.KindSetCount}},
		{name: "rejects a wrong SE control number", in: isa + strings.Replace(body, "SE*3*0001", "SE*3*0002", 1), kinds: []x12.Kind{x12.KindSetControlMismatch}},
		{name: "rejects a wrong GE count", in: isa + strings.Replace(body, "GE*1", "GE*2", 1), kinds: []x12.Kind{x12.KindGroupCount}},
		{name: "rejects a wrong GE control number", in: isa + strings.Replace(body, "GE*1*1", "GE*1*9", 1), kinds: []x12.Kind{x12.KindGroupControlMismatch}},
		{name: "rejects a wrong IEA count", in: isa + strings.Replace(body, "IEA*1", "IEA*3", 1), kinds: []x12.Kind{x12.KindInterchangeCount}},
		{name: "rejects a wrong IEA control number", in: isa + strings.Replace(body, "IEA*1*000000001", "IEA*1*000000002", 1), kinds: []x12.Kind{x12.KindInterchangeControlMismatch}},
		{name: "rejects a missing SE", in: isa + strings.Replace(body, "SE*3*0001~", "", 1), kinds: []x12.Kind{x12.KindSetTrailerMissing}},
		{name: "rejects a missing GE and IEA", in: isa + strings.Replace(body, "GE*1*1~IEA*1*000000001~", "", 1),
			kinds: []x12.Kind{x12.KindGroupTrailerMissing, x12.KindInterchangeTrailerMissing}},
		{name: "rejects a segment outside a set", in: isa + strings.Replace(body, "ST*850", "REF*X~ST*850", 1), kinds: []x12.Kind{x12.KindUnexpectedSegment}},
		{name: "rejects a bad segment tag", in: isa + strings.Replace(body, "BEG", "beg", 1), kinds: []x12.Kind{x12.KindBadTag}},
		{name: "rejects input without ISA", in: "GS*PO~", kinds: []x12.Kind{x12.KindSyntax}},
		{name: "rejects empty input", in: "", kinds: []x12.Kind{x12.KindSyntax}},
		{name: "rejects a truncated ISA", in: isa[:60], kinds: []x12.Kind{x12.KindSyntax}},
		{name: "rejects equal delimiters", in: strings.Replace(isa, "P*>~", "P*>>", 1) + body, kinds: []x12.Kind{x12.KindSyntax}},
		{name: "rejects a duplicate set control number",
			in:    isa + strings.Replace(body, "GE*1", "ST*850*0001~SE*2*0001~GE*2", 1),
			kinds: []x12.Kind{x12.KindDuplicateControl}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := x12.Parse([]byte(tt.in), x12.Limits{})
			if got := kinds(err); fmt.Sprint(got) != fmt.Sprint(tt.kinds) {
				t.Fatalf("error kinds %v, want %v; err: %v", got, tt.kinds, err)
			}
			if tt.check != nil {
				tt.check(t, doc)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	in := []byte(isa + "GS*PO*S*R*20240101*1200*1*X*004010~ST*850*0001~BEG*00*SA*" + strings.Repeat("X", 100) + "~SE*3*0001~GE*1*1~IEA*1*000000001~")
	tests := []struct {
		name string
		lim  x12.Limits
		want string
	}{
		{name: "rejects too many bytes", lim: x12.Limits{MaxBytes: 100}, want: "exceeds the limit of 100"},
		{name: "rejects too many segments", lim: x12.Limits{MaxSegments: 3}, want: "more than 3 segments"},
		{name: "rejects a too long element", lim: x12.Limits{MaxElementLen: 50}, want: "element 03: element of 100 bytes exceeds the limit of 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := x12.Parse(in, tt.lim)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			var e *x12.Error
			if !errors.As(err, &e) {
				t.Fatalf("errors.As found no *x12.Error")
			}
		})
	}
}

func TestScannerYieldsEverySegment(t *testing.T) {
	data := readSample(t, "x12-850-nodex12-1.edi")
	sc := x12.NewScanner(data, x12.Limits{})
	var tags []string
	for sc.Next() {
		tags = append(tags, sc.Segment().Tag())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(tags) != 37 || tags[0] != "ISA" || tags[36] != "IEA" {
		t.Fatalf("tags %v", tags)
	}
}

func TestSegmentAccessors(t *testing.T) {
	doc, err := x12.Parse(readSample(t, "x12-810-moovio-1.edi"), x12.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var qty x12.Segment
	for _, s := range doc.Interchanges[0].Groups[0].Sets[0].Segments {
		if s.Is("QTY") && s.String(1) == "39" {
			qty = s
		}
	}
	// QTY*39**ZZ||1*EA: element 3 is a composite with an empty second component.
	if got := string(qty.Component(3, 1)); got != "ZZ" {
		t.Errorf("QTY03-1 = %q", got)
	}
	if got := qty.Component(3, 2); got == nil || len(got) != 0 {
		t.Errorf("QTY03-2 = %q, want empty", got)
	}
	if got := string(qty.Component(3, 3)); got != "1" {
		t.Errorf("QTY03-3 = %q", got)
	}
	if qty.Len() != 4 || qty.Element(5) != nil {
		t.Errorf("Len %d, element 5 %q", qty.Len(), qty.Element(5))
	}
	n := 0
	for i, e := range qty.All() {
		n++
		if i == 4 && string(e) != "EA" {
			t.Errorf("element 4 = %q", e)
		}
	}
	if n != 4 {
		t.Errorf("All yielded %d elements", n)
	}
}
