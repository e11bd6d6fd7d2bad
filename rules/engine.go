package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules/sla"
)

// stateRaised is the projection kind that remembers, per document, the
// fingerprints of validation exceptions a rule raised, so that a rule that
// no longer holds resolves its exception without a look-up per evaluation.
const stateRaised = "raised"

// Engine applies events to the document state, evaluates the rules in force
// and drives SLA timers, all in one StateStore transaction per batch.
type Engine struct {
	store procure.StateStore
	eval  *Evaluator
	sched *sla.Scheduler
	retry Retrier
	dlq   DeadLetter
	log   *slog.Logger
	now   func() time.Time
}

// UseDeadLetter sends a deferred rule evaluation that fails (its event was
// applied long before, so no batch holds it) to dlq; without one it is
// logged and ended. Processor.UseDeadLetter calls it.
func (en *Engine) UseDeadLetter(dlq DeadLetter) { en.dlq = dlq }

// Retrier is the automatic retry policy (retry.Worker): it sees every
// message.failed and message.delivered in the engine's transaction, before
// the rules, schedules or cancels retries, and says whether another retry
// is pending (rules read it as `retry`).
type Retrier interface {
	Observe(ctx context.Context, tx procure.StateTx, e *procure.Event, now time.Time) (*procure.RetryView, error)
}

// UseRetrier puts r in charge of failed deliveries; call it before
// Process. Without one, retry.pending is always false.
func (en *Engine) UseRetrier(r Retrier) { en.retry = r }

// NewEngine returns an Engine. sched is used for its Observe method; its
// firing loop runs separately (sla.Scheduler.Run).
func NewEngine(store procure.StateStore, eval *Evaluator, sched *sla.Scheduler, log *slog.Logger, now func() time.Time) *Engine {
	if now == nil {
		now = time.Now
	}
	en := &Engine{store: store, eval: eval, sched: sched, log: log, now: now}
	if sched != nil {
		sched.UseDeferred(en)
	}
	return en
}

// Evaluator is the engine's evaluator (to swap rule sets).
func (en *Engine) Evaluator() *Evaluator { return en.eval }

// Stats counts what a batch did.
type Stats struct {
	Events, Duplicates, Raised, Cleared, TimerChanges int
}

// Process applies a batch of decoded events in one transaction: events
// already processed are dropped, the others change state, exceptions and
// timers. On error nothing is applied.
//
// The events are applied in business order (occurred_at; the batch order
// among equal times), whatever order the partitions delivered them in, and
// a deferred rule evaluation (a rule with a grace period) falls due before
// the first event at or after its due time: a batch gives what its events
// one at a time in business order would.
func (en *Engine) Process(ctx context.Context, events []*procure.Event) (Stats, error) {
	rs := en.eval.Rules()
	var st Stats
	err := en.store.InTx(ctx, func(tx procure.StateTx) error {
		st = Stats{}
		keys := make([]procure.EventKey, len(events))
		for i, e := range events {
			keys[i] = e.Key()
		}
		fresh, err := tx.MarkProcessed(ctx, keys, en.now())
		if err != nil {
			return err
		}
		b := newBatch(ctx, tx)
		var todo []*procure.Event
		for i, e := range events {
			if fresh[i] {
				todo = append(todo, e)
			} else {
				st.Duplicates++
			}
		}
		slices.SortStableFunc(todo, func(a, c *procure.Event) int { return a.OccurredAt.Compare(c.OccurredAt) })
		if err := b.prefetch(todo); err != nil {
			return err
		}
		var latest time.Time
		for _, e := range todo {
			if err := en.fireDeferred(ctx, tx, b, rs, e.OccurredAt, &st); err != nil {
				return err
			}
			apply(b, e)
			if b.err != nil {
				return b.err
			}
			b.retry = nil
			if en.retry != nil && (e.Type == procure.MessageFailed || e.Type == procure.MessageDelivered) {
				if b.retry, err = en.retry.Observe(ctx, tx, e, en.now()); err != nil {
					return err
				}
			}
			if e.OccurredAt.After(latest) {
				latest = e.OccurredAt
			}
			out, err := rs.Evaluate(e, b)
			if err != nil {
				// A rule that cannot be evaluated on this event fails the
				// same way on every delivery: the event goes to the dead
				// letter (ProcessAll) and the batch goes on without it.
				return &procure.EventError{Event: e, Err: procure.Deterministic("expression", err)}
			}
			if b.err != nil {
				return b.err
			}
			if err := en.act(ctx, tx, b, out, &st); err != nil {
				return err
			}
			if err := en.defer_(b, e, out.Deferred); err != nil {
				return err
			}
			st.Events++
		}
		if err := en.fireDeferred(ctx, tx, b, rs, latest, &st); err != nil {
			return err
		}
		if err := b.flush(); err != nil {
			return err
		}
		if latest.IsZero() {
			return nil
		}
		return tx.AdvanceEventTime(ctx, latest)
	})
	return st, err
}

