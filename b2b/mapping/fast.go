package mapping

import (
	"strconv"
	"strings"
	"unsafe"
)

// This file holds what keeps the per-segment cost of mapping low: field
// names built only when a problem needs them, one copy of a unit's bytes for
// all the strings its events keep, and a cache for repeated unit codes.

// fld is a canonical field path (lines[3].unit), turned into a string only
// when a problem or warning needs it: building one per line and value was a
// third of the allocations of a large ship notice.
type fld struct {
	name string // the whole name, or the list name when idx >= 0
	idx  int    // index in the list, -1 for a plain name
	leaf string // the field of the list element ("" for the element itself)
}

// plain is a field that is not in a list ("amount").
func plain(name string) fld { return fld{name: name, idx: -1} }

// lineField is lines[k].
func lineField(k int) fld { return fld{name: "lines", idx: k} }

// sub is the field leaf of a list element: lineField(2).sub("unit") is lines[2].unit.
func (f fld) sub(leaf string) fld {
	if f.idx < 0 {
		return plain(f.name + "." + leaf)
	}
	f.leaf = leaf
	return f
}

func (f fld) String() string {
	if f.idx < 0 {
		return f.name
	}
	s := f.name + "[" + strconv.Itoa(f.idx) + "]"
	if f.leaf != "" {
		s += "." + f.leaf
	}
	return s
}

// alias returns b as a string sharing its memory (b is part of the input,
// which nobody modifies while mapping, as for x12.Segment.String).
func alias(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// unitCopy gives the strings an event keeps their own memory without one
// allocation each: the first string taken from a unit (an X12 set, an
// EDIFACT message) copies the unit's bytes, which are contiguous in the
// input, once; that string and every later one are slices of the copy. A
// string that is not within the unit's bytes (an envelope value, decoded
// text) is cloned. An event thus keeps (at most) one copy of its own unit,
// never the whole input.
type unitCopy struct {
	start, end unsafe.Pointer // the unit's bytes in the input
	base       uintptr        // address of start, once copied
	buf        string         // the copy
	done       bool
}

// setRange records the unit's bytes: first and last are the raw bytes of
// its first and last segments (in input order).
func (u *unitCopy) setRange(first, last []byte) {
	*u = unitCopy{}
	if len(first) == 0 || len(last) == 0 {
		return
	}
	u.start = unsafe.Pointer(unsafe.SliceData(first))
	u.end = unsafe.Add(unsafe.Pointer(unsafe.SliceData(last)), len(last))
}

// clone returns s, trimmed of blanks, in memory that does not alias the input.
func (u *unitCopy) clone(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if u.start != nil && !u.done {
		n := int(uintptr(u.end) - uintptr(u.start))
		if n > 0 {
			u.buf = string(unsafe.Slice((*byte)(u.start), n))
			u.base = uintptr(u.start)
		}
		u.done = true
	}
	if u.buf != "" {
		// The input is a heap object (Parse keeps it), so its address is fixed.
		off := uintptr(unsafe.Pointer(unsafe.StringData(s))) - u.base
		if off < uintptr(len(u.buf)) && uintptr(len(s)) <= uintptr(len(u.buf))-off {
			return u.buf[off : off+uintptr(len(s))]
		}
	}
	return strings.Clone(s)
}

// unitCache remembers the last unit code mapped (a large document repeats
// one or two), with its canonical code and a copy of the code as written.
type unitCache struct {
	orig, canon, origCopy string
}
