package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/b2b/x12"
	"github.com/supplywatch/supplywatch/procure"
)

// X12 maps the transaction sets of one interchange for partner p. Sets that
// the tokenizer reported an error for (syntaxErrs, as returned by x12.Parse)
// give no event (the acknowledgement rejects them); their mapping
// rejections are still returned, so that every defect is reported.
func X12(p *partner.Profile, ic *x12.Interchange, syntaxErrs []*x12.Error, opt Options) Output {
	var out Output
	bad := map[[2]string][]*x12.Error{}
	for _, e := range syntaxErrs {
		if e.Interchange == ic.Control && e.Set != "" {
			k := [2]string{e.Group, e.Set}
			bad[k] = append(bad[k], e)
		}
	}
	index := 0
	shared := &x12Shared{prefs: p.ProductQualifiers(partner.X12)}
	for gi := range ic.Groups {
		g := &ic.Groups[gi]
		for si := range g.Sets {
			s := &g.Sets[si]
			index++
			c := &shared.set // reused: nothing keeps a set's state after its turn
			*c = xset{p: p, ic: ic, g: g, s: s, index: index, opt: opt, shared: shared}
			if n := len(s.Segments); n > 0 {
				c.copy.setRange(s.Segments[0].Raw(), s.Segments[n-1].Raw())
			}
			evs, err := c.run()
			if errs, ok := bad[[2]string{g.Control, s.Control}]; ok {
				// Rejected by its syntax errors already; mapped all the same
				// so that a defect of its body is reported too (one defect
				// must not hide another), unless the segments themselves are
				// unreliable. Nothing else is kept.
				if pr := c.asProblemOrNil(err); pr != nil && diagnosableX12(errs, pr) {
					out.Rejections = append(out.Rejections, pr)
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
	}
	return out
}

// xset is the mapping state of one transaction set.
type xset struct {
	p        *partner.Profile
	ic       *x12.Interchange
	g        *x12.Group
	s        *x12.Set
	index    int
	opt      Options
	warnings []*Problem
	acks     []FunctionalAck
	copy     unitCopy   // the set's bytes, for the strings its events keep
	shared   *x12Shared // what the sets of one interchange share
}

// x12Shared is the state the sets of one interchange share.
type x12Shared struct {
	unit  unitCache
	prefs []string // product qualifier preference
	els   [][]byte // scratch for elements
	// The mapping state of the set being mapped and of the documents whose
	// state no event keeps: one allocation per interchange, not per set.
	// (ackDoc, receiptDoc and invoiceDoc hold their event's payload, so each
	// set has its own.)
	set  xset
	po   poDoc
	ship shipDoc
	fa   faDoc
}

// elements splits seg into its elements (element i at index i-1) in a
// buffer reused by the next call.
func (c *xset) elements(seg x12.Segment) [][]byte {
	c.shared.els = seg.AppendElements(c.shared.els[:0])
	return c.shared.els
}

func (c *xset) base() *Problem {
	return &Problem{Standard: partner.X12, Partner: c.p.ID, Interchange: c.ic.Control, Group: c.g.Control,
		Set: c.s.Control, SetID: c.s.ID, Index: c.index}
}

func (c *xset) pos(seg x12.Segment) int {
	if len(c.s.Segments) == 0 {
		return 0
	}
	return seg.Ordinal() - c.s.Segments[0].Ordinal() + 1
}

// problem locates a problem at element elem of seg.
func (c *xset) problem(seg x12.Segment, elem int, field, value, format string, args ...any) *Problem {
	pr := c.base()
	if seg.Ordinal() > 0 {
		pr.Segment, pr.Tag, pr.Element, pr.Offset = c.pos(seg), clone(seg.Tag()), elem, seg.Offset()
	}
	pr.Field, pr.Value, pr.Reason = field, value, fmt.Sprintf(format, args...)
	return pr
}

func (c *xset) warn(seg x12.Segment, elem int, field, format string, args ...any) {
	c.warnings = append(c.warnings, c.problem(seg, elem, field, "", format, args...))
}

// diagnosableX12 reports whether the mapping problem pr of a set with
// syntax errors errs is worth reporting: the errors leave the segments
// intact (counts, control numbers, values) and none names the same element.
func diagnosableX12(errs []*x12.Error, pr *Problem) bool {
	for _, e := range errs {
		switch e.Kind {
		case x12.KindBadTag, x12.KindLineBreak, x12.KindUnexpectedSegment, x12.KindLimit, x12.KindSyntax:
			return false
		}
		if e.Segment == pr.Segment && e.Element == pr.Element {
			return false
		}
	}
	return true
}

func (c *xset) asProblemOrNil(err error) *Problem {
	if err == nil {
		return nil
	}
	return c.asProblem(err)
}

// asProblem turns a mapping error into a located Problem.
func (c *xset) asProblem(err error) *Problem {
	var pr *Problem
	if errors.As(err, &pr) {
		return pr
	}
	pr = c.base()
	pr.Reason = err.Error()
	return pr
}

// unmapped wraps a partner.UnmappedError with its location.
func (c *xset) unmapped(seg x12.Segment, elem int, err error) *Problem {
	var ue *partner.UnmappedError
	if errors.As(err, &ue) {
		pr := c.problem(seg, elem, ue.Field, ue.Code, "%s %q is not mapped for partner %s", ue.Kind, ue.Code, ue.Partner)
		pr.Unmapped, pr.Application = true, true
		return pr
	}
	return application(c.problem(seg, elem, "", "", "%v", err))
}

func (c *xset) str(seg x12.Segment, i int) string { return c.clone(seg.String(i)) }

// clone copies s (trimmed), which aliases the input, for an event to keep.
func (c *xset) clone(s string) string { return c.copy.clone(s) }

// num reads element i as a number; empty is (0, false, nil).
func (c *xset) num(seg x12.Segment, i int, field fld) (float64, bool, error) {
	s := strings.TrimSpace(seg.String(i))
	if s == "" {
		return 0, false, nil
	}
	v, ok := parseNumber(s, '.')
	if !ok {
		return 0, false, c.problem(seg, i, field.String(), s, "%q is not a number", s)
	}
	return v, true, nil
}

func (c *xset) unit(seg x12.Segment, i int, field fld) (canon, orig string, err error) {
	code := strings.TrimSpace(alias(seg.Component(i, 1)))
	if u := &c.shared.unit; u.origCopy != "" && code == u.orig {
		return u.canon, u.origCopy, nil
	}
	orig = clone(code)
	canon, err = c.p.MapUnit(partner.X12, orig, "")
	if err != nil {
		var ue *partner.UnmappedError
		if errors.As(err, &ue) {
			ue.Field = field.String()
			if ue.Code != "" {
				// A tolerant receiver keeps what it cannot map: the code as
				// written, which the rules report as not mappable.
				pr := c.problem(seg, i, ue.Field, ue.Code, "unit %q is not mapped for partner %s: kept as written (unit and unit_original %s)", ue.Code, ue.Partner, ue.Code)
				pr.Unmapped, pr.Application = true, true
				c.warnings = append(c.warnings, pr)
				return orig, orig, nil
			}
		}
		return "", orig, c.unmapped(seg, i, err)
	}
	if orig != "" {
		c.shared.unit = unitCache{orig: orig, canon: canon, origCopy: orig}
	}
	return canon, orig, nil
}

func (c *xset) date(seg x12.Segment, di, ti int) (time.Time, bool) {
	return parseDate(seg.String(di), seg.String(ti), c.p.Location())
}

// sentAt is the time the sender created the group (GS04/GS05), else the
// interchange (ISA09/ISA10), else the receive time; a warning says when a
// document date was unusable.
func (c *xset) sentAt() time.Time {
	if t, ok := parseDate(c.g.Date, c.g.Time, c.p.Location()); ok && usable(t) {
		return t
	}
	if t, ok := parseDate(c.ic.Date, c.ic.Time, c.p.Location()); ok && usable(t) {
		return t
	}
	w := c.base()
	w.Tag, w.Element, w.Field = "GS", 4, "occurred_at"
	w.Reason = fmt.Sprintf("group date %s is not a usable event time; occurred_at is the receive time", c.g.Date)
	c.warnings = append(c.warnings, w)
	return c.opt.ReceivedAt
}

func (c *xset) id(n int) []string {
	return []string{"x12", c.ic.SenderQualifier, c.ic.Sender, c.ic.Control, c.g.Control, c.s.Control, strconv.Itoa(c.index), strconv.Itoa(n)}
}

func (c *xset) event(typ procure.Type, docID string, version int, supplier, plant string, payload any) *procure.Event {
	return newEvent(c.p, typ, docID, version, c.sentAt(), supplier, plant, payload, c.id(0)...)
}

// x12Mappers are the transaction sets mapped, by ST01.
var x12Mappers = map[string]func(*xset) ([]*procure.Event, error){
	"850": (*xset).purchaseOrder, "860": (*xset).purchaseOrder,
	"855": (*xset).acknowledgement, "865": (*xset).acknowledgement,
	"856": (*xset).shipNotice,
	"861": (*xset).receipt,
	"810": (*xset).invoice,
	"997": (*xset).functionalAck, "999": (*xset).functionalAck,
}

func (c *xset) run() ([]*procure.Event, error) {
	if !partner.AcceptsVersion(c.versions(), c.g.Version) {
		return nil, application(c.problem(c.g.Header, 8, "", c.g.Version, "version %s is not one partner %s sends (%s)", c.g.Version, c.p.ID, strings.Join(c.versions(), ", ")))
	}
	if m := x12Mappers[c.s.ID]; m != nil {
		return m(c)
	}
	pr := c.problem(c.s.Segments[0], 1, "", c.s.ID, "transaction set %s is not supported", c.s.ID)
	pr.Unsupported = true
	return nil, pr
}

func (c *xset) versions() []string {
	if c.p.X12 == nil {
		return nil
	}
	return c.p.X12.Versions
}

// parties holds the N1 loop results of a header.
type parties struct {
	shipToQual, shipTo string
	shipToSeg          x12.Segment
	supplier           string
	buyer              string
}

func (c *xset) party(seg x12.Segment, pt *parties) {
	switch seg.String(1) {
	case "ST":
		if pt.shipToSeg.Ordinal() == 0 {
			pt.shipToQual, pt.shipTo, pt.shipToSeg = c.str(seg, 3), c.str(seg, 4), seg
		}
	case "SU", "SE", "VN":
		if pt.supplier == "" {
			pt.supplier = c.p.SupplierFor(seg.String(3), seg.String(4))
		}
	case "BY":
		if pt.buyer == "" {
			pt.buyer = c.str(seg, 4)
			if pt.buyer == "" {
				pt.buyer = c.str(seg, 2)
			}
		}
	}
}

func (c *xset) plant(pt *parties) (string, error) {
	pl, err := c.p.MapPlant(pt.shipToQual, pt.shipTo, "plant")
	if err != nil {
		return "", c.unmapped(pt.shipToSeg, 4, err)
	}
	return pl, nil
}

func (c *xset) supplier(pt *parties) string {
	if pt.supplier != "" {
		return pt.supplier
	}
	return c.p.Supplier
}

// item picks the product id by the partner's qualifier preference from the
// qualifier/id pairs starting at element first.
func (c *xset) item(seg x12.Segment, first int, field fld, required bool) (string, error) {
	best, rank := "", -1
	prefs := c.shared.prefs
	els := c.elements(seg)
	for i := first; i+1 <= len(els); i += 2 { // qualifier/id pairs
		q, v := strings.TrimSpace(alias(els[i-1])), strings.TrimSpace(alias(els[i]))
		if q == "" || v == "" {
			continue
		}
		if r := slices.Index(prefs, q); r >= 0 && (rank < 0 || r < rank) {
			best, rank = v, r
		}
	}
	if best == "" && required {
		n := seg.Len()
		var got []string
		for i := first; i+1 <= n; i += 2 {
			if q := strings.TrimSpace(seg.String(i)); q != "" {
				got = append(got, q)
			}
		}
		return "", application(c.problem(seg, first, field.String(), strings.Join(got, ","), "no product id with a qualifier partner %s accepts (%s); got %v", c.p.ID, strings.Join(prefs, ", "), got))
	}
	return c.clone(best), nil
}

// needByQualifiers are the DTM/ACK/SCH date qualifiers read as a need-by or
// promised date, in preference order: 002 delivery requested, 106 required
// by, 074 requested for delivery (prior to), 067 current schedule delivery,
// 017 estimated delivery, 010 requested ship, 068 current schedule ship.
var needByQualifiers = []string{"002", "106", "074", "067", "017", "010", "068", "037", "038"}

func preferDate(cur string, curDate time.Time, q string, d time.Time) (string, time.Time) {
	r := slices.Index(needByQualifiers, q)
	if r < 0 {
		return cur, curDate
	}
	if cur == "" || r < slices.Index(needByQualifiers, cur) {
		return q, d
	}
	return cur, curDate
}

// poDoc is an 850 or 860 being read.
type poDoc struct {
	c                *xset
	hdr              x12.Segment
	po, purpose      string
	version          int
	orderType        string
	currency         string
	curSeg           x12.Segment
	inco             *procure.Incoterms
	pt               parties
	hdrQ             string
	hdrNeed, validTo time.Time
	lines            []procure.POLine
	lineSegs         []x12.Segment
	lineQ            []string
	lineNeed         []time.Time
	lineDelete       []bool
}

// poSegments are the segments an 850/860 maps: the header, then the line
// loop that PO1 (850) or POC (860) opens.
var poSegments = loops(
	tags(map[string]handler[x12.Segment, poDoc]{
		"BEG BCH": (*poDoc).begin, "CUR": (*poDoc).cur, "FOB": (*poDoc).fob,
		"DTM": (*poDoc).headerDate, "N1": (*poDoc).party,
	}),
	"PO1 POC",
	tags(map[string]handler[x12.Segment, poDoc]{
		"BEG BCH": (*poDoc).begin, "CUR": (*poDoc).cur, "FOB": (*poDoc).fob,
		"DTM": (*poDoc).lineDate, "PO1 POC": (*poDoc).line, "PID": (*poDoc).pid, "SCH": (*poDoc).sch,
	}),
)

func (d *poDoc) begin(seg x12.Segment) error {
	c := d.c
	d.hdr = seg
	d.purpose, d.po = seg.String(1), c.str(seg, 3)
	if t := seg.String(2); t == "BK" || t == "BE" {
		d.orderType = "blanket"
	}
	if seg.Is("BCH") {
		if v := strings.TrimSpace(seg.String(5)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				c.warn(seg, 5, "document.version", "change order sequence %q is not a number; version left out", v)
			} else {
				d.version = n
			}
		}
	}
	return nil
}

func (d *poDoc) cur(seg x12.Segment) error {
	if d.currency == "" {
		d.currency, d.curSeg = seg.String(2), seg
	}
	return nil
}

func (d *poDoc) fob(seg x12.Segment) error {
	if seg.String(4) == "01" && seg.String(5) != "" {
		t, err := d.c.p.MapIncoterm(seg.String(5), "", "incoterms")
		if err != nil {
			return d.c.unmapped(seg, 5, err)
		}
		d.inco = &procure.Incoterms{Code: t.Code, Edition: t.Edition, Place: d.c.str(seg, 7)}
	}
	return nil
}

// date reads a DTM's date, with a warning when it is not one.
func (d *poDoc) date(seg x12.Segment) (time.Time, bool) {
	t, ok := d.c.date(seg, 2, 3)
	if !ok && seg.String(2) != "" {
		d.c.warn(seg, 2, "", "date %q is not a date", seg.String(2))
	}
	return t, ok
}

func (d *poDoc) headerDate(seg x12.Segment) error {
	t, ok := d.date(seg)
	if !ok {
		return nil
	}
	if q := seg.String(1); q == "036" {
		d.validTo = t
	} else {
		d.hdrQ, d.hdrNeed = preferDate(d.hdrQ, d.hdrNeed, q, t)
	}
	return nil
}

func (d *poDoc) lineDate(seg x12.Segment) error {
	t, ok := d.date(seg)
	if !ok {
		return nil
	}
	k := len(d.lines) - 1
	d.lineQ[k], d.lineNeed[k] = preferDate(d.lineQ[k], d.lineNeed[k], seg.String(1), t)
	return nil
}

func (d *poDoc) party(seg x12.Segment) error {
	d.c.party(seg, &d.pt)
	return nil
}

func (d *poDoc) line(seg x12.Segment) error {
	l, del, err := d.c.poLine(seg, len(d.lines)+1)
	if err != nil {
		return err
	}
	d.lines = append(d.lines, l)
	d.lineSegs = append(d.lineSegs, seg)
	d.lineQ, d.lineNeed, d.lineDelete = append(d.lineQ, ""), append(d.lineNeed, time.Time{}), append(d.lineDelete, del)
	return nil
}

func (d *poDoc) pid(seg x12.Segment) error {
	if l := &d.lines[len(d.lines)-1]; l.Description == "" {
		l.Description = d.c.str(seg, 5)
	}
	return nil
}

func (d *poDoc) sch(seg x12.Segment) error {
	l := &d.lines[len(d.lines)-1]
	q, ok, err := d.c.num(seg, 1, plain("lines.schedule.quantity"))
	if err != nil {
		return err
	}
	t, dok := d.c.date(seg, 6, 7)
	if ok && q > 0 && dok {
		l.Schedule = append(l.Schedule, procure.ScheduleLine{Seq: len(l.Schedule) + 1, Quantity: q, Date: procure.DateOf(t)})
	}
	return nil
}

// purchaseOrder maps an 850 or 860.
func (c *xset) purchaseOrder() ([]*procure.Event, error) {
	d := &c.shared.po
	*d = poDoc{c: c, orderType: "standard"}
	if err := poSegments.walk(c.s.Body(), x12.Segment.Tag, d); err != nil {
		return nil, err
	}
	hdr, po, purpose, version, orderType, pt := d.hdr, d.po, d.purpose, d.version, d.orderType, &d.pt
	lines, lineSegs, lineNeed, lineDelete := d.lines, d.lineSegs, d.lineNeed, d.lineDelete
	hdrNeed, validTo, currency, curSeg, inco := d.hdrNeed, d.validTo, d.currency, d.curSeg, d.inco
	if hdr.Ordinal() == 0 {
		return nil, c.problem(c.s.Segments[0], 0, "document.id", "", "no BEG/BCH beginning segment")
	}
	if po == "" {
		return nil, c.problem(hdr, 3, "document.id", "", "purchase order number is missing")
	}
	plant, err := c.plant(pt)
	if err != nil {
		return nil, err
	}
	supplier := c.supplier(pt)
	if purpose == "01" {
		return []*procure.Event{c.event(procure.POCancelled, po, version, supplier, plant, &procure.Cancellation{Reason: "cancelled by the sender (" + c.s.ID + " purpose 01)"})}, nil
	}
	cur, err := c.p.MapCurrency(currency, "currency")
	if err != nil {
		return nil, c.unmapped(curSeg, 2, err)
	}
	kept := lines[:0]
	for i := range lines {
		l := &lines[i]
		if lineDelete[i] {
			c.warn(lineSegs[i], 2, fmt.Sprintf("lines[%d]", i), "line %d is deleted (POC02 DI): left out of the order", l.Line)
			continue
		}
		switch {
		case !lineNeed[i].IsZero():
			l.NeedBy = procure.DateOf(lineNeed[i])
		case len(l.Schedule) > 0:
			l.NeedBy = l.Schedule[0].Date
		case !hdrNeed.IsZero():
			l.NeedBy = procure.DateOf(hdrNeed)
		case orderType == "blanket" && !validTo.IsZero():
			l.NeedBy = procure.DateOf(validTo)
		default:
			// No date anywhere: the order is still a fact; the line has no
			// need-by date (rules that need one do not apply).
			c.warn(lineSegs[i], 0, fmt.Sprintf("lines[%d].need_by", i), "line %d has no delivery date (DTM 002/106/074/010 or SCH, in the line or the header)", l.Line)
		}
		kept = append(kept, *l)
	}
	if len(kept) == 0 {
		return nil, c.problem(hdr, 0, "lines", "", "the order has no lines")
	}
	order := &procure.PurchaseOrder{OrderType: orderType, Buyer: pt.buyer, Currency: cur, Incoterms: inco, ShipTo: plant, Lines: kept}
	if !validTo.IsZero() {
		order.ValidTo = procure.DateOf(validTo)
	}
	typ := procure.POReleased
	if c.s.ID == "860" || (purpose != "00" && purpose != "06" && purpose != "07") {
		typ = procure.POChanged
	}
	return []*procure.Event{c.event(typ, po, version, supplier, plant, order)}, nil
}

// poLine reads a PO1 (850) or POC (860) line. del reports a POC02 DI
// (delete item).
func (c *xset) poLine(seg x12.Segment, seq int) (l procure.POLine, del bool, err error) {
	field := lineField(seq - 1)
	qtyEl, unitEl, priceEl, basisEl, idEl := 2, 3, 4, 5, 6
	if seg.Is("POC") {
		qtyEl, unitEl, priceEl, basisEl, idEl = 3, 5, 6, 7, 8
		del = seg.String(2) == "DI"
	}
	l.Line = c.line(seg, 1, seq, field)
	q, ok, err := c.num(seg, qtyEl, field.sub("quantity"))
	if err != nil {
		return l, del, err
	}
	if !ok || q <= 0 {
		if del {
			return l, del, nil
		}
		return l, del, c.problem(seg, qtyEl, field.sub("quantity").String(), seg.String(qtyEl), "quantity is missing or not positive")
	}
	l.Quantity = q
	if l.Unit, l.UnitOriginal, err = c.unit(seg, unitEl, field.sub("unit")); err != nil {
		return l, del, err
	}
	if p, ok, err := c.num(seg, priceEl, field.sub("unit_price")); err != nil {
		return l, del, err
	} else if ok {
		l.UnitPrice = p
	}
	_ = basisEl
	if l.Item, err = c.item(seg, idEl, field.sub("item"), true); err != nil {
		return l, del, err
	}
	return l, del, nil
}

// line reads a line number from element i, or uses the position seq with a
// warning when the sender left it out.
func (c *xset) line(seg x12.Segment, i, seq int, field fld) int {
	if n, ok := lineNumber(seg.String(i)); ok {
		return n
	}
	c.warn(seg, i, field.sub("line").String(), "line number %q is missing or not a number: line is the position %d", seg.String(i), seq)
	return seq
}

// ackStatus maps X12 element 668 (line item status) to the canonical status.
var ackStatus = map[string]string{
	"IA": procure.AckAccepted, "AC": procure.AckAccepted, "AR": procure.AckAccepted, "IT": procure.AckAccepted,
	"IC": procure.AckChanged, "IQ": procure.AckChanged, "IP": procure.AckChanged, "DR": procure.AckChanged, "IS": procure.AckChanged,
	"IR": procure.AckRejected, "ID": procure.AckRejected, "R1": procure.AckRejected, "R2": procure.AckRejected, "R3": procure.AckRejected,
	"R4": procure.AckRejected, "R5": procure.AckRejected, "R6": procure.AckRejected, "R7": procure.AckRejected, "R8": procure.AckRejected,
	"IB": procure.AckBackordered, "BP": procure.AckBackordered,
}

// rejectReasons names the X12 668 rejection codes.
var rejectReasons = map[string]string{
	"IR": "item rejected", "ID": "item deleted", "R1": "not a contract item", "R2": "invalid item number",
	"R3": "invalid unit of issue", "R4": "contract item not available", "R5": "item rejected, reorder item as a just-in-time order",
	"R6": "item rejected, reorder item as an extended delivery order", "R7": "item rejected, reorder item as a direct ship order",
	"R8": "item rejected, reorder item as a drop ship order",
}

// ackDoc is an 855 or 865 being read.
type ackDoc struct {
	c        *xset
	hdr      x12.Segment
	po       string
	ackType  string
	ack      procure.Acknowledgement
	pt       parties
	cur      *ackLine // the PO line being read
	curLines []*ackLine
}

// ackSegments are the segments an 855/865 maps: the header, then the line
// loop PO1 (855) or POC (865) opens, with its ACK, SCH and DTM.
var ackSegments = loops(
	tags(map[string]handler[x12.Segment, ackDoc]{
		"BAK": (*ackDoc).bak, "BCA": (*ackDoc).bca, "N1": (*ackDoc).party,
	}),
	"PO1 POC",
	tags(map[string]handler[x12.Segment, ackDoc]{
		"BAK": (*ackDoc).bak, "BCA": (*ackDoc).bca, "PO1 POC": (*ackDoc).line,
		"ACK": (*ackDoc).lineAck, "SCH DTM": (*ackDoc).date,
	}),
)

func (d *ackDoc) bak(seg x12.Segment) error {
	c := d.c
	d.hdr, d.ackType, d.po = seg, seg.String(2), c.str(seg, 3)
	d.ack.AckID = c.str(seg, 8)
	if d.ack.AckID == "" {
		d.ack.AckID = c.str(seg, 6)
	}
	return nil
}

func (d *ackDoc) bca(seg x12.Segment) error {
	c := d.c
	d.hdr, d.ackType, d.po = seg, seg.String(2), c.str(seg, 3)
	if n, ok := lineNumber(seg.String(5)); ok {
		d.ack.POVersion = n
	}
	d.ack.AckID = c.str(seg, 9)
	return nil
}

func (d *ackDoc) party(seg x12.Segment) error {
	d.c.party(seg, &d.pt)
	return nil
}

func (d *ackDoc) line(seg x12.Segment) error {
	d.cur = &ackLine{seg: seg}
	d.curLines = append(d.curLines, d.cur)
	return nil
}

func (d *ackDoc) lineAck(seg x12.Segment) error {
	d.cur.acks = append(d.cur.acks, seg)
	return nil
}

// date reads the line's promised date: the first SCH date, or the first DTM
// with a need-by qualifier.
func (d *ackDoc) date(seg x12.Segment) error {
	if cur := d.cur; cur.date.IsZero() {
		di, qi := 6, 5
		if seg.Is("DTM") {
			di, qi = 2, 1
		}
		if t, ok := d.c.date(seg, di, di+1); ok && slices.Contains(needByQualifiers, seg.String(qi)) || ok && seg.Is("SCH") {
			cur.date = t
		}
	}
	return nil
}

// acknowledgement maps an 855 or 865.
func (c *xset) acknowledgement() ([]*procure.Event, error) {
	d := &ackDoc{c: c}
	if err := ackSegments.walk(c.s.Body(), x12.Segment.Tag, d); err != nil {
		return nil, err
	}
	hdr, po, ackType, ack, pt, curLines := d.hdr, d.po, d.ackType, &d.ack, &d.pt, d.curLines
	if hdr.Ordinal() == 0 {
		return nil, c.problem(c.s.Segments[0], 0, "document.id", "", "no BAK/BCA beginning segment")
	}
	if po == "" {
		return nil, c.problem(hdr, 3, "document.id", "", "purchase order number is missing")
	}
	for k, al := range curLines {
		lines, err := c.ackLines(al, k, ackType)
		if err != nil {
			return nil, err
		}
		ack.Lines = append(ack.Lines, lines...)
	}
	if len(ack.Lines) == 0 {
		return nil, c.problem(hdr, 2, "lines", ackType, "acknowledgement type %s without PO1/POC lines: no line to acknowledge", ackType)
	}
	plant, err := c.plant(pt)
	if err != nil {
		return nil, err
	}
	return []*procure.Event{c.event(procure.POAcknowledged, po, ack.POVersion, c.supplier(pt), plant, ack)}, nil
}

type ackLine struct {
	seg  x12.Segment
	acks []x12.Segment
	date time.Time
}

func (c *xset) ackLines(al *ackLine, k int, ackType string) ([]procure.AckLine, error) {
	field := lineField(k)
	seg := al.seg
	qtyEl, unitEl, priceEl := 2, 3, 4
	if seg.Is("POC") {
		qtyEl, unitEl, priceEl = 3, 5, 6
	}
	base := procure.AckLine{Line: c.line(seg, 1, k+1, field)}
	if p, ok, err := c.num(seg, priceEl, field.sub("unit_price")); err != nil {
		return nil, err
	} else if ok {
		base.UnitPrice = p
	}
	if !al.date.IsZero() {
		base.PromisedDate = procure.DateOf(al.date)
	}
	if len(al.acks) == 0 {
		l := base
		switch ackType {
		case "RJ", "RD", "RF":
			l.Status = procure.AckRejected
		default:
			l.Status = procure.AckAccepted
		}
		q, ok, err := c.num(seg, qtyEl, field.sub("quantity"))
		if err != nil {
			return nil, err
		}
		if ok {
			l.Quantity = q
			if l.Unit, l.UnitOriginal, err = c.unit(seg, unitEl, field.sub("unit")); err != nil {
				return nil, err
			}
		}
		return []procure.AckLine{l}, nil
	}
	var out []procure.AckLine
	for _, a := range al.acks {
		l := base
		code := a.String(1)
		st, ok := ackStatus[code]
		if !ok {
			return nil, application(c.problem(a, 1, field.sub("status").String(), code, "line item status %q is not mapped to accepted, changed, rejected or backordered", code))
		}
		l.Status = st
		q, ok, err := c.num(a, 2, field.sub("quantity"))
		if err != nil {
			return nil, err
		}
		if ok {
			l.Quantity = q
			ue := 3
			if a.String(3) == "" {
				a, ue = seg, unitEl
			}
			if l.Unit, l.UnitOriginal, err = c.unit(a, ue, field.sub("unit")); err != nil {
				return nil, err
			}
		}
		if d, ok := c.date(a, 5, 0); ok {
			l.PromisedDate = procure.DateOf(d)
		}
		if st == procure.AckChanged && l.Quantity == 0 && l.PromisedDate.IsZero() && l.UnitPrice == 0 {
			return nil, c.problem(a, 1, field.String(), code, "line %d is changed (%s) but proposes no quantity, date or price", l.Line, code)
		}
		if st == procure.AckRejected {
			l.Reason = code + " " + rejectReasons[code]
		}
		out = append(out, l)
	}
	return out, nil
}

// hl is one hierarchical level of an 856.
type hl struct {
	id, parent string
	level      string
	seg        x12.Segment   // the HL segment
	segs       []x12.Segment // the segments after it, up to the next HL or CTT (a window on the set)
	up         *hl
	sscc       string
	items      int // item levels under this order level, so far
	packKids   int // child pack levels with an SSCC
	packKid    *hl // the last of them
}

// hierarchy reads the HL tree of the set in one pass: levels in order with
// their parents resolved. head is the segments outside any level (before the
// first HL, after CTT). Levels and their segment lists are windows on one
// allocation: a 50-item ship notice is two allocations, not a hundred.
func (c *xset) hierarchy() (head []x12.Segment, levels []*hl, err error) {
	body := c.s.Body()
	n := 0
	for i := range body {
		if body[i].Is("HL") {
			n++
		}
	}
	store := make([]hl, n)
	levels = make([]*hl, 0, n)
	// ids are almost always 1, 2, 3 …: while they are, a level's id is its
	// position and needs no map; the first other id builds the map.
	var byID map[string]*hl
	find := func(id string) *hl {
		if byID != nil {
			return byID[id]
		}
		if k, ok := seqID(id); ok && k <= len(levels) {
			return levels[k-1]
		}
		return nil
	}
	var cur *hl
	curFrom := 0
	closeCur := func(to int) {
		if cur != nil {
			cur.segs = body[curFrom:to:to]
			cur = nil
		}
	}
	headEnd := -1 // body[:headEnd] is head while nothing else joined it
	for i, seg := range body {
		switch {
		case seg.Is("HL"):
			closeCur(i)
			if headEnd < 0 {
				headEnd = i
				head = body[:i:i]
			}
			h := &store[len(levels)]
			h.seg = seg
			for k, e := range seg.All() { // HL01-03 in one pass
				switch k {
				case 1:
					h.id = alias(e)
				case 2:
					h.parent = alias(e)
				case 3:
					h.level = alias(e)
				}
				if k == 3 {
					break
				}
			}
			if h.id == "" {
				return nil, nil, c.problem(seg, 1, "", "", "HL01 (hierarchical id) is missing")
			}
			if find(h.id) != nil {
				return nil, nil, c.problem(seg, 1, "", h.id, "hierarchical id %s appears twice", h.id)
			}
			if h.parent != "" {
				if h.up = find(h.parent); h.up == nil {
					return nil, nil, c.problem(seg, 2, "", h.parent, "parent %s of HL %s is not an earlier HL", h.parent, h.id)
				}
			}
			if byID == nil {
				if k, ok := seqID(h.id); !ok || k != len(levels)+1 {
					byID = make(map[string]*hl, n)
					for _, x := range levels {
						byID[x.id] = x
					}
				}
			}
			if byID != nil {
				byID[h.id] = h
			}
			levels = append(levels, h)
			cur, curFrom = h, i+1
		case seg.Is("CTT"):
			closeCur(i)
			if headEnd < 0 {
				headEnd = i
				head = body[:i:i]
			}
		default:
			if cur == nil && headEnd >= 0 {
				head = append(head, seg) // after CTT: copied, body is not written
			}
		}
	}
	closeCur(len(body))
	if headEnd < 0 {
		head = body
	}
	return head, levels, nil
}

// seqID reads an id written as a plain positive decimal without leading
// zeros ("1", "12"), the form sequential HL ids take.
func seqID(id string) (int, bool) {
	if id == "" || len(id) > 9 || id[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (h *hl) ancestor(levels ...string) *hl {
	for a := h.up; a != nil; a = a.up {
		if slices.Contains(levels, a.level) {
			return a
		}
	}
	return nil
}

// transportMode maps TD504 (transportation method) to the canonical mode;
// codes with no single mode (L contract carrier, T best way …) are left out.
var transportMode = map[string]string{
	"A": "air", "AE": "air", "AC": "air", "M": "road", "J": "road", "LT": "road", "TL": "road",
	"R": "rail", "S": "sea", "O": "sea", "U": "parcel", "D": "parcel",
}

// sscc normalises a MAN mark: GM/UC/AA marks hold an SSCC-18, with or
// without the (00) application identifier. A wrong check digit is a
// warning; a mark that is no SSCC is left out with a warning.
func (c *xset) sscc(seg x12.Segment) string {
	switch seg.String(1) {
	case "GM", "UC", "AA", "SC":
	default:
		return ""
	}
	v := strings.TrimSpace(seg.String(2))
	if len(v) == 20 && strings.HasPrefix(v, "00") {
		v = v[2:]
	}
	if len(v) != 18 || !allDigits(v) {
		c.warn(seg, 2, "packs.sscc", "mark %q is not an SSCC-18: pack left out", seg.String(2))
		return ""
	}
	if !procure.ValidSSCC(v) {
		c.warn(seg, 2, "packs.sscc", "SSCC %s has check digit %c, GS1 mod-10 gives %d", v, v[17], procure.GS1CheckDigit(v[:17]))
	}
	return c.clone(v)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// shipDoc is the shipment of an 856 being read: the segments before the
// first HL and those of shipment (S) levels.
type shipDoc struct {
	c                *xset
	sn               *procure.ShipNotice
	shipQ, arrQ      string
	shipDate, arrive time.Time
	pt               parties
}

// shipSegments are the shipment-level segments an 856 maps (BSN is read
// before them).
var shipSegments = loops(tags(map[string]handler[x12.Segment, shipDoc]{
	"DTM": (*shipDoc).dtm, "TD5": (*shipDoc).td5, "REF": (*shipDoc).ref, "N1": (*shipDoc).party,
}), "", nil)

func (d *shipDoc) dtm(seg x12.Segment) error {
	t, ok := d.c.date(seg, 2, 3)
	if !ok {
		return nil
	}
	switch q := seg.String(1); q {
	case "011":
		d.shipDate, d.shipQ = t, q
	case "017", "067", "002", "AA1":
		if d.arrQ == "" || q == "017" {
			d.arrive, d.arrQ = t, q
		}
	}
	return nil
}

func (d *shipDoc) td5(seg x12.Segment) error {
	c, sn := d.c, d.sn
	if sn.Carrier.SCAC == "" && seg.String(2) == "2" {
		sn.Carrier.SCAC = c.str(seg, 3)
	}
	if sn.Carrier.Name == "" {
		sn.Carrier.Name = c.str(seg, 5)
	}
	if m := transportMode[seg.String(4)]; m != "" && sn.Carrier.Mode == "" {
		sn.Carrier.Mode = m
	}
	return nil
}

func (d *shipDoc) ref(seg x12.Segment) error {
	switch seg.String(1) {
	case "BM":
		d.sn.BillOfLading = d.c.str(seg, 2)
	case "CN", "2I":
		if d.sn.Tracking == "" {
			d.sn.Tracking = d.c.str(seg, 2)
		}
	}
	return nil
}

func (d *shipDoc) party(seg x12.Segment) error {
	d.c.party(seg, &d.pt)
	return nil
}

// shipNotice maps an 856 (hierarchies S-O-P-I, S-O-T-P-I, S-O-I-P, S-O-I and
// any other parent-linked order of levels).
func (c *xset) shipNotice() ([]*procure.Event, error) {
	head, levels, err := c.hierarchy()
	if err != nil {
		return nil, err
	}
	var (
		bsn              x12.Segment
		shipID, purpose  string
		sn               procure.ShipNotice
		shipQ            string
		shipDate, arrive time.Time
		pt               parties
		orphanItems      int // item levels without an order level
		shipLevelSegs    []x12.Segment
	)
	shipLevelSegs = append(shipLevelSegs, head...)
	for _, h := range levels {
		if h.level == "S" {
			shipLevelSegs = append(shipLevelSegs, h.segs...)
		}
	}
	for _, seg := range head {
		if seg.Is("BSN") {
			bsn, purpose, shipID = seg, seg.String(1), c.str(seg, 2)
			if d, ok := c.date(seg, 3, 4); ok {
				shipDate, shipQ = d, "BSN"
			}
		}
	}
	if bsn.Ordinal() == 0 {
		return nil, c.problem(c.s.Segments[0], 0, "document.id", "", "no BSN beginning segment")
	}
	if shipID == "" {
		return nil, c.problem(bsn, 2, "document.id", "", "shipment id (BSN02) is missing")
	}
	ship := &c.shared.ship
	*ship = shipDoc{c: c, sn: &sn, shipQ: shipQ, shipDate: shipDate}
	if err := shipSegments.walk(shipLevelSegs, x12.Segment.Tag, ship); err != nil {
		return nil, err
	}
	shipQ, shipDate, arrive, pt = ship.shipQ, ship.shipDate, ship.arrive, ship.pt
	_ = shipQ
	if purpose == "01" {
		plant, err := c.plant(&pt)
		if err != nil {
			return nil, err
		}
		return []*procure.Event{c.event(procure.ASNCancelled, shipID, 0, c.supplier(&pt), plant, &procure.Cancellation{Reason: "cancelled by the sender (856 purpose 01)"})}, nil
	}
	if shipDate.IsZero() {
		return nil, application(c.problem(bsn, 3, "ship_date", "", "no ship date (DTM 011 or BSN03)"))
	}
	if arrive.IsZero() {
		arrive = c.deriveArrival(bsn, levels, shipDate)
	}
	sn.ShipDate, sn.ExpectedArrival = shipDate.UTC(), arrive.UTC()
	plant, err := c.plant(&pt)
	if err != nil {
		return nil, err
	}
	sn.ShipTo = plant
	// Packs: every P or T level with an SSCC mark.
	for _, h := range levels {
		if h.level != "P" && h.level != "T" {
			continue
		}
		for _, seg := range h.segs {
			if seg.Is("MAN") && h.sscc == "" {
				h.sscc = c.sscc(seg)
			}
		}
		if h.sscc == "" {
			continue
		}
		if h.up != nil && (h.level == "P" || h.level == "T") {
			h.up.packKids++
			h.up.packKid = h
		}
		pk := procure.Pack{SSCC: h.sscc}
		if h.level == "T" {
			pk.Packaging = "PX"
		}
		if a := h.ancestor("P", "T"); a != nil {
			pk.ParentSSCC = a.sscc
		}
		sn.Packs = append(sn.Packs, pk)
	}
	items := 0
	for _, h := range levels {
		if h.level == "I" {
			items++
		}
	}
	sn.Lines = make([]procure.ASNLine, 0, items)
	for _, h := range levels {
		if h.level != "I" {
			continue
		}
		k := len(sn.Lines)
		field := lineField(k)
		l := procure.ASNLine{}
		order := h.ancestor("O")
		// The item level stays a switch, not a segment table: it is the
		// hottest loop of a large ship notice, and a table's indirect calls
		// with the state on the heap (write barriers on every segment kept)
		// cost several percent of BenchmarkX12ShipNotices.
		var lin, sn1, prf x12.Segment
		for _, seg := range h.segs {
			switch seg.Tag() {
			case "LIN":
				lin = seg
			case "SN1":
				sn1 = seg
			case "PRF":
				prf = seg
			case "REF":
				if seg.String(1) == "LT" && l.Lot == "" {
					l.Lot = c.str(seg, 2)
				}
			case "DTM":
				if seg.String(1) == "036" {
					if d, ok := c.date(seg, 2, 0); ok {
						l.ExpiryDate = procure.DateOf(d)
					}
				}
			}
		}
		if prf.Ordinal() == 0 && order != nil {
			for _, seg := range order.segs {
				if seg.Is("PRF") {
					prf = seg
					break
				}
			}
		}
		if prf.Ordinal() == 0 || strings.TrimSpace(prf.String(1)) == "" {
			return nil, application(c.problem(h.seg, 0, field.sub("po").String(), "", "item HL %s has no purchase order (PRF01 at order or item level)", h.id))
		}
		l.PO = c.str(prf, 1)
		if sn1.Ordinal() == 0 {
			return nil, c.problem(h.seg, 0, field.sub("quantity").String(), "", "item HL %s has no SN1 quantity", h.id)
		}
		q, ok, err := c.num(sn1, 2, field.sub("quantity"))
		if err != nil {
			return nil, err
		}
		if !ok || q <= 0 {
			return nil, c.problem(sn1, 2, field.sub("quantity").String(), sn1.String(2), "shipped quantity is missing or not positive")
		}
		l.Quantity = q
		if l.Unit, l.UnitOriginal, err = c.unit(sn1, 3, field.sub("unit")); err != nil {
			return nil, err
		}
		pos := &orphanItems
		if order != nil {
			pos = &order.items
		}
		*pos++
		switch {
		case lin.Ordinal() > 0:
			if n, ok := lineNumber(lin.String(1)); ok {
				l.Line = n
			} else if n, ok := lineNumber(sn1.String(1)); ok {
				l.Line = n
			} else {
				l.Line = *pos
				c.warn(lin, 1, field.sub("line").String(), "no PO line number (LIN01, SN101): line is the item's position %d in order %s", l.Line, l.PO)
			}
			if l.Item, err = c.item(lin, 2, field.sub("item"), false); err != nil {
				return nil, err
			}
			if l.Lot == "" {
				l.Lot = c.pairValue(lin, 2, "LT")
			}
		default:
			if n, ok := lineNumber(sn1.String(1)); ok {
				l.Line = n
			} else {
				l.Line = *pos
				c.warn(sn1, 1, field.sub("line").String(), "no PO line number (LIN01, SN101): line is the item's position %d in order %s", l.Line, l.PO)
			}
		}
		if a := h.ancestor("P", "T"); a != nil {
			l.SSCC = a.sscc
		} else if h.packKids == 1 {
			l.SSCC = h.packKid.sscc // S-O-I-P with one pack per item
		}
		sn.Lines = append(sn.Lines, l)
	}
	if len(sn.Lines) == 0 {
		return nil, c.problem(bsn, 0, "lines", "", "the ship notice has no item (HL I) level")
	}
	return []*procure.Event{c.event(procure.ASNSubmitted, shipID, 0, c.supplier(&pt), plant, &sn)}, nil
}

// deriveArrival is the expected arrival of an 856 whose shipment level has
// none (real ASNs often carry only the ship date): a DTM 017/067/002 of an
// order or item level, else the ship date plus the partner's transit days,
// else the ship date; a warning says which.
func (c *xset) deriveArrival(bsn x12.Segment, levels []*hl, ship time.Time) time.Time {
	for _, h := range levels {
		for _, seg := range h.segs {
			if !seg.Is("DTM") {
				continue
			}
			if q := seg.String(1); q == "017" || q == "067" || q == "002" {
				if d, ok := c.date(seg, 2, 3); ok && !d.Before(ship) {
					c.warn(seg, 2, "expected_arrival", "no estimated arrival at shipment level: expected_arrival is DTM %s of HL %s", q, h.id)
					application(c.warnings[len(c.warnings)-1])
					return d
				}
			}
		}
	}
	return arrivalFromShip(c.p, ship, func(format string, args ...any) {
		c.warn(bsn, 0, "expected_arrival", format, args...)
		application(c.warnings[len(c.warnings)-1])
	})
}

func (c *xset) pairValue(seg x12.Segment, first int, qual string) string {
	els := c.elements(seg)
	for i := first; i+1 <= len(els); i += 2 {
		if alias(els[i-1]) == qual {
			return c.clone(alias(els[i]))
		}
	}
	return ""
}

// receiptDoc is an 861 being read.
type receiptDoc struct {
	c         *xset
	bra       x12.Segment
	id        string
	rc        procure.Receipt
	pt        parties
	headPO    string
	cur       *procure.ReceiptLine
	received  time.Time
	lineSegs  []x12.Segment
	linePOs   []string
	lineItems []x12.Segment
}

// receiptSegments are the segments an 861 maps: the header, then the line
// loop RCD opens, with its PRF, REF and LIN.
var receiptSegments = loops(
	tags(map[string]handler[x12.Segment, receiptDoc]{
		"BRA": (*receiptDoc).begin, "PRF": (*receiptDoc).headerPRF, "REF": (*receiptDoc).headerREF,
		"DTM": (*receiptDoc).dtm, "N1": (*receiptDoc).party,
	}),
	"RCD",
	tags(map[string]handler[x12.Segment, receiptDoc]{
		"BRA": (*receiptDoc).begin, "PRF": (*receiptDoc).linePRF, "REF": (*receiptDoc).lineREF,
		"RCD": (*receiptDoc).line, "LIN": (*receiptDoc).lin,
	}),
)

func (d *receiptDoc) begin(seg x12.Segment) error {
	d.bra, d.id = seg, d.c.str(seg, 1)
	return nil
}

func (d *receiptDoc) headerPRF(seg x12.Segment) error {
	if d.headPO == "" {
		d.headPO = d.c.str(seg, 1)
	}
	return nil
}

func (d *receiptDoc) linePRF(seg x12.Segment) error {
	d.linePOs[len(d.linePOs)-1] = d.c.str(seg, 1)
	return nil
}

func (d *receiptDoc) headerREF(seg x12.Segment) error {
	if (seg.String(1) == "SI" || seg.String(1) == "MA") && d.rc.ASN == "" {
		d.rc.ASN = d.c.str(seg, 2)
	}
	if seg.String(1) == "PO" && d.headPO == "" {
		d.headPO = d.c.str(seg, 2)
	}
	return nil
}

func (d *receiptDoc) lineREF(seg x12.Segment) error {
	if seg.String(1) == "LT" {
		d.cur.Lot = d.c.str(seg, 2)
	}
	return nil
}

func (d *receiptDoc) dtm(seg x12.Segment) error {
	if seg.String(1) == "050" {
		if t, ok := d.c.date(seg, 2, 3); ok {
			d.received = t
		}
	}
	return nil
}

func (d *receiptDoc) party(seg x12.Segment) error {
	d.c.party(seg, &d.pt)
	return nil
}

func (d *receiptDoc) line(seg x12.Segment) error {
	c := d.c
	k := len(d.rc.Lines)
	field := lineField(k)
	d.rc.Lines = append(d.rc.Lines, procure.ReceiptLine{})
	cur := &d.rc.Lines[k]
	d.cur = cur
	d.lineSegs, d.linePOs, d.lineItems = append(d.lineSegs, seg), append(d.linePOs, ""), append(d.lineItems, x12.Segment{})
	q, _, err := c.num(seg, 2, field.sub("received_quantity"))
	if err != nil {
		return err
	}
	cur.ReceivedQuantity = q
	if r, _, err := c.num(seg, 4, field.sub("rejected_quantity")); err != nil {
		return err
	} else {
		cur.RejectedQuantity = r
	}
	ue := 3
	if seg.String(3) == "" && seg.String(5) != "" {
		ue = 5
	}
	if cur.Unit, _, err = c.unit(seg, ue, field.sub("unit")); err != nil {
		return err
	}
	return nil
}

func (d *receiptDoc) lin(seg x12.Segment) error {
	d.lineItems[len(d.lineItems)-1] = seg
	return nil
}

// receipt maps an 861 (receiving advice).
func (c *xset) receipt() ([]*procure.Event, error) {
	d := &receiptDoc{c: c}
	if err := receiptSegments.walk(c.s.Body(), x12.Segment.Tag, d); err != nil {
		return nil, err
	}
	bra, id, rc, pt, headPO, received := d.bra, d.id, &d.rc, &d.pt, d.headPO, d.received
	lineSegs, linePOs, lineItems := d.lineSegs, d.linePOs, d.lineItems
	if bra.Ordinal() == 0 {
		return nil, c.problem(c.s.Segments[0], 0, "document.id", "", "no BRA beginning segment")
	}
	if id == "" {
		return nil, c.problem(bra, 1, "document.id", "", "receipt number (BRA01) is missing")
	}
	for k := range rc.Lines {
		field := lineField(k)
		l := &rc.Lines[k]
		l.PO = linePOs[k]
		if l.PO == "" {
			l.PO = headPO
		}
		if l.PO == "" {
			return nil, application(c.problem(lineSegs[k], 0, field.sub("po").String(), "", "receipt line has no purchase order (PRF at line or header level)"))
		}
		if n, ok := lineNumber(lineSegs[k].String(1)); ok {
			l.Line = n
		} else if lin := lineItems[k]; lin.Ordinal() > 0 {
			l.Line = c.line(lin, 1, k+1, field)
		} else {
			l.Line = c.line(lineSegs[k], 1, k+1, field)
		}
		if lin := lineItems[k]; lin.Ordinal() > 0 {
			item, err := c.item(lin, 2, field.sub("item"), false)
			if err != nil {
				return nil, err
			}
			l.Item = item
		}
	}
	if len(rc.Lines) == 0 {
		return nil, c.problem(bra, 0, "lines", "", "the receiving advice has no RCD line")
	}
	plant, err := c.plant(pt)
	if err != nil {
		return nil, err
	}
	ev := c.event(procure.GoodsReceived, id, 0, c.supplier(pt), plant, rc)
	if usable(received) {
		ev.OccurredAt = received.UTC()
	}
	return []*procure.Event{ev}, nil
}

// invoiceDoc is an 810 being read.
type invoiceDoc struct {
	c        *xset
	big      x12.Segment
	id, po   string
	inv      procure.InvoiceStatus
	currency string
	curSeg   x12.Segment
	pt       parties
	invDate  time.Time
	dueDays  int
	tds      x12.Segment
	lineSegs []x12.Segment
}

// invoiceSegments are the segments an 810 maps: the header, then the line
// loop IT1 opens (parties are read in the header only).
var invoiceSegments = loops(
	tags(map[string]handler[x12.Segment, invoiceDoc]{
		"BIG": (*invoiceDoc).begin, "CUR": (*invoiceDoc).cur, "N1": (*invoiceDoc).party,
		"ITD": (*invoiceDoc).itd, "TDS": (*invoiceDoc).total,
	}),
	"IT1",
	tags(map[string]handler[x12.Segment, invoiceDoc]{
		"BIG": (*invoiceDoc).begin, "CUR": (*invoiceDoc).cur, "ITD": (*invoiceDoc).itd,
		"IT1": (*invoiceDoc).line, "TDS": (*invoiceDoc).total,
	}),
)

func (d *invoiceDoc) begin(seg x12.Segment) error {
	c := d.c
	d.big, d.id, d.po = seg, c.str(seg, 2), c.str(seg, 4)
	d.invDate, _ = c.date(seg, 1, 0)
	switch strings.TrimSpace(seg.String(7)) {
	case "CR", "CN": // credit memo, credit note (640)
		d.inv.CreditNote = true
	}
	return nil
}

func (d *invoiceDoc) cur(seg x12.Segment) error {
	if d.currency == "" {
		d.currency, d.curSeg = seg.String(2), seg
	}
	return nil
}

func (d *invoiceDoc) party(seg x12.Segment) error {
	d.c.party(seg, &d.pt)
	return nil
}

func (d *invoiceDoc) itd(seg x12.Segment) error {
	if d.inv.DueDate.IsZero() {
		if t, ok := d.c.date(seg, 6, 0); ok {
			d.inv.DueDate = procure.DateOf(t)
		} else if n, err := strconv.Atoi(strings.TrimSpace(seg.String(7))); err == nil && n >= 0 && d.dueDays == 0 {
			d.dueDays = n
		}
	}
	return nil
}

func (d *invoiceDoc) line(seg x12.Segment) error {
	d.lineSegs = append(d.lineSegs, seg)
	return nil
}

func (d *invoiceDoc) total(seg x12.Segment) error {
	d.tds = seg
	return nil
}

// invoice maps an 810 to invoice.status_changed with status received.
func (c *xset) invoice() ([]*procure.Event, error) {
	d := &invoiceDoc{c: c, inv: procure.InvoiceStatus{Status: procure.InvoiceReceived}}
	if err := invoiceSegments.walk(c.s.Body(), x12.Segment.Tag, d); err != nil {
		return nil, err
	}
	big, id, po, inv, currency, curSeg, pt := d.big, d.id, d.po, &d.inv, d.currency, d.curSeg, &d.pt
	invDate, dueDays, tds, lineSegs := d.invDate, d.dueDays, d.tds, d.lineSegs
	if big.Ordinal() == 0 {
		return nil, c.problem(c.s.Segments[0], 0, "document.id", "", "no BIG beginning segment")
	}
	if id == "" {
		return nil, c.problem(big, 2, "document.id", "", "invoice number (BIG02) is missing")
	}
	cur, err := c.p.MapCurrency(currency, "currency")
	if err != nil {
		return nil, c.unmapped(curSeg, 2, err)
	}
	inv.Currency, inv.PO = cur, po
	if inv.DueDate.IsZero() && dueDays > 0 && !invDate.IsZero() {
		inv.DueDate = procure.DateOf(invDate.AddDate(0, 0, dueDays))
	}
	if tds.Ordinal() > 0 {
		v, ok, err := c.num(tds, 1, plain("amount"))
		if err != nil {
			return nil, err
		}
		if ok {
			inv.Amount = scale(v, cur) // TDS01 is N2: implied decimals
			if inv.Amount < 0 {
				if !inv.CreditNote {
					c.warn(tds, 1, "credit_note", "total %s is negative: the invoice is read as a credit note", tds.String(1))
				}
				inv.CreditNote, inv.Amount = true, -inv.Amount
			}
		}
	}
	for k, seg := range lineSegs {
		field := lineField(k)
		l := procure.InvoiceLine{PO: po, Line: c.line(seg, 1, k+1, field)}
		q, _, err := c.num(seg, 2, field.sub("quantity"))
		if err != nil {
			return nil, err
		}
		l.Quantity = q
		switch {
		case strings.TrimSpace(seg.String(3)) != "":
			if l.Unit, _, err = c.unit(seg, 3, field.sub("unit")); err != nil {
				return nil, err
			}
		case c.p.DefaultUnit != "":
			l.Unit = c.p.DefaultUnit
			c.warn(seg, 3, field.sub("unit").String(), "unit (IT103) is empty: the line is in partner %s's default unit %s", c.p.ID, c.p.DefaultUnit)
		case q != 0:
			c.warn(seg, 3, field.sub("unit").String(), "unit (IT103) is empty: the invoiced quantity %s has no unit", seg.String(2))
		}
		if l.Quantity < 0 && inv.CreditNote {
			l.Quantity = -l.Quantity
		}
		p, _, err := c.num(seg, 4, field.sub("unit_price"))
		if err != nil {
			return nil, err
		}
		l.UnitPrice = p
		inv.Lines = append(inv.Lines, l)
	}
	plant, err := c.plant(pt)
	if err != nil {
		return nil, err
	}
	return []*procure.Event{c.event(procure.InvoiceStatusChanged, id, 0, c.supplier(pt), plant, inv)}, nil
}

// faDoc is a 997 or 999 being read.
type faDoc struct {
	c  *xset
	fa FunctionalAck
}

// faSegments are the segments a 997/999 maps (no line loop).
var faSegments = loops(tags(map[string]handler[x12.Segment, faDoc]{
	"AK1": func(d *faDoc, seg x12.Segment) error {
		d.fa.FunctionalID, d.fa.Group = d.c.str(seg, 1), d.c.str(seg, 2)
		return nil
	},
	"AK9": func(d *faDoc, seg x12.Segment) error {
		d.fa.Status = ackVerdict[seg.String(1)]
		return nil
	},
}), "", nil)

// functionalAck records a received 997/999; it gives no event.
func (c *xset) functionalAck() ([]*procure.Event, error) {
	d := &c.shared.fa
	*d = faDoc{c: c, fa: FunctionalAck{Standard: partner.X12, Partner: c.p.ID, Kind: c.s.ID}}
	_ = faSegments.walk(c.s.Body(), x12.Segment.Tag, d) // its handlers do not fail
	c.acks = append(c.acks, d.fa)
	return nil, nil
}

var ackVerdict = map[string]string{"A": "accepted", "E": "accepted_with_errors", "P": "partially_accepted", "R": "rejected", "M": "rejected", "W": "rejected", "X": "rejected"}
