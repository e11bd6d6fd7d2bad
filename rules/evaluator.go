package rules

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules/sla"
)

// Lookup gives the evaluator the document state after the event was
// applied. It returns empty projections (Known/Released false), never nil.
type Lookup interface {
	Order(tenant, id string) *procure.Order
	Supplier(tenant, id string) *procure.SupplierState
	Item(tenant, id string) *procure.ItemState
	Lot(tenant, item, lot string) *procure.LotState
	Invoice(tenant, id string) *procure.InvoiceState
}

// retryLookup is a Lookup that knows the retry policy's decision on the
// event being evaluated (the engine's batch, when a Retrier runs).
type retryLookup interface {
	retryOf(e *procure.Event) *procure.RetryView
}

// Clear is a validation rule that no longer holds for a subject: its
// exception, if any, is resolved.
type Clear struct {
	Tenant      string
	Rule        string
	Subject     string
	DocKey      string
	Fingerprint string
	At          time.Time
}

// Raise is a validation rule that holds for a subject.
type Raise struct {
	Candidate procure.ExceptionCandidate
	DocKey    string
}

// Deferral is a rule with a grace period that holds its evaluation on one
// subject of the event until the event time passes Due.
type Deferral struct {
	Rule, Tenant, Subject, DocKey string
	Due                           time.Time
}

// Outcome is what one event means for exceptions and timers.
type Outcome struct {
	Raised   []Raise
	Cleared  []Clear
	Timers   []sla.Observation
	Deferred []Deferral
}

// Evaluator evaluates the rules in force on events. The rule set is
// swapped atomically by Set; an evaluation uses one set throughout.
type Evaluator struct {
	rules atomic.Pointer[RuleSet]
	// ackSLAs survive reloads: Set hands them to every new rule set.
	ackSLAs atomic.Pointer[map[string]time.Duration]
}

// NewEvaluator returns an Evaluator with rs in force.
func NewEvaluator(rs *RuleSet) *Evaluator {
	ev := &Evaluator{}
	ev.rules.Store(rs)
	return ev
}

// Rules returns the rule set in force.
func (ev *Evaluator) Rules() *RuleSet { return ev.rules.Load() }

// Set puts rs in force (with the partner acknowledgement SLAs set before).
func (ev *Evaluator) Set(rs *RuleSet) {
	if m := ev.ackSLAs.Load(); m != nil {
		rs = rs.withAckSLAs(*m)
	}
	ev.rules.Store(rs)
}

// SetPartnerAckSLAs gives the rules the functional-acknowledgement SLA of
// each trading partner (by partner id, from the B2B partner profiles), read
// by the expression helper PartnerAckSLA(event.target, fallback). It stays
// in force across reloads.
func (ev *Evaluator) SetPartnerAckSLAs(m map[string]time.Duration) {
	ev.ackSLAs.Store(&m)
	ev.rules.Store(ev.rules.Load().withAckSLAs(m))
}

// withAckSLAs returns a copy of rs with the partner SLAs (rs itself may be
// in use).
func (rs *RuleSet) withAckSLAs(m map[string]time.Duration) *RuleSet {
	c := *rs
	c.ackSLAs = m
	return &c
}

// Evaluate evaluates the rules in force on e with the state after e.
func (ev *Evaluator) Evaluate(e *procure.Event, lk Lookup) (Outcome, error) {
	return ev.rules.Load().Evaluate(e, lk)
}

// subject is one thing an event is about, with the environment to judge it.
type subject struct {
	kind   string // document | line | supplier
	id     string // po/1, po/1/10, invoice/I1, supplier/S1
	docKey string
	po     string
	line   int
	env    *Env
}

