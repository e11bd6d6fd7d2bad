package procure

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// The fast path of Decode: the envelope and the payload of every event
// type, read byte by byte without reflection.
//
// It handles only the plain shape every producer we know writes: "type"
// before "data", no escapes in names and in the envelope's strings and no
// \u escape anywhere, no nulls, integers without a fraction or exponent.
// On anything else, and on any error, it gives up (ok false) and Decode
// runs the general decoder from the start, so that what is accepted, the
// decoded event and every error message stay the general decoder's
// (TestFastDecodeAgreesWithTheGeneralDecoder, FuzzFastDecodeAgrees).
//
// The strings of the envelope share one allocation and those of the
// payload another, so that a queued event (whose payload the collector
// drops) holds no payload bytes.

// fastDecodeTypes are the readers of the payloads, by event type.
var fastDecodeTypes = map[Type]func(*fastDecoder) (payload, bool){
	POReleased:              (*fastDecoder).purchaseOrder,
	POChanged:               (*fastDecoder).purchaseOrder,
	POCancelled:             (*fastDecoder).cancellation,
	POAcknowledged:          (*fastDecoder).acknowledgement,
	POChangeRequested:       (*fastDecoder).changeRequest,
	POChangeDecided:         (*fastDecoder).changeDecision,
	ASNSubmitted:            (*fastDecoder).shipNotice,
	ASNCancelled:            (*fastDecoder).cancellation,
	GoodsReceived:           (*fastDecoder).receipt,
	QualityDocumentAttached: (*fastDecoder).qualityDocument,
	QualityHoldPlaced:       (*fastDecoder).qualityHold,
	QualityHoldReleased:     (*fastDecoder).qualityHold,
	InvoiceStatusChanged:    (*fastDecoder).invoiceStatus,
	SupplierUpdated:         (*fastDecoder).supplier,
	ItemUpdated:             (*fastDecoder).item,
	MessageFailed:           (*fastDecoder).delivery,
	MessageDelivered:        (*fastDecoder).delivery,
}

// fastTypes are the keys of fastDecodeTypes, the hot ones first.
var fastTypes = []Type{POReleased, POAcknowledged, ASNSubmitted, GoodsReceived, InvoiceStatusChanged, QualityDocumentAttached,
	POChanged, POCancelled, POChangeRequested, POChangeDecided, ASNCancelled, QualityHoldPlaced, QualityHoldReleased,
	SupplierUpdated, ItemUpdated, MessageFailed, MessageDelivered}

// decodeFast reads b as Decode does, or reports false when b is not of the
// plain shape it handles or holds an error: then the caller decodes b with
// the general decoder. Validation is the general one.
//
// With keep false the payload is only checked: its strings are read in
// place, and the event is returned without it (Payload and Data nil).
func decodeFast(b []byte, keep bool) (*Event, bool) {
	d := fastDecoder{b: b, keep: keep}
	e, ok := d.event()
	if !ok {
		return nil, false
	}
	if e.validateEnvelope() != nil {
		return nil, false
	}
	c := checker{path: "data"}
	e.Payload.(payload).validate(&c)
	if c.err != nil {
		return nil, false
	}
	if !keep {
		if po, ok := e.Payload.(*PurchaseOrder); ok {
			// Nothing of b stays behind in the pool.
			clear(po.Lines)
			*po = PurchaseOrder{Lines: po.Lines[:0]}
			checkedOrders.Put(po)
		}
		e.Payload, e.Data = nil, nil
	}
	return e, true
}

type fastDecoder struct {
	b   []byte
	i   int
	arc strings.Builder // the payload's strings
	// keep: the payload is returned. Without it, its strings alias b,
	// which they do not outlive.
	keep bool
}

// span is a string value's bytes in b, before it is copied.
type span struct{ start, end int }

