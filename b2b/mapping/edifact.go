package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/b2b/edifact"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/procure"
)

// EDIFACT maps the messages of one interchange for partner p. Messages that
// the tokenizer reported an error for give no event (the CONTRL rejects
// them); their mapping rejections are still returned, so that one defect
// does not hide another.
func EDIFACT(p *partner.Profile, ic *edifact.Interchange, syntaxErrs []*edifact.Error, opt Options) Output {
	var out Output
	bad := map[string][]*edifact.Error{}
	for _, e := range syntaxErrs {
		if e.Interchange == ic.Control && e.Message != "" {
			bad[e.Message] = append(bad[e.Message], e)
		}
	}
	groupOf := map[int]string{}
	for _, g := range ic.Groups {
		for _, m := range g.Messages {
			if len(m.Segments) > 0 {
				groupOf[m.Segments[0].Offset()] = g.Reference
			}
		}
	}
	shared := &ediShared{prefs: p.ProductQualifiers(partner.EDIFACT)}
	for i := range ic.Messages {
		m := &ic.Messages[i]
		if len(m.Segments) == 0 {
			continue
		}
		c := &shared.msg // reused: nothing keeps a message's state after its turn
		*c = emsg{p: p, ic: ic, m: m, group: groupOf[m.Segments[0].Offset()], index: i + 1, opt: opt,
			dec: ic.Delimiters.Decimal, shared: shared}
		c.copy.setRange(m.Segments[0].Raw(), m.Segments[len(m.Segments)-1].Raw())
		evs, err := c.run()
		if errs, ok := bad[m.Reference]; ok {
			// Rejected by its syntax errors already; mapped all the same so
			// that a defect of its body (a missing BGM) is reported too and
			// one defect does not hide another, unless the segments
			// themselves are unreliable. Nothing else is kept.
			if err != nil {
				if pr := c.asProblem(err); diagnosableEDIFACT(errs, pr) {
					out.Rejections = append(out.Rejections, pr)
				}
			}
			continue
		}
		out.Warnings = append(out.Warnings, c.warnings...)
		out.Acknowledgements = append(out.Acknowledgements, c.acks...)
		if err != nil {
			out.Rejections = append(out.Rejections, c.asProblem(err))
			continue
		}
		out.Events = append(out.Events, evs...)
	}
	return out
}

// diagnosableEDIFACT reports whether the mapping problem pr of a message
// with syntax errors errs is worth reporting: the errors leave the
// segments intact (counts, references, values) and none names the same
// element.
func diagnosableEDIFACT(errs []*edifact.Error, pr *Problem) bool {
	for _, e := range errs {
		switch e.Kind {
		case edifact.KindBadTag, edifact.KindMergedSegments, edifact.KindUnexpectedSegment, edifact.KindLimit, edifact.KindSyntax:
			return false
		}
		if e.Segment == pr.Segment && e.Element == pr.Element {
			return false
		}
	}
	return true
}

// emsg is the mapping state of one message.
type emsg struct {
	p        *partner.Profile
	ic       *edifact.Interchange
	m        *edifact.Message
	group    string
	index    int
	opt      Options
	dec      byte
	warnings []*Problem
	acks     []FunctionalAck
	copy     unitCopy   // the message's bytes, for the strings its events keep
	shared   *ediShared // what the messages of one interchange share
}

// ediShared is the state the messages of one interchange share.
type ediShared struct {
	unit  unitCache
	prefs []string // product qualifier preference
	// The mapping state of the message being mapped and of the readers
	// whose state no event keeps: one allocation per interchange, not per
	// message or line.
	msg    emsg
	sched  schedule
	pack   packing
	contrl contrlDoc
}

func (c *emsg) base() *Problem {
	return &Problem{Standard: partner.EDIFACT, Partner: c.p.ID, Interchange: c.ic.Control, Group: c.group,
		Set: c.m.Reference, SetID: c.m.Type, Index: c.index}
}

func (c *emsg) problem(seg edifact.Segment, elem, comp int, field, value, format string, args ...any) *Problem {
	pr := c.base()
	if seg.Ordinal() > 0 {
		pr.Segment = seg.Ordinal() - c.m.Segments[0].Ordinal() + 1
		pr.Tag, pr.Element, pr.Component, pr.Offset = clone(seg.Tag()), elem, comp, seg.Offset()
	}
	pr.Field, pr.Value, pr.Reason = field, value, fmt.Sprintf(format, args...)
	return pr
}

func (c *emsg) warn(seg edifact.Segment, elem, comp int, field, format string, args ...any) {
	c.warnings = append(c.warnings, c.problem(seg, elem, comp, field, "", format, args...))
}

func (c *emsg) asProblem(err error) *Problem {
	var pr *Problem
	if errors.As(err, &pr) {
		return pr
	}
	pr = c.base()
	pr.Reason = err.Error()
	return pr
}

func (c *emsg) unmapped(seg edifact.Segment, elem, comp int, err error) *Problem {
	var ue *partner.UnmappedError
	if errors.As(err, &ue) {
		pr := c.problem(seg, elem, comp, ue.Field, ue.Code, "%s %q is not mapped for partner %s", ue.Kind, ue.Code, ue.Partner)
		pr.Unmapped, pr.Application = true, true
		return pr
	}
	return application(c.problem(seg, elem, comp, "", "", "%v", err))
}

// txt is component j of element i, unescaped, decoded and copied.
func (c *emsg) txt(seg edifact.Segment, i, j int) string { return c.copy.clone(seg.Text(i, j)) }

// code is component j of element i as written (codes never hold escapes),
// trimmed, in the message's copy (see unitCopy): no allocation per code.
func (c *emsg) code(seg edifact.Segment, i, j int) string {
	return c.copy.clone(alias(seg.Component(i, j)))
}