// subjects lists what e is about, each with its environment.
func subjects(e *procure.Event, lk Lookup, ackSLAs map[string]time.Duration) []subject {
	view := newEventView(e)
	retry := &procure.RetryView{}
	if rl, ok := lk.(retryLookup); ok {
		if r := rl.retryOf(e); r != nil {
			retry = r
		}
	}
	base := func() *Env {
		return &Env{Event: view, ELine: &EventLine{}, Document: &procure.Order{}, Line: &procure.OrderLine{},
			Supplier: &procure.SupplierState{}, Item: &procure.ItemState{}, Lot: &procure.LotState{}, Invoice: &procure.InvoiceState{},
			Plant: e.Plant, Now: e.OccurredAt, Retry: retry, ackSLAs: ackSLAs}
	}
	var out []subject
	// The document itself.
	env := base()
	docID := procure.DocSubject(string(e.Document.Kind), e.Document.ID)
	po := ""
	switch e.Document.Kind {
	case procure.DocPO:
		po = e.Document.ID
	case procure.DocInvoice:
		env.Invoice = lk.Invoice(e.Tenant, e.Document.ID)
		po = env.Invoice.PO
	default:
		pos := linePOs(view)
		if len(pos) == 1 {
			po = pos[0]
		} else if view.PO != "" {
			po = view.PO
		}
	}
	if po != "" {
		env.Document = lk.Order(e.Tenant, po)
	}
	fillParties(env, e, lk)
	if e.Document.Kind == procure.DocQuality && view.Item != "" {
		env.Item = lk.Item(e.Tenant, view.Item)
		env.Lot = lk.Lot(e.Tenant, view.Item, view.Lot)
	}
	out = append(out, subject{kind: SubjectDocument, id: docID, docKey: docID, po: po, env: env})

	// The PO lines it touches.
	for _, l := range eventLines(e, view, lk) {
		env := base()
		env.Document = lk.Order(e.Tenant, l.PO)
		env.Line = env.Document.FindLine(l.Line)
		if env.Line == nil {
			env.Line = &procure.OrderLine{Number: l.Line}
		}
		if e.Document.Kind == procure.DocInvoice {
			env.Invoice = lk.Invoice(e.Tenant, e.Document.ID)
		}
		el := l
		if e.Type == procure.GoodsReceived && view.ASN != "" {
			el.Shipped = env.Line.ShippedOn(view.ASN)
		}
		env.ELine = &el
		fillParties(env, e, lk)
		item := el.Item
		if item == "" {
			item = env.Line.Item
		}
		if item != "" {
			env.Item = lk.Item(e.Tenant, item)
			if el.Lot != "" {
				env.Lot = lk.Lot(e.Tenant, item, el.Lot)
			}
		}
		out = append(out, subject{kind: SubjectLine, id: procure.LineSubject(l.PO, l.Line), docKey: procure.OrderSubject(l.PO), po: l.PO, line: l.Line, env: env})
	}

	// The supplier.
	if sup := out[0].env.Supplier.ID; sup != "" {
		env := base()
		env.Document = out[0].env.Document
		fillParties(env, e, lk)
		id := procure.DocSubject("supplier", sup)
		out = append(out, subject{kind: SubjectSupplier, id: id, docKey: id, env: env})
	}
	return out
}

func fillParties(env *Env, e *procure.Event, lk Lookup) {
	sup := e.Supplier
	if sup == "" {
		sup = env.Document.Supplier
	}
	if sup != "" {
		env.Supplier = lk.Supplier(e.Tenant, sup)
		if env.Supplier.ID == "" {
			env.Supplier.ID = sup
		}
	}
	if env.Plant == "" {
		env.Plant = env.Document.Plant
	}
}

func linePOs(v *EventView) []string {
	var pos []string
	for _, l := range v.Lines {
		if l.PO != "" && !slices.Contains(pos, l.PO) {
			pos = append(pos, l.PO)
		}
	}
	return pos
}

// eventLines are the PO lines an event touches, once each.
func eventLines(e *procure.Event, v *EventView, lk Lookup) []EventLine {
	var out []EventLine
	seen := map[string]int{}
	add := func(l EventLine) {
		k := l.PO + "/" + fmt.Sprint(l.Line)
		if i, ok := seen[k]; ok {
			// Several ASN/receipt lines on one PO line: sum quantities.
			out[i].Quantity += l.Quantity
			out[i].Received += l.Received
			out[i].Rejected += l.Rejected
			return
		}
		seen[k] = len(out)
		out = append(out, l)
	}
	switch e.Type {
	case procure.POCancelled:
		o := lk.Order(e.Tenant, e.Document.ID)
		for _, l := range o.Lines {
			add(EventLine{PO: o.ID, Line: l.Number})
		}
	case procure.POChangeDecided:
		o := lk.Order(e.Tenant, e.Document.ID)
		for _, cr := range o.ChangeRequests {
			if cr.ID == v.RequestID {
				for _, n := range cr.Lines {
					add(EventLine{PO: o.ID, Line: n})
				}
			}
		}
		for _, l := range o.Lines {
			if l.Ack.AckID == v.RequestID && v.RequestID != "" {
				add(EventLine{PO: o.ID, Line: l.Number})
			}
		}
	case procure.InvoiceStatusChanged:
		if len(v.Lines) > 0 {
			for _, l := range v.Lines {
				add(l)
			}
			break
		}
		inv := lk.Invoice(e.Tenant, e.Document.ID)
		for _, l := range inv.Lines {
			add(EventLine{PO: inv.PO, Line: l.Line, Quantity: l.Quantity, UnitPrice: l.UnitPrice})
		}
	default:
		for _, l := range v.Lines {
			if l.PO != "" {
				add(l)
			}
		}
	}
	return out
}

