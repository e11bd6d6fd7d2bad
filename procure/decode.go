package procure

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Limits on one event.
const (
	MaxEventBytes = 1 << 20
	maxIDLen      = 128
	maxLines      = 10000
)

// payloadTypes maps each event type to a constructor of its payload.
var payloadTypes = map[Type]func() payload{
	POReleased:              func() payload { return new(PurchaseOrder) },
	POChanged:               func() payload { return new(PurchaseOrder) },
	POCancelled:             func() payload { return new(Cancellation) },
	POAcknowledged:          func() payload { return new(Acknowledgement) },
	POChangeRequested:       func() payload { return new(ChangeRequest) },
	POChangeDecided:         func() payload { return new(ChangeDecision) },
	ASNSubmitted:            func() payload { return new(ShipNotice) },
	ASNCancelled:            func() payload { return new(Cancellation) },
	GoodsReceived:           func() payload { return new(Receipt) },
	QualityDocumentAttached: func() payload { return new(QualityDocument) },
	QualityHoldPlaced:       func() payload { return new(QualityHold) },
	QualityHoldReleased:     func() payload { return new(QualityHold) },
	InvoiceStatusChanged:    func() payload { return new(InvoiceStatus) },
	SupplierUpdated:         func() payload { return new(Supplier) },
	ItemUpdated:             func() payload { return new(Item) },
	MessageFailed:           func() payload { return new(Delivery) },
	MessageDelivered:        func() payload { return new(Delivery) },
}

// documentKinds says which document kind each event type is about.
var documentKinds = map[Type]DocumentKind{
	POReleased: DocPO, POChanged: DocPO, POCancelled: DocPO, POAcknowledged: DocPO,
	POChangeRequested: DocPO, POChangeDecided: DocPO,
	ASNSubmitted: DocASN, ASNCancelled: DocASN, GoodsReceived: DocReceipt,
	QualityDocumentAttached: DocQuality, QualityHoldPlaced: DocQuality, QualityHoldReleased: DocQuality,
	InvoiceStatusChanged: DocInvoice, SupplierUpdated: DocSupplier, ItemUpdated: DocItem,
	MessageFailed: DocMessage, MessageDelivered: DocMessage,
}

