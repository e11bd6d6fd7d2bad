package edi

import (
	"fmt"
	"slices"
	"strconv"
)

// Level is one of the three envelopes X12 and EDIFACT both nest:
// interchange, functional group, and the unit of business data (an X12
// transaction set, an EDIFACT message).
type Level uint8

// The envelope levels, outermost first.
const (
	Interchange Level = iota // ISA … IEA, UNB … UNZ
	Group                    // GS … GE, UNG … UNE
	Unit                     // ST … SE, UNH … UNT
)

// Envelope describes one level of a standard's envelopes: its header and
// trailer tags, the trailer's count and control elements, and the wording
// and kinds of the errors the driver reports about it.
type Envelope[K ~int] struct {
	Header, Trailer string // segment tags: "ISA", "IEA"
	// CountElem is the trailer element that counts what the envelope holds
	// (Counted: "functional groups", "segments"); ControlElem the one that
	// repeats the header's control number.
	CountElem, ControlElem int
	Counted                string
	// A control mismatch reads "<ControlName> "x" does not match <HeaderControl> "y"".
	ControlName, HeaderControl string
	// ControlRequired, when set, names the trailer's control element in a
	// "missing" error (EDIFACT); otherwise an empty one is a mismatch (X12).
	ControlRequired string
	// SkipEmptyHeader skips the mismatch when the header's control number
	// is empty (already reported missing by the header check).
	SkipEmptyHeader bool
	// Missing is the reason of a missing trailer; next is the tag of the
	// segment that cut the envelope short, "" at the end of input.
	Missing func(next string) string
	// The kinds of a missing trailer, a wrong count and a control mismatch.
	TrailerMissing, CountKind, ControlMismatch K
}

// Standard is what the envelope driver needs to know of a standard beyond
// its hooks: the three envelopes and the wording of misplaced segments.
type Standard[K ~int] struct {
	Interchange, Group, Unit Envelope[K]
	// Reasons for a segment before the first interchange header (or after a
	// trailer) and for a data segment outside any unit.
	OutsideInterchange, OutsideUnit string
	// UnitOutsideGroup, when set, is the reason for a unit header outside a
	// group; the unit then goes into an implicit group (X12: ST without GS).
	// Empty: units may stand directly in the interchange (EDIFACT).
	UnitOutsideGroup string
	// UnitsWithoutGroups, when set, is what the interchange trailer counts
	// when the interchange has no group ("messages"); empty: it always
	// counts groups.
	UnitsWithoutGroups string
	// Loose are tags accepted outside any group and passed to Stray without
	// an error (X12 TA1 between ISA and GS).
	Loose []string
	// The kinds of a misplaced segment, a missing or malformed element, and
	// the error limit.
	Unexpected, MissingElement, InvalidValue, Limit K
}

// Loc is the envelope context of an error: the control numbers of the open
// interchange, group (empty when implicit) and unit with the unit's type,
// and the segment position. With Override the position replaces the
// error's (it is the position in the open unit, or where a missing trailer
// was due); otherwise it is the position in the interchange, used when the
// error has none.
type Loc struct {
	Interchange, Group, Unit, Type string
	Segment                        int
	Override                       bool
	Tag                            string // the segment's tag, used when the error has none
}

// Hooks are what a tokenizer does at each step of the envelope walk: build
// its document, check header elements, and make and locate its errors.
type Hooks[S any, E error, K ~int] interface {
	// Open starts an envelope at its header and returns the header's
	// control number (for a unit also its type: ST01, UNH02-1); Check then
	// checks the header, its errors located inside the new envelope.
	Open(l Level, header S) (control, typ string)
	Check(l Level, header S)
	// Implicit opens a group for a unit found outside any (see
	// Standard.UnitOutsideGroup).
	Implicit()
	// Close ends an envelope: segs are a unit's segments (header to trailer,
	// or to the last one read), trailer is nil when it is missing. It is
	// called after the trailer checks.
	Close(l Level, segs []S, trailer S, complete bool)
	// Data is called for a data segment inside a unit that took the slow
	// path, Stray for a segment outside any unit.
	Data(seg S)
	Stray(seg S)
	// Value returns element elem of a trailer as compared with what was
	// counted or with the header's control number.
	Value(l Level, trailer S, elem int) string
	// NewError makes an error without envelope context; Locate adds it.
	NewError(kind K, tag string, offset, elem, comp int, reason string) E
	Locate(e E, at Loc)
	// Warning reports whether a scanner issue is a warning, not an error.
	Warning(e E) bool
	// Capacity is the number of segments to allocate for up front.
	Capacity() int
	// Where returns the tag, byte offset and ordinal (the 1-based position
	// in the interchange) of a segment; empty and zero for a zero segment.
	// (A hook, not a method constraint on S: a method call on a type
	// parameter would box the segment, an allocation per envelope segment.)
	Where(seg S) (tag string, offset, ordinal int)
}

