package otlp

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/supplywatch/supplywatch/procure"
)

// Field numbers of the OTLP trace messages (opentelemetry-proto
// trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto).
const (
	fRequestResourceSpans = 1 // ExportTraceServiceRequest.resource_spans

	fResourceSpansResource   = 1
	fResourceSpansScopeSpans = 2

	fResourceAttributes = 1

	fScopeSpansScope = 1
	fScopeSpansSpans = 2

	fScopeName = 1

	fSpanTraceID      = 1
	fSpanSpanID       = 2
	fSpanTraceState   = 3
	fSpanParentSpanID = 4
	fSpanName         = 5
	fSpanKind         = 6
	fSpanStart        = 7
	fSpanEnd          = 8
	fSpanAttributes   = 9
	fSpanEvents       = 11
	fSpanLinks        = 13
	fSpanStatus       = 15

	fEventTime       = 1
	fEventName       = 2
	fEventAttributes = 3

	fStatusMessage = 2
	fStatusCode    = 3

	fKeyValueKey   = 1
	fKeyValueValue = 2

	fAnyString = 1
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4
	fAnyArray  = 5
	fAnyKVList = 6
	fAnyBytes  = 7

	fArrayValues  = 1 // ArrayValue.values
	fKVListValues = 1 // KeyValueList.values
)

// maxValueDepth bounds the nesting of array and kvlist attribute values.
const maxValueDepth = 32

// attrsChunk is how many attributes are cut from one allocation, and
// attrsReserve the most reserved for one list.
const (
	attrsChunk   = 1024
	attrsReserve = 64
)

// slabChunk is the size of the blocks that formatted strings (hex ids,
// numbers, JSON of arrays) are cut from.
const slabChunk = 32 << 10

var spanKinds = [...]string{"Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"}

var statusCodes = [...]string{"Unset", "Ok", "Error"}

// decoder turns one ExportTraceServiceRequest in protobuf wire format into
// procure.Span rows, reading the wire format directly rather than building
// an intermediate tree (pdata): that is what keeps the hot path at a few
// allocations per span instead of several per attribute.
//
// Strings in the result point into the body (no copy) and into slabs the
// decoder holds: the body must never be modified or reused while the spans
// are alive. A decoder decodes one request at a time; once its spans are
// dead (stored, or never handed on), release readies it for the next one,
// which then reuses its spans, slabs and scratch instead of allocating them.
type decoder struct {
	tenant string
	limits Limits
	// events counts the span events decoded, for the footprint.
	events int

	spans   []procure.Span
	refused int
	// refusal describes the first refused span, for partial_success.
	refusal string

	// slab is the block formatted strings are appended to, attrs the one
	// attribute lists are cut from; slabs and attrBlocks are the standard
	// size blocks they were taken from, the first nslab and nattrs in use.
	slab       []byte
	slabs      [][]byte
	nslab      int
	attrs      []procure.Attribute
	attrBlocks [][]procure.Attribute
	nattrs     int

	kvs   [][]byte       // scratch: KeyValue messages of the span being decoded
	evs   [][]byte       // scratch: Event messages of the span being decoded
	ekvs  [][]byte       // scratch: KeyValue messages of the event being decoded
	ss    [][]byte       // scratch: ScopeSpans messages of the resource being decoded
	index map[string]int // scratch: positions of the keys of a long attribute list
}

// Limits bound what one request may hold; beyond any of them the request
// is refused whole (413, naming the limit) before the excess is decoded.
// The per-span defaults are the OpenTelemetry SDK's span limits (128).
type Limits struct {
	// Spans is the most spans in one request.
	Spans int `yaml:"max_spans" env:"MAX_SPANS"`
	// Attributes is the most attributes of one span, one resource, one
	// span event or one link.
	Attributes int `yaml:"max_attributes" env:"MAX_ATTRIBUTES"`
	// Events and Links are the most events and links of one span.
	Events int `yaml:"max_events" env:"MAX_EVENTS"`
	Links  int `yaml:"max_links" env:"MAX_LINKS"`
}

// Defaults fills unset limits.
func (l *Limits) Defaults() {
	if l.Spans == 0 {
		l.Spans = 16384
	}
	if l.Attributes == 0 {
		l.Attributes = 128
	}
	if l.Events == 0 {
		l.Events = 128
	}
	if l.Links == 0 {
		l.Links = 128
	}
}

