package simulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"go.opentelemetry.io/otel/trace"
)

// pending is an event waiting for its time, with what the engine needs to
// emit the spans of the message hop it travels on.
type pending struct {
	at      time.Time
	seq     uint64
	ev      *procure.Event
	hop     *hop     // the hop a business event starts, or a message event reports on
	attempt *attempt // set on message.failed and message.delivered
}

// hop is one message from a source system through the middleware to a
// target system, with its trace.
type hop struct {
	from, to      string
	po            string
	traceID       trace.TraceID
	parentSpanID  trace.SpanID // the sending system's span, carried in the message headers
	business      *procure.Event
	firstAttempt  bool // the first attempt succeeds
	keepRaw       bool // failed deliveries carry the encoded business event
	raw           []byte
	route         trace.SpanContext // the middleware's span, set when the business event is emitted
	routeDuration time.Duration
}

// attempt is one delivery attempt of a hop.
type attempt struct {
	n        int
	delivery *procure.Delivery
}

// builder plans one chain: the purchase order and everything that follows.
type builder struct {
	cfg    *Config
	rates  Rates
	r      *rand.Rand
	plant  *plant
	sup    *supplier
	chain  *Chain
	out    []*pending
	poDoc  procure.DocumentRef
	poAt   time.Time // the latest PO document event
	po     *procure.PurchaseOrder
	eff    []procure.POLine // the terms the supplier ships against
	reject map[int]bool     // lines the supplier rejected
	nAck   int
	nReq   int
}

func (b *builder) cal() *calendar { return &b.plant.cal }

// build plans the chain released at t0.
func (b *builder) build(t0 time.Time) {
	b.po = b.newOrder(t0)
	b.eff = cloneLines(b.po.Lines)
	b.reject = map[int]bool{}
	b.poDoc = procure.DocumentRef{Kind: procure.DocPO, ID: b.chain.PO, Version: 1}
	b.chain.OrderType = b.po.OrderType
	b.chain.ReleasedAt = t0
	b.poAt = t0

	rel := b.poEvent(procure.POReleased, t0, procure.SourceERP, clonePO(b.po))
	atSupplier, ok := b.send(rel, "erp", b.sup.system())
	if !ok {
		b.inject(AckMissing, b.poDoc, 0, b.cal().addHours(t0, 24*time.Hour), "order never reached the supplier")
		b.finish()
		return
	}
	if !b.acknowledge(atSupplier, true) {
		return
	}
	if b.r.Float64() < b.rates.BuyerChange {
		b.buyerChange()
	}
	if b.r.Float64() < b.rates.ChangeRequest {
		b.changeRequest()
	}
	if b.r.Float64() < b.rates.Cancel {
		at := b.poTime(b.cal().addHours(b.poAt, b.hours(8, 40)))
		ev := b.poEvent(procure.POCancelled, at, procure.SourceERP, &procure.Cancellation{Reason: "demand dropped"})
		b.send(ev, "erp", b.sup.system())
		b.inject(Cancelled, b.poDoc, 0, at, "")
		b.finish()
		return
	}
	b.ship()
	b.finish()
}

func (b *builder) finish() {
	for _, p := range b.out {
		if p.at.After(b.chain.LastEventAt) {
			b.chain.LastEventAt = p.at
		}
	}
	b.chain.Events = len(b.out)
}