// Driver walks the envelopes of one input: it opens and closes
// interchanges, groups and units as their headers and trailers come, checks
// the trailers' counts and control numbers, reports missing trailers and
// misplaced segments, and collects errors and warnings up to a limit. A
// tokenizer's parse loop feeds it the segments its fast path does not take
// (see InUnit).
type Driver[S any, E error, K ~int] struct {
	// Segs holds every unit's segments, in order; a unit's are a window.
	Segs     []S
	Errs     List[E]
	Warnings List[E]

	std      *Standard[K]
	h        Hooks[S, E, K]
	maxErrs  int
	open     [2]bool // interchange, group
	implicit bool    // the open group is implicit
	ctl      [3]string
	typ      string
	start    int // index in Segs of the open unit's header, -1 if none
	groups   int // explicit groups opened in the interchange
	units    int // units closed in the interchange
	inGroup  int // units closed in the group
	endOff   int // at the end of input: its length
	endOrd   int // and the ordinal of the last segment
}

// NewDriver returns a driver for one input (a value, to be kept in the
// tokenizer's parser: one allocation less per input).
func NewDriver[S any, E error, K ~int](std *Standard[K], h Hooks[S, E, K], lim Limits) Driver[S, E, K] {
	return Driver[S, E, K]{std: std, h: h, maxErrs: lim.WithDefaults().MaxErrors, start: -1}
}

// InUnit reports whether a unit is open: a data segment without issues then
// only needs appending to Segs (the tokenizer's fast path).
func (d *Driver[S, E, K]) InUnit() bool { return d.start >= 0 }

// UnitPos returns the 1-based position of seg in the open unit.
func (d *Driver[S, E, K]) UnitPos(seg S) int {
	_, _, ord := d.h.Where(seg)
	_, _, first := d.h.Where(d.Segs[d.start])
	return ord - first + 1
}

// Full reports whether the error limit is reached; GiveUp then adds the
// error that says so, and reading stops.
func (d *Driver[S, E, K]) Full() bool { return len(d.Errs) >= d.maxErrs }

// GiveUp adds the error that ends reading at the error limit.
func (d *Driver[S, E, K]) GiveUp() {
	d.Errs = append(d.Errs, d.h.NewError(d.std.Limit, "", -1, 0, 0, fmt.Sprintf("more than %d errors: giving up", d.maxErrs)))
}

// Segment takes a segment the fast path did not (an envelope segment, one
// with issues, or one outside a unit) with its scanner issues. It returns
// false when the error limit is reached: reading stops there.
func (d *Driver[S, E, K]) Segment(seg S, issues []E) bool {
	if d.Segs == nil {
		// One allocation for all segments.
		d.Segs = make([]S, 0, d.h.Capacity())
	}
	tag, _, _ := d.h.Where(seg)
	// An interchange header opens its interchange first, so that its own
	// issues are located in it.
	head := tag == d.std.Interchange.Header
	if head {
		d.envelope(seg, tag)
	}
	for _, e := range issues {
		if d.h.Warning(e) {
			d.h.Locate(e, d.loc(seg))
			d.Warnings = append(d.Warnings, e)
			continue
		}
		d.Add(e, seg)
	}
	if !head {
		d.envelope(seg, tag)
	}
	if d.Full() {
		d.GiveUp()
		return false
	}
	return true
}

// End closes what is still open at the end of input (or at a fatal scanner
// error), reporting the missing trailers there: size is the input's length,
// ordinal the position of the last segment read in its interchange.
func (d *Driver[S, E, K]) End(size, ordinal int) {
	d.endOff, d.endOrd = size, ordinal
	d.closeInterchange(nil)
}

// Add locates e at seg and adds it to the errors.
func (d *Driver[S, E, K]) Add(e E, seg S) {
	d.h.Locate(e, d.loc(seg))
	d.Errs = append(d.Errs, e)
}

// Errorf adds an error at element elem, component comp of seg (0: the whole
// segment or element).
func (d *Driver[S, E, K]) Errorf(kind K, seg S, elem, comp int, format string, args ...any) {
	tag, off, _ := d.h.Where(seg)
	d.Add(d.h.NewError(kind, tag, off, elem, comp, fmt.Sprintf(format, args...)), seg)
}