// LimitError is a request beyond one of the Limits.
type LimitError struct {
	What  string // "spans per request", "attributes per span", ...
	Limit int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("more than %d %s (the limit)", e.Limit, e.What)
}

// footprint estimates, in bytes, the memory the decoded spans hold beyond
// the body their strings point into.
func (d *decoder) footprint() int64 {
	const (
		spanSize  = int64(unsafe.Sizeof(procure.Span{}))
		attrSize  = int64(unsafe.Sizeof(procure.Attribute{}))
		eventSize = int64(unsafe.Sizeof(time.Time{}) + unsafe.Sizeof("") + unsafe.Sizeof(procure.Attributes{}))
	)
	return int64(cap(d.spans))*spanSize + int64(d.nattrs)*attrsChunk*attrSize + int64(d.nslab)*slabChunk + int64(d.events)*eventSize
}

// resource is what the spans of one ResourceSpans share.
type resource struct {
	attrs    procure.Attributes
	service  string
	corr     string
	corrRank int
	doc      string
	docRank  int
}

// decodeRequest decodes body, an ExportTraceServiceRequest, for tenant.
// Spans with invalid ids are refused (counted, not returned); a malformed
// message is an error.
func decodeRequest(tenant string, body []byte) (*decoder, error) {
	d := new(decoder)
	d.limits.Defaults()
	if err := d.decode(tenant, body); err != nil {
		return nil, err
	}
	return d, nil
}

// decode decodes body for tenant into d, which is new or released.
func (d *decoder) decode(tenant string, body []byte) error {
	d.tenant = tenant
	if n := estimateSpans(len(body)); cap(d.spans) < n {
		d.spans = make([]procure.Span, 0, n)
	}
	rs := 0
	for b := body; len(b) > 0; {
		var f field
		var err error
		if f, b, err = nextField(b); err != nil {
			return fmt.Errorf("ExportTraceServiceRequest: %w", err)
		}
		if f.num == fRequestResourceSpans && f.typ == protowire.BytesType {
			if err := d.resourceSpans(f.bytes); err != nil {
				return fmt.Errorf("resource_spans[%d]: %w", rs, err)
			}
			rs++
		}
	}
	return nil
}

// estimateSpans guesses the spans of a body from its size (a typical SDK
// span with a handful of attributes is 300-600 bytes), to size the result
// once instead of growing it.
func estimateSpans(bodyLen int) int { return min(bodyLen/256+1, 1<<16) }

type field struct {
	num   protowire.Number
	typ   protowire.Type
	bytes []byte
	u     uint64
}

// nextField reads one field of a message.
func nextField(b []byte) (f field, rest []byte, err error) {
	// The common case first: a one-byte tag (field numbers 1-15) of a
	// length-delimited field shorter than 128 bytes, or of a fixed64.
	if len(b) >= 2 && b[0] < 0x80 && b[0] >= 1<<3 {
		switch f.num, f.typ = protowire.Number(b[0]>>3), protowire.Type(b[0]&7); {
		case f.typ == protowire.BytesType && b[1] < 0x80 && len(b) >= 2+int(b[1]):
			n := 2 + int(b[1])
			f.bytes = b[2:n]
			return f, b[n:], nil
		case f.typ == protowire.Fixed64Type && len(b) >= 9:
			f.u = binary.LittleEndian.Uint64(b[1:9])
			return f, b[9:], nil
		}
	}
	return nextFieldAny(b)
}

// nextFieldAny reads any field of a message.
func nextFieldAny(b []byte) (f field, rest []byte, err error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return f, nil, protowire.ParseError(n)
	}
	b = b[n:]
	f.num, f.typ = num, typ
	switch typ {
	case protowire.VarintType:
		f.u, n = protowire.ConsumeVarint(b)
	case protowire.Fixed64Type:
		f.u, n = protowire.ConsumeFixed64(b)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(b)
		f.u = uint64(v)
	case protowire.BytesType:
		f.bytes, n = protowire.ConsumeBytes(b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, b)
	}
	if n < 0 {
		return f, nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
	}
	return f, b[n:], nil
}