// newOrder draws the purchase order.
func (b *builder) newOrder(t0 time.Time) *procure.PurchaseOrder {
	r, p, s := b.r, b.plant, b.sup
	po := &procure.PurchaseOrder{OrderType: "standard", Buyer: fmt.Sprintf("%s-BUY%02d", p.code, 1+r.IntN(8)), ShipTo: p.code}
	blanket := r.Float64() < b.cfg.BlanketShare
	nLines := 1 + r.IntN(5)
	if blanket {
		po.OrderType = "blanket"
		nLines = 1 + r.IntN(2)
		po.ValidTo = procure.DateOf(t0.In(p.cal.loc).AddDate(0, 3, 0))
	}
	po.Currency = p.currency
	domestic := s.country == p.country
	if !domestic {
		switch x := r.Float64(); {
		case x < 0.3:
			po.Currency = s.currency
		case x < 0.7:
			if po.Currency != "EUR" {
				po.Currency = "USD"
			}
		}
	}
	terms := []string{"DAP", "DAP", "FCA", "DDP", "EXW"}
	if !domestic && s.leadDays > 25 {
		terms = []string{"FOB", "FOB", "CIF", "CFR", "FCA"}
	}
	po.Incoterms = &procure.Incoterms{Code: terms[r.IntN(len(terms))], Edition: "2020", Place: p.city}

	needBy := p.cal.addDays(t0, s.leadDays, 10, 0)
	var dates []time.Time
	switch {
	case blanket:
		step := []int{5, 10}[r.IntN(2)]
		for i := range 3 + r.IntN(4) {
			dates = append(dates, p.cal.addDays(needBy, i*step, 10, 0))
		}
	case r.Float64() < b.rates.SplitDelivery:
		dates = []time.Time{needBy, p.cal.addDays(needBy, 5+r.IntN(11), 10, 0)}
	default:
		dates = []time.Time{needBy}
	}
	share := []float64{1}
	if len(dates) == 2 {
		first := 0.5 + 0.2*r.Float64()
		share = []float64{first, 1 - first}
	} else if len(dates) > 2 {
		share = make([]float64, len(dates))
		for i := range share {
			share[i] = 1 / float64(len(dates))
		}
	}
	items := slices.Clone(s.items)
	r.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	for i, it := range items[:min(nLines, len(items))] {
		mc := it.class
		qty := roundQty(mc.qtyMin + r.Float64()*(mc.qtyMax-mc.qtyMin))
		l := procure.POLine{
			Line: (i + 1) * 10, Item: it.id, Description: it.description, MaterialClass: mc.name,
			Quantity: qty, Unit: mc.unit, UnitPrice: round(it.price*(0.95+0.1*r.Float64()), 2),
			NeedBy: p.cal.dateOf(dates[0]),
		}
		if mc.priceUnit != 1 {
			l.PriceUnit = mc.priceUnit
		}
		if b.sup.channel == "edi" && mc.unit == "C62" {
			l.UnitOriginal = "EA"
		}
		l.Schedule = splitSchedule(qty, share, dates, &p.cal)
		po.Lines = append(po.Lines, l)
	}
	return po
}

func splitSchedule(qty float64, share []float64, dates []time.Time, cal *calendar) []procure.ScheduleLine {
	var sl []procure.ScheduleLine
	left := qty
	for i, d := range dates {
		q := roundQty(qty * share[i])
		if i == len(dates)-1 || q >= left {
			q = left
		}
		if q <= 0 {
			break
		}
		sl = append(sl, procure.ScheduleLine{Seq: i + 1, Quantity: q, Date: cal.dateOf(d)})
		left -= q
	}
	return sl
}

// acknowledge plans the supplier's answer to the current version, which
// reached it at got. first is the answer to the release, where the failure
// modes apply. It reports whether the chain goes on.
func (b *builder) acknowledge(got time.Time, first bool) bool {
	r := b.r
	version := b.poDoc.Version
	if r.Float64() < b.rates.AckMissing {
		b.inject(AckMissing, b.poDoc, 0, b.cal().addHours(got, 24*time.Hour), "")
		if first && r.Float64() < 0.4 {
			b.finish() // the supplier never ships either
			return false
		}
		return true // the supplier ships on the order's terms without a word
	}
	delay := b.ackDelay()
	late := first && r.Float64() < b.rates.AckLate
	if late {
		delay = time.Duration((30 + 60*r.Float64()) * float64(time.Hour))
	}
	at := b.poTime(b.cal().addHours(got, delay).Add(b.seconds(0, 600)))
	if late {
		b.inject(AckLate, b.poDoc, 0, at, "")
	}
	b.nAck++
	ack := &procure.Acknowledgement{AckID: fmt.Sprintf("ACK-%s-%d", b.chain.PO, b.nAck), POVersion: version}
	for _, l := range b.po.Lines {
		if b.reject[l.Line] {
			ack.Lines = append(ack.Lines, procure.AckLine{Line: l.Line, Status: procure.AckRejected, Reason: "item discontinued"})
			continue
		}
		ack.Lines = append(ack.Lines, procure.AckLine{Line: l.Line, Status: procure.AckAccepted, Quantity: l.Quantity,
			Unit: l.Unit, UnitOriginal: l.UnitOriginal, PromisedDate: l.NeedBy, UnitPrice: l.UnitPrice})
	}
	var change string
	changed := -1
	if first && r.Float64() < b.rates.AckChange {
		changed = r.IntN(len(ack.Lines))
		al, pl := &ack.Lines[changed], &b.po.Lines[changed]
		al.Status = procure.AckChanged
		switch change = []string{"quantity", "date", "price"}[r.IntN(3)]; change {
		case "quantity":
			al.Quantity = roundQty(pl.Quantity * (0.6 + 0.3*r.Float64()))
			al.Reason = "capacity"
		case "date":
			al.PromisedDate = procure.DateOf(pl.NeedBy.AddDate(0, 0, 3+r.IntN(19)))
			al.Reason = "material shortage"
		case "price":
			al.UnitPrice = round(pl.UnitPrice*(1.02+0.07*r.Float64()), 2)
			al.Reason = "raw material surcharge"
		}
		b.inject(AckChanged, b.poDoc, al.Line, at, change)
	}
	if first && len(ack.Lines) > 1 && r.Float64() < b.rates.AckLineReject {
		i := r.IntN(len(ack.Lines))
		if i == changed {
			i = (i + 1) % len(ack.Lines)
		}
		ack.Lines[i] = procure.AckLine{Line: ack.Lines[i].Line, Status: procure.AckRejected, Reason: "item discontinued"}
		b.reject[ack.Lines[i].Line] = true
		b.inject(AckLineRejected, b.poDoc, ack.Lines[i].Line, at, "")
	}
	ev := b.poEvent(procure.POAcknowledged, at, procure.Source(b.sup.system()), ack)
	atERP, _ := b.send(ev, b.sup.system(), "erp")
	if changed >= 0 {
		b.decideAckChange(atERP, ack.AckID, changed, change, ack.Lines[changed])
	}
	return true
}