// act carries an outcome out: exceptions raised and cleared, timers moved.
func (en *Engine) act(ctx context.Context, tx procure.StateTx, b *batch, out Outcome, st *Stats) error {
	xtx := tx.Exceptions()
	for i := range out.Raised {
		r := &out.Raised[i]
		if _, err := xtx.RaiseException(ctx, &r.Candidate); err != nil {
			return err
		}
		b.raisedSet(r.Candidate.Tenant, r.DocKey).add(r.Candidate.Fingerprint())
		st.Raised++
	}
	for _, c := range out.Cleared {
		set := b.raisedSet(c.Tenant, c.DocKey)
		if !set.has(c.Fingerprint) {
			continue
		}
		set.remove(c.Fingerprint)
		x, err := xtx.ResolveException(ctx, c.Tenant, c.Fingerprint, c.At, procure.Actor{Kind: procure.ActorRule, Name: c.Rule}, "condition cleared")
		if err != nil {
			return err
		}
		if x != nil {
			st.Cleared++
		}
	}
	for i := range out.Timers {
		o := &out.Timers[i]
		t, err := b.timer(o.Tenant, o.DocKey, o.SLA, o.Subject)
		if err != nil {
			return err
		}
		nt, err := en.sched.Observe(ctx, xtx, t, o)
		if err != nil {
			return err
		}
		if nt != nil {
			b.putTimer(nt)
			st.TimerChanges++
		}
	}
	return nil
}

// defer_ starts a deferred evaluation per deferral of e: a timer
// "grace:<rule>" on the subject and event, due at the end of the grace
// period, holding the event.
func (en *Engine) defer_(b *batch, e *procure.Event, ds []Deferral) error {
	if len(ds) == 0 {
		return nil
	}
	raw, err := procure.Encode(e)
	if err != nil {
		return &procure.EventError{Event: e, Err: procure.Deterministic("encoding", err)}
	}
	for _, d := range ds {
		slaID, subject := procure.GracePrefix+d.Rule, d.Subject+"@"+e.ID
		t, err := b.timer(d.Tenant, d.DocKey, slaID, subject)
		if err != nil {
			return err
		}
		if t != nil {
			continue // deferred already (the event was delivered again)
		}
		t = &procure.Timer{Tenant: d.Tenant, SLA: slaID, Subject: subject, DocKey: d.DocKey, State: procure.TimerRunning,
			Calendar: procure.Calendar24x7, StartedAt: e.OccurredAt, DueAt: d.Due, Event: raw, New: true}
		t.Schedule()
		b.putTimer(t)
		b.deferred = append(b.deferred, t)
	}
	return nil
}