func (d *fastDecoder) event() (*Event, bool) {
	e := new(Event)
	var id, tenant, corr, trace, plant, supplier, docID span
	var dataSeen bool
	ok := d.object(func(name []byte) bool {
		switch string(name) {
		case "id":
			return d.span(&id)
		case "type":
			s, ok := d.str()
			e.Type = internType(s)
			return ok && e.Type != ""
		case "source":
			s, ok := d.str()
			e.Source = internSource(s)
			return ok && e.Source != ""
		case "tenant":
			return d.span(&tenant)
		case "occurred_at":
			return d.time(&e.OccurredAt)
		case "correlation_id":
			return d.span(&corr)
		case "trace_id":
			return d.span(&trace)
		case "plant":
			return d.span(&plant)
		case "supplier":
			return d.span(&supplier)
		case "document":
			return d.object(func(name []byte) bool {
				switch string(name) {
				case "kind":
					s, ok := d.str()
					e.Document.Kind = internKind(s)
					return ok && e.Document.Kind != ""
				case "id":
					return d.span(&docID)
				case "version":
					return d.int(&e.Document.Version)
				}
				return false
			})
		case "data":
			read := fastDecodeTypes[e.Type]
			if read == nil {
				return false
			}
			d.ws()
			start := d.i
			if d.keep {
				d.arc.Grow(d.valueStringBytes())
			}
			p, ok := read(d)
			e.Payload, e.Data, dataSeen = p, d.b[start:d.i], true
			return ok
		}
		return false
	})
	if !ok || !dataSeen {
		return nil, false
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, false
	}
	// The envelope's strings in one allocation.
	var sb strings.Builder
	spans := [...]struct {
		s *span
		p *string
	}{{&id, &e.ID}, {&tenant, &e.Tenant}, {&corr, &e.CorrelationID}, {&trace, &e.TraceID},
		{&plant, &e.Plant}, {&supplier, &e.Supplier}, {&docID, &e.Document.ID}}
	n := 0
	for _, x := range spans {
		n += x.s.end - x.s.start
	}
	sb.Grow(n)
	for _, x := range spans {
		*x.p = copyString(&sb, d.b[x.s.start:x.s.end])
	}
	return e, true
}

// copyString appends v to sb and returns it as a string in sb's buffer.
// sb is grown beforehand; should it grow again, the strings already
// returned keep the old buffer.
func copyString(sb *strings.Builder, v []byte) string {
	if len(v) == 0 {
		return ""
	}
	off := sb.Len()
	sb.Write(v)
	return sb.String()[off:]
}

// internType returns the type named s if the fast path reads it.
func internType(s []byte) Type {
	for _, t := range fastTypes {
		if string(t) == string(s) {
			return t
		}
	}
	return ""
}

func internSource(s []byte) Source {
	for _, x := range Sources {
		if string(x) == string(s) {
			return x
		}
	}
	return ""
}

func internKind(s []byte) DocumentKind {
	for _, x := range DocumentKinds {
		if string(x) == string(s) {
			return x
		}
	}
	return ""
}

// valueStringBytes counts the bytes of the string values (not the member
// names) in the value at d.i, for the payload's one allocation. It stops at
// the end of the value or of b, and counts an escape as its bytes (which
// the fast path gives up on anyway).
func (d *fastDecoder) valueStringBytes() int {
	b, n, depth := d.b[d.i:], 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth <= 0 {
				return n
			}
		case '"':
			j := bytes.IndexByte(b[i+1:], '"')
			if j < 0 {
				return n
			}
			k := i + 1 + j + 1
			for k < len(b) && (b[k] == ' ' || b[k] == '\n' || b[k] == '\t' || b[k] == '\r') {
				k++
			}
			if k >= len(b) || b[k] != ':' {
				n += j
			}
			i += j + 1
		}
	}
	return n
}

func (d *fastDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reads one byte, or 0 at the end.
func (d *fastDecoder) next() byte {
	d.ws()
	if d.i >= len(d.b) {
		return 0
	}
	c := d.b[d.i]
	d.i++
	return c
}

// object reads an object, calling member for each name with d at its
// value; member reads the value and reports false to give up. A name seen
// twice in one object gives up (the general decoder rejects it), and so do
// names with escapes.
func (d *fastDecoder) object(member func(name []byte) bool) bool {
	if d.next() != '{' {
		return false
	}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return true
	}
	// The names so far, and a mask of a hash of each: a name is compared
	// with the others only when its hash was seen before.
	var seen [16]span
	var hashes uint64
	for n := 0; ; n++ {
		start, end, ok := d.strSpan()
		if !ok || n == len(seen) {
			return false
		}
		name := d.b[start:end]
		h := uint64(1) << (uint(len(name)) & 63)
		if len(name) > 0 {
			h = uint64(1) << ((uint(len(name))*7 + uint(name[0])*3 + uint(name[len(name)-1])) & 63)
		}
		if hashes&h != 0 {
			for _, s := range seen[:n] {
				if string(d.b[s.start:s.end]) == string(name) {
					return false
				}
			}
		}
		hashes |= h
		seen[n] = span{start, end}
		if d.next() != ':' || !member(name) {
			return false
		}
		switch d.next() {
		case ',':
		case '}':
			return true
		default:
			return false
		}
	}
}

