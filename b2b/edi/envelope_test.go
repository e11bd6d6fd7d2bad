package edi

import (
	"fmt"
	"strings"
	"testing"
)

// The driver is exercised in full by the X12 and EDIFACT tests (their
// golden files); this test pins its contract on a toy standard written in
// a line per segment, independent of either: what each hook is called
// with, where errors are located, and the optional behaviours (implicit
// group, loose tags, units counted without groups, required control).

type toySeg struct {
	els      []string // els[0] is the tag
	off, ord int
}

type toyErr struct {
	kind               int
	ic, grp, unit, typ string
	seg                int
	tag                string
	off, elem, comp    int
	reason             string
}

func (e *toyErr) Error() string {
	return fmt.Sprintf("%d %s/%s/%s(%s) seg %d %s@%d e%d: %s", e.kind, e.ic, e.grp, e.unit, e.typ, e.seg, e.tag, e.off, e.elem, e.reason)
}

type toy struct {
	d     Driver[toySeg, *toyErr, int]
	trace []string
}

func (t *toy) Open(l Level, h toySeg) (string, string) {
	t.trace = append(t.trace, fmt.Sprintf("open %d %s", l, h.els[0]))
	if l == Unit {
		return el(h, 2), el(h, 1)
	}
	return el(h, 1), ""
}
func (t *toy) Check(l Level, h toySeg) {
	if el(h, 1) == "" {
		t.d.Errorf(5, h, 1, 0, "control missing")
	}
}
func (t *toy) Implicit() { t.trace = append(t.trace, "implicit") }
func (t *toy) Close(l Level, segs []toySeg, tr toySeg, complete bool) {
	t.trace = append(t.trace, fmt.Sprintf("close %d n%d %v", l, len(segs), complete))
}
func (t *toy) Data(seg toySeg)                         { t.trace = append(t.trace, "data "+seg.els[0]) }
func (t *toy) Stray(seg toySeg)                        { t.trace = append(t.trace, "stray "+seg.els[0]) }
func (t *toy) Value(_ Level, seg toySeg, i int) string { return el(seg, i) }
func (t *toy) NewError(kind int, tag string, off, elem, comp int, reason string) *toyErr {
	return &toyErr{kind: kind, tag: tag, off: off, elem: elem, comp: comp, reason: reason}
}
func (t *toy) Locate(e *toyErr, at Loc) {
	e.ic, e.grp, e.unit, e.typ = at.Interchange, at.Group, at.Unit, at.Type
	if at.Override || e.seg == 0 {
		e.seg = at.Segment
	}
	if e.tag == "" {
		e.tag = at.Tag
	}
}
func (t *toy) Warning(e *toyErr) bool { return e.kind == 99 }
func (t *toy) Capacity() int          { return 8 }
func (t *toy) Where(seg toySeg) (string, int, int) {
	if seg.els == nil {
		return "", 0, 0
	}
	return seg.els[0], seg.off, seg.ord
}

func el(s toySeg, i int) string {
	if i < len(s.els) {
		return s.els[i]
	}
	return ""
}

var toyStd = Standard[int]{
	Interchange: Envelope[int]{Header: "IH", Trailer: "IT", CountElem: 1, ControlElem: 2, Counted: "groups",
		ControlName: "control", HeaderControl: "IH01", ControlRequired: "control (IT02)",
		Missing: func(next string) string { return "no IT before " + next }, TrailerMissing: 10, CountKind: 11, ControlMismatch: 12},
	Group: Envelope[int]{Header: "GH", Trailer: "GT", CountElem: 1, ControlElem: 2, Counted: "units",
		ControlName: "control", HeaderControl: "GH01", SkipEmptyHeader: true,
		Missing: func(next string) string { return "no GT before " + next }, TrailerMissing: 20, CountKind: 21, ControlMismatch: 22},
	Unit: Envelope[int]{Header: "UH", Trailer: "UT", CountElem: 1, ControlElem: 2, Counted: "segments",
		ControlName: "control", HeaderControl: "UH02",
		Missing: func(next string) string { return "no UT before " + next }, TrailerMissing: 30, CountKind: 31, ControlMismatch: 32},
	OutsideInterchange: "outside an interchange", OutsideUnit: "outside a unit",
	UnitOutsideGroup: "unit outside a group", Loose: []string{"LO"},
	Unexpected: 1, MissingElement: 2, InvalidValue: 3, Limit: 4,
}