// decideAckChange plans the buyer's answer to a changed acknowledgement.
func (b *builder) decideAckChange(got time.Time, ackID string, i int, change string, al procure.AckLine) {
	r := b.r
	at := b.poTime(b.cal().addHours(got, b.hours(2, 16)))
	decision := procure.DecisionApprovedUpdated
	switch x := r.Float64(); {
	case x < 0.25 && change != "price":
		decision = procure.DecisionApproved
	case x > 0.8:
		decision = procure.DecisionRejected
	}
	ev := b.poEvent(procure.POChangeDecided, at, procure.SourceERP, &procure.ChangeDecision{RequestID: ackID, Decision: decision, DecidedBy: b.po.Buyer})
	got, ok := b.send(ev, "erp", b.sup.system())
	apply := func(l *procure.POLine) {
		switch change {
		case "quantity":
			scaleSchedule(l, al.Quantity)
		case "date":
			shiftSchedule(l, al.PromisedDate.Sub(l.NeedBy.Time))
		case "price":
			l.UnitPrice = al.UnitPrice
		}
	}
	switch decision {
	case procure.DecisionApproved:
		apply(&b.eff[i])
	case procure.DecisionApprovedUpdated:
		apply(&b.po.Lines[i])
		b.revise(b.poTime(at.Add(b.seconds(300, 3600))))
	case procure.DecisionRejected:
		if ok { // the supplier accepts the order as it stands
			b.nAck++
			ack := &procure.Acknowledgement{AckID: fmt.Sprintf("ACK-%s-%d", b.chain.PO, b.nAck), POVersion: b.poDoc.Version}
			for _, l := range b.po.Lines {
				if !b.reject[l.Line] {
					ack.Lines = append(ack.Lines, procure.AckLine{Line: l.Line, Status: procure.AckAccepted, Quantity: l.Quantity, Unit: l.Unit, PromisedDate: l.NeedBy, UnitPrice: l.UnitPrice})
				}
			}
			if len(ack.Lines) > 0 {
				ev := b.poEvent(procure.POAcknowledged, b.poTime(b.cal().addHours(got, b.ackDelay())), procure.Source(b.sup.system()), ack)
				b.send(ev, b.sup.system(), "erp")
			}
		}
	}
}

// revise releases a new version of the order at t, which the supplier must
// acknowledge again.
func (b *builder) revise(t time.Time) {
	b.poDoc.Version++
	b.eff = cloneLines(b.po.Lines)
	ev := b.poEvent(procure.POChanged, t, procure.SourceERP, clonePO(b.po))
	got, ok := b.send(ev, "erp", b.sup.system())
	if !ok {
		b.inject(AckMissing, b.poDoc, 0, b.cal().addHours(t, 24*time.Hour), "change never reached the supplier")
		return
	}
	b.acknowledge(got, false)
}

// buyerChange plans a revision by the buyer: a new quantity or date on one line.
func (b *builder) buyerChange() {
	r := b.r
	i := r.IntN(len(b.po.Lines))
	l := &b.po.Lines[i]
	detail := "quantity"
	if r.Float64() < 0.5 {
		scaleSchedule(l, roundQty(l.Quantity*(0.8+0.5*r.Float64())))
	} else {
		detail = "date"
		shiftSchedule(l, time.Duration(3+r.IntN(8))*24*time.Hour)
	}
	at := b.poTime(b.cal().addHours(b.poAt, b.hours(4, 40)))
	b.inject(BuyerChanged, procure.DocumentRef{Kind: procure.DocPO, ID: b.chain.PO, Version: b.poDoc.Version + 1}, l.Line, at, detail)
	b.revise(at)
}