// array reads an array, calling elem for each element with d at it.
func (d *fastDecoder) array(elem func() bool) bool {
	if d.next() != '[' {
		return false
	}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch d.next() {
		case ',':
		case ']':
			return true
		default:
			return false
		}
	}
}

// list reads an array into *p, each element with elem; n is the capacity
// to start with.
//
// A slice that has room already (a pooled payload's) is reused.
func list[T any](d *fastDecoder, p *[]T, n int, elem func(*T) bool) bool {
	if cap(*p) > 0 {
		*p = (*p)[:0]
	} else {
		*p = make([]T, 0, n)
	}
	return d.array(func() bool {
		var zero T
		*p = append(*p, zero)
		return elem(&(*p)[len(*p)-1])
	})
}

// strSpan reads a string without escapes and returns where its contents
// are in b.
func (d *fastDecoder) strSpan() (start, end int, ok bool) {
	start, end, escaped, ok := d.strSpanEscaped()
	return start, end, ok && !escaped
}

// strSpanEscaped reads a string whose escapes, if any, are of one
// character (\" \\ \/ \b \f \n \r \t; \u gives up), and returns where
// its contents are in b, escapes and all.
func (d *fastDecoder) strSpanEscaped() (start, end int, escaped, ok bool) {
	if d.next() != '"' {
		return 0, 0, false, false
	}
	start = d.i
	ascii := true
	for j := start; j < len(d.b); j++ {
		for j < len(d.b) && plain[d.b[j]] {
			j++
		}
		if j == len(d.b) {
			break
		}
		switch c := d.b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(d.b[start:j]) {
				return 0, 0, false, false
			}
			d.i = j + 1
			return start, j, escaped, true
		case c == '\\':
			if j+1 == len(d.b) || unescape(d.b[j+1]) == 0 {
				return 0, 0, false, false
			}
			escaped = true
			j++
		case c < 0x20:
			return 0, 0, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, 0, false, false
}

// plain are the bytes a string holds as they are: printable ASCII but '"'
// and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// unescape is the byte a one-character escape stands for, or 0.
func unescape(c byte) byte {
	switch c {
	case '"', '\\', '/':
		return c
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return 0
}

func (d *fastDecoder) str() ([]byte, bool) {
	start, end, ok := d.strSpan()
	return d.b[start:end], ok
}

func (d *fastDecoder) span(s *span) bool {
	start, end, ok := d.strSpan()
	*s = span{start, end}
	return ok
}

// text reads a string into p, in the payload's allocation.
func (d *fastDecoder) text(p *string) bool {
	start, end, escaped, ok := d.strSpanEscaped()
	switch {
	case !escaped && !d.keep:
		*p = unsafe.String(unsafe.SliceData(d.b[start:end]), end-start)
		return ok
	case !escaped:
		*p = copyString(&d.arc, d.b[start:end])
		return ok
	}
	off := d.arc.Len()
	v := d.b[start:end]
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' {
			i++
			c = unescape(v[i])
		}
		d.arc.WriteByte(c)
	}
	*p = d.arc.String()[off:]
	return ok
}

// number reads a JSON number and returns its bytes and whether it is an
// integer of at most 18 digits (no fraction, no exponent).
func (d *fastDecoder) number() (v []byte, small bool, ok bool) {
	d.ws()
	b, i := d.b, d.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false, false
	}
	small = i-start <= 18
	if i < len(b) && b[i] == '.' {
		small = false
		i++
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return nil, false, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		small = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return nil, false, false
		}
	}
	d.i = i
	return b[start:i], small, true
}