// fireDeferred evaluates the batch's deferred evaluations due at now, in
// due order, and ends them.
func (en *Engine) fireDeferred(ctx context.Context, tx procure.StateTx, b *batch, rs *RuleSet, now time.Time, st *Stats) error {
	var due []*procure.Timer
	for _, t := range b.deferred {
		if t.State == procure.TimerRunning && !t.DueAt.After(now) {
			due = append(due, t)
		}
	}
	if len(due) == 0 {
		return nil
	}
	sortDeferred(due)
	for _, t := range due {
		if err := en.fireOne(ctx, tx, b, rs, t, st); err != nil {
			return err
		}
		b.putTimer(t)
	}
	return nil
}

func sortDeferred(ts []*procure.Timer) {
	slices.SortFunc(ts, func(a, c *procure.Timer) int {
		if d := a.DueAt.Compare(c.DueAt); d != 0 {
			return d
		}
		if a.SLA != c.SLA {
			return strings.Compare(a.SLA, c.SLA)
		}
		return strings.Compare(a.Subject, c.Subject)
	})
}

// fireOne evaluates deferred evaluation t on the state in b and ends it.
// An evaluation that fails deterministically would fail again: its event
// (applied long ago) goes to the dead letter with the rule and the reason,
// and the evaluation ends. The dead letter is stored before the firing
// transaction commits: if that transaction fails it is stored again when
// the evaluation fires again (same input id), never lost.
func (en *Engine) fireOne(ctx context.Context, tx procure.StateTx, b *batch, rs *RuleSet, t *procure.Timer, st *Stats) error {
	t.State, t.FiredAt = procure.TimerMet, t.DueAt
	t.Schedule()
	rule := strings.TrimPrefix(t.SLA, procure.GracePrefix)
	e, err := procure.Decode(t.Event)
	if err != nil {
		return en.deadLetterDeferred(ctx, t, rule, nil, "decode", err)
	}
	subject, _, _ := strings.Cut(t.Subject, "@")
	out, err := rs.EvaluateDeferred(rule, subject, e, b)
	if err == nil {
		err = b.err
	}
	if err != nil {
		if b.err != nil {
			return b.err
		}
		// The state came from b without error: the rule itself fails
		// on this event, and would again.
		_, reason := procure.Classify(err)
		return en.deadLetterDeferred(ctx, t, rule, e, reason, err)
	}
	return en.act(ctx, tx, b, out, st)
}

// deadLetterDeferred stores the event of the failed deferred evaluation t
// (stage "rules"); an error storing it fails the firing transaction, which
// is then retried.
func (en *Engine) deadLetterDeferred(ctx context.Context, t *procure.Timer, rule string, e *procure.Event, reason string, err error) error {
	r := &procure.Rejection{ReceivedAt: en.now().UTC(), Channel: procure.ChannelKafka, Stage: procure.StageRules,
		InputID: "rules/deferred/" + rule + "/" + t.Subject, Raw: t.Event,
		Reason: reason + ": deferred evaluation of rule " + rule + " (grace) failed: " + err.Error()}
	if e != nil {
		r.Tenant, r.Source, r.EventID, r.EventType = e.Tenant, string(e.Source), e.ID, string(e.Type)
		r.InputID += "/" + e.ID
	}
	var fe *procure.FieldError
	if errors.As(err, &fe) {
		r.Field = fe.Field
	}
	en.log.Warn("deferred rule evaluation failed; its event goes to the dead letter", "rule", rule, "subject", t.Subject, "event", r.EventID, "reason", r.Reason)
	if en.dlq == nil {
		return nil
	}
	if err := en.dlq.StoreRejections(ctx, []*procure.Rejection{r}); err != nil {
		return fmt.Errorf("dead letter of deferred rule %s: %w", rule, err)
	}
	return nil
}