// str returns b as a string without copying; see decoder.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// reserve makes room for n more bytes in the slab without moving what
// strings already point to.
func (d *decoder) reserve(n int) {
	if cap(d.slab)-len(d.slab) >= n {
		return
	}
	if n > slabChunk {
		d.slab = make([]byte, 0, n)
		return
	}
	if d.nslab == len(d.slabs) {
		d.slabs = append(d.slabs, make([]byte, 0, slabChunk))
	}
	d.slab = d.slabs[d.nslab][:0]
	d.nslab++
}

// Beyond these, a released decoder is not kept: one huge request must not
// pin its memory in the pool.
const (
	maxPooledSpans  = 8192
	maxPooledBlocks = 64
	maxPooledBody   = 4 << 20
)

// release readies d for another request once its spans are dead, and
// reports whether it is worth keeping. Its spans and attribute lists are
// not cleared (that was 5% of the CPU per span): until they are overwritten
// or the pool drops d, their strings keep the last body decoded alive, so
// only a decoder of a body up to maxPooledBody is kept.
func (d *decoder) release(bodyLen int) bool {
	d.spans = d.spans[:0]
	d.refused, d.refusal, d.tenant, d.events = 0, "", "", 0
	d.slab, d.nslab = nil, 0
	d.attrs, d.nattrs = nil, 0
	clear(d.index)
	return bodyLen <= maxPooledBody && cap(d.spans) <= maxPooledSpans && len(d.slabs) <= maxPooledBlocks && len(d.attrBlocks) <= maxPooledBlocks
}

// since returns the bytes appended to the slab from start as a string.
func (d *decoder) since(start int) string {
	if len(d.slab) == start {
		return ""
	}
	return unsafe.String(&d.slab[start], len(d.slab)-start)
}

func (d *decoder) hex(b []byte) string {
	d.reserve(2 * len(b))
	start := len(d.slab)
	d.slab = hex.AppendEncode(d.slab, b)
	return d.since(start)
}

func (d *decoder) resourceSpans(b []byte) error {
	var res resource
	kvs := d.kvs[:0]
	d.ss = d.ss[:0]
	for len(b) > 0 {
		var f field
		var err error
		if f, b, err = nextField(b); err != nil {
			return err
		}
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case fResourceSpansResource:
			// A message field given twice is merged: attributes append.
			for r := f.bytes; len(r) > 0; {
				var g field
				if g, r, err = nextField(r); err != nil {
					return fmt.Errorf("resource: %w", err)
				}
				if g.num == fResourceAttributes && g.typ == protowire.BytesType {
					if len(kvs) == d.limits.Attributes {
						return &LimitError{"attributes per resource", d.limits.Attributes}
					}
					kvs = append(kvs, g.bytes)
				}
			}
		case fResourceSpansScopeSpans:
			d.ss = append(d.ss, f.bytes)
		}
	}
	if len(kvs) > 0 {
		var i int
		var err error
		if res.attrs, i, err = d.attributes(kvs); err != nil {
			return fmt.Errorf("resource.attributes[%d]: %w", i, err)
		}
		for _, a := range res.attrs {
			if a.Key == "service.name" {
				res.service = a.Value
			}
			if a.Value == "" {
				continue
			}
			if c, dc := linkRank(a.Key); c != 0 && (res.corrRank == 0 || c < res.corrRank) {
				res.corr, res.corrRank = a.Value, c
			} else if dc != 0 && (res.docRank == 0 || dc < res.docRank) {
				res.doc, res.docRank = a.Value, dc
			}
		}
	}
	clear(kvs)
	d.kvs = kvs[:0]
	// d.ss is not reused below (scopeSpans uses kvs and evs only), so it
	// can be walked while spans are decoded.
	ss := d.ss
	for i, s := range ss {
		if err := d.scopeSpans(s, &res); err != nil {
			return fmt.Errorf("scope_spans[%d]: %w", i, err)
		}
	}
	clear(ss)
	return nil
}