func (c *emsg) num(seg edifact.Segment, i, j int, field fld) (float64, bool, error) {
	s := c.code(seg, i, j)
	if s == "" {
		return 0, false, nil
	}
	v, ok := parseNumber(s, c.dec)
	if !ok {
		return 0, false, c.problem(seg, i, j, field.String(), s, "%q is not a number", s)
	}
	return v, true, nil
}

func (c *emsg) unit(seg edifact.Segment, i, j int, field fld) (canon, orig string, err error) {
	code := strings.TrimSpace(alias(seg.Component(i, j)))
	if u := &c.shared.unit; u.origCopy != "" && code == u.orig {
		return u.canon, u.origCopy, nil
	}
	orig = clone(code)
	canon, err = c.p.MapUnit(partner.EDIFACT, orig, "")
	if err != nil {
		var ue *partner.UnmappedError
		if errors.As(err, &ue) {
			ue.Field = field.String()
			if ue.Code != "" {
				// A tolerant receiver keeps what it cannot map: the code as
				// written, which the rules report as not mappable.
				pr := c.problem(seg, i, j, ue.Field, ue.Code, "unit %q is not mapped for partner %s: kept as written (unit and unit_original %s)", ue.Code, ue.Partner, ue.Code)
				pr.Unmapped, pr.Application = true, true
				c.warnings = append(c.warnings, pr)
				return orig, orig, nil
			}
			// No unit and no default_unit in the profile: a quantity
			// without unit counts pieces (trade items in EANCOM).
			pr := c.problem(seg, i, j, ue.Field, "", "quantity without a unit and partner %s has no default_unit: counted in pieces (C62)", ue.Partner)
			pr.Application = true
			c.warnings = append(c.warnings, pr)
			return "C62", "", nil
		}
		return "", orig, c.unmapped(seg, i, j, err)
	}
	if orig != "" {
		c.shared.unit = unitCache{orig: orig, canon: canon, origCopy: orig}
	}
	return canon, orig, nil
}

// dtm reads a DTM C507: qualifier, date/time by format code 2379.
func (c *emsg) dtm(seg edifact.Segment) (string, time.Time, bool) {
	q, v, f := c.code(seg, 1, 1), c.code(seg, 1, 2), c.code(seg, 1, 3)
	loc := c.p.Location()
	var t time.Time
	ok := false
	switch {
	case f == "102" || f == "" && len(v) == 8:
		t, ok = parseDate(v, "", loc)
	case f == "203" || f == "" && len(v) == 12:
		if len(v) >= 12 {
			t, ok = parseDate(v[:8], v[8:], loc)
		}
	case f == "204" || f == "" && len(v) == 14:
		if len(v) >= 14 {
			t, ok = parseDate(v[:8], v[8:], loc)
		}
	case f == "101" || f == "" && len(v) == 6:
		t, ok = parseDate(v, "", loc)
	case f == "201":
		if len(v) >= 10 {
			t, ok = parseDate(v[:6], v[6:], loc)
		}
	}
	if !ok && v != "" {
		c.warn(seg, 1, 2, "", "date %q (format %s) is not a date", v, f)
	}
	return q, t, ok
}

func (c *emsg) sentAt(doc time.Time) time.Time {
	if usable(doc) {
		return doc
	}
	if t, ok := parseDate(c.ic.Date, c.ic.Time, c.p.Location()); ok && usable(t) {
		return t
	}
	w := c.base()
	w.Tag, w.Element, w.Field = "UNB", 4, "occurred_at"
	w.Reason = fmt.Sprintf("document and interchange dates (%s) are not a usable event time; occurred_at is the receive time", c.ic.Date)
	c.warnings = append(c.warnings, w)
	return c.opt.ReceivedAt
}

func (c *emsg) event(typ procure.Type, docID string, version int, at time.Time, supplier, plant string, payload any) *procure.Event {
	return newEvent(c.p, typ, docID, version, c.sentAt(at), supplier, plant, payload,
		"edifact", c.ic.SenderQualifier, c.ic.Sender, c.ic.Control, c.group, c.m.Reference, strconv.Itoa(c.index))
}

func (c *emsg) versions() []string {
	if c.p.EDIFACT == nil {
		return nil
	}
	return c.p.EDIFACT.Versions
}

// edifactMappers are the message types mapped, by UNH02-1.
var edifactMappers = map[string]func(*emsg) ([]*procure.Event, error){
	"ORDERS": (*emsg).order, "ORDCHG": (*emsg).order,
	"ORDRSP": (*emsg).orderResponse,
	"DESADV": (*emsg).despatchAdvice,
	"RECADV": (*emsg).receivingAdvice,
	"INVOIC": (*emsg).invoice,
	"CONTRL": (*emsg).contrl,
}

func (c *emsg) run() ([]*procure.Event, error) {
	if v := c.m.Version + ":" + c.m.Release; c.m.Type != "CONTRL" && !partner.AcceptsVersion(c.versions(), v) {
		return nil, application(c.problem(c.m.Segments[0], 2, 2, "", v, "directory %s is not one partner %s sends (%s)", v, c.p.ID, strings.Join(c.versions(), ", ")))
	}
	if m := edifactMappers[c.m.Type]; m != nil {
		return m(c)
	}
	pr := c.problem(c.m.Segments[0], 2, 1, "", c.m.Type, "message type %s is not supported", c.m.Type)
	pr.Unsupported = true
	return nil, pr
}

// header holds what the header sections of all messages share.
type eheader struct {
	c                        *emsg
	bgm                      edifact.Segment
	docName, docID, function string
	version                  int
	docDate                  time.Time
	dates                    map[string]time.Time
	refs                     map[string]edifact.Segment
	currency                 string
	curSeg                   edifact.Segment
	shipToQual, shipTo       string
	shipToSeg                edifact.Segment
	supplier, buyer          string
	inco                     *procure.Incoterms
}