// FireDeferred evaluates deferred evaluations the scheduler found due
// (sla.DeferredFirer): the rule in force now, on the state now.
func (en *Engine) FireDeferred(ctx context.Context, tx procure.StateTx, ts []*procure.Timer, now time.Time) error {
	rs := en.eval.Rules()
	b := newBatch(ctx, tx)
	var st Stats
	sortDeferred(ts)
	for _, t := range ts {
		if err := en.fireOne(ctx, tx, b, rs, t, &st); err != nil {
			return err
		}
	}
	return b.flush()
}

// apply changes the projections e touches.
func apply(b *batch, e *procure.Event) {
	t := e.Tenant
	switch p := e.Payload.(type) {
	case *procure.PurchaseOrder:
		o := b.Order(t, e.Document.ID)
		o.ApplyVersion(e, p)
		b.dirty(procure.StateOrder, t, o.ID)
	case *procure.Cancellation:
		switch e.Type {
		case procure.POCancelled:
			o := b.Order(t, e.Document.ID)
			o.ApplyCancel(e)
			b.dirty(procure.StateOrder, t, o.ID)
		case procure.ASNCancelled:
			a := b.asn(t, e.Document.ID)
			a.Cancelled = true
			b.dirty(procure.StateASN, t, a.ID)
			for _, po := range a.Orders {
				b.Order(t, po).ApplyASNCancel(a.ID)
				b.dirty(procure.StateOrder, t, po)
			}
		}
	case *procure.Acknowledgement:
		o := b.Order(t, e.Document.ID)
		o.ApplyAck(e, p)
		b.dirty(procure.StateOrder, t, o.ID)
	case *procure.ChangeRequest:
		o := b.Order(t, e.Document.ID)
		o.ApplyChangeRequest(e, p)
		b.dirty(procure.StateOrder, t, o.ID)
	case *procure.ChangeDecision:
		o := b.Order(t, e.Document.ID)
		o.ApplyChangeDecision(e, p)
		b.dirty(procure.StateOrder, t, o.ID)
	case *procure.ShipNotice:
		a := b.asn(t, e.Document.ID)
		a.SubmittedAt, a.ExpectedArrival, a.Cancelled = e.OccurredAt, p.ExpectedArrival, false
		for _, l := range p.Lines {
			if !slices.Contains(a.Orders, l.PO) {
				a.Orders = append(a.Orders, l.PO)
			}
		}
		b.dirty(procure.StateASN, t, a.ID)
		for _, po := range a.Orders {
			b.Order(t, po).ApplyShipNotice(e, p)
			b.dirty(procure.StateOrder, t, po)
		}
	case *procure.Receipt:
		for _, po := range uniquePOs(p.Lines, func(l procure.ReceiptLine) string { return l.PO }) {
			b.Order(t, po).ApplyReceipt(e, p)
			b.dirty(procure.StateOrder, t, po)
		}
	case *procure.QualityDocument:
		l := b.Lot(t, p.Item, p.Lot)
		if !slices.ContainsFunc(l.Certificates, func(c procure.Certificate) bool { return c.ID == p.CertificateID && c.ID != "" }) {
			l.Certificates = append(l.Certificates, procure.Certificate{Type: p.DocType, ID: p.CertificateID, At: e.OccurredAt})
		}
		b.dirty(procure.StateLot, t, lotID(p.Item, p.Lot))
	case *procure.QualityHold:
		if p.Lot == "" {
			return
		}
		l := b.Lot(t, p.Item, p.Lot)
		i := slices.IndexFunc(l.Holds, func(h procure.Hold) bool { return h.ID == p.HoldID })
		if i < 0 {
			l.Holds = append(l.Holds, procure.Hold{ID: p.HoldID, Reason: p.Reason})
			i = len(l.Holds) - 1
		}
		if e.Type == procure.QualityHoldPlaced {
			l.Holds[i].PlacedAt = e.OccurredAt
			l.Holds[i].Reason = p.Reason
		} else {
			l.Holds[i].ReleasedAt = e.OccurredAt
		}
		b.dirty(procure.StateLot, t, lotID(p.Item, p.Lot))
	case *procure.InvoiceStatus:
		inv := b.Invoice(t, e.Document.ID)
		var o *procure.Order
		po := p.PO
		if po == "" {
			po = inv.PO
		}
		if po != "" {
			o = b.Order(t, po)
			o.ApplyInvoice(e.Document.ID)
			b.dirty(procure.StateOrder, t, po)
		}
		inv.Apply(e, p, o)
		b.dirty(procure.StateInvoice, t, e.Document.ID)
	case *procure.Supplier:
		s := b.Supplier(t, e.Document.ID)
		if !s.Known || !e.OccurredAt.Before(s.At) {
			*s = procure.SupplierState{ID: e.Document.ID, Known: true, Name: p.Name, Tier: p.Tier, Status: p.Status, Country: p.Country, Channel: p.Channel, At: e.OccurredAt}
			b.dirty(procure.StateSupplier, t, s.ID)
		}
	case *procure.Item:
		it := b.Item(t, e.Document.ID)
		if !it.Known || !e.OccurredAt.Before(it.At) {
			*it = procure.ItemState{ID: e.Document.ID, Known: true, MaterialClass: p.MaterialClass, BaseUnit: p.BaseUnit,
				CertificateRequired: p.CertificateRequired, CertificateTypes: p.CertificateTypes, At: e.OccurredAt}
			b.dirty(procure.StateItem, t, it.ID)
		}
	}
}