func (d *decoder) scopeSpans(b []byte, res *resource) error {
	// The scope may follow the spans on the wire: find it first.
	var scope string
	for r := b; len(r) > 0; {
		f, rest, err := nextField(r)
		if err != nil {
			return err
		}
		r = rest
		if f.num == fScopeSpansScope && f.typ == protowire.BytesType {
			for s := f.bytes; len(s) > 0; {
				var g field
				if g, s, err = nextField(s); err != nil {
					return fmt.Errorf("scope: %w", err)
				}
				if g.num == fScopeName && g.typ == protowire.BytesType {
					scope = str(g.bytes)
				}
			}
		}
	}
	n := 0
	for len(b) > 0 {
		f, rest, err := nextField(b)
		if err != nil {
			return err
		}
		b = rest
		if f.num == fScopeSpansSpans && f.typ == protowire.BytesType {
			if len(d.spans)+d.refused == d.limits.Spans {
				return &LimitError{"spans per request", d.limits.Spans}
			}
			if err := d.span(f.bytes, res, scope); err != nil {
				return fmt.Errorf("spans[%d]: %w", n, err)
			}
			n++
		}
	}
	return nil
}

func (d *decoder) span(b []byte, res *resource, scope string) error {
	var (
		traceID, spanID, parentID []byte
		name, traceState          []byte
		kind, start, end          uint64
		status                    []byte
		hasStatus                 bool
		links                     int
	)
	kvs, evs := d.kvs[:0], d.evs[:0]
	defer func() {
		clear(kvs)
		clear(evs)
		d.kvs, d.evs = kvs[:0], evs[:0]
	}()
	for len(b) > 0 {
		f, rest, err := nextField(b)
		if err != nil {
			return err
		}
		b = rest
		switch f.typ {
		case protowire.BytesType:
			switch f.num {
			case fSpanTraceID:
				traceID = f.bytes
			case fSpanSpanID:
				spanID = f.bytes
			case fSpanTraceState:
				traceState = f.bytes
			case fSpanParentSpanID:
				parentID = f.bytes
			case fSpanName:
				name = f.bytes
			case fSpanAttributes:
				if len(kvs) == d.limits.Attributes {
					return &LimitError{"attributes per span", d.limits.Attributes}
				}
				kvs = append(kvs, f.bytes)
			case fSpanEvents:
				if len(evs) == d.limits.Events {
					return &LimitError{"events per span", d.limits.Events}
				}
				evs = append(evs, f.bytes)
			case fSpanLinks:
				if links++; links > d.limits.Links {
					return &LimitError{"links per span", d.limits.Links}
				}
			case fSpanStatus:
				status, hasStatus = f.bytes, true
			}
		case protowire.VarintType:
			if f.num == fSpanKind {
				kind = f.u
			}
		case protowire.Fixed64Type:
			switch f.num {
			case fSpanStart:
				start = f.u
			case fSpanEnd:
				end = f.u
			}
		}
	}
	if msg := idProblem(traceID, spanID, parentID); msg != "" {
		d.refuse(fmt.Sprintf("span %q: %s", name, msg))
		return nil
	}
	sp := procure.Span{
		Tenant:             d.tenant,
		StartTime:          time.Unix(0, int64(start)).UTC(),
		TraceState:         str(traceState),
		Name:               str(name),
		Kind:               "Unspecified",
		ServiceName:        res.service,
		ScopeName:          scope,
		StatusCode:         "Unset",
		ResourceAttributes: res.attrs,
	}
	// One slab reservation for the three ids.
	d.reserve(64)
	sp.TraceID, sp.SpanID = d.hex(traceID), d.hex(spanID)
	if len(parentID) > 0 && !allZero(parentID) {
		sp.ParentSpanID = d.hex(parentID)
	}
	if end > start {
		sp.DurationNanos = end - start
	}
	if kind < uint64(len(spanKinds)) {
		sp.Kind = spanKinds[kind]
	}
	if hasStatus {
		for len(status) > 0 {
			f, rest, err := nextField(status)
			if err != nil {
				return fmt.Errorf("status: %w", err)
			}
			status = rest
			switch {
			case f.num == fStatusMessage && f.typ == protowire.BytesType:
				sp.StatusMessage = str(f.bytes)
			case f.num == fStatusCode && f.typ == protowire.VarintType:
				if f.u < uint64(len(statusCodes)) {
					sp.StatusCode = statusCodes[f.u]
				} else {
					sp.StatusCode = "Unset"
				}
			}
		}
	}
	corrRank, docRank := 0, 0
	if len(kvs) > 0 {
		var i int
		var err error
		if sp.Attributes, i, err = d.attributes(kvs); err != nil {
			return fmt.Errorf("attributes[%d]: %w", i, err)
		}
		for _, a := range sp.Attributes {
			if a.Value == "" {
				continue
			}
			if c, dc := linkRank(a.Key); c != 0 && (corrRank == 0 || c < corrRank) {
				sp.CorrelationID, corrRank = a.Value, c
			} else if dc != 0 && (docRank == 0 || dc < docRank) {
				sp.DocumentID, docRank = a.Value, dc
			}
		}
	}
	if corrRank == 0 {
		sp.CorrelationID = res.corr
	}
	if docRank == 0 {
		sp.DocumentID = res.doc
	}
	if len(evs) > 0 {
		d.events += len(evs)
		sp.EventTimes = make([]time.Time, len(evs))
		sp.EventNames = make([]string, len(evs))
		sp.EventAttributes = make([]procure.Attributes, len(evs))
		for i, ev := range evs {
			if err := d.event(ev, &sp, i); err != nil {
				return fmt.Errorf("events[%d]: %w", i, err)
			}
		}
	}
	d.spans = append(d.spans, sp)
	return nil
}