// Evaluate evaluates the set's rules and SLA definitions on e.
func (rs *RuleSet) Evaluate(e *procure.Event, lk Lookup) (Outcome, error) {
	var out Outcome
	subs := subjects(e, lk, rs.ackSLAs)
	for _, r := range rs.Rules {
		if !slices.Contains(r.On, e.Type) {
			continue
		}
		for i := range subs {
			s := &subs[i]
			if s.kind != r.Subject {
				continue
			}
			id, ok, err := keyed(s.id, r.Key, s.env)
			if err != nil {
				return out, fmt.Errorf("rule %s: key: %w", r.ID, err)
			}
			if !ok {
				continue
			}
			if r.Grace > 0 {
				out.Deferred = append(out.Deferred, Deferral{Rule: r.ID, Tenant: e.Tenant, Subject: id, DocKey: s.docKey, Due: e.OccurredAt.Add(r.Grace)})
				continue
			}
			if err := judge(r, e, s, id, &out); err != nil {
				return out, err
			}
		}
	}
	for _, d := range rs.SLAs {
		if len(d.On) > 0 && !slices.Contains(d.On, e.Type) {
			continue
		}
		for i := range subs {
			s := &subs[i]
			if s.kind != d.Subject {
				continue
			}
			id, ok, err := keyed(s.id, d.Key, s.env)
			if err != nil {
				return out, fmt.Errorf("sla %s: key: %w", d.ID, err)
			}
			if !ok {
				continue
			}
			o, any, err := rs.observe(d, e, s, id)
			if err != nil {
				return out, fmt.Errorf("sla %s on %s: %w", d.ID, id, err)
			}
			if any {
				out.Timers = append(out.Timers, o)
			}
		}
	}
	return out, nil
}

// MaxGrace is the longest grace period of the set's rules.
func (rs *RuleSet) MaxGrace() time.Duration {
	var g time.Duration
	for _, r := range rs.Rules {
		g = max(g, r.Grace)
	}
	return g
}

// judge evaluates validation rule r on subject s (id, keyed) of e.
func judge(r *Rule, e *procure.Event, s *subject, id string, out *Outcome) error {
	hold, err := runBool(r.When, s.env)
	if err != nil {
		return fmt.Errorf("rule %s on %s: %w", r.ID, id, err)
	}
	if hold {
		// Outside its segment a rule raises nothing (but still clears: the
		// evidence resolves an exception raised before the segment
		// narrowed).
		covered, err := r.Segment.Covers(e.Tenant, s.env.Supplier)
		if err != nil {
			return fmt.Errorf("rule %s on %s: %w", r.ID, id, err)
		}
		if !covered {
			return nil
		}
		out.Raised = append(out.Raised, Raise{Candidate: candidate(e, s, id, r.ID, procure.KindValidation, r.Title, r.Severity, r.Team, r.Message), DocKey: s.docKey})
	} else if r.Clear {
		out.Cleared = append(out.Cleared, Clear{Tenant: e.Tenant, Rule: r.ID, Subject: id, DocKey: s.docKey,
			Fingerprint: procure.Fingerprint(e.Tenant, r.ID, id), At: e.OccurredAt})
	}
	return nil
}

// EvaluateDeferred evaluates the graced rule ruleID on e for the one
// subject it was deferred on, with the state now. A rule no longer in the
// set evaluates to nothing.
func (rs *RuleSet) EvaluateDeferred(ruleID, subjectID string, e *procure.Event, lk Lookup) (Outcome, error) {
	var out Outcome
	i := slices.IndexFunc(rs.Rules, func(r *Rule) bool { return r.ID == ruleID })
	if i < 0 {
		return out, nil
	}
	r := rs.Rules[i]
	subs := subjects(e, lk, rs.ackSLAs)
	for j := range subs {
		s := &subs[j]
		if s.kind != r.Subject {
			continue
		}
		id, ok, err := keyed(s.id, r.Key, s.env)
		if err != nil {
			return out, fmt.Errorf("rule %s: key: %w", r.ID, err)
		}
		if ok && id == subjectID {
			return out, judge(r, e, s, id, &out)
		}
	}
	return out, nil
}

