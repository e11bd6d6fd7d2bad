package x12

import (
	"bytes"
	"fmt"
	"github.com/supplywatch/supplywatch/b2b/edi"
	"unicode/utf8"
)

// isaWidths are the fixed widths of ISA01..ISA16.
var isaWidths = [16]int{2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1}

// Scanner splits an input into segments, reading new delimiters at every ISA.
// It is the streaming layer under Parse: it checks segment syntax but not the
// envelopes. Use it as
//
//	sc := x12.NewScanner(data, x12.Limits{})
//	for sc.Next() {
//		seg := sc.Segment()
//		for _, e := range sc.Issues() { … }
//	}
//	if err := sc.Err(); err != nil { … }
type Scanner struct {
	data    []byte
	pos     int
	lim     Limits
	d       Delimiters
	seg     Segment
	in      *input
	ordinal int // within the current interchange
	count   int // segments in the whole input
	issues  []*Error
	err     *Error
	started bool
	env     bool // the current segment is an envelope segment
}

// NewScanner returns a scanner over data. A UTF-8 byte order mark and leading
// white space are skipped.
func NewScanner(data []byte, lim Limits) *Scanner {
	lim = lim.WithDefaults()
	s := &Scanner{data: data, lim: lim}
	if len(data) > lim.MaxBytes {
		s.err = &Error{Kind: KindLimit, Offset: -1, Reason: fmt.Sprintf("input of %d bytes exceeds the limit of %d", len(data), lim.MaxBytes)}
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		s.pos = 3
	}
	return s
}

// Delimiters returns the delimiters of the current interchange.
func (s *Scanner) Delimiters() Delimiters { return s.d }

// Segment returns the current segment.
func (s *Scanner) Segment() Segment { return s.seg }

// Issues returns the non-fatal problems of the current segment (without
// envelope context); the slice is reused by the next call to Next.
func (s *Scanner) Issues() []*Error { return s.issues }

// Err returns the error that stopped the scanner, or nil at the end of input.
func (s *Scanner) Err() error {
	if s.err == nil {
		return nil
	}
	return s.err
}

func (s *Scanner) fail(kind Kind, off int, format string, args ...any) bool {
	s.err = &Error{Kind: kind, Segment: s.ordinal + 1, Offset: off, Reason: fmt.Sprintf(format, args...)}
	return false
}

func (s *Scanner) issue(kind Kind, elem int, format string, args ...any) {
	s.issues = append(s.issues, &Error{Kind: kind, Segment: s.seg.Ordinal(), Tag: s.seg.Tag(), Offset: s.seg.Offset(), Element: elem, Reason: fmt.Sprintf(format, args...)})
}

// skipSpace skips the line breaks, blanks and padding allowed after a
// terminator (and at the end of input) unless they are delimiters.
func (s *Scanner) skipSpace() {
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c > ' ' { // the usual case: a tag follows the terminator
			return
		}
		// A line break that is the terminator ends an empty segment (a
		// blank line, e.g. after IEA): nothing to read, so it is skipped too.
		if (c == '\n' || c == '\r' || c == ' ' || c == '\t' || c == 0 || c == 0x1a) && (c != s.d.Segment || c == '\n' || c == '\r') && c != s.d.Element {
			s.pos++
			continue
		}
		return
	}
}