// run feeds the driver one segment per line ("TAG*e1*e2"), offsets 10 apart,
// ordinals restarting at each IH (as a tokenizer's do at each interchange).
func run(std *Standard[int], input string, maxErrs int) *toy {
	t := &toy{}
	t.d = NewDriver[toySeg, *toyErr, int](std, t, Limits{MaxErrors: maxErrs})
	ord := 0
	for i, line := range strings.Split(strings.TrimSpace(input), "\n") {
		els := strings.Split(strings.TrimSpace(line), "*")
		if els[0] == "IH" {
			ord = 0
		}
		ord++
		seg := toySeg{els: els, off: i * 10, ord: ord}
		if t.d.InUnit() && els[0] == "D" {
			t.d.Segs = append(t.d.Segs, seg) // the tokenizers' fast path
			continue
		}
		if !t.d.Segment(seg, nil) {
			return t
		}
	}
	t.d.End(999, ord)
	return t
}

func errs(t *toy) string {
	var b strings.Builder
	for _, e := range t.d.Errs {
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}

func TestDriverWellFormed(t *testing.T) {
	tt := run(&toyStd, `
IH*I1
GH*G1
UH*ORD*U1
D
D
UT*4*U1
UH*ORD*U2
UT*2*U2
GT*2*G1
IT*1*I1`, 10)
	if len(tt.d.Errs) != 0 {
		t.Fatalf("errors:\n%s", errs(tt))
	}
	want := "open 0 IH|open 1 GH|open 2 UH|close 2 n4 true|open 2 UH|close 2 n2 true|close 1 n0 true|close 0 n0 true"
	if got := strings.Join(tt.trace, "|"); got != want {
		t.Errorf("hooks:\n got %s\nwant %s", got, want)
	}
	if len(tt.d.Segs) != 6 {
		t.Errorf("Segs holds %d segments, want the 6 of the two units", len(tt.d.Segs))
	}
}

func TestDriverReportsAndLocates(t *testing.T) {
	tt := run(&toyStd, `
X
IH*I1
LO
UH*ORD*U1
D
UT*9*U7
GH*G1
D
GT*0*G2
GT
IT*5`, 20)
	want := `1 //() seg 1 X@0 e0: outside an interchange
1 I1//() seg 3 UH@30 e0: unit outside a group
31 I1//U1(ORD) seg 3 UT@50 e1: count 9 does not match 3 segments
32 I1//U1(ORD) seg 3 UT@50 e2: control "U7" does not match UH02 "U1"
1 I1/G1/() seg 7 D@70 e0: outside a unit
22 I1/G1/() seg 8 GT@80 e2: control "G2" does not match GH01 "G1"
1 I1//() seg 9 GT@90 e0: GT without GH
11 I1//() seg 10 IT@100 e1: count 5 does not match 1 groups
2 I1//() seg 10 IT@100 e2: control (IT02) is missing
`
	if got := errs(tt); got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
	if got := strings.Join(tt.trace, "|"); !strings.Contains(got, "stray LO|") || !strings.Contains(got, "implicit|") || !strings.Contains(got, "stray D|") {
		t.Errorf("hooks %s: want the loose LO and the D outside a unit as strays, and an implicit group", got)
	}
}

func TestDriverMissingTrailers(t *testing.T) {
	tt := run(&toyStd, `
IH*I1
GH*G1
UH*ORD*U1
D
IH*I2
GH*G2
UH*ORD*U2
D`, 20)
	want := `30 I1/G1/U1(ORD) seg 3 UT@40 e0: no UT before IH
20 I1/G1/() seg 1 GT@40 e0: no GT before IH
10 I1//() seg 1 IT@40 e0: no IT before IH
30 I2/G2/U2(ORD) seg 3 UT@999 e0: no UT before 
20 I2/G2/() seg 5 GT@999 e0: no GT before 
10 I2//() seg 5 IT@999 e0: no IT before 
`
	if got := errs(tt); got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
}

func TestDriverUnitsWithoutGroupsAndLimit(t *testing.T) {
	std := toyStd
	std.UnitOutsideGroup, std.UnitsWithoutGroups = "", "units"
	tt := run(&std, `
IH*I1
UH*ORD*U1
UT*2*U1
UH*ORD*U2
UT*2*U2
IT*3*I1`, 10)
	if got, want := errs(tt), "11 I1//() seg 6 IT@50 e1: count 3 does not match 2 units\n"; got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
	tt = run(&toyStd, "X\nX\nX\nX", 2)
	if n := len(tt.d.Errs); n != 3 || tt.d.Errs[2].kind != 4 || tt.d.Errs[2].reason != "more than 2 errors: giving up" {
		t.Errorf("at the limit: %d errors:\n%s", n, errs(tt))
	}
}