// changeRequest plans a supplier's request to split a delivery or move a
// date, and the buyer's decision.
func (b *builder) changeRequest() {
	r := b.r
	i := r.IntN(len(b.po.Lines))
	l := b.po.Lines[i]
	b.nReq++
	req := &procure.ChangeRequest{RequestID: fmt.Sprintf("CR-%s-%d", b.chain.PO, b.nReq), RequestedBy: "supplier"}
	proposed := cloneLines([]procure.POLine{l})[0]
	detail := "date"
	if len(l.Schedule) == 1 {
		detail = "split"
		s := l.Schedule[0]
		q1 := roundQty(s.Quantity * 0.6)
		if q1 <= 0 || q1 >= s.Quantity {
			q1 = s.Quantity / 2
		}
		proposed.Schedule = []procure.ScheduleLine{
			{Seq: 1, Quantity: q1, Date: s.Date},
			{Seq: 2, Quantity: s.Quantity - q1, Date: procure.DateOf(s.Date.AddDate(0, 0, 7+r.IntN(8)))},
		}
		req.Reason = "partial capacity"
		req.Lines = []procure.ChangeLine{{Line: l.Line, Schedule: proposed.Schedule}}
	} else {
		shiftSchedule(&proposed, time.Duration(5+r.IntN(11))*24*time.Hour)
		req.Reason = "production delay"
		req.Lines = []procure.ChangeLine{{Line: l.Line, Date: proposed.NeedBy}}
	}
	at := b.poTime(b.cal().addHours(b.poAt, b.hours(8, 50)))
	b.inject(ChangeRequested, b.poDoc, l.Line, at, detail)
	ev := b.poEvent(procure.POChangeRequested, at, procure.Source(b.sup.system()), req)
	got, _ := b.send(ev, b.sup.system(), "erp")
	decideAt := b.poTime(b.cal().addHours(got, b.hours(4, 24)))
	decision := procure.DecisionApprovedUpdated
	if r.Float64() < 0.3 {
		decision = procure.DecisionRejected
	}
	dev := b.poEvent(procure.POChangeDecided, decideAt, procure.SourceERP, &procure.ChangeDecision{RequestID: req.RequestID, Decision: decision, DecidedBy: b.po.Buyer})
	b.send(dev, "erp", b.sup.system())
	if decision == procure.DecisionApprovedUpdated {
		b.po.Lines[i] = proposed
		b.revise(b.poTime(decideAt.Add(b.seconds(120, 1800))))
	}
}

// shipment is one delivery: the schedule lines of one sequence number.
type shipment struct {
	seq   int
	date  procure.Date
	lines []shipLine
}

type shipLine struct {
	line procure.POLine
	item *item
	qty  float64
}

// ship plans the deliveries of the effective terms: ASNs, certificates,
// receipts, holds and invoices.
func (b *builder) ship() {
	bySeq := map[int]*shipment{}
	var ships []*shipment
	items := map[string]*item{}
	for _, it := range b.sup.items {
		items[it.id] = it
	}
	for _, l := range b.eff {
		if b.reject[l.Line] {
			continue
		}
		for _, s := range l.Schedule {
			sh := bySeq[s.Seq]
			if sh == nil {
				sh = &shipment{seq: s.Seq}
				bySeq[s.Seq] = sh
				ships = append(ships, sh)
			}
			if s.Date.After(sh.date.Time) {
				sh.date = s.Date
			}
			sh.lines = append(sh.lines, shipLine{line: l, item: items[l.Item], qty: s.Quantity})
		}
	}
	slices.SortStableFunc(ships, func(a, c *shipment) int { return a.date.Compare(c.date.Time) })
	for k, sh := range ships {
		b.deliver(k+1, sh)
	}
}