// Next advances to the next segment. It returns false at the end of input or
// on a fatal error (see Err).
func (s *Scanner) Next() bool {
	if s.err != nil {
		return false
	}
	if len(s.issues) > 0 {
		s.issues = s.issues[:0]
	}
	s.skipSpace()
	data := s.data
	start := s.pos
	if start >= len(data) {
		if !s.started {
			return s.fail(KindSyntax, 0, "no ISA segment: input is empty")
		}
		return false
	}
	if s.count >= s.lim.MaxSegments {
		return s.fail(KindLimit, start, "more than %d segments", s.lim.MaxSegments)
	}
	if start+3 <= len(data) && data[start] == 'I' && data[start+1] == 'S' && data[start+2] == 'A' {
		return s.readISA()
	}
	if !s.started {
		return s.fail(KindSyntax, start, "input does not start with an ISA segment")
	}
	term := s.d.Segment
	// One pass finds the terminator, or a line break before it (a glued or
	// mixed-terminator segment: rare, handled below).
	k := edi.IndexEither(data, start, term, '\n')
	nl := false
	if k >= 0 && data[k] != term {
		nl = true
		if j := bytes.IndexByte(data[k+1:], term); j >= 0 {
			k += 1 + j
		} else {
			k = -1
		}
	}
	end := k
	if k < 0 {
		end = len(data)
		for end > start && edi.IsSpace(data[end-1]) {
			end--
		}
	}
	raw := data[start:end]
	if term == '\n' && len(raw) > 0 && raw[len(raw)-1] == '\r' {
		raw = raw[:len(raw)-1]
	}
	s.ordinal++
	s.count++
	tl := tagEnd(raw, s.d.Element)
	// Field by field: s.seg.in is already s.in (set by readISA), and scalar
	// stores need no write barrier.
	s.seg.start, s.seg.end, s.seg.ord, s.seg.tagLen = uint32(start), uint32(start+len(raw)), uint32(s.ordinal), tl
	s.env = isEnvelopeTag(raw, tl)
	if k < 0 {
		s.pos = len(data)
		if term != '\n' && term != '\r' {
			s.issue(KindUnterminated, 0, "last segment is not terminated by %q", term)
		}
	} else {
		s.pos = k + 1
	}
	if nl || tl < 2 || tl > 3 || !edi.UpperAlnum(raw[:tl]) || len(raw) > s.lim.MaxElementLen {
		s.checkSegment()
	}
	return true
}

// isEnvelopeTag reports whether raw starts with the tag of an envelope
// segment (ISA, IEA, GS, GE, ST, SE): the segments the parser must look at;
// the others are only stored.
func isEnvelopeTag(raw []byte, tl uint8) bool {
	switch tl {
	case 2:
		a, b := raw[0], raw[1]
		return a == 'G' && (b == 'S' || b == 'E') || a == 'S' && (b == 'T' || b == 'E')
	case 3:
		return raw[0] == 'I' && (raw[1] == 'S' && raw[2] == 'A' || raw[1] == 'E' && raw[2] == 'A')
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z'
}

// checkSegment checks the tag, line breaks and element lengths of s.seg.
func (s *Scanner) checkSegment() {
	raw := s.seg.Raw()
	tag := raw[:s.seg.tagLen]
	if len(tag) < 2 || len(tag) > 3 || !edi.UpperAlnum(tag) {
		s.issue(KindBadTag, 0, "invalid segment identifier %q", edi.Clip(tag))
	}
	if s.d.Segment != '\n' {
		if k := bytes.IndexByte(raw, '\n'); k >= 0 {
			elem := bytes.Count(raw[:k], []byte{s.d.Element})
			p := k
			for p > 0 && (raw[p-1] == '\r' || raw[p-1] == '\n') {
				p--
			}
			if p > 0 && !isAlnum(raw[p-1]) && raw[p-1] != ' ' {
				s.issue(KindLineBreak, elem, "line break after %q inside the segment: mixed segment terminators (the ISA declares %q), segments are glued together", raw[p-1], s.d.Segment)
			} else {
				s.issue(KindLineBreak, elem, "line break inside the segment (the ISA declares terminator %q)", s.d.Segment)
			}
		}
	}
	if len(raw) > s.lim.MaxElementLen {
		for i, e := range s.seg.All() {
			if len(e) > s.lim.MaxElementLen {
				s.issue(KindLimit, i, "element of %d bytes exceeds the limit of %d", len(e), s.lim.MaxElementLen)
				break
			}
		}
	}
}

// ascii reports whether b is 7-bit.
func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// nonBasic returns the index of the first byte of b outside the printable
// ASCII range (X12 basic and extended character sets), or -1.
func nonBasic(b []byte) int {
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			return i
		}
	}
	return -1
}