// Types returns every event type, sorted.
func Types() []Type {
	ts := make([]Type, 0, len(payloadTypes))
	for t := range payloadTypes {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// NewPayload returns a new zero payload for t, or nil for an unknown type.
func NewPayload(t Type) any {
	if f, ok := payloadTypes[t]; ok {
		return f()
	}
	return nil
}

// DocumentKindOf returns the document kind events of type t are about.
func DocumentKindOf(t Type) DocumentKind { return documentKinds[t] }

type payload interface {
	validate(c *checker)
}

var strict = json.JoinOptions(json.RejectUnknownMembers(true))

// Decode reads one canonical event from b strictly: unknown fields, missing
// required fields, wrong types, bad timestamps and unknown types are errors
// (a *FieldError naming the field). The returned event has Payload set.
//
// It reads b once: the payload is decoded straight into its type when
// "type" comes before "data" (as every producer we know writes it), and
// from a copy of the data value otherwise.
func Decode(b []byte) (*Event, error) { return decode(b, true, true) }

// Check is Decode for callers that keep only the envelope (the collector,
// which stores the raw bytes): the same checks and errors, and the event
// without its payload (Payload and Data nil), which costs less to read.
func Check(b []byte) (*Event, error) {
	e, err := decode(b, true, false)
	if e != nil {
		e.Payload, e.Data = nil, nil
	}
	return e, err
}

// decode is Decode, with its fast path or (for the tests) without; keep
// says whether the caller keeps the payload.
func decode(b []byte, fast, keep bool) (*Event, error) {
	if len(b) > MaxEventBytes {
		return nil, &FieldError{Reason: fmt.Sprintf("event is %d bytes, more than the limit of %d", len(b), MaxEventBytes)}
	}
	if err := checkText(b); err != nil {
		return nil, err
	}
	if fast {
		if e, ok := decodeFast(b, keep); ok {
			return e, nil
		}
	}
	// The JSON v2 codec, whose errors are Decode's.
	d := decoders.Get().(*eventDecoder)
	defer decoders.Put(d)
	d.makeRoom(len(b))
	d.r.Reset(b)
	d.dec.Reset(&d.r, strict)
	var e Event
	if err := d.envelope(&e, b); err != nil {
		return nil, err
	}
	if err := e.validateEnvelope(); err != nil {
		return nil, err
	}
	if e.Payload == nil {
		p := payloadTypes[e.Type]()
		if err := json.Unmarshal(e.Data, p, strict); err != nil {
			return nil, jsonFieldError(err, "data")
		}
		e.Payload = p
	}
	c := checker{path: "data"}
	e.Payload.(payload).validate(&c)
	if c.err != nil {
		return nil, c.err
	}
	return &e, nil
}

type eventDecoder struct {
	r   bytes.Reader
	dec jsontext.Decoder
	// room is the longest input the decoder's buffer has held.
	room int
}

// makeRoom grows the decoder's buffer to hold n bytes. The path of a
// syntax error inside a value read whole (ReadValue, the payload of an
// unknown type) loses member names when the buffer grows during the read
// (go-json-experiment v1.27.2: "data.[3]" instead of "data.lines[3]"), so
// that a fresh decoder from the pool and a used one named different
// fields for the same input; FuzzFastDecodeAgrees found it.
func (d *eventDecoder) makeRoom(n int) {
	if n <= d.room {
		return
	}
	n = max(n, 4096)
	d.r.Reset(append(bytes.Repeat([]byte(" "), n), '0'))
	d.dec.Reset(&d.r, strict)
	for {
		if _, err := d.dec.ReadToken(); err != nil {
			break
		}
	}
	d.room = n
}

var decoders = sync.Pool{New: func() any { return new(eventDecoder) }}

// envelope reads the top-level object into e.
func (d *eventDecoder) envelope(e *Event, b []byte) error {
	dec := &d.dec
	tok, err := dec.ReadToken()
	if err != nil {
		return jsonFieldError(err, "")
	}
	if tok.Kind() != '{' {
		return &FieldError{Reason: fmt.Sprintf("must be an object, not JSON %s", kindName(tok.Kind()))}
	}
	for dec.PeekKind() != '}' {
		// The name as written; one with escapes is unquoted (rare).
		raw, err := dec.ReadValue()
		if err != nil {
			return jsonFieldError(err, "")
		}
		name := raw[1 : len(raw)-1]
		if bytes.IndexByte(raw, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return jsonFieldError(err, "")
			}
			name = []byte(s)
		}
		var target any
		var str *string // a string field, read without reflection
		switch string(name) {
		case "id":
			str = &e.ID
		case "type":
			str = (*string)(&e.Type)
		case "source":
			str = (*string)(&e.Source)
		case "tenant":
			str = &e.Tenant
		case "occurred_at":
			target = &e.OccurredAt
		case "correlation_id":
			str = &e.CorrelationID
		case "trace_id":
			str = &e.TraceID
		case "plant":
			str = &e.Plant
		case "supplier":
			str = &e.Supplier
		case "document":
			target = &e.Document
		case "data":
			if dec.PeekKind() == 'n' {
				if _, err := dec.ReadValue(); err != nil {
					return jsonFieldError(err, "")
				}
				continue
			}
			if f := payloadTypes[e.Type]; f != nil && e.Payload == nil && e.Data == nil {
				p := f()
				start := dec.InputOffset()
				if err := json.UnmarshalDecode(dec, p, strict); err != nil {
					return jsonFieldError(err, "")
				}
				e.Payload = p
				// Data aliases b: the value's bytes, without the colon.
				e.Data = jsontext.Value(bytes.TrimLeft(b[start:dec.InputOffset()], " \t\r\n:"))
				continue
			}
			v, err := dec.ReadValue()
			if err != nil {
				return jsonFieldError(err, "")
			}
			e.Payload = nil
			e.Data = bytes.Clone(v)
			continue
		default:
			return &FieldError{Field: string(name), Reason: "unknown field"}
		}
		if str != nil {
			if dec.PeekKind() == '"' {
				tok, err := dec.ReadToken()
				if err != nil {
					return jsonFieldError(err, "")
				}
				*str = tok.String()
				continue
			}
			// Anything else takes the general path for its error (or, for
			// null, the zero value).
			target = str
		}
		if err := json.UnmarshalDecode(dec, target, strict); err != nil {
			return jsonFieldError(err, "")
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return jsonFieldError(err, "")
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return &FieldError{Reason: "invalid JSON: data after the event object"}
	}
	return nil
}

// Encode returns the JSON of e. If Payload is set, Data is rewritten from it.
func Encode(e *Event) ([]byte, error) {
	if e.Payload != nil {
		d, err := json.Marshal(e.Payload)
		if err != nil {
			return nil, fmt.Errorf("event %s: encode payload: %w", e.ID, err)
		}
		e.Data = d
	}
	return json.Marshal(e)
}

// ValidTenant reports whether s is a tenant name: ^[a-z0-9][a-z0-9_-]{0,63}$.
func ValidTenant(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] == '_' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validID is ^[\x21-\x7e]+$: printable ASCII without spaces.
func validID(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (e *Event) validateEnvelope() error {
	switch {
	case e.ID == "":
		return fieldErr("id", "is required")
	case len(e.ID) > maxIDLen || !validID(e.ID):
		return fieldErr("id", "must be 1 to %d printable ASCII characters without spaces", maxIDLen)
	case e.Type == "":
		return fieldErr("type", "is required")
	case payloadTypes[e.Type] == nil:
		return fieldErr("type", "unknown event type %q", e.Type)
	case e.Source == "":
		return fieldErr("source", "is required")
	case !slices.Contains(Sources, e.Source):
		return fieldErr("source", "unknown source %q (one of %s)", e.Source, joinStrings(Sources))
	case e.Tenant == "":
		return fieldErr("tenant", "is required")
	case !ValidTenant(e.Tenant):
		return fieldErr("tenant", "%q must be lowercase letters, digits, '-' or '_', at most 64", e.Tenant)
	case e.OccurredAt.IsZero():
		return fieldErr("occurred_at", "is required")
	case e.OccurredAt.Year() < 2000 || e.OccurredAt.Year() > 2200:
		return fieldErr("occurred_at", "%s is out of range", e.OccurredAt.Format(time.RFC3339))
	case len(e.CorrelationID) > maxIDLen:
		return fieldErr("correlation_id", "is longer than %d characters", maxIDLen)
	case e.TraceID != "" && !isTraceID(e.TraceID):
		return fieldErr("trace_id", "must be 32 lowercase hex digits (W3C trace context)")
	case e.Document.Kind == "":
		return fieldErr("document.kind", "is required")
	case e.Document.Kind != documentKinds[e.Type]:
		return fieldErr("document.kind", "is %q, but %s events are about %q", e.Document.Kind, e.Type, documentKinds[e.Type])
	case e.Document.ID == "":
		return fieldErr("document.id", "is required")
	case len(e.Document.ID) > maxIDLen:
		return fieldErr("document.id", "is longer than %d characters", maxIDLen)
	case e.Document.Version < 0:
		return fieldErr("document.version", "must not be negative")
	case len(e.Data) == 0 || string(e.Data) == "null":
		return fieldErr("data", "is required")
	case needsSupplier(e.Type) && e.Supplier == "":
		return fieldErr("supplier", "is required for %s", e.Type)
	}
	return nil
}

func needsSupplier(t Type) bool {
	switch t {
	case POReleased, POChanged, POAcknowledged, ASNSubmitted, SupplierUpdated:
		return true
	}
	return false
}

func isTraceID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != "00000000000000000000000000000000"
}

// checkText refuses NUL in text: Postgres text cannot hold U+0000, so an
// event carrying one would fail every transaction that writes it. A raw
// control byte is not valid JSON and fails the decoder, so NUL can only
// come as the escape \u0000: the common case costs one scan of b, and the
// token walk that names the field runs only on a hit. (Invalid UTF-8,
// raw or as an unpaired surrogate escape, is refused by the decoder.)
func checkText(b []byte) error {
	if !bytes.Contains(b, []byte(`\u0000`)) {
		return nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil // malformed JSON: the decoder names it
		}
		if tok.Kind() == '"' && strings.IndexByte(tok.String(), 0) >= 0 {
			return &FieldError{Field: strings.ReplaceAll(pointerPath(dec.StackPointer()), "\x00", `\u0000`), Reason: "contains a NUL character (\\u0000), which text may not hold"}
		}
	}
}

// jsonFieldError turns a JSON v2 error into a *FieldError with a dotted path.
func jsonFieldError(err error, prefix string) *FieldError {
	var se *json.SemanticError
	if errors.As(err, &se) {
		field := joinPath(prefix, pointerPath(se.JSONPointer))
		var reason string
		switch {
		case se.Err != nil && errors.Is(se.Err, json.ErrUnknownName):
			return &FieldError{Field: field, Reason: "unknown field"}
		case se.Err != nil && se.GoType != nil && se.JSONKind != 0:
			reason = fmt.Sprintf("cannot read JSON %s as %s: %v", kindName(se.JSONKind), goTypeName(se.GoType.String()), se.Err)
		case se.Err != nil:
			reason = se.Err.Error()
		case se.GoType != nil && se.JSONKind != 0:
			reason = fmt.Sprintf("must be %s, not JSON %s", goTypeName(se.GoType.String()), kindName(se.JSONKind))
		default:
			reason = "invalid value"
		}
		return &FieldError{Field: field, Reason: reason}
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return &FieldError{Field: joinPath(prefix, pointerPath(syn.JSONPointer)),
			Reason: fmt.Sprintf("invalid JSON at byte %d: %v", syn.ByteOffset, syn.Err)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &FieldError{Field: prefix, Reason: "invalid JSON: unexpected end of input"}
	}
	return &FieldError{Field: prefix, Reason: err.Error()}
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return k.String()
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case t == "string" || strings.HasSuffix(t, ".Type") || strings.HasSuffix(t, ".Source") || strings.HasSuffix(t, ".DocumentKind"):
		return "a string"
	case t == "int" || t == "int64":
		return "an integer"
	case t == "float64":
		return "a number"
	case t == "bool":
		return "a boolean"
	case t == "time.Time":
		return "an RFC 3339 timestamp"
	case strings.HasSuffix(t, ".Date"):
		return "a date (YYYY-MM-DD)"
	case t == "jsontext.Value":
		return "a JSON value"
	}
	return "an object"
}

// pointerPath turns "/lines/2/quantity" into "lines[2].quantity".
func pointerPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func joinPath(prefix, p string) string {
	switch {
	case prefix == "":
		return p
	case p == "":
		return prefix
	case p[0] == '[':
		return prefix + p
	}
	return prefix + "." + p
}

func joinStrings[T ~string](v []T) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