// lineGroup is one LIN group (with the segments up to the next LIN, UNS or
// CPS).
type lineGroup struct {
	lin  edifact.Segment
	segs []edifact.Segment
	cps  string // the CPS hierarchy id the line is packed in (DESADV)
}

// headerSegments are the segments of the header section every message
// maps (the detail and summary sections are split by walk and read by each
// message's mapper).
var headerSegments = tags(map[string]handler[edifact.Segment, eheader]{
	"BGM": (*eheader).begin, "DTM": (*eheader).dtm, "RFF": (*eheader).rff, "CUX": (*eheader).cux,
	"NAD": (*eheader).nad, "TOD": (*eheader).tod, "LOC": (*eheader).loc,
})

func (h *eheader) begin(seg edifact.Segment) error {
	c := h.c
	h.bgm = seg
	h.docName, h.docID, h.function = c.code(seg, 1, 1), c.txt(seg, 2, 1), c.code(seg, 3, 1)
	if v, err := strconv.Atoi(c.code(seg, 2, 2)); err == nil && v > 0 {
		h.version = v
	}
	return nil
}

func (h *eheader) dtm(seg edifact.Segment) error {
	if q, t, ok := h.c.dtm(seg); ok {
		if _, seen := h.dates[q]; !seen {
			h.dates[q] = t
		}
		if q == "137" {
			h.docDate = t
		}
	}
	return nil
}

func (h *eheader) rff(seg edifact.Segment) error {
	q := h.c.code(seg, 1, 1)
	if _, seen := h.refs[q]; !seen {
		h.refs[q] = seg
	}
	return nil
}

func (h *eheader) cux(seg edifact.Segment) error {
	if h.currency == "" {
		h.currency, h.curSeg = h.c.code(seg, 1, 2), seg
	}
	return nil
}

func (h *eheader) nad(seg edifact.Segment) error {
	h.c.nad(seg, h)
	return nil
}

func (h *eheader) tod(seg edifact.Segment) error {
	c := h.c
	if code := c.code(seg, 3, 1); code != "" && h.inco == nil {
		t, err := c.p.MapIncoterm(code, "", "incoterms")
		if err != nil {
			return c.unmapped(seg, 3, 1, err)
		}
		h.inco = &procure.Incoterms{Code: t.Code, Edition: t.Edition, Place: c.txt(seg, 3, 4)}
	}
	return nil
}

func (h *eheader) loc(seg edifact.Segment) error {
	if q := h.c.code(seg, 1, 1); (q == "7" || q == "11") && h.inco != nil && h.inco.Place == "" {
		h.inco.Place = h.c.txt(seg, 2, 1)
	}
	return nil
}