func (d *fastDecoder) int(p *int) bool {
	v, small, ok := d.number()
	if !ok || !small {
		return false
	}
	n, neg := 0, v[0] == '-'
	if neg {
		v = v[1:]
	}
	for _, c := range v {
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	*p = n
	return true
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

func (d *fastDecoder) float(p *float64) bool {
	v, _, ok := d.number()
	if !ok {
		return false
	}
	// A decimal of at most 15 digits without an exponent is an integer
	// below 2^53 divided by an exact power of ten: one correctly rounded
	// division, the value strconv.ParseFloat gives (its own fast path).
	m, digits, frac, neg := 0, 0, -1, v[0] == '-'
	for _, c := range v[btoi(neg):] {
		switch {
		case c == '.':
			frac = 0
			continue
		case c < '0' || c > '9':
			digits = 99
		}
		m = m*10 + int(c-'0')
		digits++
		if frac >= 0 {
			frac++
		}
	}
	if digits > 15 {
		f, err := strconv.ParseFloat(string(v), 64)
		*p = f
		return err == nil
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	*p = f
	return true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d *fastDecoder) bool(p *bool) bool {
	d.ws()
	switch {
	case bytes.HasPrefix(d.b[d.i:], []byte("true")):
		*p, d.i = true, d.i+4
	case bytes.HasPrefix(d.b[d.i:], []byte("false")):
		*p, d.i = false, d.i+5
	default:
		return false
	}
	return true
}

// date reads "YYYY-MM-DD", or "" for the zero date, as Date.UnmarshalJSON.
func (d *fastDecoder) date(p *Date) bool {
	v, ok := d.str()
	if !ok {
		return false
	}
	if len(v) == 0 {
		*p = Date{}
		return true
	}
	// v is only read during the call (an error copies it into its
	// message), so it need not be copied into a string of its own.
	dt, err := ParseDate(unsafe.String(unsafe.SliceData(v), len(v)))
	*p = dt
	return err == nil
}

// time reads an RFC 3339 timestamp as the JSON v2 codec does: with
// time.Time.UnmarshalText and the codec's stricter checks after it.
func (d *fastDecoder) time(p *time.Time) bool {
	v, ok := d.str()
	if !ok || p.UnmarshalText(v) != nil {
		return false
	}
	switch {
	case v[len("2006-01-02T")+1] == ':', v[len("2006-01-02T15:04:05")] == ',':
		return false
	case v[len(v)-1] != 'Z':
		return dec2(v[len(v)-len("07:00"):]) < 24 && dec2(v[len(v)-len("00"):]) < 60
	}
	return true
}

func dec2(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }

// checkedOrders are the purchase orders Check reads and drops: the most
// common payload, whose lines are the largest allocation of a decode.
var checkedOrders = sync.Pool{New: func() any { return new(PurchaseOrder) }}

func (d *fastDecoder) purchaseOrder() (payload, bool) {
	var p *PurchaseOrder
	if d.keep {
		p = new(PurchaseOrder)
	} else {
		p = checkedOrders.Get().(*PurchaseOrder)
	}
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "order_type":
			return d.text(&p.OrderType)
		case "buyer":
			return d.text(&p.Buyer)
		case "currency":
			return d.text(&p.Currency)
		case "incoterms":
			p.Incoterms = new(Incoterms)
			return d.object(func(name []byte) bool {
				switch string(name) {
				case "code":
					return d.text(&p.Incoterms.Code)
				case "edition":
					return d.text(&p.Incoterms.Edition)
				case "place":
					return d.text(&p.Incoterms.Place)
				}
				return false
			})
		case "ship_to":
			return d.text(&p.ShipTo)
		case "valid_to":
			return d.date(&p.ValidTo)
		case "lines":
			return list(d, &p.Lines, 4, d.poLine)
		}
		return false
	})
}

func (d *fastDecoder) poLine(l *POLine) bool {
	return d.object(func(name []byte) bool {
		switch string(name) {
		case "line":
			return d.int(&l.Line)
		case "item":
			return d.text(&l.Item)
		case "description":
			return d.text(&l.Description)
		case "material_class":
			return d.text(&l.MaterialClass)
		case "quantity":
			return d.float(&l.Quantity)
		case "unit":
			return d.text(&l.Unit)
		case "unit_original":
			return d.text(&l.UnitOriginal)
		case "unit_price":
			return d.float(&l.UnitPrice)
		case "price_unit":
			return d.float(&l.PriceUnit)
		case "need_by":
			return d.date(&l.NeedBy)
		case "schedule":
			return d.schedule(&l.Schedule)
		}
		return false
	})
}

func (d *fastDecoder) schedule(p *[]ScheduleLine) bool {
	return list(d, p, 2, func(s *ScheduleLine) bool {
		return d.object(func(name []byte) bool {
			switch string(name) {
			case "seq":
				return d.int(&s.Seq)
			case "quantity":
				return d.float(&s.Quantity)
			case "date":
				return d.date(&s.Date)
			}
			return false
		})
	})
}