// deliver plans one shipment.
func (b *builder) deliver(k int, sh *shipment) {
	r, cal := b.r, b.cal()
	carrier, transit := b.carrier()
	arrival := cal.onDate(sh.date, 8+r.IntN(7), r.IntN(60))
	late := r.Float64() < b.rates.DeliveryLate
	if late {
		arrival = cal.addDays(arrival, 1+r.IntN(10), 8+r.IntN(7), r.IntN(60))
	}
	shipAt := arrival.Add(-transit)
	if earliest := b.poAt.Add(2 * time.Hour); shipAt.Before(earliest) {
		shipAt = earliest.Add(b.seconds(0, 6*3600))
		arrival = cal.nextOpen(shipAt.Add(transit))
	}
	asnDoc := procure.DocumentRef{Kind: procure.DocASN, ID: fmt.Sprintf("ASN%s-%d", b.chain.PO, k)}
	if late {
		b.inject(DeliveryLate, asnDoc, 0, arrival, "injected")
	} else if cal.dateOf(arrival).After(sh.date.Time) {
		b.inject(DeliveryLate, asnDoc, 0, arrival, "knock-on")
	}

	// Packs and lots.
	asn := &procure.ShipNotice{ShipDate: shipAt.UTC(), ExpectedArrival: arrival.UTC(), Carrier: carrier, ShipTo: b.plant.code,
		BillOfLading: fmt.Sprintf("%s%09d", carrier.SCAC, r.IntN(1e9))}
	if carrier.Mode == "parcel" {
		asn.Tracking = fmt.Sprintf("1Z%06X%010d", r.IntN(1<<24), r.IntN(1e10))
	}
	lots := make([][]string, len(sh.lines))
	for i, sl := range sh.lines {
		nPallets := int(math.Min(6, math.Max(1, math.Ceil(sl.qty/sl.item.class.perPallet))))
		nLots := 1
		if nPallets > 1 && r.Float64() < 0.2 {
			nLots = 2
		}
		for range nLots {
			lots[i] = append(lots[i], fmt.Sprintf("L%s%04d", cal.dateOf(shipAt).Format("060102"), r.IntN(10000)))
		}
		left := sl.qty
		for p := range nPallets {
			q := roundQty(sl.qty / float64(nPallets))
			if p == nPallets-1 || q >= left {
				q = left
			}
			if q <= 0 {
				break
			}
			left -= q
			sscc := b.sup.nextSSCC()
			asn.Packs = append(asn.Packs, procure.Pack{SSCC: sscc, Packaging: "PX"})
			al := procure.ASNLine{PO: b.chain.PO, Line: sl.line.Line, Item: sl.line.Item, Quantity: q, Unit: sl.line.Unit,
				UnitOriginal: sl.line.UnitOriginal, Lot: lots[i][p%nLots], SSCC: sscc}
			if sl.item.class.name == "chemicals" || sl.item.class.name == "plastic_resin" {
				al.ExpiryDate = procure.DateOf(shipAt.AddDate(1, 0, 0))
			}
			asn.Lines = append(asn.Lines, al)
		}
	}
	if r.Float64() < b.rates.ASNMissing {
		b.inject(ASNMissing, asnDoc, 0, arrival, "")
		asnDoc.ID = ""
	} else {
		at := shipAt.Add(b.seconds(0, 4*3600))
		b.send(b.event(procure.ASNSubmitted, procure.Source(b.sup.system()), at, asnDoc, asn), b.sup.system(), "wms")
	}

	// Certificates, one per lot of the lines whose item needs them.
	receiptAt := arrival.Add(b.seconds(0, 2*3600))
	type missingCert struct {
		line, lot, item string
		lineNo          int
		lateAt          time.Time // zero: never sent
	}
	var missing []missingCert
	for i, sl := range sh.lines {
		if !sl.item.certRequired {
			continue
		}
		lost := r.Float64() < b.rates.CertMissing
		for _, lot := range lots[i] {
			at := shipAt.Add(b.seconds(0, 3*3600))
			if lost {
				mc := missingCert{lot: lot, item: sl.item.id, lineNo: sl.line.Line}
				detail := "never"
				if r.Float64() < 0.5 {
					mc.lateAt = cal.addHours(receiptAt, b.hours(8, 27))
					at, detail = mc.lateAt, "late"
				}
				b.inject(CertMissing, procure.DocumentRef{Kind: procure.DocQuality, ID: certID(b.chain.PO, lot)}, sl.line.Line, receiptAt, detail)
				missing = append(missing, mc)
				if mc.lateAt.IsZero() {
					continue
				}
			}
			doc := &procure.QualityDocument{DocType: sl.item.class.certTypes[0], CertificateID: certID(b.chain.PO, lot), Item: sl.item.id,
				Lot: lot, PO: b.chain.PO, Line: sl.line.Line, ValidUntil: procure.DateOf(at.AddDate(1, 0, 0))}
			b.send(b.event(procure.QualityDocumentAttached, procure.Source(b.sup.system()), at,
				procure.DocumentRef{Kind: procure.DocQuality, ID: doc.CertificateID}, doc), b.sup.system(), "qms")
		}
	}

	// Goods receipt: a line per PO line and lot, as counted.
	grDoc := procure.DocumentRef{Kind: procure.DocReceipt, ID: fmt.Sprintf("GR%s-%d", b.chain.PO, k)}
	rc := &procure.Receipt{ASN: asnDoc.ID}
	accepted := make([]float64, len(sh.lines))
	variance := ""
	vi := -1
	if r.Float64() < b.rates.ReceiptVariance {
		vi = r.IntN(len(sh.lines))
		variance = []string{"short", "short", "over", "rejected"}[r.IntN(4)]
	}
	for i, sl := range sh.lines {
		perLot := map[string]float64{}
		for _, al := range asn.Lines {
			if al.Line == sl.line.Line {
				perLot[al.Lot] += al.Quantity
			}
		}
		for j, lot := range lots[i] {
			q := perLot[lot]
			if q <= 0 {
				continue
			}
			rl := procure.ReceiptLine{PO: b.chain.PO, Line: sl.line.Line, Item: sl.line.Item, ReceivedQuantity: q, Unit: sl.line.Unit, Lot: lot}
			if i == vi && j == 0 {
				switch variance {
				case "short":
					rl.ReceivedQuantity = roundDown(q * (0.85 + 0.13*r.Float64()))
				case "over":
					rl.ReceivedQuantity = roundQty(q*(1.02+0.06*r.Float64())) + 10
				case "rejected":
					rl.RejectedQuantity = math.Max(1, roundDown(q*(0.01+0.04*r.Float64())))
				}
				b.inject(ReceiptVariance, grDoc, sl.line.Line, receiptAt, variance)
			}
			accepted[i] += rl.ReceivedQuantity - rl.RejectedQuantity
			rc.Lines = append(rc.Lines, rl)
		}
	}
	_, posted := b.send(b.event(procure.GoodsReceived, procure.SourceWMS, receiptAt, grDoc, rc), "wms", "erp")

	// Quality holds: a lot without its certificate, or incoming inspection.
	nHold := 0
	hold := func(it, lot string, line int, qty float64, unit, reason string, placed, released time.Time) {
		nHold++
		h := &procure.QualityHold{HoldID: fmt.Sprintf("QH%s-%d-%d", b.chain.PO, k, nHold), Item: it, Lot: lot, PO: b.chain.PO, Line: line, Quantity: qty, Unit: unit, Reason: reason}
		doc := procure.DocumentRef{Kind: procure.DocQuality, ID: h.HoldID}
		b.send(b.event(procure.QualityHoldPlaced, procure.SourceQMS, placed, doc, h), "qms", "erp")
		b.inject(QualityHold, doc, line, placed, reason)
		if !released.IsZero() {
			rel := *h
			rel.Reason = "released"
			b.send(b.event(procure.QualityHoldReleased, procure.SourceQMS, released, doc, &rel), "qms", "erp")
		}
	}
	for _, mc := range missing {
		var released time.Time
		if !mc.lateAt.IsZero() {
			released = mc.lateAt.Add(b.seconds(3600, 4*3600))
		}
		hold(mc.item, mc.lot, mc.lineNo, 0, "", "certificate_missing", receiptAt.Add(b.seconds(1800, 7200)), released)
	}
	if r.Float64() < b.rates.QualityHold {
		i := r.IntN(len(sh.lines))
		sl := sh.lines[i]
		placed := receiptAt.Add(b.seconds(3600, 4*3600))
		hold(sl.item.id, lots[i][0], sl.line.Line, accepted[i], sl.line.Unit, "inspection", placed, cal.addHours(placed, b.hours(9, 27)))
	}

	b.invoice(k, sh, accepted, vi, variance, receiptAt, posted)
}

