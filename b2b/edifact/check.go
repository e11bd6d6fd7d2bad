package edifact

import "github.com/supplywatch/supplywatch/b2b/edi"

// checkData checks the section control segment UNS (a service segment) and the
// formats of a few data elements whose definitions are the same in every
// UN/EDIFACT directory from D.93A on: the qualifiers (an..3) and the numeric
// values (n..) of the segments every procurement message uses. The message
// structures (which segment where, code lists) belong to the mappers.
func (p *parser) checkData(seg Segment) {
	in := seg.in
	if seg.tagLen != 3 || in == nil {
		return
	}
	raw := in.data[seg.start:seg.end:seg.end]
	switch tag3(raw) {
	case tUNS:
		p.checkUNS(seg)
	case tNAD:
		p.code(seg, raw, 1, "party function code qualifier (3035)")
	case tQTY:
		p.codeNumber(seg, raw, "quantity type code qualifier (6063)", 35, "quantity (6060)")
	case tPRI:
		p.codeNumber(seg, raw, "price code qualifier (5125)", 15, "price amount (5118)")
	case tMOA:
		p.codeNumber(seg, raw, "monetary amount type code qualifier (5025)", 35, "monetary amount (5004)")
	case tDTM:
		p.code(seg, raw, 1, "date or time or period function code qualifier (2005)")
	case tRFF:
		p.code(seg, raw, 1, "reference code qualifier (1153)")
	case tCNT:
		p.codeNumber(seg, raw, "control total type code qualifier (6069)", 18, "control total value (6066)")
	case tCUX:
		p.code(seg, raw, 1, "currency usage code qualifier (6347)")
	case tTAX:
		p.code(seg, raw, 0, "duty or tax or fee function code qualifier (5283)")
	case tALC:
		p.code(seg, raw, 0, "allowance or charge code qualifier (5463)")
	}
}

// tag3 packs the first three bytes of raw (a tag of three) for a switch.
func tag3(raw []byte) uint32 { return uint32(raw[0])<<16 | uint32(raw[1])<<8 | uint32(raw[2]) }

// The tags checkData knows, packed as tag3 packs them (constants, so that the
// switch compiles to a jump table or binary search).
const (
	tUNS = 'U'<<16 | 'N'<<8 | 'S'
	tNAD = 'N'<<16 | 'A'<<8 | 'D'
	tQTY = 'Q'<<16 | 'T'<<8 | 'Y'
	tPRI = 'P'<<16 | 'R'<<8 | 'I'
	tMOA = 'M'<<16 | 'O'<<8 | 'A'
	tDTM = 'D'<<16 | 'T'<<8 | 'M'
	tRFF = 'R'<<16 | 'F'<<8 | 'F'
	tCNT = 'C'<<16 | 'N'<<8 | 'T'
	tCUX = 'C'<<16 | 'U'<<8 | 'X'
	tTAX = 'T'<<16 | 'A'<<8 | 'X'
	tALC = 'A'<<16 | 'L'<<8 | 'C'
)

// element1 returns data element 1 of raw (a segment of in with a tag of
// three) and its first two components (escaped) in one pass. With
// firstOnly it stops at the end of component 1 and e is not set.
func element1(raw []byte, in *input, firstOnly bool) (e, c1, c2 []byte) {
	b := raw
	rel, el, comp := in.rel, in.el, in.comp
	// Skip the tag (element 0): checkData's tags are three letters, which
	// are never service characters.
	i := 0
	if len(b) > 3 && b[3] == el {
		i = 3
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c == rel && rel != 0 {
			i++
			continue
		}
		if c == el {
			break
		}
	}
	if i >= len(b) {
		return nil, nil, nil
	}
	b = b[i+1:]
	end, k1, k2 := len(b), -1, -1 // element end, end of component 1, end of component 2
	for i = 0; i < len(b); i++ {
		c := b[i]
		if c == rel && rel != 0 {
			i++
			continue
		}
		if c == el {
			end = i
			break
		}
		if c == comp {
			if k1 < 0 {
				if firstOnly {
					return nil, b[:i:i], nil
				}
				k1 = i
			} else if k2 < 0 {
				k2 = i
			}
		}
	}
	e = b[:end:end]
	if k1 < 0 {
		return e, e, nil
	}
	if k2 < 0 {
		k2 = end
	}
	return e, b[:k1:k1], b[k1+1 : k2 : k2]
}

