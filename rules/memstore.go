package rules

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/sla"
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
type MemStore struct {
	mu     sync.Mutex
	d      memData
	nextID int64
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
		timers: map[string]procure.Timer{}, exceptions: map[string]*procure.Exception{}}}
}

func (d *memData) clone() memData {
	c := memData{processed: maps.Clone(d.processed), states: maps.Clone(d.states), timers: maps.Clone(d.timers),
		exceptions: make(map[string]*procure.Exception, len(d.exceptions)), activity: slices.Clone(d.activity), outbox: slices.Clone(d.outbox),
		eventTime: d.eventTime, clockAt: d.clockAt}
	for k, x := range d.exceptions {
		cx := *x
		c.exceptions[k] = &cx
	}
	return c
}

// InTx runs f on a copy of the data and keeps the copy if f succeeds.
func (m *MemStore) InTx(ctx context.Context, f func(tx procure.StateTx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{m: m, d: m.d.clone(), nextID: m.nextID}
	if err := f(tx); err != nil {
		return err
	}
	m.d, m.nextID = tx.d, tx.nextID
	return nil
}

// FireDueTimers hands every running timer due at now to f (up to limit).
func (m *MemStore) FireDueTimers(ctx context.Context, now time.Time, limit int, f func(tx procure.StateTx, ts []*procure.Timer) error) (int, error) {
	n := 0
	err := m.InTx(ctx, func(tx procure.StateTx) error {
		mt := tx.(*memTx)
		var ts []*procure.Timer
		for _, t := range mt.d.timers {
			if t.State == procure.TimerRunning && !t.NextFireAt.IsZero() && !t.NextFireAt.After(now) {
				c := t
				ts = append(ts, &c)
			}
		}
		slices.SortFunc(ts, func(a, b *procure.Timer) int { return a.NextFireAt.Compare(b.NextFireAt) })
		if len(ts) > limit {
			ts = ts[:limit]
		}
		n = len(ts)
		if n == 0 {
			return nil
		}
		return f(tx, ts)
	})
	return n, err
}

// NextFireAt is the earliest firing time of a running timer.
func (m *MemStore) NextFireAt(ctx context.Context) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var next time.Time
	for _, t := range m.d.timers {
		if t.State == procure.TimerRunning && !t.NextFireAt.IsZero() && (next.IsZero() || t.NextFireAt.Before(next)) {
			next = t.NextFireAt
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
	m      *MemStore
	d      memData
	nextID int64
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
		t.d.states[k] = b
	}
	return nil
}

func (t *memTx) LoadTimers(ctx context.Context, tenant string, docKeys []string) ([]*procure.Timer, error) {
	var out []*procure.Timer
	for _, tm := range t.d.timers {
		if tm.Tenant == tenant && slices.Contains(docKeys, tm.DocKey) {
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
		t.d.timers[tm.Tenant+"|"+tm.SLA+"|"+tm.Subject] = c
	}
	return nil
}

func (t *memTx) RaiseException(ctx context.Context, c *procure.ExceptionCandidate) (*procure.Exception, error) {
	fp := c.Fingerprint()
	actor := procure.Actor{Kind: procure.ActorRule, Name: c.Rule}
	x, ok := t.d.exceptions[fp]
	if !ok {
		t.nextID++
		x = procure.NewException(c)
		x.ID, x.Version = t.nextID, 1
		t.d.exceptions[fp] = x
		t.record(x, procure.Activity{At: c.At, Actor: actor, Action: "opened", ToState: x.State}, procure.OutboxOpened, c.At)
		return x, nil
	}
	from := x.State
	kind := x.Recur(c)
	x.Version++
	act := procure.Activity{At: c.At, Actor: actor, Action: "recurred", FromState: from, ToState: x.State}
	if kind == procure.OutboxReopened {
		act.Action = "reopened"
	}
	t.record(x, act, kind, c.At)
	return x, nil
}

func (t *memTx) ResolveException(ctx context.Context, tenant, fingerprint string, at time.Time, actor procure.Actor, reason string) (*procure.Exception, error) {
	x, ok := t.d.exceptions[fingerprint]
	if !ok || !x.Active() {
		return nil, nil
	}
	from := x.State
	x.Resolve(at, reason)
	x.Version++
	t.record(x, procure.Activity{At: at, Actor: actor, Action: "resolved", FromState: from, ToState: x.State, Note: reason}, procure.OutboxResolved, at)
	return x, nil
}

func (t *memTx) record(x *procure.Exception, a procure.Activity, kind string, at time.Time) {
	a.ExceptionID = x.ID
	t.d.activity = append(t.d.activity, a)
	cx := *x
	t.d.outbox = append(t.d.outbox, procure.OutboxEvent{Tenant: x.Tenant, Kind: kind, ExceptionID: x.ID, At: at, Exception: &cx})
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