// invoice plans the supplier's invoice for one shipment and its way through
// accounts payable.
// posted says whether the receipt reached ERP: without it, the invoice
// blocks for a missing receipt.
func (b *builder) invoice(k int, sh *shipment, accepted []float64, vi int, variance string, receiptAt time.Time, posted bool) {
	r, cal := b.r, b.cal()
	doc := procure.DocumentRef{Kind: procure.DocInvoice, ID: fmt.Sprintf("INV%s-%d", b.chain.PO, k)}
	at := cal.addHours(receiptAt, b.hours(2, 60))
	blocked := r.Float64() < b.rates.InvoiceBlock
	reason := ""
	var lines []procure.InvoiceLine
	amount := 0.0
	for i, sl := range sh.lines {
		qty, price := accepted[i], sl.line.UnitPrice
		if blocked && i == max(vi, 0) {
			if vi >= 0 && (variance == "short" || variance == "rejected") {
				qty, reason = sl.qty, "quantity_variance"
			} else {
				price, reason = round(price*(1.03+0.09*r.Float64()), 2), "price_variance"
			}
		}
		if qty <= 0 {
			continue
		}
		pu := sl.line.PriceUnit
		if pu == 0 {
			pu = 1
		}
		amount += qty * price / pu
		lines = append(lines, procure.InvoiceLine{PO: b.chain.PO, Line: sl.line.Line, Quantity: qty, Unit: sl.line.Unit, UnitPrice: price})
	}
	if len(lines) == 0 {
		return
	}
	amount = round(amount, procure.CurrencyMinorUnits(b.po.Currency))
	due := procure.DateOf(at.In(cal.loc).AddDate(0, 0, b.sup.paymentDays))
	status := func(s, blockReason string, t time.Time) {
		p := &procure.InvoiceStatus{Status: s, BlockReason: blockReason, PO: b.chain.PO, Amount: amount, Currency: b.po.Currency, DueDate: due}
		if s == procure.InvoiceReceived {
			p.Lines = lines
		}
		b.send(b.event(procure.InvoiceStatusChanged, procure.SourceAP, t, doc, p), "ap", "erp")
	}
	status(procure.InvoiceReceived, "", at)
	if !posted && !blocked {
		blocked, reason = true, "missing_receipt"
	}
	if blocked {
		bt := at.Add(b.seconds(600, 4*3600))
		status(procure.InvoiceBlocked, reason, bt)
		b.inject(InvoiceBlocked, doc, 0, bt, reason)
		at = cal.addHours(bt, b.hours(9, 90))
	} else {
		at = at.Add(b.seconds(60, 3600))
		status(procure.InvoiceMatched, "", at)
		at = at.Add(b.seconds(60, 1800))
	}
	status(procure.InvoiceApproved, "", at)
	paid := cal.onDate(due, 10, r.IntN(60))
	if !paid.After(at) {
		paid = cal.addHours(at, b.hours(1, 8))
	}
	status(procure.InvoicePaid, "", paid)
}