func (d *decoder) refuse(msg string) {
	if d.refused == 0 {
		d.refusal = msg
	}
	d.refused++
}

// idProblem says what is wrong with a span's ids, or "".
func idProblem(traceID, spanID, parentID []byte) string {
	switch {
	case len(traceID) != 16:
		return fmt.Sprintf("trace_id must be 16 bytes, got %d", len(traceID))
	case allZero(traceID):
		return "trace_id is all zero"
	case len(spanID) != 8:
		return fmt.Sprintf("span_id must be 8 bytes, got %d", len(spanID))
	case allZero(spanID):
		return "span_id is all zero"
	case len(parentID) != 0 && len(parentID) != 8:
		return fmt.Sprintf("parent_span_id must be empty or 8 bytes, got %d", len(parentID))
	}
	return ""
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// linkRank says whether key names a correlation id or a document number,
// and its precedence among the keys of its kind (1 is first; 0 is none).
func linkRank(key string) (corr, doc int) {
	switch key {
	case "supplywatch.correlation_id":
		return 1, 0
	case "correlation_id":
		return 2, 0
	case "correlation.id":
		return 3, 0
	case "po.number":
		return 0, 1
	case "document.id":
		return 0, 2
	case "asn.number":
		return 0, 3
	case "invoice.number":
		return 0, 4
	}
	return 0, 0
}

func (d *decoder) event(b []byte, sp *procure.Span, i int) error {
	kvs := d.ekvs[:0]
	defer func() {
		clear(kvs)
		d.ekvs = kvs[:0]
	}()
	for r := b; len(r) > 0; {
		f, rest, err := nextField(r)
		if err != nil {
			return err
		}
		r = rest
		switch {
		case f.num == fEventTime && f.typ == protowire.Fixed64Type:
			sp.EventTimes[i] = time.Unix(0, int64(f.u)).UTC()
		case f.num == fEventName && f.typ == protowire.BytesType:
			sp.EventNames[i] = str(f.bytes)
		case f.num == fEventAttributes && f.typ == protowire.BytesType:
			if len(kvs) == d.limits.Attributes {
				return &LimitError{"attributes per span event", d.limits.Attributes}
			}
			kvs = append(kvs, f.bytes)
		}
	}
	if sp.EventTimes[i].IsZero() {
		sp.EventTimes[i] = time.Unix(0, 0).UTC()
	}
	if len(kvs) > 0 {
		attrs, j, err := d.attributes(kvs)
		if err != nil {
			return fmt.Errorf("attributes[%d]: %w", j, err)
		}
		sp.EventAttributes[i] = attrs
	}
	return nil
}

// attributes decodes KeyValue messages, each key once: a repeated key
// keeps its first place and takes the last value, as a map would. On error
// i is the index of the message at fault.
func (d *decoder) attributes(kvs [][]byte) (as procure.Attributes, i int, err error) {
	// Cut from the decoder's slab, capacity-limited so that growing it
	// never runs into the next list. Repeated keys would make room
	// reserved for every message a waste: beyond attrsReserve, append
	// grows the list on its own.
	n := min(len(kvs), attrsReserve)
	if cap(d.attrs)-len(d.attrs) < n {
		if d.nattrs == len(d.attrBlocks) {
			d.attrBlocks = append(d.attrBlocks, make([]procure.Attribute, 0, attrsChunk))
		}
		d.attrs = d.attrBlocks[d.nattrs][:0]
		d.nattrs++
	}
	start := len(d.attrs)
	d.attrs = d.attrs[:start+n]
	as = d.attrs[start : start : start+n]
	// A short list is searched; a long one is indexed.
	indexed := len(kvs) > 16
	if indexed {
		if d.index == nil {
			d.index = make(map[string]int, len(kvs))
		}
		clear(d.index)
	}
	for i, kv := range kvs {
		k, v, err := d.keyValue(kv)
		if err != nil {
			return nil, i, err
		}
		j := -1
		if indexed {
			if x, ok := d.index[k]; ok {
				j = x
			} else {
				d.index[k] = len(as)
			}
		} else {
			for x := range as {
				if as[x].Key == k {
					j = x
					break
				}
			}
		}
		if j >= 0 {
			as[j].Value = v
			continue
		}
		as = append(as, procure.Attribute{Key: k, Value: v})
	}
	return as, 0, nil
}

// keyValue decodes a KeyValue, the value flattened to a string.
func (d *decoder) keyValue(b []byte) (key, value string, err error) {
	if key, value, ok := stringKeyValue(b); ok {
		return key, value, nil
	}
	return d.keyValueAny(b)
}

// stringKeyValue decodes the KeyValue SDKs write for a string attribute,
// in the layouts they write it, without the general field loop: a key
// (field 1) and a value (field 2) in either order (protobuf-go writes them
// in field order, pdata in reverse), the value an AnyValue holding only
// string_value (field 1), every length under 128 bytes. ok is false for any
// other message, which keyValueAny then decodes; for the messages it
// accepts, the result is keyValueAny's.
func stringKeyValue(b []byte) (key, value string, ok bool) {
	const (
		tagKey    = byte(fKeyValueKey<<3 | protowire.BytesType)
		tagValue  = byte(fKeyValueValue<<3 | protowire.BytesType)
		tagString = byte(fAnyString<<3 | protowire.BytesType)
	)
	var k, v []byte
	if f, rest, ok := firstField(b, tagKey); ok {
		k = f
		if v, ok = onlyField(rest, tagValue); !ok {
			return "", "", false
		}
	} else if f, rest, ok := firstField(b, tagValue); ok {
		v = f
		if k, ok = onlyField(rest, tagKey); !ok {
			return "", "", false
		}
	} else {
		return "", "", false
	}
	sv, ok := onlyField(v, tagString)
	if !ok {
		return "", "", false
	}
	return str(k), str(sv), true
}

// firstField splits off b's first field when it is length-delimited with
// the one-byte tag and a one-byte length.
func firstField(b []byte, tag byte) (field, rest []byte, ok bool) {
	if len(b) < 2 || b[0] != tag || b[1] >= 0x80 || len(b) < 2+int(b[1]) {
		return nil, nil, false
	}
	n := 2 + int(b[1])
	return b[2:n], b[n:], true
}

// onlyField returns the contents of b when b is exactly one field as
// firstField accepts it.
func onlyField(b []byte, tag byte) ([]byte, bool) {
	f, rest, ok := firstField(b, tag)
	return f, ok && len(rest) == 0
}

// keyValueAny decodes any KeyValue, the value flattened to a string.
func (d *decoder) keyValueAny(b []byte) (key, value string, err error) {
	var val []byte
	for len(b) > 0 {
		var f field
		if f, b, err = nextField(b); err != nil {
			return "", "", err
		}
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case fKeyValueKey:
			key = str(f.bytes)
		case fKeyValueValue:
			val = f.bytes
		}
	}
	if val == nil {
		return key, "", nil
	}
	value, err = d.anyValue(val)
	if err != nil {
		return "", "", fmt.Errorf("%q: %w", key, err)
	}
	return key, value, nil
}