func (d *fastDecoder) acknowledgement() (payload, bool) {
	p := new(Acknowledgement)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "ack_id":
			return d.text(&p.AckID)
		case "po_version":
			return d.int(&p.POVersion)
		case "lines":
			return list(d, &p.Lines, 4, func(l *AckLine) bool {
				return d.object(func(name []byte) bool {
					switch string(name) {
					case "line":
						return d.int(&l.Line)
					case "status":
						return d.text(&l.Status)
					case "quantity":
						return d.float(&l.Quantity)
					case "unit":
						return d.text(&l.Unit)
					case "unit_original":
						return d.text(&l.UnitOriginal)
					case "promised_date":
						return d.date(&l.PromisedDate)
					case "unit_price":
						return d.float(&l.UnitPrice)
					case "reason":
						return d.text(&l.Reason)
					}
					return false
				})
			})
		}
		return false
	})
}

func (d *fastDecoder) shipNotice() (payload, bool) {
	p := new(ShipNotice)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "ship_date":
			return d.time(&p.ShipDate)
		case "expected_arrival":
			return d.time(&p.ExpectedArrival)
		case "carrier":
			return d.object(func(name []byte) bool {
				switch string(name) {
				case "scac":
					return d.text(&p.Carrier.SCAC)
				case "name":
					return d.text(&p.Carrier.Name)
				case "mode":
					return d.text(&p.Carrier.Mode)
				}
				return false
			})
		case "bill_of_lading":
			return d.text(&p.BillOfLading)
		case "tracking":
			return d.text(&p.Tracking)
		case "ship_to":
			return d.text(&p.ShipTo)
		case "packs":
			return list(d, &p.Packs, 4, func(pk *Pack) bool {
				return d.object(func(name []byte) bool {
					switch string(name) {
					case "sscc":
						return d.text(&pk.SSCC)
					case "packaging":
						return d.text(&pk.Packaging)
					case "parent_sscc":
						return d.text(&pk.ParentSSCC)
					}
					return false
				})
			})
		case "lines":
			return list(d, &p.Lines, 4, func(l *ASNLine) bool {
				return d.object(func(name []byte) bool {
					switch string(name) {
					case "po":
						return d.text(&l.PO)
					case "line":
						return d.int(&l.Line)
					case "item":
						return d.text(&l.Item)
					case "quantity":
						return d.float(&l.Quantity)
					case "unit":
						return d.text(&l.Unit)
					case "unit_original":
						return d.text(&l.UnitOriginal)
					case "lot":
						return d.text(&l.Lot)
					case "sscc":
						return d.text(&l.SSCC)
					case "expiry_date":
						return d.date(&l.ExpiryDate)
					}
					return false
				})
			})
		}
		return false
	})
}

func (d *fastDecoder) receipt() (payload, bool) {
	p := new(Receipt)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "asn":
			return d.text(&p.ASN)
		case "lines":
			return list(d, &p.Lines, 4, func(l *ReceiptLine) bool {
				return d.object(func(name []byte) bool {
					switch string(name) {
					case "po":
						return d.text(&l.PO)
					case "line":
						return d.int(&l.Line)
					case "item":
						return d.text(&l.Item)
					case "received_quantity":
						return d.float(&l.ReceivedQuantity)
					case "rejected_quantity":
						return d.float(&l.RejectedQuantity)
					case "unit":
						return d.text(&l.Unit)
					case "lot":
						return d.text(&l.Lot)
					}
					return false
				})
			})
		}
		return false
	})
}

func (d *fastDecoder) invoiceStatus() (payload, bool) {
	p := new(InvoiceStatus)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "status":
			return d.text(&p.Status)
		case "block_reason":
			return d.text(&p.BlockReason)
		case "po":
			return d.text(&p.PO)
		case "amount":
			return d.float(&p.Amount)
		case "currency":
			return d.text(&p.Currency)
		case "due_date":
			return d.date(&p.DueDate)
		case "lines":
			return list(d, &p.Lines, 4, func(l *InvoiceLine) bool {
				return d.object(func(name []byte) bool {
					switch string(name) {
					case "po":
						return d.text(&l.PO)
					case "line":
						return d.int(&l.Line)
					case "quantity":
						return d.float(&l.Quantity)
					case "unit":
						return d.text(&l.Unit)
					case "unit_price":
						return d.float(&l.UnitPrice)
					case "invoice_line":
						return d.int(&l.InvoiceLine)
					}
					return false
				})
			})
		case "credit_note":
			return d.bool(&p.CreditNote)
		}
		return false
	})
}