// carrier picks the carrier and the transit time for the supplier and plant.
func (b *builder) carrier() (procure.Carrier, time.Duration) {
	r := b.r
	byMode := func(mode string) procure.Carrier {
		var cs []procure.Carrier
		for _, c := range carriers {
			if c.Mode == mode {
				cs = append(cs, c)
			}
		}
		return cs[r.IntN(len(cs))]
	}
	day := 24 * time.Hour
	switch {
	case b.sup.country == b.plant.country && r.Float64() < 0.2:
		return byMode("parcel"), day + b.seconds(0, 12*3600)
	case b.sup.country == b.plant.country:
		return byMode("road"), day + b.seconds(0, day.Seconds())
	case b.sup.leadDays > 25 && r.Float64() < 0.1:
		return byMode("air"), 2*day + b.seconds(0, day.Seconds())
	case b.sup.leadDays > 25:
		return byMode("sea"), 18*day + b.seconds(0, 10*day.Seconds())
	}
	return byMode("road"), 2*day + b.seconds(0, 3*day.Seconds())
}

// send plans a business event and its delivery from one system to another
// through the middleware, failed attempts and retries included. It returns
// when the target has the message, and false when it never gets it.
func (b *builder) send(ev *procure.Event, from, to string) (time.Time, bool) {
	r := b.r
	h := &hop{from: from, to: to, po: b.chain.PO, business: ev, firstAttempt: true,
		routeDuration: b.seconds(0.02, 0.4)}
	h.traceID, h.parentSpanID = b.traceIDs()
	b.push(ev, h, nil)
	at := ev.OccurredAt.Add(h.routeDuration)
	if r.Float64() >= b.rates.DeliveryFailure {
		return at, true
	}
	h.firstAttempt, h.keepRaw = false, true
	class := errorClasses[pick(r, errorClassWeights)]
	exhausted := r.Float64() < b.rates.RetryExhausted
	fails := b.cfg.MaxAttempts
	if !exhausted {
		fails = 1 + r.IntN(b.cfg.MaxAttempts-1)
	}
	msgID := "MSG-" + b.uuid()
	doc := procure.DocumentRef{Kind: procure.DocMessage, ID: msgID}
	delivery := func(n int) *procure.Delivery {
		return &procure.Delivery{MessageID: msgID, Target: to, Endpoint: endpoint(b.cfg.Tenant, to, b.plant.code, b.sup.id),
			DocumentType: string(ev.Type), Attempt: n, IdempotencyKey: ev.ID, PayloadRef: "middleware://payloads/" + msgID}
	}
	for n := 1; n <= fails; n++ {
		d := delivery(n)
		d.ErrorClass, d.Error, d.HTTPStatus = class.name, class.message(to), class.status
		if n == fails && exhausted {
			d.Error += "; retries exhausted"
		}
		b.push(b.event(procure.MessageFailed, procure.SourceMiddleware, at, doc, d), h, &attempt{n: n, delivery: d})
		if class.retryable {
			at = at.Add(time.Duration(math.Min(float64(4*time.Hour), float64(time.Minute)*math.Pow(4, float64(n-1))))).Add(b.seconds(0, 30))
		} else { // someone fixes the cause and retries by hand
			at = b.cal().addHours(at, b.hours(1, 8))
		}
	}
	detail := class.name
	if exhausted {
		b.inject(MessageExhausted, doc, 0, at, detail)
		return at, false
	}
	d := delivery(fails + 1)
	b.push(b.event(procure.MessageDelivered, procure.SourceMiddleware, at, doc, d), h, &attempt{n: fails + 1, delivery: d})
	b.inject(MessageFailed, doc, 0, ev.OccurredAt, detail)
	return at.Add(h.routeDuration), true
}

type errorClass struct {
	name      string
	status    int
	retryable bool
	text      string
}

func (c errorClass) message(target string) string { return fmt.Sprintf(c.text, target) }

var errorClasses = []errorClass{
	{"transient", 503, true, "%s answered 503 Service Unavailable"},
	{"timeout", 504, true, "%s did not answer within 30s"},
	{"auth", 401, false, "%s refused the token: 401 Unauthorized (token expired)"},
	{"validation", 422, false, "%s rejected the message: 422 Unprocessable Entity (ship_to unknown)"},
	{"mapping", 0, false, "no mapping for %s: unit code PCE has no Rec 20 equivalent"},
}

var errorClassWeights = []float64{0.40, 0.65, 0.75, 0.90, 1.0}