func (rs *RuleSet) observe(d *SLA, e *procure.Event, s *subject, id string) (sla.Observation, bool, error) {
	o := sla.Observation{SLA: d.ID, Tenant: e.Tenant, Subject: id, DocKey: s.docKey, At: e.OccurredAt, WarnAt: d.WarnAt}
	var err error
	for _, c := range []struct {
		p   *vm.Program
		dst *bool
	}{{d.Start, &o.Start}, {d.Stop, &o.Stop}, {d.Pause, &o.Pause}, {d.Resume, &o.Resume}, {d.Reset, &o.Reset}, {d.Cancel, &o.Cancel}} {
		if c.p == nil {
			continue
		}
		if *c.dst, err = runBool(c.p, s.env); err != nil {
			return o, false, err
		}
	}
	if (o.Start || o.Reset) && d.Segment != nil {
		// Outside its segment an SLA starts no timer; a running one still
		// stops, pauses and is cancelled.
		covered, err := d.Segment.Covers(e.Tenant, s.env.Supplier)
		if err != nil {
			return o, false, err
		}
		if !covered {
			o.Start, o.Reset = false, false
		}
	}
	if !(o.Start || o.Stop || o.Pause || o.Resume || o.Reset || o.Cancel) {
		return o, false, nil
	}
	if d.Calendar == procure.Calendar24x7 {
		o.Calendar = rs.Calendars.For(procure.Calendar24x7)
	} else {
		o.Calendar = rs.Calendars.For(s.env.Plant)
	}
	if o.Start || o.Reset {
		if d.Duration != nil {
			v, err := expr.Run(d.Duration, s.env)
			if err != nil {
				return o, false, fmt.Errorf("duration: %w", err)
			}
			o.Duration, _ = v.(time.Duration)
		} else {
			v, err := expr.Run(d.Deadline, s.env)
			if err != nil {
				return o, false, fmt.Errorf("deadline: %w", err)
			}
			o.Deadline, _ = v.(time.Time)
			if o.Deadline.IsZero() {
				o.Start, o.Reset = false, false // nothing to time
			}
		}
		o.Raise = candidate(e, s, id, d.ID, procure.KindSLA, d.Title, d.Severity, d.Team, d.Message)
	}
	return o, true, nil
}

func keyed(id string, key *vm.Program, env *Env) (string, bool, error) {
	if key == nil {
		return id, true, nil
	}
	v, err := expr.Run(key, env)
	if err != nil {
		return "", false, err
	}
	k, _ := v.(string)
	if k == "" {
		return "", false, nil
	}
	return id + "#" + k, true, nil
}

func runBool(p *vm.Program, env *Env) (bool, error) {
	v, err := expr.Run(p, env)
	if err != nil {
		return false, err
	}
	b, _ := v.(bool)
	return b, nil
}

func candidate(e *procure.Event, s *subject, id, rule, kind, title, severity, team string, msg *Template) procure.ExceptionCandidate {
	env := s.env
	c := procure.ExceptionCandidate{Tenant: e.Tenant, Rule: rule, Kind: kind, Subject: id, Title: title, Severity: severity, Team: team,
		Supplier: env.Supplier.ID, Plant: env.Plant, PO: s.po, Line: s.line, Currency: env.Document.Currency, At: e.OccurredAt}
	if c.Supplier == "" {
		c.Supplier = e.Supplier
	}
	if msg != nil {
		c.Message = msg.Render(env)
	}
	switch {
	case s.kind == SubjectLine:
		c.NeedBy, c.Quantity, c.ValueAtRisk = env.Line.NeedBy, env.Line.Quantity, env.Line.Value()
	case env.Invoice.ID != "":
		c.ValueAtRisk, c.Currency = env.Invoice.Amount, env.Invoice.Currency
	case env.Document.Released:
		c.ValueAtRisk = env.Document.Value()
		for _, l := range env.Document.Lines {
			if l.Ordered && !l.NeedBy.IsZero() && (c.NeedBy.IsZero() || l.NeedBy.Before(c.NeedBy)) {
				c.NeedBy = l.NeedBy
			}
		}
	}
	return c
}