// readISA reads the delimiters from the ISA at s.pos: the element separator is
// the byte after "ISA", ISA16 (the component separator) follows the 16th
// element separator and the segment terminator follows ISA16. Counting
// separators rather than trusting offsets 103-105 reads an ISA whose fixed-width
// fields were trimmed or padded wrongly; that is reported as an issue.
func (s *Scanner) readISA() bool {
	start := s.pos
	d := s.data[start:]
	if len(d) < 4 {
		return s.fail(KindSyntax, start, "ISA segment is truncated")
	}
	el := d[3]
	if isAlnum(el) || edi.IsSpace(el) {
		return s.fail(KindSyntax, start, "ISA element separator %q is a letter, digit or white space", el)
	}
	var seps [16]int
	n := 0
	for p := 3; p < len(d) && p < 400 && n < 16; p++ {
		if d[p] == el {
			seps[n] = p
			n++
		}
	}
	if n < 16 || seps[15]+2 >= len(d) {
		return s.fail(KindSyntax, start, "ISA segment is truncated: %d of 16 elements and the terminator found", n)
	}
	comp := d[seps[15]+1]
	term := d[seps[15]+2]
	if comp == el || term == el || term == comp || isAlnum(comp) || isAlnum(term) || term == ' ' {
		return s.fail(KindSyntax, start, "ISA delimiters are not usable: element %q, component %q, terminator %q", el, comp, term)
	}
	isaLen := seps[15] + 3 // ISA through terminator
	s.d = Delimiters{Element: el, Component: comp, Segment: term}
	s.started = true
	s.ordinal = 1
	s.count++
	raw := d[:seps[15]+2]
	s.in = &input{data: s.data, el: el, comp: comp}
	s.seg = Segment{in: s.in, start: uint32(start), end: uint32(start + len(raw)), ord: 1, tagLen: 3}
	s.env = true
	s.pos = start + len(raw) + 1
	// Widths: report every field off its fixed width, once. Widths count
	// characters, not bytes, so that a multi-byte padding character is
	// reported for what it is (below), not as a field too long.
	if isaLen != 106 || !ascii(raw) {
		var b bytes.Buffer
		off := false
		for i := 0; i < 16; i++ {
			end := len(raw)
			if i < 15 {
				end = seps[i+1]
			}
			if w := utf8.RuneCount(raw[seps[i]+1 : end]); w != isaWidths[i] {
				fmt.Fprintf(&b, "; ISA%02d is %d characters, not %d", i+1, w, isaWidths[i])
				off = true
			}
		}
		if off {
			s.issue(KindISAFormat, 0, "ISA is not fixed-width (%d bytes instead of 106)%s", isaLen, b.String())
		}
	}
	for i := 0; i < 16; i++ {
		end := len(raw)
		if i < 15 {
			end = seps[i+1]
		}
		f := raw[seps[i]+1 : end]
		if k := bytes.IndexAny(f, "\r\n"); k >= 0 {
			s.issue(KindLineBreak, i+1, "line break inside the ISA (at byte %d): the ISA must be one segment on one line", start+seps[i]+1+k)
			continue
		}
		if k := nonBasic(f); k >= 0 {
			r, _ := utf8.DecodeRune(f[k:])
			what := fmt.Sprintf("U+%04X %q", r, r)
			if r == utf8.RuneError {
				what = fmt.Sprintf("byte 0x%02X", f[k])
			}
			s.issue(KindInvalidValue, i+1, "ISA%02d holds %s (at byte %d), a character outside the X12 character set", i+1, what, start+seps[i]+1+k)
		}
	}
	ver := s.seg.Element(12)
	if len(ver) == 5 && string(ver) >= "00402" {
		rep := s.seg.Element(11)
		if len(rep) == 1 && !isAlnum(rep[0]) && rep[0] != ' ' && rep[0] != el && rep[0] != comp && rep[0] != term {
			s.d.Repetition = rep[0]
			s.in.rep = rep[0]
		} else {
			s.issue(KindInvalidValue, 11, "ISA11 %q is not a usable repetition separator for version %s", edi.Clip(rep), ver)
		}
	}
	return true
}