func endpoint(tenant, target, plant, supplier string) string {
	switch target {
	case "edi":
		return "as2://edi-gw." + tenant + ".internal/partners/" + supplier
	case "portal":
		return "https://portal." + tenant + ".example/api/v2/messages"
	case "wms":
		return "https://wms-" + plant + "." + tenant + ".internal/api/inbound"
	}
	return "https://" + target + "." + tenant + ".internal/api/messages"
}

// event returns an envelope for the chain.
func (b *builder) event(t procure.Type, src procure.Source, at time.Time, doc procure.DocumentRef, p any) *procure.Event {
	return &procure.Event{ID: b.uuid(), Type: t, Source: src, Tenant: b.cfg.Tenant, OccurredAt: at.UTC(),
		CorrelationID: b.chain.CorrelationID, Plant: b.plant.code, Supplier: b.sup.id, Document: doc, Payload: p}
}

func (b *builder) poEvent(t procure.Type, at time.Time, src procure.Source, p any) *procure.Event {
	return b.event(t, src, at, b.poDoc, p)
}

// poTime returns t, or just after the latest PO event if t is earlier, and
// moves the PO's clock: a document's events never go back in time.
func (b *builder) poTime(t time.Time) time.Time {
	if min := b.poAt.Add(time.Minute); t.Before(min) {
		t = min
	}
	b.poAt = t
	return t
}

func (b *builder) push(ev *procure.Event, h *hop, a *attempt) {
	if h != nil {
		ev.TraceID = h.traceID.String()
	}
	b.out = append(b.out, &pending{at: ev.OccurredAt, ev: ev, hop: h, attempt: a})
}

func (b *builder) inject(f Failure, doc procure.DocumentRef, line int, at time.Time, detail string) {
	b.chain.Injected = append(b.chain.Injected, Injection{Failure: f, Document: doc, Line: line, At: at.UTC(), Detail: detail})
}

// ackDelay is the business time a supplier takes to acknowledge: a median
// of about 5 hours, rarely more than a day.
func (b *builder) ackDelay() time.Duration {
	h := math.Exp(math.Log(5) + 0.8*b.r.NormFloat64())
	return time.Duration(math.Min(22, math.Max(0.25, h)) * float64(time.Hour))
}

// hours returns a uniform business duration between lo and hi hours.
func (b *builder) hours(lo, hi float64) time.Duration {
	return time.Duration((lo + (hi-lo)*b.r.Float64()) * float64(time.Hour))
}

// seconds returns a uniform duration between lo and hi seconds.
func (b *builder) seconds(lo, hi float64) time.Duration {
	return time.Duration((lo + (hi-lo)*b.r.Float64()) * float64(time.Second))
}

func (b *builder) uuid() string { return newUUID(b.r) }

func newUUID(r *rand.Rand) string {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

func (b *builder) traceIDs() (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	var sid trace.SpanID
	for !tid.IsValid() || !sid.IsValid() {
		a, c, s := b.r.Uint64(), b.r.Uint64(), b.r.Uint64()
		for i := range 8 {
			tid[i], tid[8+i], sid[i] = byte(a>>(56-8*i)), byte(c>>(56-8*i)), byte(s>>(56-8*i))
		}
	}
	return tid, sid
}

func certID(po, lot string) string { return "CERT-" + po + "-" + lot }

// roundQty rounds a quantity to tens, at least 10.
func roundQty(q float64) float64 { return math.Max(10, math.Round(q/10)*10) }

func roundDown(q float64) float64 { return math.Floor(q) }

func scaleSchedule(l *procure.POLine, qty float64) {
	f := qty / l.Quantity
	left := qty
	for i := range l.Schedule {
		q := math.Round(l.Schedule[i].Quantity * f)
		if i == len(l.Schedule)-1 || q > left {
			q = left
		}
		l.Schedule[i].Quantity = q
		left -= q
	}
	l.Schedule = slices.DeleteFunc(l.Schedule, func(s procure.ScheduleLine) bool { return s.Quantity <= 0 })
	l.Quantity = qty
}

func shiftSchedule(l *procure.POLine, d time.Duration) {
	days := int(math.Round(d.Hours() / 24))
	l.NeedBy = procure.DateOf(l.NeedBy.AddDate(0, 0, days))
	for i := range l.Schedule {
		l.Schedule[i].Date = procure.DateOf(l.Schedule[i].Date.AddDate(0, 0, days))
	}
}

func cloneLines(ls []procure.POLine) []procure.POLine {
	out := slices.Clone(ls)
	for i := range out {
		out[i].Schedule = slices.Clone(out[i].Schedule)
	}
	return out
}

func clonePO(po *procure.PurchaseOrder) *procure.PurchaseOrder {
	c := *po
	if po.Incoterms != nil {
		inc := *po.Incoterms
		c.Incoterms = &inc
	}
	c.Lines = cloneLines(po.Lines)
	return &c
}
