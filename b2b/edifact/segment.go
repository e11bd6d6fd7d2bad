// Package edifact tokenizes UN/EDIFACT interchanges (ISO 9735 syntax 1-4): it
// reads the service string advice (UNA) or uses the default separators, splits
// the input into segments without copying while honouring the release
// character, decodes text by the UNB syntax identifier (UNOA/UNOB ASCII, UNOC
// ISO-8859-1, UNOW/UNOY UTF-8) and checks the envelopes (UNB/UNZ, UNG/UNE,
// UNH/UNT counts and references) and the section control segment UNS.
//
// It deliberately stays at the syntax level: it knows the service segments and
// the formats of a few data elements shared by every directory (qualifiers and
// quantities of NAD, QTY, PRI, MOA …), not the message structures (ORDERS,
// DESADV …). Mapping messages to canonical events is left to the mappers;
// CONTRL messages are built from this package's errors by package b2b/ack.
//
// Segments, raw elements and the strings of the envelope structs alias the
// input buffer: the caller must not modify the input while they are in use.
package edifact

import (
	"iter"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Delimiters are the service characters of one interchange. Release and
// Repetition are 0 when not used.
type Delimiters struct {
	Component, Element, Decimal, Release, Repetition, Segment byte
}

// DefaultDelimiters are the separators of an interchange without UNA
// (ISO 9735: ': + . ? * '); the repetition separator applies to syntax 4 only.
func DefaultDelimiters() Delimiters {
	return Delimiters{Component: ':', Element: '+', Decimal: '.', Release: '?', Repetition: '*', Segment: '\''}
}

// Charset says how to turn element bytes into text.
type Charset uint8

// The character repertoires, from the UNB syntax identifier.
const (
	CharsetASCII  Charset = iota // UNOA, UNOB (and unknown identifiers: bytes passed through)
	CharsetLatin1                // UNOC: ISO-8859-1
	CharsetUTF8                  // UNOW, UNOY
)

// input is what the segments of one interchange share: the buffer, the
// service characters and the character set.
type input struct {
	data               []byte
	el, comp, rel, rep byte
	charset            Charset
}

// sh returns the shared settings; the zero Segment (a missing trailer) has none.
func (s Segment) sh() *input {
	if s.in == nil {
		return &noInput
	}
	return s.in
}

// noInput is the settings of the zero Segment (never modified).
var noInput input

// Segment is one segment of the input, without its terminator. Elements are
// found lazily, skipping released (escaped) separators; nothing is copied
// until Text is called. A Segment is 24 bytes (offsets into the shared input).
type Segment struct {
	in         *input
	start, end uint32
	ord        uint32
	tagLen     uint8
}

// Offset returns the byte offset of the segment tag in the input.
func (s Segment) Offset() int { return int(s.start) }

// Ordinal returns the 1-based position of the segment in its interchange (UNB = 1).
func (s Segment) Ordinal() int { return int(s.ord) }

// tagEnd returns the length of the tag of raw: up to the first element or
// component separator, cut at 255 bytes (such a tag is invalid anyway).
func tagEnd(raw []byte, el, comp byte) uint8 {
	if len(raw) > 3 && (raw[3] == el || raw[3] == comp) && raw[0] != el && raw[0] != comp &&
		raw[1] != el && raw[1] != comp && raw[2] != el && raw[2] != comp {
		return 3 // the usual tag of three
	}
	n := len(raw)
	for i := 0; i < len(raw); i++ {
		if raw[i] == el || raw[i] == comp {
			n = i
			break
		}
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

// Tag returns the segment tag (UNH, BGM, NAD …).
func (s Segment) Tag() string { return bstr(s.Raw()[:s.tagLen]) }

// Is reports whether the segment has the given tag, without allocating.
func (s Segment) Is(tag string) bool {
	return int(s.tagLen) == len(tag) && string(s.Raw()[:s.tagLen]) == tag
}

// Len returns the number of data elements after the tag.
func (s Segment) Len() int {
	n, raw, in := 0, s.Raw(), s.sh()
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == in.rel && in.rel != 0:
			i++
		case c == in.el:
			n++
		}
	}
	return n
}

// Element returns data element i (1-based, as in NAD01; 0 is the tag), still
// escaped; nil when the segment has fewer elements.
func (s Segment) Element(i int) []byte {
	in := s.sh()
	return field(s.Raw(), in.el, in.rel, i+1)
}

// Component returns component j (1-based) of element i, still escaped; a
// simple element is its own first component.
func (s Segment) Component(i, j int) []byte {
	e := s.Element(i)
	if e == nil {
		return nil
	}
	return field(e, s.in.comp, s.in.rel, j)
}

// Text returns component j of element i unescaped and decoded to UTF-8 by the
// interchange's character set; j = 0 means the whole element. It allocates
// only when the value holds a release character or non-ASCII Latin-1 text.
func (s Segment) Text(i, j int) string {
	var b []byte
	if j == 0 {
		b = s.Element(i)
	} else {
		b = s.Component(i, j)
	}
	in := s.sh()
	return decode(b, in.rel, in.charset)
}

// texts sets out[k] to Text(i, k+1) for every k, in one pass over element i.
func (s Segment) texts(i int, out []string) {
	clear(out)
	e := s.Element(i)
	if e == nil {
		return
	}
	in := s.sh()
	start, k := 0, 0
	for x := 0; x < len(e) && k < len(out); x++ {
		c := e[x]
		if c == in.comp {
			out[k] = decode(e[start:x:x], in.rel, in.charset)
			k++
			start = x + 1
		} else if c == in.rel && in.rel != 0 {
			x++
		}
	}
	if k < len(out) {
		out[k] = decode(e[start:len(e):len(e)], in.rel, in.charset)
	}
}

// All yields the escaped data elements after the tag with their positions,
// in one pass over the segment.
func (s Segment) All() iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		b, in := s.Raw(), s.sh()
		i, start := 0, -1
		for k := 0; k < len(b); k++ {
			c := b[k]
			if c == in.rel && in.rel != 0 {
				k++
				continue
			}
			if c != in.el {
				continue
			}
			if start >= 0 && !yield(i, b[start:k:k]) {
				return
			}
			i++
			start = k + 1
		}
		if start >= 0 {
			yield(i, b[start:len(b):len(b)])
		}
	}
}

// field returns the n-th (1-based) part of b split at sep, skipping released
// characters (rel 0: none; rel is never sep, UNA refuses repeated service
// characters).
func field(b []byte, sep, rel byte, n int) []byte {
	start, k := 0, 1
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == sep {
			if k == n {
				return b[start:i:i]
			}
			k++
			start = i + 1
		} else if c == rel && rel != 0 {
			i++
		}
	}
	if k == n {
		return b[start:len(b):len(b)]
	}
	return nil
}

// decode unescapes b and converts it to UTF-8.
func decode(b []byte, rel byte, cs Charset) string {
	plain := true
	for _, c := range b {
		if (c == rel && rel != 0) || (c >= 0x80 && cs == CharsetLatin1) {
			plain = false
			break
		}
	}
	if plain {
		return bstr(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == rel && rel != 0 {
			if i+1 >= len(b) {
				break
			}
			i++
			c = b[i]
		}
		if c >= 0x80 && cs == CharsetLatin1 {
			sb.WriteRune(rune(c))
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func validUTF8(b []byte) bool { return utf8.Valid(b) }