// validFast reports whether element 1 of raw (tag of three, then the element
// separator) starts with a valid qualifier (up to three upper-case letters or
// digits, or empty) and, when max >= 0, continues with a valid number of at
// most max digits as component 2 (or none): the common case, checked in one
// loop without slicing. false means "look closer" (a bad value, a release
// character, an unusual shape); the precise checks then report what is wrong.
func validFast(raw []byte, in *input, max int) bool {
	if len(raw) < 4 || raw[3] != in.el {
		return len(raw) == 3 // no element 1: nothing to check
	}
	el, comp, rel := in.el, in.comp, in.rel
	i, n := 4, 0
	for ; i < len(raw); i++ { // the qualifier
		c := raw[i]
		if c == comp || c == el {
			break
		}
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') || n == 3 {
			return false
		}
		n++
	}
	if max < 0 || i == len(raw) || raw[i] == el {
		return true
	}
	digits, marks, k := 0, 0, 0
	for i++; i < len(raw); i++ { // the number
		c := raw[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == comp || c == el:
			return (k == 0 || digits > 0) && marks <= 1 && digits <= max
		case c == '.' || c == ',':
			marks++
		case c == '-' && k == 0:
		default:
			return false
		}
		k++
		if c == rel && rel != 0 {
			return false
		}
	}
	return (k == 0 || digits > 0) && marks <= 1 && digits <= max
}

// codeNumber checks the qualifier (component 1) and the numeric value
// (component 2) of element 1: QTY, PRI, MOA, CNT.
func (p *parser) codeNumber(seg Segment, raw []byte, codeWhat string, max int, numWhat string) {
	if validFast(raw, seg.in, max) {
		return
	}
	_, c1, c2 := element1(raw, seg.in, false)
	p.codeValue(seg, 1, 1, c1, codeWhat)
	p.numberValue(seg, 1, 2, max, c2, numWhat)
}

// checkUNS checks UNS01 (D or S) and that each section separator occurs once.
func (p *parser) checkUNS(seg Segment) {
	pos := p.d.UnitPos(seg)
	id := seg.Text(1, 0)
	k := 0
	switch id {
	case "D":
	case "S":
		k = 1
	default:
		p.errorf(KindInvalidValue, seg, 1, 0, "section identification %q is not D or S", id)
		return
	}
	if p.uns[k] != 0 {
		p.errorf(KindSegmentRepeated, seg, 0, 0, "UNS+%s repeats the section control of segment %d: a message has one", id, p.uns[k])
		return
	}
	p.uns[k] = pos
}

// code checks a coded qualifier in element 1 (j = 0) or its component 1 (j =
// 1): at most three upper-case letters or digits.
func (p *parser) code(seg Segment, raw []byte, j int, what string) {
	if j == 1 && validFast(raw, seg.in, -1) {
		return
	}
	e, c1, _ := element1(raw, seg.in, j == 1)
	v := c1
	if j == 0 {
		v = e
	}
	p.codeValue(seg, 1, j, v, what)
}

func (p *parser) codeValue(seg Segment, i, j int, v []byte, what string) {
	if len(v) == 0 {
		return
	}
	if len(v) > 3 || !edi.UpperAlnum(v) {
		p.errorf(KindInvalidValue, seg, i, j, "%s %q is not a code of up to 3 letters or digits", what, edi.Clip(v))
	}
}

// numberValue checks a numeric data element: digits with at most one decimal
// mark ('.' or ','), an optional leading minus sign and at most max digits.
func (p *parser) numberValue(seg Segment, i, j, max int, v []byte, what string) {
	if len(v) == 0 {
		return
	}
	n, marks := 0, 0
	for k, c := range v {
		switch {
		case c >= '0' && c <= '9':
			n++
		case c == '-' && k == 0:
		case c == '.' || c == ',':
			marks++
		default:
			p.errorf(KindInvalidValue, seg, i, j, "%s %q is not numeric", what, edi.Clip(v))
			return
		}
	}
	if marks > 1 || n == 0 {
		p.errorf(KindInvalidValue, seg, i, j, "%s %q is not numeric", what, edi.Clip(v))
		return
	}
	if n > max {
		p.errorf(KindInvalidValue, seg, i, j, "%s %q has more than %d digits", what, edi.Clip(v), max)
	}
}