// walk reads the header segments and splits the detail into LIN groups.
// It stops reading header data at the first LIN or CPS.
func (c *emsg) walk() (*eheader, []*lineGroup, []edifact.Segment, error) {
	h := &eheader{c: c, dates: map[string]time.Time{}, refs: map[string]edifact.Segment{}}
	var (
		lines   []*lineGroup
		cur     *lineGroup
		detail  bool
		summary []edifact.Segment
		inSum   bool
		cps     string
	)
	body := c.m.Body()
	nLIN := 0
	for i := range body {
		if body[i].Is("LIN") {
			nLIN++
		}
	}
	store := make([]lineGroup, 0, nLIN) // one allocation for all line groups
	lines = make([]*lineGroup, 0, nLIN)
	for i, seg := range body {
		tag := seg.Tag()
		if inSum {
			summary = append(summary, seg)
			continue
		}
		switch tag {
		case "UNS":
			if c.code(seg, 1, 1) == "S" {
				inSum = true
				cur = nil
			}
			continue
		case "LIN":
			detail = true
			store = append(store, lineGroup{lin: seg, cps: cps})
			cur = &store[len(store)-1]
			lines = append(lines, cur)
			continue
		case "CPS":
			detail = true
			cps = c.code(seg, 1, 1)
			cur = nil
		}
		if cur != nil {
			cur.segs = extend(cur.segs, body, i)
			continue
		}
		if detail {
			continue // CPS-level segments are read by the DESADV mapper
		}
		if fn := headerSegments.find(tagKey(tag)); fn != nil {
			if err := fn(h, seg); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	if h.bgm.Ordinal() == 0 {
		pr := c.problem(c.m.Segments[0], 0, 0, "document.id", "", "no BGM segment: it is mandatory after UNH")
		pr.Segment, pr.Tag = 2, "BGM" // where it was due
		return nil, nil, nil, pr
	}
	return h, lines, summary, nil
}

// extend appends body[i] to segs. While the segments are adjacent in body,
// segs stays a window on it (no allocation); otherwise it is copied.
func extend(segs, body []edifact.Segment, i int) []edifact.Segment {
	n := len(segs)
	if n == 0 {
		return body[i : i+1 : i+1]
	}
	if i >= n && &segs[0] == &body[i-n] {
		return body[i-n : i+1 : i+1]
	}
	return append(segs, body[i])
}

func (c *emsg) nad(seg edifact.Segment, h *eheader) {
	id, agency := c.txt(seg, 2, 1), c.code(seg, 2, 3)
	switch c.code(seg, 1, 1) {
	case "ST", "DP":
		if h.shipToSeg.Ordinal() == 0 {
			h.shipToQual, h.shipTo, h.shipToSeg = agency, id, seg
		}
	case "SU", "SE", "CZ":
		if h.supplier == "" {
			h.supplier = c.p.SupplierFor(agency, id)
		}
	case "BY":
		if h.buyer == "" {
			h.buyer = id
			if h.buyer == "" {
				h.buyer = c.txt(seg, 4, 1)
			}
		}
	}
}

func (c *emsg) plant(h *eheader) (string, error) {
	pl, err := c.p.MapPlant(h.shipToQual, h.shipTo, "plant")
	if err != nil {
		return "", c.unmapped(h.shipToSeg, 2, 1, err)
	}
	return pl, nil
}

func (c *emsg) supplier(h *eheader) string {
	if h.supplier != "" {
		return h.supplier
	}
	return c.p.Supplier
}

func (c *emsg) ref(h *eheader, q string) string {
	if seg, ok := h.refs[q]; ok {
		return c.txt(seg, 1, 2)
	}
	return ""
}

// item picks the product id from LIN C212 and PIA by the partner's
// qualifier preference.
func (c *emsg) item(g *lineGroup) string {
	prefs := c.shared.prefs
	best, rank := "", -1
	consider := func(id, typ string) {
		if id == "" {
			return
		}
		if r := slices.Index(prefs, typ); r >= 0 && (rank < 0 || r < rank) {
			best, rank = id, r
		}
	}
	consider(c.txt(g.lin, 3, 1), c.code(g.lin, 3, 2))
	for _, seg := range g.segs {
		if seg.Is("PIA") {
			for i := 2; i <= 6; i++ {
				consider(c.txt(seg, i, 1), c.code(seg, i, 2))
			}
		}
	}
	if best == "" {
		best = c.txt(g.lin, 3, 1) // the LIN item number without a known type
	}
	return best
}

func (c *emsg) description(g *lineGroup) string {
	for _, seg := range g.segs {
		if seg.Is("IMD") {
			if d := c.txt(seg, 3, 4); d != "" {
				return d
			}
		}
	}
	return ""
}

// lineNo is the LIN line item number, or the position with a warning.
func (c *emsg) lineNo(g *lineGroup, k int, field fld) int {
	if n, ok := lineNumber(c.code(g.lin, 1, 1)); ok {
		return n
	}
	c.warn(g.lin, 1, 1, field.sub("line").String(), "line item number %q is missing or not a number: line is the position %d", c.code(g.lin, 1, 1), k+1)
	return k + 1
}

// poLine is the order line an ASN, receipt or invoice line refers to: RFF+ON
// (C506-3 line number) or RFF+LI, else the LIN number with a warning.
func (c *emsg) poLine(g *lineGroup, k int, field fld, h *eheader) (po string, line int) {
	po = c.ref(h, "ON")
	for _, seg := range g.segs {
		if !seg.Is("RFF") {
			continue
		}
		switch c.code(seg, 1, 1) {
		case "ON":
			if v := c.txt(seg, 1, 2); v != "" {
				po = v
			}
			if n, ok := lineNumber(c.code(seg, 1, 3)); ok {
				line = n
			}
		case "LI":
			if n, ok := lineNumber(c.code(seg, 1, 2)); ok && line == 0 {
				line = n
			}
		}
	}
	if line == 0 {
		if n, ok := lineNumber(c.code(g.lin, 1, 1)); ok {
			line = n
			c.warn(g.lin, 1, 1, field.sub("line").String(), "no order line reference (RFF+ON line number, RFF+LI): the PO line is taken to be LIN number %d", n)
		} else {
			line = k + 1
			c.warn(g.lin, 1, 1, field.sub("line").String(), "no order line reference and no LIN number: line is the position %d", line)
		}
	}
	return po, line
}

// qty returns the first QTY of the line whose qualifier is in quals (in
// preference order), with its unit.
func (c *emsg) qty(g *lineGroup, field fld, quals ...string) (q float64, unit, orig string, found bool, err error) {
	var best edifact.Segment
	rank := -1
	for _, seg := range g.segs {
		if seg.Is("QTY") {
			if r := slices.Index(quals, c.code(seg, 1, 1)); r >= 0 && (rank < 0 || r < rank) {
				best, rank = seg, r
			}
		}
	}
	if rank < 0 {
		return 0, "", "", false, nil
	}
	v, _, err := c.num(best, 1, 2, field.sub("quantity"))
	if err != nil {
		return 0, "", "", false, err
	}
	unit, orig, err = c.unit(best, 1, 3, field.sub("unit"))
	if err != nil {
		return 0, "", "", false, err
	}
	return v, unit, orig, true, nil
}

func (c *emsg) qtyValue(g *lineGroup, field fld, qual string) (float64, error) {
	for _, seg := range g.segs {
		if seg.Is("QTY") && c.code(seg, 1, 1) == qual {
			v, _, err := c.num(seg, 1, 2, field)
			return v, err
		}
	}
	return 0, nil
}

// price is the PRI price (net AAA first, then calculation/invoice/gross
// prices), divided by its unit price basis.
func (c *emsg) price(g *lineGroup, field fld) (float64, float64, error) {
	quals := []string{"AAA", "CAL", "INV", "AAB", "AAE", "AAF"}
	var best edifact.Segment
	rank := -1
	for _, seg := range g.segs {
		if seg.Is("PRI") {
			r := slices.Index(quals, c.code(seg, 1, 1))
			if r < 0 {
				r = len(quals)
			}
			if rank < 0 || r < rank {
				best, rank = seg, r
			}
		}
	}
	if rank < 0 {
		return 0, 0, nil
	}
	p, _, err := c.num(best, 1, 2, field.sub("unit_price"))
	if err != nil {
		return 0, 0, err
	}
	basis, ok, err := c.num(best, 1, 5, field.sub("price_unit"))
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		basis = 0
	}
	return p, basis, nil
}

func (c *emsg) lineDate(g *lineGroup, quals ...string) time.Time {
	var best time.Time
	rank := -1
	for _, seg := range g.segs {
		if seg.Is("DTM") {
			q, t, ok := c.dtm(seg)
			if r := slices.Index(quals, q); ok && r >= 0 && (rank < 0 || r < rank) {
				best, rank = t, r
			}
		}
	}
	return best
}

// Date qualifiers (2005): 2 delivery requested, 69 promised, 64 earliest,
// 63 latest, 10 requested ship, 11 despatch, 17 estimated delivery, 132
// estimated arrival, 137 document, 36 expiry, 50 goods receipt, 13 due.
var needByDTM = []string{"2", "69", "63", "64", "10", "17"}

// schedule is the SCC schedule of an order line being read.
type schedule struct {
	c     *emsg
	lines []procure.ScheduleLine
	field fld
	pend  float64 // the quantity waiting for its date
}

// scheduleSegments are the segments of an order line's SCC loop: QTY then
// DTM pairs after an SCC.
var scheduleSegments = loops(
	tags(map[string]handler[edifact.Segment, schedule]{}),
	"SCC",
	tags(map[string]handler[edifact.Segment, schedule]{
		"QTY": func(d *schedule, seg edifact.Segment) error {
			d.pend, _, _ = d.c.num(seg, 1, 2, d.field.sub("schedule.quantity"))
			return nil
		},
		"DTM": func(d *schedule, seg edifact.Segment) error {
			if d.pend > 0 {
				if _, t, ok := d.c.dtm(seg); ok {
					d.lines = append(d.lines, procure.ScheduleLine{Seq: len(d.lines) + 1, Quantity: d.pend, Date: procure.DateOf(t)})
					d.pend = 0
				}
			}
			return nil
		},
	}),
)

// order maps ORDERS and ORDCHG.
func (c *emsg) order() ([]*procure.Event, error) {
	h, groups, _, err := c.walk()
	if err != nil {
		return nil, err
	}
	if h.docID == "" {
		return nil, c.problem(h.bgm, 2, 1, "document.id", "", "order number (BGM 1004) is missing")
	}
	plant, err := c.plant(h)
	if err != nil {
		return nil, err
	}
	if h.function == "1" || h.function == "3" {
		return []*procure.Event{c.event(procure.POCancelled, h.docID, h.version, h.docDate, c.supplier(h), plant, &procure.Cancellation{Reason: "cancelled by the sender (" + c.m.Type + " BGM 1225 " + h.function + ")"})}, nil
	}
	cur, err := c.p.MapCurrency(h.currency, "currency")
	if err != nil {
		return nil, c.unmapped(h.curSeg, 1, 2, err)
	}
	po := &procure.PurchaseOrder{OrderType: "standard", Buyer: h.buyer, Currency: cur, Incoterms: h.inco, ShipTo: plant}
	if h.docName == "221" {
		po.OrderType = "blanket"
	}
	sch := &c.shared.sched // reset for every line
	var hdrNeed time.Time
	for _, q := range needByDTM {
		if t, ok := h.dates[q]; ok {
			hdrNeed = t
			break
		}
	}
	if t, ok := h.dates["36"]; ok {
		po.ValidTo = procure.DateOf(t)
	}
	for k, g := range groups {
		field := lineField(len(po.Lines))
		if c.code(g.lin, 2, 1) == "2" {
			c.warn(g.lin, 2, 1, field.String(), "line %s is deleted (LIN 1229 = 2): left out of the order", c.code(g.lin, 1, 1))
			continue
		}
		l := procure.POLine{Line: c.lineNo(g, k, field), Item: c.item(g), Description: c.description(g)}
		if l.Item == "" {
			return nil, c.problem(g.lin, 3, 1, field.sub("item").String(), "", "line %d has no item number (LIN C212 or PIA)", l.Line)
		}
		q, unit, orig, found, err := c.qty(g, field, "21", "113")
		if err == nil && !found {
			// Some senders write the ordered quantity as a discrete
			// quantity (QTY+1); a tolerant receiver takes it, with a note.
			if q, unit, orig, found, err = c.qty(g, field, "1"); found && err == nil {
				c.warn(g.lin, 0, 0, field.sub("quantity").String(), "line %d has no QTY+21: the discrete quantity QTY+1 (%v) is taken as ordered", l.Line, q)
			}
		}
		if err != nil {
			return nil, err
		}
		if !found || q <= 0 {
			return nil, c.problem(g.lin, 0, 0, field.sub("quantity").String(), "", "line %d has no ordered quantity (QTY+21)", l.Line)
		}
		l.Quantity, l.Unit, l.UnitOriginal = q, unit, orig
		if l.UnitPrice, l.PriceUnit, err = c.price(g, field); err != nil {
			return nil, err
		}
		// SCC schedules: QTY then DTM pairs after an SCC.
		*sch = schedule{c: c, lines: l.Schedule, field: field}
		if err := scheduleSegments.walk(g.segs, edifact.Segment.Tag, sch); err != nil {
			return nil, err
		}
		l.Schedule = sch.lines
		switch d := c.lineDate(g, needByDTM...); {
		case !d.IsZero():
			l.NeedBy = procure.DateOf(d)
		case len(l.Schedule) > 0:
			l.NeedBy = l.Schedule[0].Date
		case !hdrNeed.IsZero():
			l.NeedBy = procure.DateOf(hdrNeed)
		case po.OrderType == "blanket" && !po.ValidTo.IsZero():
			l.NeedBy = po.ValidTo
		default:
			c.warn(g.lin, 0, 0, field.sub("need_by").String(), "line %d has no delivery date (DTM 2/69/63/64/10 in the line or header, or SCC schedule)", l.Line)
		}
		po.Lines = append(po.Lines, l)
	}
	if len(po.Lines) == 0 {
		return nil, c.problem(h.bgm, 0, 0, "lines", "", "the order has no lines")
	}
	typ := procure.POReleased
	if c.m.Type == "ORDCHG" || h.function == "4" || h.function == "5" {
		typ = procure.POChanged
	}
	return []*procure.Event{c.event(typ, h.docID, h.version, h.docDate, c.supplier(h), plant, po)}, nil
}

// lineAction maps ORDRSP LIN 1229 to the canonical line status.
var lineAction = map[string]string{
	"5": procure.AckAccepted, "4": procure.AckAccepted, "11": procure.AckAccepted,
	"3": procure.AckChanged, "6": procure.AckChanged,
	"7": procure.AckRejected, "2": procure.AckRejected, "10": procure.AckRejected,
}

// orderResponse maps ORDRSP.
func (c *emsg) orderResponse() ([]*procure.Event, error) {
	h, groups, _, err := c.walk()
	if err != nil {
		return nil, err
	}
	po := c.ref(h, "ON")
	if po == "" {
		return nil, c.problem(h.bgm, 0, 0, "document.id", "", "no order reference (RFF+ON) in the header")
	}
	ack := &procure.Acknowledgement{AckID: h.docID}
	for k, g := range groups {
		field := lineField(len(ack.Lines))
		l := procure.AckLine{Line: c.lineNo(g, k, field)}
		action := c.code(g.lin, 2, 1)
		switch {
		case action != "":
			st, ok := lineAction[action]
			if !ok {
				return nil, application(c.problem(g.lin, 2, 1, field.sub("status").String(), action, "line action %q is not mapped to accepted, changed or rejected", action))
			}
			l.Status = st
		case h.function == "27":
			l.Status = procure.AckRejected
		default:
			l.Status = procure.AckAccepted
		}
		q, unit, orig, found, err := c.qty(g, field, "113", "21", "12")
		if err != nil {
			return nil, err
		}
		if found {
			l.Quantity, l.Unit, l.UnitOriginal = q, unit, orig
		}
		if bo, err := c.qtyValue(g, field.sub("quantity"), "83"); err != nil {
			return nil, err
		} else if bo > 0 && l.Status == procure.AckAccepted {
			l.Status = procure.AckBackordered
		}
		if d := c.lineDate(g, "69", "2", "67", "17", "10"); !d.IsZero() {
			l.PromisedDate = procure.DateOf(d)
		}
		if l.UnitPrice, _, err = c.price(g, field); err != nil {
			return nil, err
		}
		if l.Status == procure.AckChanged && l.Quantity == 0 && l.PromisedDate.IsZero() && l.UnitPrice == 0 {
			return nil, c.problem(g.lin, 2, 1, field.String(), action, "line %d is changed but proposes no quantity, date or price", l.Line)
		}
		ack.Lines = append(ack.Lines, l)
	}
	if len(ack.Lines) == 0 {
		return nil, c.problem(h.bgm, 0, 0, "lines", "", "the order response has no LIN line")
	}
	plant, err := c.plant(h)
	if err != nil {
		return nil, err
	}
	return []*procure.Event{c.event(procure.POAcknowledged, po, h.version, h.docDate, c.supplier(h), plant, ack)}, nil
}

// transportModes maps 8067 (mode of transport) to the canonical mode.
var transportModes = map[string]string{"1": "sea", "2": "rail", "3": "road", "4": "air", "5": "parcel"}

// packing is the carrier and pack structure of a DESADV being read.
type packing struct {
	c      *emsg
	sn     *procure.ShipNotice
	packs  map[string]string // CPS id → SSCC
	parent map[string]string // CPS id → parent CPS id
	cps    string            // the CPS level being read; "" after a LIN
}

// packSegments are the segments of the whole DESADV body read for the
// carrier (TDT) and the packs (CPS … GIN).
var packSegments = loops(tags(map[string]handler[edifact.Segment, packing]{
	"TDT": (*packing).tdt, "CPS": (*packing).cps_, "GIN": (*packing).gin,
	"LIN": func(d *packing, _ edifact.Segment) error {
		d.cps = "" // GIN after a LIN are item identifiers (batches), not packs
		return nil
	},
}), "", nil)

func (d *packing) tdt(seg edifact.Segment) error {
	c, sn := d.c, d.sn
	if sn.Carrier.Mode == "" {
		sn.Carrier.Mode = transportModes[c.code(seg, 3, 1)]
	}
	if id := c.txt(seg, 5, 1); id != "" && c.code(seg, 5, 3) == "182" && sn.Carrier.SCAC == "" {
		sn.Carrier.SCAC = id
	}
	if n := c.txt(seg, 5, 4); n != "" && sn.Carrier.Name == "" {
		sn.Carrier.Name = n
	}
	return nil
}

func (d *packing) cps_(seg edifact.Segment) error {
	d.cps = d.c.code(seg, 1, 1)
	d.parent[d.cps] = d.c.code(seg, 2, 1)
	return nil
}

func (d *packing) gin(seg edifact.Segment) error {
	c, cps := d.c, d.cps
	if cps == "" || c.code(seg, 1, 1) != "BJ" {
		return nil
	}
	for i := 2; i <= 6; i++ {
		v := c.code(seg, i, 1)
		if v == "" {
			continue
		}
		if len(v) == 20 && strings.HasPrefix(v, "00") {
			v = v[2:]
		}
		if len(v) != 18 || !allDigits(v) {
			c.warn(seg, i, 1, "packs.sscc", "GIN %q is not an SSCC-18: pack left out", v)
			continue
		}
		if !procure.ValidSSCC(v) {
			c.warn(seg, i, 1, "packs.sscc", "SSCC %s has check digit %c, GS1 mod-10 gives %d", v, v[17], procure.GS1CheckDigit(v[:17]))
		}
		if d.packs[cps] == "" {
			d.packs[cps] = strings.Clone(v)
		}
		d.sn.Packs = append(d.sn.Packs, procure.Pack{SSCC: strings.Clone(v)})
	}
	return nil
}

// despatchAdvice maps DESADV (CPS/PAC/GIN packing hierarchy, LIN items).
func (c *emsg) despatchAdvice() ([]*procure.Event, error) {
	h, groups, _, err := c.walk()
	if err != nil {
		return nil, err
	}
	if h.docID == "" {
		return nil, c.problem(h.bgm, 2, 1, "document.id", "", "despatch advice number (BGM 1004) is missing")
	}
	if h.function == "1" || h.function == "3" {
		plant, err := c.plant(h)
		if err != nil {
			return nil, err
		}
		return []*procure.Event{c.event(procure.ASNCancelled, h.docID, 0, h.docDate, c.supplier(h), plant, &procure.Cancellation{Reason: "cancelled by the sender (DESADV BGM 1225 " + h.function + ")"})}, nil
	}
	sn := &procure.ShipNotice{BillOfLading: c.ref(h, "BM"), Tracking: c.ref(h, "CN")}
	ship, ok := h.dates["11"]
	if !ok {
		return nil, application(c.problem(h.bgm, 0, 0, "ship_date", "", "no despatch date (DTM+11)"))
	}
	var arrive time.Time
	for _, q := range []string{"17", "132", "2", "69"} {
		if t, ok := h.dates[q]; ok {
			arrive = t
			break
		}
	}
	if arrive.IsZero() {
		for _, g := range groups {
			if d := c.lineDate(g, "17", "132", "2", "69"); !d.IsZero() && !d.Before(ship) {
				arrive = d
				c.warn(g.lin, 0, 0, "expected_arrival", "no estimated delivery date in the header: expected_arrival is the first line's")
				application(c.warnings[len(c.warnings)-1])
				break
			}
		}
	}
	if arrive.IsZero() {
		arrive = arrivalFromShip(c.p, ship, func(format string, args ...any) {
			c.warn(h.bgm, 0, 0, "expected_arrival", format, args...)
			application(c.warnings[len(c.warnings)-1])
		})
	}
	sn.ShipDate, sn.ExpectedArrival = ship.UTC(), arrive.UTC()
	// Carrier (TDT) and packs (CPS … PAC … GIN) come from the whole body.
	packs := map[string]string{} // CPS id → SSCC
	parent := map[string]string{}
	pk := &c.shared.pack
	*pk = packing{c: c, sn: sn, packs: packs, parent: parent}
	if err := packSegments.walk(c.m.Body(), edifact.Segment.Tag, pk); err != nil {
		return nil, err
	}
	// up returns the nearest packed ancestor's SSCC of CPS id; the walk is
	// bounded because a sender may write a parent cycle.
	up := func(id string) string {
		for p, n := parent[id], 0; p != "" && n <= len(parent); p, n = parent[p], n+1 {
			if packs[p] != "" {
				return packs[p]
			}
		}
		return ""
	}
	ssccCPS := make(map[string]string, len(packs))
	for id, s := range packs {
		ssccCPS[s] = id
	}
	for i := range sn.Packs {
		if id, ok := ssccCPS[sn.Packs[i].SSCC]; ok {
			sn.Packs[i].ParentSSCC = up(id)
		}
	}
	for k, g := range groups {
		field := lineField(k)
		l := procure.ASNLine{Item: c.item(g)}
		l.PO, l.Line = c.poLine(g, k, field, h)
		if l.PO == "" {
			return nil, application(c.problem(g.lin, 0, 0, field.sub("po").String(), "", "line has no order reference (RFF+ON in the line or header)"))
		}
		q, unit, orig, found, err := c.qty(g, field, "12", "46")
		if err != nil {
			return nil, err
		}
		if !found || q <= 0 {
			return nil, c.problem(g.lin, 0, 0, field.sub("quantity").String(), "", "line has no despatched quantity (QTY+12)")
		}
		l.Quantity, l.Unit, l.UnitOriginal = q, unit, orig
		for _, seg := range g.segs {
			if seg.Is("GIN") && c.code(seg, 1, 1) == "BX" && l.Lot == "" {
				l.Lot = c.txt(seg, 2, 1)
			}
		}
		if d := c.lineDate(g, "36", "361"); !d.IsZero() {
			l.ExpiryDate = procure.DateOf(d)
		}
		if l.SSCC = packs[g.cps]; l.SSCC == "" && g.cps != "" {
			l.SSCC = up(g.cps)
		}
		sn.Lines = append(sn.Lines, l)
	}
	if len(sn.Lines) == 0 {
		return nil, c.problem(h.bgm, 0, 0, "lines", "", "the despatch advice has no LIN line")
	}
	plant, err := c.plant(h)
	if err != nil {
		return nil, err
	}
	sn.ShipTo = plant
	return []*procure.Event{c.event(procure.ASNSubmitted, h.docID, 0, h.docDate, c.supplier(h), plant, sn)}, nil
}

// receivingAdvice maps RECADV.
func (c *emsg) receivingAdvice() ([]*procure.Event, error) {
	h, groups, _, err := c.walk()
	if err != nil {
		return nil, err
	}
	if h.docID == "" {
		return nil, c.problem(h.bgm, 2, 1, "document.id", "", "receiving advice number (BGM 1004) is missing")
	}
	rc := &procure.Receipt{ASN: c.ref(h, "AAK")}
	if rc.ASN == "" {
		rc.ASN = c.ref(h, "DQ")
	}
	for k, g := range groups {
		field := lineField(k)
		l := procure.ReceiptLine{Item: c.item(g)}
		l.PO, l.Line = c.poLine(g, k, field, h)
		if l.PO == "" {
			return nil, application(c.problem(g.lin, 0, 0, field.sub("po").String(), "", "line has no order reference (RFF+ON in the line or header)"))
		}
		q, unit, _, found, err := c.qty(g, field, "48", "194", "46")
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, c.problem(g.lin, 0, 0, field.sub("received_quantity").String(), "", "line has no received quantity (QTY+48 or 194)")
		}
		l.Unit = unit
		rej := 0.0
		for _, qual := range []string{"195", "196"} {
			v, err := c.qtyValue(g, field.sub("rejected_quantity"), qual)
			if err != nil {
				return nil, err
			}
			rej += v
		}
		l.RejectedQuantity = rej
		l.ReceivedQuantity = q
		if _, _, _, has48, _ := c.qty(g, field, "48"); !has48 {
			l.ReceivedQuantity = q + rej // 194 counts the accepted part only
		}
		rc.Lines = append(rc.Lines, l)
	}
	if len(rc.Lines) == 0 {
		return nil, c.problem(h.bgm, 0, 0, "lines", "", "the receiving advice has no LIN line")
	}
	plant, err := c.plant(h)
	if err != nil {
		return nil, err
	}
	at := h.docDate
	if t, ok := h.dates["50"]; ok {
		at = t
	}
	return []*procure.Event{c.event(procure.GoodsReceived, h.docID, 0, at, c.supplier(h), plant, rc)}, nil
}