// anyValue flattens an AnyValue: strings as they are, numbers and bools as
// text, bytes as base64, arrays and kvlists as JSON.
func (d *decoder) anyValue(b []byte) (string, error) {
	f, ok, err := lastOneof(b)
	if err != nil || !ok {
		return "", err
	}
	switch f.num {
	case fAnyString:
		return str(f.bytes), nil
	case fAnyBool:
		if f.u != 0 {
			return "true", nil
		}
		return "false", nil
	}
	d.reserve(64)
	start := len(d.slab)
	switch f.num {
	case fAnyInt:
		d.slab = strconv.AppendInt(d.slab, int64(f.u), 10)
	case fAnyDouble:
		d.slab = strconv.AppendFloat(d.slab, math.Float64frombits(f.u), 'g', -1, 64)
	case fAnyBytes:
		d.slab = base64.StdEncoding.AppendEncode(d.slab, f.bytes)
	default:
		if d.slab, err = appendJSON(d.slab, f, 0); err != nil {
			return "", err
		}
	}
	return d.since(start), nil
}

// lastOneof returns the AnyValue's value field (the last one given wins,
// as protobuf specifies for a oneof); ok is false for an empty AnyValue.
func lastOneof(b []byte) (last field, ok bool, err error) {
	for len(b) > 0 {
		var f field
		if f, b, err = nextField(b); err != nil {
			return field{}, false, err
		}
		switch {
		case f.typ == protowire.BytesType && (f.num == fAnyString || f.num == fAnyArray || f.num == fAnyKVList || f.num == fAnyBytes),
			f.typ == protowire.VarintType && (f.num == fAnyBool || f.num == fAnyInt),
			f.typ == protowire.Fixed64Type && f.num == fAnyDouble:
			last, ok = f, true
		}
	}
	return last, ok, nil
}

