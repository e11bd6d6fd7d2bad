package edifact

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/supplywatch/supplywatch/b2b/edi"
)

// Scanner splits an input into segments, reading a UNA before each interchange
// and falling back to the default separators after every UNZ. It is the
// streaming layer under Parse: it checks segment syntax, not the envelopes.
//
//	sc := edifact.NewScanner(data, edifact.Limits{})
//	for sc.Next() {
//		seg := sc.Segment()
//		for _, e := range sc.Issues() { … }
//	}
//	if err := sc.Err(); err != nil { … }
type Scanner struct {
	data      []byte
	pos       int
	lim       Limits
	d         Delimiters
	una       bool // the current interchange has a UNA
	charset   Charset
	ascii     bool // UNOA/UNOB: report non-ASCII bytes once
	reported  bool
	syntaxID  string
	seg       Segment
	in        *input
	ordinal   int
	count     int
	issues    []*Error
	err       *Error
	started   bool
	resetNext bool
	service   bool // the current segment's tag starts with UN (UNB, UNH, UNS …)
}

// NewScanner returns a scanner over data. A UTF-8 byte order mark and white
// space between segments are skipped.
func NewScanner(data []byte, lim Limits) *Scanner {
	lim = lim.WithDefaults()
	s := &Scanner{data: data, lim: lim, d: DefaultDelimiters()}
	s.d.Repetition = 0
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

// Charset returns the character set of the current interchange.
func (s *Scanner) Charset() Charset { return s.charset }

// HasUNA reports whether the current interchange started with a UNA.
func (s *Scanner) HasUNA() bool { return s.una }

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

func (s *Scanner) skipSpace() {
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c > ' ' { // the usual case: a tag follows the terminator
			return
		}
		if edi.IsSpace(c) && c != s.d.Segment && c != s.d.Element && c != s.d.Component {
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
	if s.resetNext {
		s.d, s.una, s.charset, s.ascii, s.reported = DefaultDelimiters(), false, CharsetASCII, false, false
		s.d.Repetition = 0
		s.resetNext = false
		s.in = nil
	}
	s.skipSpace()
	if s.pos >= len(s.data) {
		if !s.started {
			return s.fail(KindSyntax, 0, "no UNB segment: input is empty")
		}
		return false
	}
	if s.count >= s.lim.MaxSegments {
		return s.fail(KindLimit, s.pos, "more than %d segments", s.lim.MaxSegments)
	}
	if d := s.data[s.pos:]; len(d) >= 3 && d[0] == 'U' && d[1] == 'N' && d[2] == 'A' {
		if !s.readUNA() {
			return false
		}
		s.skipSpace()
	}
	s.started = true
	start := s.pos
	end, p := -1, start
	// One pass finds the terminator and notes a line feed or a byte >= 0x80
	// before it: the only segments checkMerged must look at.
	suspect := false
	for {
		k := edi.IndexStop(s.data, p, s.d.Segment)
		if k < 0 {
			break
		}
		if c := s.data[k]; c != s.d.Segment {
			suspect = true
			p = k + 1
			continue
		}
		if s.d.Release != 0 {
			n := 0
			for q := k - 1; q >= start && s.data[q] == s.d.Release; q-- {
				n++
			}
			if n%2 == 1 { // released terminator: part of the data
				p = k + 1
				continue
			}
		}
		end = k
		break
	}
	terminated := end >= 0
	if !terminated {
		end = len(s.data)
		for end > start && edi.IsSpace(s.data[end-1]) {
			end--
		}
	}
	s.ordinal++
	s.count++
	raw := s.data[start:end]
	if s.in == nil {
		s.newInput()
		s.seg.in = s.in
	}
	tl := tagEnd(raw, s.d.Element, s.d.Component)
	// Field by field: s.seg.in only changes with s.in, and scalar stores
	// need no write barrier.
	s.seg.start, s.seg.end, s.seg.ord, s.seg.tagLen = uint32(start), uint32(end), uint32(s.ordinal), tl
	if terminated {
		s.pos = end + 1
	} else {
		s.pos = len(s.data)
		s.issue(KindUnterminated, 0, "last segment is not terminated by %q", s.d.Segment)
	}
	s.service = tl == 3 && raw[0] == 'U' && raw[1] == 'N'
	if s.service {
		switch raw[2] {
		case 'B':
			s.readUNB()
		case 'Z':
			s.resetNext = true
		}
	}
	if tl != 3 || !edi.UpperAlnum(raw[:3]) || s.ascii && !s.reported || len(raw) > s.lim.MaxElementLen {
		s.checkSegment()
	}
	if suspect {
		s.checkMerged(raw)
	}
	return true
}

// lookAlikes are characters senders' tools put in place of the apostrophe
// terminator (UTF-8, then single-byte Windows-1252 / ISO 8859-1).
var lookAlikes = []struct {
	b    string
	name string
}{
	{"\u2019", "U+2019 right single quotation mark"}, {"\u2018", "U+2018 left single quotation mark"},
	{"\u2032", "U+2032 prime"}, {"\u00b4", "U+00B4 acute accent"},
	{"\x92", "byte 0x92 (Windows-1252 right single quotation mark)"}, {"\x91", "byte 0x91 (Windows-1252 left single quotation mark)"},
	{"\xb4", "byte 0xB4 (ISO 8859-1 acute accent)"},
}

// checkMerged looks for the signs of a lost terminator in a segment: a line
// break or a terminator look-alike followed by what reads as a segment tag
// (the segments that follow were merged into this one), and, under UNOC, C1
// control bytes (0x80-0x9F: no ISO 8859-1 character; often a Windows-1252
// quotation mark standing in for the terminator).
func (s *Scanner) checkMerged(raw []byte) {
	el := s.d.Element
	elemAt := func(k int) int { return bytes.Count(raw[:k], []byte{el}) }
	if s.d.Segment == '\'' {
		for _, la := range lookAlikes {
			if len(la.b) == 1 && s.charset == CharsetUTF8 {
				continue // a lone byte >= 0x80 is not UTF-8 text: reported as such
			}
			if k := bytes.Index(raw, []byte(la.b)); k >= 0 {
				if tag, ok := s.tagAt(raw, k+len(la.b)); ok {
					s.issue(KindMergedSegments, elemAt(k), "%s followed by %s inside the segment (at byte %d): it stands in for the segment terminator \"'\", so segments are merged", la.name, tag, s.seg.Offset()+k)
					return
				}
			}
		}
	}
	if s.d.Segment != '\n' {
		for k := bytes.IndexByte(raw, '\n'); k >= 0; {
			if tag, ok := s.tagAt(raw, k+1); ok {
				s.issue(KindMergedSegments, elemAt(k), "line break followed by %s inside the segment (at byte %d): the segment terminator %q before it is missing, so segments are merged", tag, s.seg.Offset()+k, s.d.Segment)
				break
			}
			j := bytes.IndexByte(raw[k+1:], '\n')
			if j < 0 {
				break
			}
			k += 1 + j
		}
	}
	if s.charset == CharsetLatin1 {
		for k, c := range raw {
			if c >= 0x80 && c <= 0x9f {
				s.issue(KindInvalidCharacter, elemAt(k), "byte 0x%02X (at byte %d) is a C1 control character, not a character of UNOC (ISO 8859-1)", c, s.seg.Offset()+k)
				return
			}
		}
	}
}

// tagAt reports whether raw at i (after blanks and line breaks) starts
// with a segment tag: three upper-case letters or digits followed by the
// element separator or the end of the segment.
func (s *Scanner) tagAt(raw []byte, i int) (string, bool) {
	for i < len(raw) && (raw[i] == '\r' || raw[i] == '\n' || raw[i] == ' ') {
		i++
	}
	if i+3 > len(raw) || !edi.UpperAlnum(raw[i:i+3]) || raw[i] < 'A' {
		return "", false
	}
	if i+3 < len(raw) && raw[i+3] != s.d.Element {
		return "", false
	}
	return string(raw[i : i+3]), true
}

// readUNA reads the six service characters after "UNA".
func (s *Scanner) readUNA() bool {
	if len(s.data)-s.pos < 9 {
		return s.fail(KindSyntax, s.pos, "UNA service string advice is truncated")
	}
	u := s.data[s.pos+3 : s.pos+9]
	d := Delimiters{Component: u[0], Element: u[1], Decimal: u[2], Release: u[3], Repetition: u[4], Segment: u[5]}
	if d.Release == ' ' {
		d.Release = 0
	}
	if d.Repetition == ' ' {
		d.Repetition = 0
	}
	if d.Decimal != '.' && d.Decimal != ',' {
		return s.fail(KindSyntax, s.pos, "UNA decimal mark %q is neither '.' nor ','", d.Decimal)
	}
	seen := map[byte]bool{}
	for _, c := range []byte{d.Component, d.Element, d.Release, d.Repetition, d.Segment} {
		if c == 0 {
			continue
		}
		if seen[c] || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' {
			return s.fail(KindSyntax, s.pos, "UNA service characters %q are not usable (letters, digits or repeated)", u)
		}
		seen[c] = true
	}
	s.d, s.una = d, true
	s.in = nil
	s.pos += 9
	return true
}

// newInput starts a new set of shared segment settings.
func (s *Scanner) newInput() {
	s.in = &input{data: s.data, el: s.d.Element, comp: s.d.Component, rel: s.d.Release, rep: s.d.Repetition, charset: s.charset}
}

// readUNB takes the character set and, for syntax 4 without UNA, the
// repetition separator from UNB01.
func (s *Scanner) readUNB() {
	id := s.seg.Component(1, 1)
	s.syntaxID = string(id)
	switch string(id) {
	case "UNOA", "UNOB":
		s.charset, s.ascii = CharsetASCII, true
	case "UNOC":
		s.charset = CharsetLatin1
	case "UNOW", "UNOY":
		s.charset = CharsetUTF8
	default:
		s.charset = CharsetASCII
		if len(id) == 4 && bytes.HasPrefix(id, []byte("UNO")) {
			s.issue(KindCharset, 1, "syntax identifier %s: text is passed through undecoded", id)
		} else if len(id) > 0 {
			// Identifiers of other agencies (IATA's IATB, KECA …) are in
			// use; a lenient reader passes their text through.
			s.issue(KindCharset, 1, "syntax identifier %q is not a UN/ECE level (UNOx): text is passed through undecoded", edi.Clip(id))
		}
	}
	if v := s.seg.Component(1, 2); string(v) == "4" && !s.una {
		s.d.Repetition = '*'
	}
	s.newInput()
	s.seg.in = s.in
}

// checkSegment checks the tag, the repertoire and element lengths of s.seg.
func (s *Scanner) checkSegment() {
	raw := s.seg.Raw()
	tag := raw[:s.seg.tagLen]
	if len(tag) != 3 || !edi.UpperAlnum(tag) {
		s.issue(KindBadTag, 0, "invalid segment tag %q", edi.Clip(tag))
	}
	if s.ascii && !s.reported {
		if k := nonASCII(raw); k >= 0 {
			s.reported = true
			elem := bytes.Count(raw[:k], []byte{s.d.Element})
			what := "bytes"
			if validUTF8(raw) {
				what = "UTF-8 text"
			}
			s.issue(KindCharset, elem, "%s outside the %s repertoire declared by UNB (first at byte %d; reported once per interchange)", what, s.syntaxID, s.seg.Offset()+k)
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

// nonASCII returns the index of the first byte ≥ 0x80, or -1; eight bytes at a time.
func nonASCII(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return i
		}
	}
	return -1
}