// invoiceAmounts is the preference order of summary MOA qualifiers for the
// invoice amount: 77 invoice amount, 9 amount due, 86 message total, 39
// invoice total, 128 total amount, 79 total line items.
var invoiceAmounts = []string{"77", "9", "86", "39", "128", "79"}

// creditNotes are the BGM document names (1001) of credit notes: 381
// credit note, 81 related to goods or services, 83 related to financial
// adjustments, 262 consolidated, 396 factored, 532 forwarder's.
var creditNotes = map[string]bool{"381": true, "81": true, "83": true, "262": true, "396": true, "532": true}

// invoice maps INVOIC to invoice.status_changed with status received.
func (c *emsg) invoice() ([]*procure.Event, error) {
	h, groups, summary, err := c.walk()
	if err != nil {
		return nil, err
	}
	if h.docID == "" {
		return nil, c.problem(h.bgm, 2, 1, "document.id", "", "invoice number (BGM 1004) is missing")
	}
	cur, err := c.p.MapCurrency(h.currency, "currency")
	if err != nil {
		return nil, c.unmapped(h.curSeg, 1, 2, err)
	}
	inv := &procure.InvoiceStatus{Status: procure.InvoiceReceived, PO: c.ref(h, "ON"), Currency: cur, CreditNote: creditNotes[h.docName]}
	for _, q := range []string{"13", "140"} { // due date, payment due date
		if t, ok := h.dates[q]; ok {
			inv.DueDate = procure.DateOf(t)
			break
		}
	}
	rank := -1
	for _, seg := range summary {
		if !seg.Is("MOA") {
			continue
		}
		if r := slices.Index(invoiceAmounts, c.code(seg, 1, 1)); r >= 0 && (rank < 0 || r < rank) {
			v, _, err := c.num(seg, 1, 2, plain("amount"))
			if err != nil {
				return nil, err
			}
			inv.Amount, rank = v, r
		}
	}
	if inv.Amount < 0 {
		if !inv.CreditNote {
			c.warn(h.bgm, 1, 1, "credit_note", "invoice amount %v is negative: the invoice is read as a credit note", inv.Amount)
		}
		inv.CreditNote, inv.Amount = true, -inv.Amount
	}
	for k, g := range groups {
		field := lineField(k)
		l := procure.InvoiceLine{}
		l.PO, l.Line = c.poLine(g, k, field, h)
		q, unit, _, found, err := c.qty(g, field, "47", "46", "12")
		if err != nil {
			return nil, err
		}
		if found {
			l.Quantity, l.Unit = q, unit
			if l.Quantity < 0 && inv.CreditNote {
				l.Quantity = -l.Quantity
			}
		}
		p, basis, err := c.price(g, field)
		if err != nil {
			return nil, err
		}
		if basis > 0 {
			p = p / basis
		}
		l.UnitPrice = p
		inv.Lines = append(inv.Lines, l)
	}
	plant, err := c.plant(h)
	if err != nil {
		return nil, err
	}
	at := h.docDate
	if t, ok := h.dates["3"]; ok && at.IsZero() {
		at = t
	}
	return []*procure.Event{c.event(procure.InvoiceStatusChanged, h.docID, 0, at, c.supplier(h), plant, inv)}, nil
}

