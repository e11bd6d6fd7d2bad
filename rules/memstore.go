package rules

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules/sla"
)

var (
	_ procure.StateStore  = (*MemStore)(nil)
	_ procure.StateTx     = (*memTx)(nil)
	_ procure.ExceptionTx = (*memTx)(nil)
	_ sla.TimerStore      = (*MemStore)(nil)
)

// MemStore is an in-memory StateStore for rule fixture tests and
// back-tests: one transaction at a time, rolled back on error. It keeps the
// exception lifecycle of procure exactly as the Postgres store does.
//
// A transaction changes the data in place and keeps an undo journal, so its
// cost is that of what it changes, not of what is stored (a back-test
// replays hundreds of thousands of events).
type MemStore struct {
	mu     sync.Mutex
	d      memData
	nextID int64
	// due indexes the running timers by next firing time, byDoc the
	// timers by tenant|doc_key.
	due   map[string]time.Time
	byDoc map[string][]string
}

type memData struct {
	processed  map[procure.EventKey]bool
	states     map[procure.StateKey][]byte
	timers     map[string]procure.Timer // tenant|sla|subject
	exceptions map[string]*procure.Exception
	activity   []procure.Activity
	outbox     []procure.OutboxEvent
	eventTime  time.Time
	clockAt    time.Time
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{d: memData{processed: map[procure.EventKey]bool{}, states: map[procure.StateKey][]byte{},
		timers: map[string]procure.Timer{}, exceptions: map[string]*procure.Exception{}}, due: map[string]time.Time{}, byDoc: map[string][]string{}}
}

// InTx runs f and keeps its changes if f succeeds; otherwise they are
// undone.
func (m *MemStore) InTx(ctx context.Context, f func(tx procure.StateTx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inTx(f)
}

func (m *MemStore) inTx(f func(tx procure.StateTx) error) error {
	tx := &memTx{m: m, d: &m.d, nactivity: len(m.d.activity), noutbox: len(m.d.outbox),
		eventTime: m.d.eventTime, clockAt: m.d.clockAt, nextID: m.nextID}
	if err := f(tx); err != nil {
		tx.rollback()
		return err
	}
	return nil
}

// FireDueTimers hands every running timer due at now to f (up to limit).
func (m *MemStore) FireDueTimers(ctx context.Context, now time.Time, limit int, f func(tx procure.StateTx, ts []*procure.Timer) error) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ts []*procure.Timer
	for k, at := range m.due {
		if !at.After(now) {
			c := m.d.timers[k]
			c.WarnAt = slices.Clone(c.WarnAt)
			ts = append(ts, &c)
		}
	}
	if len(ts) == 0 {
		return 0, nil
	}
	slices.SortFunc(ts, func(a, b *procure.Timer) int {
		if c := a.NextFireAt.Compare(b.NextFireAt); c != 0 {
			return c
		}
		return strings.Compare(a.SLA+"|"+a.Subject, b.SLA+"|"+b.Subject)
	})
	if len(ts) > limit {
		ts = ts[:limit]
	}
	return len(ts), m.inTx(func(tx procure.StateTx) error { return f(tx, ts) })
}

// NextFireAt is the earliest firing time of a running timer.
func (m *MemStore) NextFireAt(ctx context.Context) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var next time.Time
	for _, at := range m.due {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next, nil
}

// Exceptions returns every exception, by fingerprint order.
func (m *MemStore) Exceptions() []procure.Exception {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []procure.Exception
	for _, x := range m.d.exceptions {
		out = append(out, *x)
	}
	slices.SortFunc(out, func(a, b procure.Exception) int {
		if a.Fingerprint < b.Fingerprint {
			return -1
		}
		if a.Fingerprint > b.Fingerprint {
			return 1
		}
		return 0
	})
	return out
}

// Outbox returns the outbox events.
func (m *MemStore) Outbox() []procure.OutboxEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.d.outbox)
}

type memTx struct {
	m    *MemStore
	d    *memData
	undo []func()
	// values at the start, restored on rollback
	nactivity, noutbox int
	eventTime, clockAt time.Time
	nextID             int64
}

// rollback undoes the transaction's changes, last first.
func (t *memTx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.d.activity, t.d.outbox = t.d.activity[:t.nactivity], t.d.outbox[:t.noutbox]
	t.d.eventTime, t.d.clockAt, t.m.nextID = t.eventTime, t.clockAt, t.nextID
}