// Warnf adds a warning at element elem of seg.
func (d *Driver[S, E, K]) Warnf(kind K, seg S, elem int, format string, args ...any) {
	tag, off, _ := d.h.Where(seg)
	e := d.h.NewError(kind, tag, off, elem, 0, fmt.Sprintf(format, args...))
	d.h.Locate(e, d.loc(seg))
	d.Warnings = append(d.Warnings, e)
}

// loc returns the envelope context of an error at seg (a zero seg: none).
func (d *Driver[S, E, K]) loc(seg S) Loc {
	l := Loc{}
	l.Tag, _, l.Segment = d.h.Where(seg)
	if d.open[Interchange] {
		l.Interchange = d.ctl[Interchange]
	}
	if d.open[Group] && !d.implicit {
		l.Group = d.ctl[Group]
	}
	if d.start >= 0 {
		l.Unit, l.Type = d.ctl[Unit], d.typ
		l.Segment, l.Override = d.UnitPos(seg), true
	}
	return l
}

func (d *Driver[S, E, K]) envelope(seg S, tag string) {
	std := d.std
	if tag == std.Interchange.Header {
		d.closeInterchange(&seg)
		d.openEnvelope(Interchange, seg)
		return
	}
	if !d.open[Interchange] {
		d.Errorf(std.Unexpected, seg, 0, 0, "%s", std.OutsideInterchange)
		return
	}
	switch tag {
	case std.Interchange.Trailer:
		d.closeInterchange(&seg)
	case std.Group.Header:
		d.closeGroup(&seg)
		d.openEnvelope(Group, seg)
	case std.Group.Trailer:
		if !d.open[Group] || d.implicit {
			d.closeGroup(&seg)
			d.Errorf(std.Unexpected, seg, 0, 0, "%s without %s", tag, std.Group.Header)
			return
		}
		d.closeGroup(&seg)
	case std.Unit.Header:
		d.closeUnit(&seg)
		if !d.open[Group] && std.UnitOutsideGroup != "" {
			d.Errorf(std.Unexpected, seg, 0, 0, "%s", std.UnitOutsideGroup)
			d.h.Implicit()
			d.open[Group], d.implicit, d.inGroup = true, true, 0
		}
		d.openEnvelope(Unit, seg)
	case std.Unit.Trailer:
		if d.start < 0 {
			d.Errorf(std.Unexpected, seg, 0, 0, "%s without %s", tag, std.Unit.Header)
			return
		}
		d.Segs = append(d.Segs, seg)
		d.closeUnit(nil)
	default:
		if !d.open[Group] && slices.Contains(std.Loose, tag) {
			d.h.Stray(seg)
			return
		}
		if d.start < 0 {
			d.Errorf(std.Unexpected, seg, 0, 0, "%s", std.OutsideUnit)
			d.h.Stray(seg)
			return
		}
		d.Segs = append(d.Segs, seg)
		d.h.Data(seg)
	}
}

func (d *Driver[S, E, K]) openEnvelope(l Level, seg S) {
	switch l {
	case Interchange:
		d.groups, d.units = 0, 0
		d.open[Interchange] = true
	case Group:
		d.groups++
		d.inGroup, d.implicit = 0, false
		d.open[Group] = true
	case Unit:
		d.start = len(d.Segs)
		d.Segs = append(d.Segs, seg)
	}
	var typ string
	d.ctl[l], typ = d.h.Open(l, seg)
	if l == Unit {
		d.typ = typ
	}
	d.h.Check(l, seg)
}

func (d *Driver[S, E, K]) envelopeOf(l Level) *Envelope[K] {
	switch l {
	case Interchange:
		return &d.std.Interchange
	case Group:
		return &d.std.Group
	}
	return &d.std.Unit
}

// closeUnit ends the open unit; next is the envelope segment that cut it
// short, or nil after its trailer (already appended) or at the end of input.
func (d *Driver[S, E, K]) closeUnit(next *S) {
	if d.start < 0 {
		return
	}
	segs := d.Segs[d.start:len(d.Segs):len(d.Segs)]
	last := segs[len(segs)-1]
	complete := len(segs) > 1 && d.is(last, d.std.Unit.Trailer) && next == nil
	if complete {
		d.checkTrailer(Unit, last, len(segs))
	} else {
		d.missing(Unit, next)
	}
	d.h.Close(Unit, segs, last, complete)
	d.start = -1
	d.ctl[Unit], d.typ = "", ""
	d.units++
	d.inGroup++
}

