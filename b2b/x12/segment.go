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

// input is what the segments of one interchange share: the buffer and the
// delimiters read from its ISA.
type input struct {
	data          []byte
	el, comp, rep byte
}

// Segment is one segment of the input: its tag and elements, without the
// terminator. Elements are found lazily; nothing is copied. A Segment is 24
// bytes (offsets into the shared input) so that large interchanges stay cheap.
type Segment struct {
	in         *input
	start, end uint32
	ord        uint32
	tagLen     uint8
}

// Offset returns the byte offset of the segment tag in the input.
func (s Segment) Offset() int { return int(s.start) }

// Ordinal returns the 1-based position of the segment in its interchange (ISA = 1).
func (s Segment) Ordinal() int { return int(s.ord) }

func (s Segment) seps() (el, comp, rep byte) {
	if s.in == nil {
		return 0, 0, 0
	}
	return s.in.el, s.in.comp, s.in.rep
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
func (s Segment) Raw() []byte {
	if s.in == nil {
		return nil
	}
	return s.in.data[s.start:s.end:s.end]
}

// Tag returns the segment identifier (ST, BEG, PO1 …).
func (s Segment) Tag() string { return bstr(s.Raw()[:s.tagLen]) }

// Is reports whether the segment has the given tag, without allocating.
func (s Segment) Is(tag string) bool {
	return int(s.tagLen) == len(tag) && string(s.Raw()[:s.tagLen]) == tag
}

// Len returns the number of elements after the tag (trailing empty ones
// included, as written).
func (s Segment) Len() int {
	el, _, _ := s.seps()
	return bytes.Count(s.Raw(), []byte{el})
}

// Element returns element i (1-based, as in ST01; 0 is the tag), or nil when the
// segment has fewer elements.
func (s Segment) Element(i int) []byte {
	el, _, _ := s.seps()
	b := s.Raw()
	// A byte loop: elements are short, so one pass beats an IndexByte call
	// per element.
	i = max(i, 0)
	k, start := 0, 0
	for j := 0; j < len(b); j++ {
		if b[j] == el {
			if k == i {
				return b[start:j]
			}
			k++
			start = j + 1
		}
	}
	if k == i {
		return b[start:]
	}
	return nil
}

// String returns element i as a string that aliases the input.
func (s Segment) String(i int) string { return bstr(s.Element(i)) }

// Component returns component j (1-based) of element i, of its first repetition.
// A simple element is its own first component.
func (s Segment) Component(i, j int) []byte {
	_, comp, _ := s.seps()
	return split(s.Repetition(i, 1), comp, j)
}

// Repetition returns repetition r (1-based) of element i; without a repetition
// separator the element is its only repetition.
func (s Segment) Repetition(i, r int) []byte {
	_, _, rep := s.seps()
	e := s.Element(i)
	if rep == 0 || i == 0 || (i == 11 && s.Is("ISA")) {
		if r == 1 {
			return e
		}
		return nil
	}
	return split(e, rep, r)
}

// AppendElements appends the elements after the tag to dst (element i at
// index i-1) and returns it: one pass over the segment, and no allocation
// when dst has room.
func (s Segment) AppendElements(dst [][]byte) [][]byte {
	el, _, _ := s.seps()
	b := s.Raw()
	start := -1
	for j := 0; j < len(b); j++ {
		if b[j] != el {
			continue
		}
		if start >= 0 {
			dst = append(dst, b[start:j])
		}
		start = j + 1
	}
	if start >= 0 {
		dst = append(dst, b[start:])
	}
	return dst
}

// All yields the elements after the tag with their 1-based positions.
func (s Segment) All() iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		el, _, _ := s.seps()
		b := s.Raw()
		i, start := 0, -1
		for j := 0; j < len(b); j++ {
			if b[j] != el {
				continue
			}
			if start >= 0 && !yield(i, b[start:j]) {
				return
			}
			i++
			start = j + 1
		}
		if start >= 0 {
			yield(i, b[start:])
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