func uniquePOs[T any](lines []T, po func(T) string) []string {
	var out []string
	for _, l := range lines {
		if p := po(l); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func lotID(item, lot string) string { return item + "/" + lot }

// batch caches the projections and timers of one transaction: loaded once,
// changed in memory by the events of the batch in order, written at the end.
type batch struct {
	ctx    context.Context
	tx     procure.StateTx
	states map[procure.StateKey]any
	dirtyK map[procure.StateKey]bool
	timers map[string]*procure.Timer // tenant|sla|subject
	docs   map[string]bool           // tenant|docKey whose timers are loaded
	dirtyT map[string]bool
	retry  *procure.RetryView // the retry decision on the event being evaluated
	// deferred are the running deferred evaluations loaded or started.
	deferred []*procure.Timer
	err      error
}

func (b *batch) retryOf(*procure.Event) *procure.RetryView { return b.retry }

func newBatch(ctx context.Context, tx procure.StateTx) *batch {
	return &batch{ctx: ctx, tx: tx, states: map[procure.StateKey]any{}, dirtyK: map[procure.StateKey]bool{},
		timers: map[string]*procure.Timer{}, docs: map[string]bool{}, dirtyT: map[string]bool{}}
}

// prefetch loads in two round trips the projections and timers the events
// will most likely need; what it misses is loaded on demand.
func (b *batch) prefetch(events []*procure.Event) error {
	want := map[procure.StateKey]bool{}
	docKeys := map[string][]string{}
	addDoc := func(tenant, k string) {
		if !slices.Contains(docKeys[tenant], k) {
			docKeys[tenant] = append(docKeys[tenant], k)
		}
		want[procure.StateKey{Tenant: tenant, Kind: stateRaised, ID: k}] = true
	}
	for _, e := range events {
		t := e.Tenant
		own := procure.DocSubject(string(e.Document.Kind), e.Document.ID)
		addDoc(t, own)
		switch e.Document.Kind {
		case procure.DocPO:
			want[procure.StateKey{Tenant: t, Kind: procure.StateOrder, ID: e.Document.ID}] = true
		case procure.DocASN:
			want[procure.StateKey{Tenant: t, Kind: procure.StateASN, ID: e.Document.ID}] = true
		case procure.DocInvoice:
			want[procure.StateKey{Tenant: t, Kind: procure.StateInvoice, ID: e.Document.ID}] = true
		case procure.DocSupplier:
			want[procure.StateKey{Tenant: t, Kind: procure.StateSupplier, ID: e.Document.ID}] = true
		case procure.DocItem:
			want[procure.StateKey{Tenant: t, Kind: procure.StateItem, ID: e.Document.ID}] = true
		}
		if e.Supplier != "" {
			want[procure.StateKey{Tenant: t, Kind: procure.StateSupplier, ID: e.Supplier}] = true
			addDoc(t, procure.DocSubject("supplier", e.Supplier))
		}
		v := newEventView(e)
		pos := linePOs(v)
		if v.PO != "" {
			pos = append(pos, v.PO)
		}
		for _, po := range pos {
			want[procure.StateKey{Tenant: t, Kind: procure.StateOrder, ID: po}] = true
			addDoc(t, procure.OrderSubject(po))
		}
		for _, l := range v.Lines {
			if l.Item != "" {
				want[procure.StateKey{Tenant: t, Kind: procure.StateItem, ID: l.Item}] = true
				if l.Lot != "" {
					want[procure.StateKey{Tenant: t, Kind: procure.StateLot, ID: lotID(l.Item, l.Lot)}] = true
				}
			}
		}
		if v.Item != "" && v.Lot != "" {
			want[procure.StateKey{Tenant: t, Kind: procure.StateLot, ID: lotID(v.Item, v.Lot)}] = true
		}
	}
	keys := make([]procure.StateKey, 0, len(want))
	for k := range want {
		if _, ok := b.states[k]; !ok {
			keys = append(keys, k)
		}
	}
	if err := b.load(keys); err != nil {
		return err
	}
	for tenant, dks := range docKeys {
		if err := b.loadTimers(tenant, dks); err != nil {
			return err
		}
	}
	return nil
}

func (b *batch) load(keys []procure.StateKey) error {
	if len(keys) == 0 {
		return nil
	}
	got, err := b.tx.LoadStates(b.ctx, keys)
	if err != nil {
		return err
	}
	for _, k := range keys {
		v := newState(k)
		if raw, ok := got[k]; ok {
			if err := json.Unmarshal(raw, v); err != nil {
				return fmt.Errorf("state %s %s: %w", k.Kind, k.ID, err)
			}
		}
		b.states[k] = v
	}
	return nil
}

func newState(k procure.StateKey) any {
	switch k.Kind {
	case procure.StateOrder:
		return &procure.Order{Tenant: k.Tenant, ID: k.ID}
	case procure.StateSupplier:
		return &procure.SupplierState{ID: k.ID}
	case procure.StateItem:
		return &procure.ItemState{ID: k.ID}
	case procure.StateLot:
		return &procure.LotState{}
	case procure.StateASN:
		return &procure.ASNState{ID: k.ID}
	case procure.StateInvoice:
		return &procure.InvoiceState{ID: k.ID}
	case stateRaised:
		return &raisedSet{}
	}
	panic("rules: unknown state kind " + k.Kind)
}

func (b *batch) get(k procure.StateKey) any {
	if v, ok := b.states[k]; ok {
		return v
	}
	if b.err == nil {
		b.err = b.load([]procure.StateKey{k})
	}
	if v, ok := b.states[k]; ok {
		return v
	}
	v := newState(k)
	b.states[k] = v
	return v
}

func (b *batch) dirty(kind, tenant, id string) {
	b.dirtyK[procure.StateKey{Tenant: tenant, Kind: kind, ID: id}] = true
}

func (b *batch) Order(tenant, id string) *procure.Order {
	return b.get(procure.StateKey{Tenant: tenant, Kind: procure.StateOrder, ID: id}).(*procure.Order)
}

func (b *batch) Supplier(tenant, id string) *procure.SupplierState {
	return b.get(procure.StateKey{Tenant: tenant, Kind: procure.StateSupplier, ID: id}).(*procure.SupplierState)
}

func (b *batch) Item(tenant, id string) *procure.ItemState {
	return b.get(procure.StateKey{Tenant: tenant, Kind: procure.StateItem, ID: id}).(*procure.ItemState)
}

func (b *batch) Lot(tenant, item, lot string) *procure.LotState {
	l := b.get(procure.StateKey{Tenant: tenant, Kind: procure.StateLot, ID: lotID(item, lot)}).(*procure.LotState)
	l.Item, l.Lot = item, lot
	return l
}

func (b *batch) Invoice(tenant, id string) *procure.InvoiceState {
	return b.get(procure.StateKey{Tenant: tenant, Kind: procure.StateInvoice, ID: id}).(*procure.InvoiceState)
}

func (b *batch) asn(tenant, id string) *procure.ASNState {
	return b.get(procure.StateKey{Tenant: tenant, Kind: procure.StateASN, ID: id}).(*procure.ASNState)
}

// raisedSet is the set of a document's raised validation fingerprints.
type raisedSet struct {
	Fingerprints []string `json:"fingerprints"`
	dirty        func()
}

func (s *raisedSet) has(fp string) bool { return slices.Contains(s.Fingerprints, fp) }

func (s *raisedSet) add(fp string) {
	if !s.has(fp) {
		s.Fingerprints = append(s.Fingerprints, fp)
		s.dirty()
	}
}

func (s *raisedSet) remove(fp string) {
	if i := slices.Index(s.Fingerprints, fp); i >= 0 {
		s.Fingerprints = slices.Delete(s.Fingerprints, i, i+1)
		s.dirty()
	}
}

func (b *batch) raisedSet(tenant, docKey string) *raisedSet {
	k := procure.StateKey{Tenant: tenant, Kind: stateRaised, ID: docKey}
	s := b.get(k).(*raisedSet)
	s.dirty = func() { b.dirtyK[k] = true }
	return s
}

func (b *batch) loadTimers(tenant string, docKeys []string) error {
	var need []string
	for _, d := range docKeys {
		if !b.docs[tenant+"|"+d] {
			need = append(need, d)
			b.docs[tenant+"|"+d] = true
		}
	}
	if len(need) == 0 {
		return nil
	}
	ts, err := b.tx.LoadTimers(b.ctx, tenant, need)
	if err != nil {
		return err
	}
	for _, t := range ts {
		b.timers[t.Tenant+"|"+t.SLA+"|"+t.Subject] = t
		if t.Deferred() && t.State == procure.TimerRunning {
			b.deferred = append(b.deferred, t)
		}
	}
	return nil
}

func (b *batch) timer(tenant, docKey, slaID, subject string) (*procure.Timer, error) {
	if err := b.loadTimers(tenant, []string{docKey}); err != nil {
		return nil, err
	}
	return b.timers[tenant+"|"+slaID+"|"+subject], nil
}

func (b *batch) putTimer(t *procure.Timer) {
	k := t.Tenant + "|" + t.SLA + "|" + t.Subject
	b.timers[k] = t
	b.dirtyT[k] = true
}

func (b *batch) flush() error {
	if len(b.dirtyK) > 0 {
		out := make(map[procure.StateKey][]byte, len(b.dirtyK))
		for k := range b.dirtyK {
			raw, err := json.Marshal(b.states[k])
			if err != nil {
				return err
			}
			out[k] = raw
		}
		if err := b.tx.SaveStates(b.ctx, out); err != nil {
			return err
		}
	}
	if len(b.dirtyT) > 0 {
		ts := make([]*procure.Timer, 0, len(b.dirtyT))
		for k := range b.dirtyT {
			ts = append(ts, b.timers[k])
		}
		slices.SortFunc(ts, func(a, c *procure.Timer) int {
			if a.SLA+a.Subject < c.SLA+c.Subject {
				return -1
			}
			return 1
		})
		if err := b.tx.SaveTimers(b.ctx, ts); err != nil {
			return err
		}
	}
	return nil
}