var errTooDeep = errors.New("array or kvlist value nested too deeply")

// appendJSON appends the JSON of an AnyValue's value field.
func appendJSON(dst []byte, f field, depth int) ([]byte, error) {
	if depth > maxValueDepth {
		return dst, errTooDeep
	}
	switch f.num {
	case fAnyString:
		return appendJSONString(dst, f.bytes), nil
	case fAnyBool:
		return strconv.AppendBool(dst, f.u != 0), nil
	case fAnyInt:
		return strconv.AppendInt(dst, int64(f.u), 10), nil
	case fAnyDouble:
		v := math.Float64frombits(f.u)
		switch {
		case math.IsNaN(v):
			return append(dst, `"NaN"`...), nil
		case math.IsInf(v, 1):
			return append(dst, `"Infinity"`...), nil
		case math.IsInf(v, -1):
			return append(dst, `"-Infinity"`...), nil
		}
		return strconv.AppendFloat(dst, v, 'g', -1, 64), nil
	case fAnyBytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, f.bytes)
		return append(dst, '"'), nil
	case fAnyArray:
		dst = append(dst, '[')
		n := 0
		for b := f.bytes; len(b) > 0; {
			g, rest, err := nextField(b)
			if err != nil {
				return dst, err
			}
			b = rest
			if g.num != fArrayValues || g.typ != protowire.BytesType {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			if dst, err = appendAnyJSON(dst, g.bytes, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case fAnyKVList:
		dst = append(dst, '{')
		n := 0
		for b := f.bytes; len(b) > 0; {
			g, rest, err := nextField(b)
			if err != nil {
				return dst, err
			}
			b = rest
			if g.num != fKVListValues || g.typ != protowire.BytesType {
				continue
			}
			var key, val []byte
			for kv := g.bytes; len(kv) > 0; {
				var h field
				if h, kv, err = nextField(kv); err != nil {
					return dst, err
				}
				if h.typ == protowire.BytesType && h.num == fKeyValueKey {
					key = h.bytes
				} else if h.typ == protowire.BytesType && h.num == fKeyValueValue {
					val = h.bytes
				}
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = appendJSONString(dst, key)
			dst = append(dst, ':')
			if dst, err = appendAnyJSON(dst, val, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	return append(dst, "null"...), nil
}

// appendAnyJSON appends the JSON of an AnyValue message (null when empty).
func appendAnyJSON(dst []byte, b []byte, depth int) ([]byte, error) {
	f, ok, err := lastOneof(b)
	if err != nil {
		return dst, err
	}
	if !ok {
		return append(dst, "null"...), nil
	}
	return appendJSON(dst, f, depth)
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				switch c {
				case '\n':
					dst = append(dst, '\\', 'n')
				case '\r':
					dst = append(dst, '\\', 'r')
				case '\t':
					dst = append(dst, '\\', 't')
				default:
					dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
				}
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
