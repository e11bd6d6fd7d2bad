// Package edi is the core the X12 and EDIFACT tokenizers share: the size
// limits, the error list, the byte-level scanning helpers their scanners
// use on every segment (an eight-bytes-at-a-time search for the
// terminator, the blank and tag character classes), and the envelope
// driver (Driver: the walk of interchange, group and set/message with its
// count and control-number checks). The position part of an error message
// is b2b/errpos.
//
// It knows no standard's tags, delimiters or codes: each tokenizer
// describes its envelopes to the driver (Standard) and builds its own
// document and errors (Hooks); scanners, header checks and code lists stay
// in b2b/x12 and b2b/edifact.
package edi

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"
)

// Limits bound what a tokenizer accepts; the zero value means the
// defaults.
type Limits struct {
	MaxBytes      int `yaml:"max_bytes"`       // whole input; default 64 MiB
	MaxSegments   int `yaml:"max_segments"`    // whole input; default 1,000,000
	MaxElementLen int `yaml:"max_element_len"` // default 4,096
	MaxErrors     int `yaml:"max_errors"`      // errors collected before giving up; default 100
}

// WithDefaults fills the zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 64 << 20
	}
	l.MaxBytes = min(l.MaxBytes, 1<<32-1) // segment offsets are uint32
	if l.MaxSegments <= 0 {
		l.MaxSegments = 1_000_000
	}
	if l.MaxElementLen <= 0 {
		l.MaxElementLen = 4096
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = 100
	}
	return l
}

// List is the list of errors found in one input, the error a tokenizer's
// Parse returns; errors.As finds the individual errors through Unwrap.
type List[E error] []E

func (es List[E]) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d errors:", len(es))
	for _, e := range es {
		b.WriteString("\n\t")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As see each error.
func (es List[E]) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

const lo, hi = 0x0101010101010101, 0x8080808080808080

// IndexByte returns the index of the first c in b at or after i, or -1,
// testing eight bytes at a time: segments are short, so this beats a call
// to bytes.IndexByte per segment.
func IndexByte(b []byte, i int, c byte) int {
	t := lo * uint64(c)
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:]) ^ t
		// The lowest flagged byte is exact (borrows only flag bytes above a match).
		if m := (x - lo) &^ x & hi; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// IndexEither returns the index of the first byte at or after i that is c1
// or c2 (a terminator or a line feed before it), or -1, in one pass of
// eight bytes at a time.
func IndexEither(b []byte, i int, c1, c2 byte) int {
	t, n := lo*uint64(c1), lo*uint64(c2)
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		a, c := x^t, x^n
		if m := ((a-lo)&^a | (c-lo)&^c) & hi; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == c1 || c == c2 {
			return i
		}
	}
	return -1
}

// IndexStop returns the index of the first byte at or after i that is term,
// a line feed or a byte >= 0x80, or -1, in one pass of eight bytes at a
// time: the terminator search of a scanner that must notice line breaks and
// non-ASCII bytes inside a segment without a second pass.
func IndexStop(b []byte, i int, term byte) int {
	t, n := lo*uint64(term), lo*uint64('\n')
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		a, c := x^t, x^n
		if m := ((a-lo)&^a | (c-lo)&^c | x) & hi; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == term || c == '\n' || c >= 0x80 {
			return i
		}
	}
	return -1
}

// IsSpace reports whether c is a blank, line break or padding byte that a
// reader skips between segments (NUL and SUB included).
func IsSpace(c byte) bool {
	return c == '\n' || c == '\r' || c == ' ' || c == '\t' || c == 0 || c == 0x1a
}

// UpperAlnum reports whether b is upper-case letters and digits only (a
// segment tag).
func UpperAlnum(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Clip returns b as a string for an error message, shortened to 20 bytes.
func Clip(b []byte) string {
	if len(b) > 20 {
		return string(b[:20]) + "…"
	}
	return string(b)
}