// closeGroup ends the open unit and group; next is the segment that ends
// them (a group trailer, or the envelope segment that cut them short), nil
// at the end of input.
func (d *Driver[S, E, K]) closeGroup(next *S) {
	d.closeUnit(next)
	if !d.open[Group] {
		return
	}
	var zero S
	switch {
	case d.implicit:
		d.h.Close(Group, nil, zero, false)
	case next == nil || !d.is(*next, d.std.Group.Trailer):
		d.missing(Group, next)
		d.h.Close(Group, nil, zero, false)
	default:
		d.checkTrailer(Group, *next, d.inGroup)
		d.h.Close(Group, nil, *next, true)
	}
	d.open[Group], d.implicit, d.ctl[Group] = false, false, ""
}

// closeInterchange ends everything open; next is the segment that ends it
// (its trailer or the next header), nil at the end of input.
func (d *Driver[S, E, K]) closeInterchange(next *S) {
	if !d.open[Interchange] {
		return
	}
	d.closeGroup(next)
	if next == nil || !d.is(*next, d.std.Interchange.Trailer) {
		var zero S
		d.missing(Interchange, next)
		d.h.Close(Interchange, nil, zero, false)
	} else {
		counted := d.groups
		if counted == 0 && d.std.UnitsWithoutGroups != "" {
			counted = d.units
		}
		d.checkTrailer(Interchange, *next, counted)
		d.h.Close(Interchange, nil, *next, true)
	}
	d.open[Interchange], d.ctl[Interchange] = false, ""
}

// is reports whether seg has the given tag.
func (d *Driver[S, E, K]) is(seg S, tag string) bool {
	t, _, _ := d.h.Where(seg)
	return t == tag
}

// checkTrailer checks a trailer's count against what was counted and its
// control number against the header's.
func (d *Driver[S, E, K]) checkTrailer(l Level, seg S, counted int) {
	env := d.envelopeOf(l)
	what := env.Counted
	if l == Interchange && d.groups == 0 && d.std.UnitsWithoutGroups != "" {
		what = d.std.UnitsWithoutGroups
	}
	d.checkCount(seg, env.CountElem, counted, what, env.CountKind, l)
	c := d.h.Value(l, seg, env.ControlElem)
	if c == "" && env.ControlRequired != "" {
		d.Errorf(d.std.MissingElement, seg, env.ControlElem, 0, "%s is missing", env.ControlRequired)
		return
	}
	if h := d.ctl[l]; c != h && (h != "" || !env.SkipEmptyHeader) {
		d.Errorf(env.ControlMismatch, seg, env.ControlElem, 0, "%s %q does not match %s %q", env.ControlName, c, env.HeaderControl, h)
	}
}

// checkCount compares a count element with what was counted.
func (d *Driver[S, E, K]) checkCount(seg S, elem, counted int, what string, kind K, l Level) {
	raw := d.h.Value(l, seg, elem)
	if raw == "" {
		d.Errorf(d.std.MissingElement, seg, elem, 0, "count of %s is missing (%d counted)", what, counted)
		return
	}
	n, err := strconv.Atoi(raw)
	if err != nil || !digits(raw) {
		d.Errorf(d.std.InvalidValue, seg, elem, 0, "count %q is not a number (%d %s counted)", raw, counted, what)
		return
	}
	if n != counted {
		d.Errorf(kind, seg, elem, 0, "count %d does not match %d %s", n, counted, what)
	}
}

// missing reports a missing trailer under the trailer's tag (not the
// header's: an acknowledgement names the segment that is missing), located
// where it was due: before next, or at the end of input.
func (d *Driver[S, E, K]) missing(l Level, next *S) {
	env := d.envelopeOf(l)
	var at S
	before, off := "", d.endOff
	if next != nil {
		at = *next
		before, off, _ = d.h.Where(at)
	}
	e := d.h.NewError(env.TrailerMissing, env.Trailer, off, 0, 0, env.Missing(before))
	loc := d.loc(at)
	loc.Override = true
	switch {
	case d.start >= 0:
		loc.Segment = len(d.Segs) - d.start + 1
	case next != nil:
		_, _, loc.Segment = d.h.Where(at)
	default:
		loc.Segment = d.endOrd + 1
	}
	d.h.Locate(e, loc)
	d.Errs = append(d.Errs, e)
}

// digits reports whether s is 1-10 decimal digits.
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