// keep records how to undo a change made to a map entry.
func keep[K comparable, V any](t *memTx, m map[K]V, k K) {
	old, ok := m[k]
	t.undo = append(t.undo, func() {
		if ok {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
}

// keepException records the exception's fields before a change in place.
func (t *memTx) keepException(x *procure.Exception) {
	old := *x
	t.undo = append(t.undo, func() { *x = old })
}

func (t *memTx) Exceptions() procure.ExceptionTx { return t }

func (t *memTx) AdvanceEventTime(ctx context.Context, at time.Time) error {
	if at.After(t.d.eventTime) {
		t.d.eventTime = at
	}
	t.d.clockAt = time.Now()
	return nil
}

// EventTime returns the event-time clock and when it last moved.
func (m *MemStore) EventTime(ctx context.Context) (time.Time, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.eventTime, m.d.clockAt, nil
}

func (t *memTx) MarkProcessed(ctx context.Context, keys []procure.EventKey, at time.Time) ([]bool, error) {
	out := make([]bool, len(keys))
	for i, k := range keys {
		if !t.d.processed[k] {
			keep(t, t.d.processed, k)
			t.d.processed[k], out[i] = true, true
		}
	}
	return out, nil
}

func (t *memTx) LoadStates(ctx context.Context, keys []procure.StateKey) (map[procure.StateKey][]byte, error) {
	out := map[procure.StateKey][]byte{}
	for _, k := range keys {
		if b, ok := t.d.states[k]; ok {
			out[k] = b
		}
	}
	return out, nil
}

func (t *memTx) SaveStates(ctx context.Context, states map[procure.StateKey][]byte) error {
	for k, b := range states {
		keep(t, t.d.states, k)
		t.d.states[k] = b
	}
	return nil
}

func (t *memTx) LoadTimers(ctx context.Context, tenant string, docKeys []string) ([]*procure.Timer, error) {
	var out []*procure.Timer
	for _, d := range docKeys {
		for _, k := range t.m.byDoc[tenant+"|"+d] {
			tm := t.d.timers[k]
			c := tm
			c.WarnAt = slices.Clone(tm.WarnAt)
			out = append(out, &c)
		}
	}
	return out, nil
}

func (t *memTx) SaveTimers(ctx context.Context, ts []*procure.Timer) error {
	for _, tm := range ts {
		tm.New = false
		tm.Version++
		c := *tm
		c.WarnAt = slices.Clone(tm.WarnAt)
		k := tm.Tenant + "|" + tm.SLA + "|" + tm.Subject
		if old, ok := t.d.timers[k]; !ok || old.DocKey != tm.DocKey {
			dk := tm.Tenant + "|" + tm.DocKey
			keep(t, t.m.byDoc, dk)
			t.m.byDoc[dk] = append(slices.Clip(t.m.byDoc[dk]), k)
		}
		keep(t, t.d.timers, k)
		keep(t, t.m.due, k)
		t.d.timers[k] = c
		if c.State == procure.TimerRunning && !c.NextFireAt.IsZero() {
			t.m.due[k] = c.NextFireAt
		} else {
			delete(t.m.due, k)
		}
	}
	return nil
}

// RaiseException and ResolveException change exceptions as the Postgres
// store does: through procure.Raise and procure.Exception.Apply.
func (t *memTx) RaiseException(ctx context.Context, c *procure.ExceptionCandidate) (*procure.Exception, error) {
	fp := c.Fingerprint()
	x, ok := t.d.exceptions[fp]
	if !ok {
		x, ch, err := procure.Raise(nil, c)
		if err != nil {
			return nil, err
		}
		t.m.nextID++
		x.ID, x.Version = t.m.nextID, 1
		keep(t, t.d.exceptions, fp)
		t.d.exceptions[fp] = x
		t.record(x, ch, c.At)
		return x, nil
	}
	t.keepException(x)
	_, ch, err := procure.Raise(x, c)
	if err != nil {
		return nil, err
	}
	x.Version++
	t.record(x, ch, c.At)
	return x, nil
}

func (t *memTx) ResolveException(ctx context.Context, tenant, fingerprint string, at time.Time, actor procure.Actor, reason string) (*procure.Exception, error) {
	x, ok := t.d.exceptions[fingerprint]
	if !ok || !x.Active() {
		return nil, nil
	}
	t.keepException(x)
	ch, err := x.Apply(procure.RuleResolve(actor, reason, at), at)
	if err != nil {
		return nil, err
	}
	x.Version++
	t.record(x, ch, at)
	return x, nil
}

func (t *memTx) record(x *procure.Exception, ch *procure.ExceptionChange, at time.Time) {
	for _, a := range ch.Activities {
		a.ExceptionID = x.ID
		t.d.activity = append(t.d.activity, a)
	}
	cx := *x
	t.d.outbox = append(t.d.outbox, procure.OutboxEvent{Tenant: x.Tenant, Kind: ch.Outbox, ExceptionID: x.ID, At: at, Exception: &cx})
}

func (t *memTx) AddOutbox(ctx context.Context, ev *procure.OutboxEvent) error {
	t.d.outbox = append(t.d.outbox, *ev)
	return nil
}

// stateJSON is for debugging fixture failures.
func (m *MemStore) stateJSON(k procure.StateKey) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.d.states[k]
	var v any
	if json.Unmarshal(b, &v) == nil {
		out, _ := json.MarshalIndent(v, "", "  ")
		return string(out)
	}
	return string(b)
}