func (d *fastDecoder) cancellation() (payload, bool) {
	p := new(Cancellation)
	return p, d.object(func(name []byte) bool {
		if string(name) == "reason" {
			return d.text(&p.Reason)
		}
		return false
	})
}

func (d *fastDecoder) changeRequest() (payload, bool) {
	p := new(ChangeRequest)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "request_id":
			return d.text(&p.RequestID)
		case "requested_by":
			return d.text(&p.RequestedBy)
		case "reason":
			return d.text(&p.Reason)
		case "lines":
			return list(d, &p.Lines, 4, func(l *ChangeLine) bool {
				return d.object(func(name []byte) bool {
					switch string(name) {
					case "line":
						return d.int(&l.Line)
					case "quantity":
						return d.float(&l.Quantity)
					case "date":
						return d.date(&l.Date)
					case "unit_price":
						return d.float(&l.UnitPrice)
					case "schedule":
						return d.schedule(&l.Schedule)
					}
					return false
				})
			})
		}
		return false
	})
}

func (d *fastDecoder) changeDecision() (payload, bool) {
	p := new(ChangeDecision)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "request_id":
			return d.text(&p.RequestID)
		case "decision":
			return d.text(&p.Decision)
		case "decided_by":
			return d.text(&p.DecidedBy)
		case "comment":
			return d.text(&p.Comment)
		}
		return false
	})
}

func (d *fastDecoder) qualityDocument() (payload, bool) {
	p := new(QualityDocument)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "doc_type":
			return d.text(&p.DocType)
		case "certificate_id":
			return d.text(&p.CertificateID)
		case "item":
			return d.text(&p.Item)
		case "lot":
			return d.text(&p.Lot)
		case "po":
			return d.text(&p.PO)
		case "line":
			return d.int(&p.Line)
		case "valid_until":
			return d.date(&p.ValidUntil)
		}
		return false
	})
}

func (d *fastDecoder) qualityHold() (payload, bool) {
	p := new(QualityHold)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "hold_id":
			return d.text(&p.HoldID)
		case "item":
			return d.text(&p.Item)
		case "lot":
			return d.text(&p.Lot)
		case "po":
			return d.text(&p.PO)
		case "line":
			return d.int(&p.Line)
		case "quantity":
			return d.float(&p.Quantity)
		case "unit":
			return d.text(&p.Unit)
		case "reason":
			return d.text(&p.Reason)
		}
		return false
	})
}

func (d *fastDecoder) supplier() (payload, bool) {
	p := new(Supplier)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "name":
			return d.text(&p.Name)
		case "tier":
			return d.int(&p.Tier)
		case "status":
			return d.text(&p.Status)
		case "country":
			return d.text(&p.Country)
		case "time_zone":
			return d.text(&p.TimeZone)
		case "channel":
			return d.text(&p.Channel)
		}
		return false
	})
}

func (d *fastDecoder) item() (payload, bool) {
	p := new(Item)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "description":
			return d.text(&p.Description)
		case "material_class":
			return d.text(&p.MaterialClass)
		case "base_unit":
			return d.text(&p.BaseUnit)
		case "certificate_required":
			return d.bool(&p.CertificateRequired)
		case "certificate_types":
			return list(d, &p.CertificateTypes, 2, d.text)
		}
		return false
	})
}

func (d *fastDecoder) delivery() (payload, bool) {
	p := new(Delivery)
	return p, d.object(func(name []byte) bool {
		switch string(name) {
		case "message_id":
			return d.text(&p.MessageID)
		case "target":
			return d.text(&p.Target)
		case "endpoint":
			return d.text(&p.Endpoint)
		case "document_type":
			return d.text(&p.DocumentType)
		case "error_class":
			return d.text(&p.ErrorClass)
		case "error":
			return d.text(&p.Error)
		case "http_status":
			return d.int(&p.HTTPStatus)
		case "attempt":
			return d.int(&p.Attempt)
		case "idempotency_key":
			return d.text(&p.IdempotencyKey)
		case "payload_ref":
			return d.text(&p.PayloadRef)
		case "payload":
			return d.text(&p.Payload)
		}
		return false
	})
}
