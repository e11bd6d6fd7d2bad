// Package intake is the one path every inbound B2B document takes, whatever
// the channel (HTTP, a Kafka topic of raw documents, a watched drop folder):
// sniff the format, parse, resolve the partner from the envelope (and check
// cXML credentials), map to canonical events, build the functional
// acknowledgement, then store the raw bytes, publish the events and
// dead-letter the rejections through small interfaces the caller provides.
//
// Process returns an error only when a dependency failed (storing,
// publishing, dead-lettering): the input may then be retried as a whole,
// event ids are deterministic so a retry deduplicates. A document that is
// wrong is not an error: it is a Result with rejections, each naming the
// interchange, group, set, segment, element and reason, and the
// acknowledgement that tells the partner.
//
// It leaves to others: the transports (app wires HTTP, Kafka and the drop
// folder of dropdir.go to Process), sending the acknowledgement back, and the
// stores behind Publisher, RawStore and DeadLetter.
package intake

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/supplywatch/supplywatch/b2b/ack"
	"github.com/supplywatch/supplywatch/b2b/cxml"
	"github.com/supplywatch/supplywatch/b2b/edifact"
	"github.com/supplywatch/supplywatch/b2b/mapping"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/b2b/x12"
	"github.com/supplywatch/supplywatch/procure"
)

// Format is a B2B syntax.
type Format string

// The formats; Auto asks Process to sniff.
const (
	Auto    Format = ""
	X12     Format = "x12"
	EDIFACT Format = "edifact"
	CXML    Format = "cxml"
)

// ParseFormat reads a format name as a client names it (x12, edifact, cxml,
// empty or auto).
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "auto":
		return Auto, nil
	case "x12", "X12":
		return X12, nil
	case "edifact", "EDIFACT":
		return EDIFACT, nil
	case "cxml", "cXML", "CXML":
		return CXML, nil
	}
	return Auto, fmt.Errorf("format %q is not x12, edifact or cxml", s)
}

// Sniff recognises the format from the first bytes: ISA → X12, UNA or UNB →
// EDIFACT, <?xml or <cXML → cXML (a byte order mark and blank lines are
// skipped). It returns Auto when it cannot tell.
func Sniff(raw []byte) Format {
	b := raw
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF):
		return CXML // UTF-16 is only read for XML
	}
	b = bytes.TrimLeft(b, " \t\r\n")
	switch {
	case bytes.HasPrefix(b, []byte("ISA")):
		return X12
	case bytes.HasPrefix(b, []byte("UNA")) || bytes.HasPrefix(b, []byte("UNB")):
		return EDIFACT
	case bytes.HasPrefix(b, []byte("<?xml")) || bytes.HasPrefix(b, []byte("<cXML")) || bytes.HasPrefix(b, []byte("<!DOCTYPE cXML")):
		return CXML
	}
	return Auto
}

// RawDocument is an input as received, stored before its events are
// published so that every event's OriginID resolves to bytes.
type RawDocument struct {
	OriginID   string // hex sha256 of Body
	Format     Format
	Tenant     string // of the first resolved partner; empty when none
	Partners   []string
	ReceivedAt time.Time
	Body       []byte
}

// Publisher publishes canonical events (to the event topics).
type Publisher interface {
	Publish(ctx context.Context, events []procure.Received) error
}

// RawStore keeps the raw documents (ClickHouse), keyed by OriginID.
type RawStore interface {
	StoreRaw(ctx context.Context, doc RawDocument) error
}

// DeadLetter receives the rejected parts of a document with their reasons.
type DeadLetter interface {
	DeadLetter(ctx context.Context, rejections []procure.Rejection) error
}

// ControlNumbers hands out our interchange control numbers per partner for
// the acknowledgements (1 to 999999999, unique per partner).
type ControlNumbers interface {
	Next(ctx context.Context, partnerID string) (int64, error)
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, events []procure.Received) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, events []procure.Received) error {
	return f(ctx, events)
}

