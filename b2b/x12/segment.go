// Package x12 tokenizes ANSI ASC X12 interchanges: it reads the delimiters from
// each ISA, splits the input into segments without copying, and checks the
// envelopes (ISA/IEA, GS/GE, ST/SE counts and control numbers).
//
// It deliberately stays at the syntax level: it knows the envelope segments and
// nothing about the transaction sets inside them (850, 856, 810 …). Walking a
// set segment by segment and turning it into canonical events is left to the
// mappers; acknowledgements (997/999) are built from this package's errors by
// package b2b/ack.
//
// Segments, elements and the strings of the envelope structs alias the input
// buffer: the caller must not modify the input while they are in use.
package x12

import (
	"bytes"
	"iter"
	"unsafe"
)

// Delimiters are the service characters of one interchange, read from its ISA.
// Repetition is 0 when the interchange version (ISA12) is older than 00402.
type Delimiters struct {
	Element, Component, Repetition, Segment byte
}

// Segment is one segment of the input: its tag and elements, without the
// terminator. Elements are found lazily; nothing is copied.
type Segment struct {
	raw []byte
	// Offset is the byte offset of the segment tag in the input.
	Offset int
	// Ordinal is the 1-based position of the segment in its interchange (ISA = 1).
	Ordinal       int
	tagLen        uint8
	el, comp, rep byte
}

// tagEnd returns the length of the tag of raw (up to the first element separator).
// Longer tags (always invalid) are cut at 255 bytes.
func tagEnd(raw []byte, el byte) uint8 {
	for i := 0; i < len(raw) && i < 8; i++ {
		if raw[i] == el {
			return uint8(i)
		}
	}
	n := bytes.IndexByte(raw, el)
	if n < 0 {
		n = len(raw)
	}
	return uint8(min(n, 255))
}

// Raw returns the bytes of the segment without its terminator.
func (s Segment) Raw() []byte { return s.raw }

// Tag returns the segment identifier (ST, BEG, PO1 …).
func (s Segment) Tag() string { return bstr(s.raw[:s.tagLen]) }

// Is reports whether the segment has the given tag, without allocating.
func (s Segment) Is(tag string) bool {
	return int(s.tagLen) == len(tag) && string(s.raw[:s.tagLen]) == tag
}

// Len returns the number of elements after the tag (trailing empty ones
// included, as written).
func (s Segment) Len() int { return bytes.Count(s.raw, []byte{s.el}) }

// Element returns element i (1-based, as in ST01; 0 is the tag), or nil when the
// segment has fewer elements.
func (s Segment) Element(i int) []byte {
	b := s.raw
	for k := 0; k < i; k++ {
		j := bytes.IndexByte(b, s.el)
		if j < 0 {
			return nil
		}
		b = b[j+1:]
	}
	if j := bytes.IndexByte(b, s.el); j >= 0 {
		return b[:j]
	}
	return b
}

// String returns element i as a string that aliases the input.
func (s Segment) String(i int) string { return bstr(s.Element(i)) }

// Component returns component j (1-based) of element i, of its first repetition.
// A simple element is its own first component.
func (s Segment) Component(i, j int) []byte {
	return split(s.Repetition(i, 1), s.comp, j)
}

// Repetition returns repetition r (1-based) of element i; without a repetition
// separator the element is its only repetition.
func (s Segment) Repetition(i, r int) []byte {
	e := s.Element(i)
	if s.rep == 0 || i == 0 || (i == 11 && s.Is("ISA")) {
		if r == 1 {
			return e
		}
		return nil
	}
	return split(e, s.rep, r)
}

// All yields the elements after the tag with their 1-based positions.
func (s Segment) All() iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		b := s.raw
		j := bytes.IndexByte(b, s.el)
		if j < 0 {
			return
		}
		b = b[j+1:]
		for i := 1; ; i++ {
			j = bytes.IndexByte(b, s.el)
			if j < 0 {
				yield(i, b)
				return
			}
			if !yield(i, b[:j]) {
				return
			}
			b = b[j+1:]
		}
	}
}

func split(b []byte, sep byte, n int) []byte {
	if b == nil {
		return nil
	}
	for k := 1; k < n; k++ {
		j := bytes.IndexByte(b, sep)
		if j < 0 {
			return nil
		}
		b = b[j+1:]
	}
	if j := bytes.IndexByte(b, sep); j >= 0 {
		return b[:j]
	}
	return b
}

// bstr returns a string sharing b's memory; the input is never modified by
// this package and callers promise not to modify it either.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
