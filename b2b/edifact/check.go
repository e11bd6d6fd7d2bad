package edifact

// checkData checks the section control segment UNS (a service segment) and the
// formats of a few data elements whose definitions are the same in every
// UN/EDIFACT directory from D.93A on: the qualifiers (an..3) and the numeric
// values (n..) of the segments every procurement message uses. The message
// structures (which segment where, code lists) belong to the mappers.
func (p *parser) checkData(seg Segment, tag string) {
	switch tag {
	case "UNS":
		p.checkUNS(seg)
	case "NAD":
		p.code(seg, 1, 1, "party function code qualifier (3035)")
	case "QTY":
		p.code(seg, 1, 1, "quantity type code qualifier (6063)")
		p.number(seg, 1, 2, 35, "quantity (6060)")
	case "PRI":
		p.code(seg, 1, 1, "price code qualifier (5125)")
		p.number(seg, 1, 2, 15, "price amount (5118)")
	case "MOA":
		p.code(seg, 1, 1, "monetary amount type code qualifier (5025)")
		p.number(seg, 1, 2, 35, "monetary amount (5004)")
	case "DTM":
		p.code(seg, 1, 1, "date or time or period function code qualifier (2005)")
	case "RFF":
		p.code(seg, 1, 1, "reference code qualifier (1153)")
	case "CNT":
		p.code(seg, 1, 1, "control total type code qualifier (6069)")
		p.number(seg, 1, 2, 18, "control total value (6066)")
	case "CUX":
		p.code(seg, 1, 1, "currency usage code qualifier (6347)")
	case "TAX":
		p.code(seg, 1, 0, "duty or tax or fee function code qualifier (5283)")
	case "ALC":
		p.code(seg, 1, 0, "allowance or charge code qualifier (5463)")
	}
}

// checkUNS checks UNS01 (D or S) and that each section separator occurs once.
func (p *parser) checkUNS(seg Segment) {
	pos := seg.Ordinal() - p.segs[p.msgStart].Ordinal() + 1
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

// code checks a coded qualifier: at most three upper-case letters or digits.
func (p *parser) code(seg Segment, i, j int, what string) {
	var v []byte
	if j == 0 {
		v = seg.Element(i)
	} else {
		v = seg.Component(i, j)
	}
	if len(v) == 0 {
		return
	}
	if len(v) > 3 || !isAlnumUpper(v) {
		p.errorf(KindInvalidValue, seg, i, j, "%s %q is not a code of up to 3 letters or digits", what, clip(v))
	}
}

// number checks a numeric data element: digits with at most one decimal mark
// ('.' or ','), an optional leading minus sign and at most max digits.
func (p *parser) number(seg Segment, i, j, max int, what string) {
	v := seg.Component(i, j)
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
			p.errorf(KindInvalidValue, seg, i, j, "%s %q is not numeric", what, clip(v))
			return
		}
	}
	if marks > 1 || n == 0 {
		p.errorf(KindInvalidValue, seg, i, j, "%s %q is not numeric", what, clip(v))
		return
	}
	if n > max {
		p.errorf(KindInvalidValue, seg, i, j, "%s %q has more than %d digits", what, clip(v), max)
	}
}