// RawStoreFunc adapts a function to RawStore.
type RawStoreFunc func(ctx context.Context, doc RawDocument) error

// StoreRaw calls f.
func (f RawStoreFunc) StoreRaw(ctx context.Context, doc RawDocument) error { return f(ctx, doc) }

// DeadLetterFunc adapts a function to DeadLetter.
type DeadLetterFunc func(ctx context.Context, rejections []procure.Rejection) error

// DeadLetter calls f.
func (f DeadLetterFunc) DeadLetter(ctx context.Context, r []procure.Rejection) error {
	return f(ctx, r)
}

type nop struct{}

func (nop) Publish(context.Context, []procure.Received) error     { return nil }
func (nop) StoreRaw(context.Context, RawDocument) error           { return nil }
func (nop) DeadLetter(context.Context, []procure.Rejection) error { return nil }

// Config bounds the parsers; the zero value means the tokenizers' defaults.
type Config struct {
	X12     x12.Limits     `yaml:"x12"`
	EDIFACT edifact.Limits `yaml:"edifact"`
	CXML    cxml.Limits    `yaml:"cxml"`
}

// Deps are the collaborators of an Intake; nil ones do nothing (tests).
type Deps struct {
	Publisher  Publisher
	RawStore   RawStore
	DeadLetter DeadLetter
	// Controls defaults to numbers derived from the document hash (the same
	// input always gets the same acknowledgement numbers).
	Controls ControlNumbers
	Logger   *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Intake processes inbound documents. It is safe for concurrent use.
type Intake struct {
	reg  *partner.Registry
	cfg  Config
	deps Deps
}

// New returns an Intake over the partner registry.
func New(reg *partner.Registry, cfg Config, deps Deps) *Intake {
	if deps.Publisher == nil {
		deps.Publisher = nop{}
	}
	if deps.RawStore == nil {
		deps.RawStore = nop{}
	}
	if deps.DeadLetter == nil {
		deps.DeadLetter = nop{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Intake{reg: reg, cfg: cfg, deps: deps}
}

// Status is the outcome of a whole input.
type Status string

// The statuses.
const (
	Accepted           Status = "accepted"             // every unit mapped (perhaps with warnings: see Result.Warnings)
	AcceptedWithErrors Status = "accepted_with_errors" // every unit mapped, with envelope errors
	PartiallyAccepted  Status = "partially_accepted"   // some units rejected
	Rejected           Status = "rejected"             // nothing mapped
)

// Result is what Process made of one input.
type Result struct {
	OriginID string
	Format   Format
	Partners []string
	Tenant   string
	Status   Status
	// Events are the canonical events (encoded in Raw, decoded in Event),
	// each with OriginID set.
	Events []procure.Received
	// Acks are the acknowledgements to return to the partner, one per
	// interchange (997/999/CONTRL) or the cXML Response.
	Acks []*ack.Ack
	// Rejections are the rejected units (and input-level problems);
	// Warnings what a lenient reader accepted.
	Rejections []*mapping.Problem
	Warnings   []*mapping.Problem
	// Acknowledgements are functional acknowledgements the partner sent us.
	Acknowledgements []mapping.FunctionalAck
}

// Scope is who sent an input: the tenant and canonical sources of an ingest
// token (or of a configured channel). A partner resolved from the envelope
// counts only when it is of Tenant and its events' source is one of Sources;
// any other sender is refused as unknown, so that an envelope naming another
// tenant's partner ids creates nothing (no event, acknowledgement or dead
// letter) in that tenant. The zero Scope trusts the envelope (a channel
// configured for every tenant).
type Scope struct {
	Tenant  string
	Sources []string // empty: any source
}

// allows reports whether the partner may be resolved in the scope.
func (s Scope) allows(pf *partner.Profile) bool {
	if s.Tenant == "" {
		return true
	}
	if pf.Tenant != s.Tenant {
		return false
	}
	return len(s.Sources) == 0 || slices.Contains(s.Sources, partnerSource(pf))
}

func (s Scope) String() string {
	if s.Tenant == "" {
		return "any tenant"
	}
	return "tenant " + s.Tenant
}

// partnerSource is the canonical source of a partner's events.
func partnerSource(pf *partner.Profile) string {
	if pf.Source != "" {
		return pf.Source
	}
	return string(procure.SourceEDI)
}

// Process runs one raw input through the intake, trusting the envelope for
// the tenant (the zero Scope). hint names the format (Auto sniffs it).
func (in *Intake) Process(ctx context.Context, raw []byte, hint Format) (Result, error) {
	return in.ProcessAs(ctx, Scope{}, raw, hint)
}

// ProcessAs runs one raw input sent within scope through the intake.
//
// What is stored and published of the input is redacted first (cXML
// SharedSecret, CredentialMac, DigitalSignature and XML signature values),
// and OriginID is the SHA-256 of the redacted bytes: a hash of the original
// would let anyone who reads the stored document guess a weak secret.
func (in *Intake) ProcessAs(ctx context.Context, scope Scope, raw []byte, hint Format) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	now := in.deps.Now().UTC()
	r := Result{Format: hint}
	if r.Format == Auto {
		r.Format = Sniff(raw)
	}
	stored := raw
	if r.Format == CXML {
		stored = RedactCXML(raw)
	}
	sum := sha256.Sum256(stored)
	r.OriginID = hex.EncodeToString(sum[:])
	p := &run{in: in, ctx: ctx, r: &r, raw: raw, stored: stored, now: now, sum: sum, scope: scope}
	mapped := 0
	switch r.Format {
	case X12:
		mapped = p.x12()
	case EDIFACT:
		mapped = p.edifact()
	case CXML:
		mapped = p.cxml()
	default:
		head := raw[:min(len(raw), 16)]
		p.reject(&mapping.Problem{Reason: fmt.Sprintf("input is not X12 (ISA), EDIFACT (UNA/UNB) or cXML (<?xml): it starts with %q", head)})
	}
	if p.err != nil {
		return r, p.err
	}
	r.Status = status(mapped, r.Rejections)
	if r.Tenant == "" {
		r.Tenant = scope.Tenant
	}
	if err := in.deps.RawStore.StoreRaw(ctx, RawDocument{OriginID: r.OriginID, Format: r.Format, Tenant: r.Tenant, Partners: r.Partners, ReceivedAt: now, Body: stored}); err != nil {
		return r, fmt.Errorf("origin %s: store raw document: %w", r.OriginID, err)
	}
	if len(r.Events) > 0 {
		if err := in.deps.Publisher.Publish(ctx, r.Events); err != nil {
			return r, fmt.Errorf("origin %s: publish %d events: %w", r.OriginID, len(r.Events), err)
		}
	}
	if len(r.Rejections) > 0 {
		if err := in.deps.DeadLetter.DeadLetter(ctx, p.deadLetters()); err != nil {
			return r, fmt.Errorf("origin %s: dead-letter %d rejections: %w", r.OriginID, len(r.Rejections), err)
		}
	}
	in.deps.Logger.LogAttrs(ctx, slog.LevelInfo, "b2b document processed",
		slog.String("origin", r.OriginID), slog.String("format", string(r.Format)), slog.Any("partners", r.Partners),
		slog.String("status", string(r.Status)), slog.Int("events", len(r.Events)), slog.Int("rejections", len(r.Rejections)),
		slog.Int("warnings", len(r.Warnings)))
	return r, nil
}

// status is the outcome of an input: warnings alone leave it accepted (the
// answer lists them); errors outside any unit (envelope errors) make it
// accepted_with_errors when every unit mapped.
func status(mapped int, rejections []*mapping.Problem) Status {
	units := 0
	for _, r := range rejections {
		if r.Set != "" || r.SetID != "" {
			units++
		}
	}
	switch {
	case len(rejections) == 0:
		return Accepted
	case units == 0 && mapped > 0:
		return AcceptedWithErrors
	case mapped > 0:
		return PartiallyAccepted
	}
	return Rejected
}

// run is the state of one Process call.
type run struct {
	in  *Intake
	ctx context.Context
	r   *Result
	raw []byte
	// stored is raw as it may be kept and published (redacted).
	stored []byte
	now    time.Time
	sum    [32]byte
	scope  Scope
	err    error // a dependency failure
	ix     int   // acknowledgements built so far (for derived control numbers)
	// tenantOf remembers the tenant of each rejection's partner.
	tenantOf map[string]string
	// spans locate each set or message of an interchange (by control) in
	// the input, in order, so that a rejection keeps only its own bytes.
	spans map[string][]span
}

// span is one set or message of an interchange: its control number and its
// bytes, ST to SE (UNH to UNT), in the input.
type span struct {
	control    string
	start, end int
}

func x12Seg(s x12.Segment) (int, int)         { return s.Offset(), s.Offset() + len(s.Raw()) }
func edifactSeg(s edifact.Segment) (int, int) { return s.Offset(), s.Offset() + len(s.Raw()) }

func spanOf[S any](control string, segs []S, at func(S) (int, int)) span {
	if len(segs) == 0 {
		return span{control: control}
	}
	start, _ := at(segs[0])
	_, end := at(segs[len(segs)-1])
	return span{control: control, start: start, end: end}
}

func (p *run) setSpans(interchange string, spans []span) {
	if p.spans == nil {
		p.spans = map[string][]span{}
	}
	if _, dup := p.spans[interchange]; !dup {
		p.spans[interchange] = spans
	}
}

// fault returns the bytes of the set or message a problem is about (nil
// for a problem of a whole interchange or document).
func (p *run) fault(pr *mapping.Problem) []byte {
	spans := p.spans[pr.Interchange]
	var sp span
	switch {
	case pr.Index > 0 && pr.Index <= len(spans):
		sp = spans[pr.Index-1]
	case pr.Set != "":
		for _, s := range spans {
			if s.control == pr.Set {
				sp = s
				break
			}
		}
	}
	if sp.end <= sp.start || sp.end > len(p.stored) {
		return nil
	}
	return p.stored[sp.start:sp.end:sp.end]
}

func (p *run) reject(pr *mapping.Problem) { p.r.Rejections = append(p.r.Rejections, pr) }

// resolve keeps a partner found from the envelope only when the scope allows
// it; a partner of another tenant is treated exactly as an unknown sender
// (the answer does not tell that it exists).
func (p *run) resolve(pf *partner.Profile) *partner.Profile {
	if pf == nil || !p.scope.allows(pf) {
		return nil
	}
	return pf
}

func (p *run) partner(pf *partner.Profile) {
	for _, id := range p.r.Partners {
		if id == pf.ID {
			return
		}
	}
	p.r.Partners = append(p.r.Partners, pf.ID)
	if p.r.Tenant == "" {
		p.r.Tenant = pf.Tenant
	}
	if p.tenantOf == nil {
		p.tenantOf = map[string]string{}
	}
	p.tenantOf[pf.ID] = pf.Tenant
}

// control returns the next acknowledgement control number.
func (p *run) control(pf *partner.Profile) int64 {
	p.ix++
	if c := p.in.deps.Controls; c != nil {
		n, err := c.Next(p.ctx, pf.ID)
		if err != nil {
			p.err = fmt.Errorf("partner %s: acknowledgement control number: %w", pf.ID, err)
			return 0
		}
		return n
	}
	h := sha256.Sum256(append(p.sum[:], byte(p.ix)))
	return int64(binary.BigEndian.Uint64(h[:8])%999999999) + 1
}

// addEvents encodes and re-decodes every event (the collector's strict
// decoding) so that nothing invalid is published.
func (p *run) addEvents(out mapping.Output) int {
	n := 0
	for _, ev := range out.Events {
		b, err := procure.Encode(ev)
		var dec *procure.Event
		if err == nil {
			dec, err = procure.Decode(b)
		}
		if err != nil {
			p.reject(&mapping.Problem{Reason: fmt.Sprintf("event %s (%s %s) is not valid: %v", ev.ID, ev.Type, ev.Document.ID, err)})
			continue
		}
		p.r.Events = append(p.r.Events, procure.Received{Event: dec, Raw: b, Channel: procure.ChannelB2B, OriginID: p.r.OriginID, ReceivedAt: p.now})
		n++
	}
	p.r.Rejections = append(p.r.Rejections, out.Rejections...)
	p.r.Warnings = append(p.r.Warnings, out.Warnings...)
	p.r.Acknowledgements = append(p.r.Acknowledgements, out.Acknowledgements...)
	for _, a := range out.Acknowledgements {
		if ev := p.ackEvent(a); ev != nil {
			p.r.Events = append(p.r.Events, *ev)
			n++
		}
	}
	return n
}

// ackEvent turns a functional acknowledgement the partner sent us into the
// event that stops the "functional acknowledgement overdue" timer of the
// interchange it answers: a message.delivered (message.failed when the
// partner rejected it) about message partner/group, the id under which the
// middleware reports delivering our outbound group (target
// "partner:<id>").
func (p *run) ackEvent(a mapping.FunctionalAck) *procure.Received {
	tenant := p.tenantOf[a.Partner]
	if tenant == "" || a.Group == "" {
		return nil
	}
	msg := a.Partner + "/" + a.Group
	typ, class, text := procure.MessageDelivered, "", ""
	if a.Status == "rejected" {
		typ, class, text = procure.MessageFailed, "validation", fmt.Sprintf("partner %s rejected group %s (%s) in its %s", a.Partner, a.Group, a.FunctionalID, a.Kind)
	}
	sum := sha256.Sum256([]byte(p.r.OriginID + "/" + msg))
	ev := &procure.Event{ID: "b2b-fa-" + hex.EncodeToString(sum[:12]), Type: typ, Source: procure.SourceEDI, Tenant: tenant,
		OccurredAt: p.now.UTC(), Document: procure.DocumentRef{Kind: procure.DocMessage, ID: msg},
		Payload: &procure.Delivery{MessageID: msg, Target: "partner:" + a.Partner, Endpoint: a.Kind,
			DocumentType: "functional_ack", ErrorClass: class, Error: text, Attempt: 1}}
	b, err := procure.Encode(ev)
	if err != nil {
		return nil
	}
	dec, err := procure.Decode(b)
	if err != nil {
		return nil
	}
	return &procure.Received{Event: dec, Raw: b, Channel: procure.ChannelB2B, OriginID: p.r.OriginID, ReceivedAt: p.now}
}

func (p *run) x12() int {
	doc, err := x12.Parse(p.raw, p.in.cfg.X12)
	var errs x12.Errors
	if err != nil && !errors.As(err, &errs) {
		p.reject(&mapping.Problem{Standard: partner.X12, Reason: err.Error()})
		return 0
	}
	for _, w := range doc.Warnings {
		p.r.Warnings = append(p.r.Warnings, x12Problem(w, ""))
	}
	for _, e := range errs {
		if e.Interchange == "" {
			p.reject(x12Problem(e, ""))
		}
	}
	mapped := 0
	for i := range doc.Interchanges {
		ic := &doc.Interchanges[i]
		pf := p.resolve(p.in.reg.ForX12(ic.SenderQualifier, ic.Sender))
		var icErrs []*x12.Error
		for _, e := range errs {
			if e.Interchange == ic.Control {
				icErrs = append(icErrs, e)
			}
		}
		if pf == nil {
			p.reject(&mapping.Problem{Standard: partner.X12, Interchange: ic.Control,
				Reason: fmt.Sprintf("sender %s:%s is not a known partner of %s (no profile lists this ISA05/ISA06)", ic.SenderQualifier, ic.Sender, p.scope)})
			continue
		}
		p.partner(pf)
		var spans []span
		for _, g := range ic.Groups {
			for _, set := range g.Sets {
				spans = append(spans, spanOf(set.Control, set.Segments, x12Seg))
			}
		}
		p.setSpans(ic.Control, spans)
		for _, e := range icErrs {
			p.reject(x12Problem(e, pf.ID))
		}
		out := mapping.X12(pf, ic, errs, mapping.Options{ReceivedAt: p.now})
		mapped += p.addEvents(out)
		kind := "997"
		if pf.X12 != nil && pf.X12.Ack != "" {
			kind = pf.X12.Ack
		}
		if kind == "none" || onlyAcks(ic) {
			continue
		}
		ctl := p.control(pf)
		if p.err != nil {
			return mapped
		}
		a, err := ack.X12(kind, ic, errs, out.Rejections, ack.Options{Control: ctl, Now: p.now})
		if err != nil {
			p.r.Warnings = append(p.r.Warnings, &mapping.Problem{Standard: partner.X12, Partner: pf.ID, Interchange: ic.Control, Reason: "no acknowledgement: " + err.Error()})
			continue
		}
		p.r.Acks = append(p.r.Acks, a)
		if pf.X12 != nil && pf.X12.ApplicationAdvice == "824" && hasApplication(out) {
			a, err := ack.X12Advice(ic, out.Rejections, out.Warnings, ack.Options{Control: p.control(pf), Now: p.now})
			if err == nil && a != nil && p.err == nil {
				p.r.Acks = append(p.r.Acks, a)
			}
		}
	}
	return mapped
}

// hasApplication reports whether a mapping output has an application or
// configuration problem (for the 824/APERAK).
func hasApplication(out mapping.Output) bool {
	for _, pr := range append(out.Rejections[:len(out.Rejections):len(out.Rejections)], out.Warnings...) {
		if pr.Application {
			return true
		}
	}
	return false
}

// onlyAcks reports whether an interchange holds only functional
// acknowledgements (which are never acknowledged).
func onlyAcks(ic *x12.Interchange) bool {
	n := 0
	for _, g := range ic.Groups {
		if g.FunctionalID != "FA" {
			return false
		}
		n++
	}
	return n > 0
}

func x12Problem(e *x12.Error, partnerID string) *mapping.Problem {
	return &mapping.Problem{Standard: partner.X12, Partner: partnerID, Interchange: e.Interchange, Group: e.Group, Set: e.Set, SetID: e.SetID,
		Segment: e.Segment, Tag: e.Tag, Element: e.Element, Component: e.Component, Reason: e.Reason, Offset: e.Offset}
}

func edifactProblem(e *edifact.Error, partnerID string) *mapping.Problem {
	return &mapping.Problem{Standard: partner.EDIFACT, Partner: partnerID, Interchange: e.Interchange, Group: e.Group, Set: e.Message, SetID: e.MessageType,
		Segment: e.Segment, Tag: e.Tag, Element: e.Element, Component: e.Component, Reason: e.Reason, Offset: e.Offset}
}

func (p *run) edifact() int {
	doc, err := edifact.Parse(p.raw, p.in.cfg.EDIFACT)
	var errs edifact.Errors
	if err != nil && !errors.As(err, &errs) {
		p.reject(&mapping.Problem{Standard: partner.EDIFACT, Reason: err.Error()})
		return 0
	}
	for _, w := range doc.Warnings {
		p.r.Warnings = append(p.r.Warnings, edifactProblem(w, ""))
	}
	for _, e := range errs {
		if e.Interchange == "" {
			p.reject(edifactProblem(e, ""))
		}
	}
	mapped := 0
	for i := range doc.Interchanges {
		ic := &doc.Interchanges[i]
		pf := p.resolve(p.in.reg.ForEDIFACT(ic.SenderQualifier, ic.Sender))
		if pf == nil {
			p.reject(&mapping.Problem{Standard: partner.EDIFACT, Interchange: ic.Control,
				Reason: fmt.Sprintf("sender %s (qualifier %q) is not a known partner of %s (no profile lists this UNB sender)", ic.Sender, ic.SenderQualifier, p.scope)})
			continue
		}
		p.partner(pf)
		spans := make([]span, 0, len(ic.Messages))
		for _, m := range ic.Messages {
			spans = append(spans, spanOf(m.Reference, m.Segments, edifactSeg))
		}
		p.setSpans(ic.Control, spans)
		for _, e := range errs {
			if e.Interchange == ic.Control {
				p.reject(edifactProblem(e, pf.ID))
			}
		}
		out := mapping.EDIFACT(pf, ic, errs, mapping.Options{ReceivedAt: p.now})
		mapped += p.addEvents(out)
		if pf.EDIFACT != nil && pf.EDIFACT.Ack == "none" || onlyCONTRL(ic) {
			continue
		}
		ctl := p.control(pf)
		if p.err != nil {
			return mapped
		}
		a, err := ack.CONTRL(ic, errs, out.Rejections, ack.Options{Control: ctl, Now: p.now})
		if err != nil {
			p.r.Warnings = append(p.r.Warnings, &mapping.Problem{Standard: partner.EDIFACT, Partner: pf.ID, Interchange: ic.Control, Reason: "no acknowledgement: " + err.Error()})
			continue
		}
		p.r.Acks = append(p.r.Acks, a)
		if pf.EDIFACT != nil && pf.EDIFACT.ApplicationAdvice == "aperak" && hasApplication(out) {
			a, err := ack.APERAK(ic, out.Rejections, out.Warnings, ack.Options{Control: p.control(pf), Now: p.now})
			if err == nil && a != nil && p.err == nil {
				p.r.Acks = append(p.r.Acks, a)
			}
		}
	}
	return mapped
}

func onlyCONTRL(ic *edifact.Interchange) bool {
	for _, m := range ic.Messages {
		if m.Type != "CONTRL" {
			return false
		}
	}
	return len(ic.Messages) > 0
}

func (p *run) cxml() int {
	respond := func(pf *partner.Profile, code int, text string) {
		var ctl int64 = 1
		if pf != nil {
			ctl = p.control(pf)
		} else {
			p.ix++
			h := sha256.Sum256(append(p.sum[:], byte(p.ix)))
			ctl = int64(binary.BigEndian.Uint64(h[:8])%999999999) + 1
		}
		p.r.Acks = append(p.r.Acks, ack.CXMLResponse(code, text, ack.Options{Control: ctl, Now: p.now}))
	}
	doc, err := cxml.Parse(p.raw, p.in.cfg.CXML)
	if err != nil {
		var ce *cxml.Error
		pr := &mapping.Problem{Standard: partner.CXML, Reason: err.Error()}
		if errors.As(err, &ce) {
			pr.Interchange, pr.Tag, pr.Reason = ce.PayloadID, ce.Path, ce.Reason
			if ce.Line > 0 {
				pr.Reason = fmt.Sprintf("line %d: %s", ce.Line, ce.Reason)
			}
		}
		p.reject(pr)
		respond(nil, 400, pr.Error())
		return 0
	}
	creds := make([]partner.Credential, 0, len(doc.Header.From.Credentials))
	for _, c := range doc.Header.From.Credentials {
		creds = append(creds, partner.Credential{Domain: c.Domain, Identity: c.Identity})
	}
	pf := p.resolve(p.in.reg.ForCXML(creds))
	if pf == nil {
		pr := &mapping.Problem{Standard: partner.CXML, Interchange: doc.PayloadID, SetID: doc.Kind(), Tag: "Header/From/Credential",
			Reason: fmt.Sprintf("sender %v is not a known partner of %s (no profile lists these From credentials)", creds, p.scope)}
		p.reject(pr)
		respond(nil, 401, pr.Error())
		return 0
	}
	p.partner(pf)
	if err := verify(pf, doc); err != nil {
		pr := &mapping.Problem{Standard: partner.CXML, Partner: pf.ID, Interchange: doc.PayloadID, SetID: doc.Kind(), Tag: "Header/Sender/Credential", Reason: err.Error()}
		p.reject(pr)
		respond(pf, 401, pr.Error())
		return 0
	}
	out := mapping.CXML(pf, doc, mapping.Options{ReceivedAt: p.now})
	n := p.addEvents(out)
	if n == 0 {
		text := "rejected"
		if len(out.Rejections) > 0 {
			text = out.Rejections[0].Error()
		}
		respond(pf, 406, text)
		return 0
	}
	respond(pf, 200, "OK")
	return n
}

// verify checks the Sender credential against the profile's shared secret
// (when the profile has one): one of the profile's credentials must match.
func verify(pf *partner.Profile, doc *cxml.Document) error {
	if pf.CXML == nil || pf.CXML.Secret().IsZero() {
		return nil
	}
	var last error
	for _, c := range pf.CXML.Credentials {
		err := doc.Header.VerifySender(cxml.Expected{Domain: c.Domain, Identity: c.Identity, Secret: pf.CXML.Secret().Bytes()})
		if err == nil {
			return nil
		}
		last = err
	}
	return last
}

// Bounds of the bytes a document's dead letters carry themselves: each
// keeps at most MaxFaultBytes of the set or message at fault, and all the
// rejections of one document at most MaxFaultBudget together (beyond it
// they carry only the reference to the stored original).
const (
	MaxFaultBytes  = 4 << 10
	MaxFaultBudget = 1 << 20
)

// deadLetters turns the rejections into dead-letter rows. The document is
// stored once (RawStore, keyed by OriginID) and each row references it
// (OriginalRef, with the size and SHA-256 of the whole of it); a row's Raw
// is only the set or message at fault, capped, never the document: 10,000
// bad sets of a 640 KB interchange are 10,000 small rows, not 6.4 GB.
func (p *run) deadLetters() []procure.Rejection {
	out := make([]procure.Rejection, 0, len(p.r.Rejections))
	budget := MaxFaultBudget
	size := int64(len(p.stored))
	for i, pr := range p.r.Rejections {
		unit := pr.Interchange
		if pr.Set != "" {
			unit += "/" + pr.Group + "/" + pr.Set + "#" + strconv.Itoa(pr.Index)
		}
		fault := p.fault(pr)
		if len(fault) > MaxFaultBytes {
			fault = fault[:MaxFaultBytes:MaxFaultBytes]
		}
		if len(fault) > budget {
			fault = nil
		}
		budget -= len(fault)
		out = append(out, procure.Rejection{
			ReceivedAt:  p.now,
			InputID:     "b2b:" + p.r.OriginID + ":" + unit + ":" + strconv.Itoa(i),
			Channel:     procure.ChannelB2B,
			Stage:       procure.StageB2B,
			Tenant:      cmp.Or(p.tenantOf[pr.Partner], p.scope.Tenant),
			Source:      string(procure.SourceEDI),
			EventType:   string(p.r.Format) + " " + pr.SetID,
			Field:       pr.Field,
			Reason:      pr.Error(),
			Raw:         fault,
			RawSize:     size,
			RawSHA256:   p.r.OriginID,
			OriginalRef: p.r.OriginID,
		})
	}
	return out
}