// contrlDoc is a CONTRL being read.
type contrlDoc struct {
	c  *emsg
	fa FunctionalAck
}

// contrlSegments are the segments a CONTRL maps.
var contrlSegments = loops(tags(map[string]handler[edifact.Segment, contrlDoc]{
	"UCI": func(d *contrlDoc, seg edifact.Segment) error {
		d.fa.Group = d.c.txt(seg, 1, 1)
		switch d.c.code(seg, 4, 1) {
		case "7", "8":
			d.fa.Status = "accepted"
		case "4":
			d.fa.Status = "rejected"
		}
		return nil
	},
	"UCM": func(d *contrlDoc, seg edifact.Segment) error {
		if d.c.code(seg, 3, 1) == "4" && d.fa.Status == "accepted" {
			d.fa.Status = "partially_accepted"
		}
		return nil
	},
}), "", nil)

// contrl records a received CONTRL; it gives no event.
func (c *emsg) contrl() ([]*procure.Event, error) {
	d := &c.shared.contrl
	*d = contrlDoc{c: c, fa: FunctionalAck{Standard: partner.EDIFACT, Partner: c.p.ID, Kind: "CONTRL"}}
	_ = contrlSegments.walk(c.m.Body(), edifact.Segment.Tag, d) // its handlers do not fail
	c.acks = append(c.acks, d.fa)
	return nil, nil
}
