package rules

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

func TestMemStoreRollsBackAFailedTransaction(t *testing.T) {
	ctx := context.Background()
	m := NewMemStore()
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	cand := procure.ExceptionCandidate{Tenant: "acme", Rule: "r", Kind: procure.KindSLA, Subject: "po/1", Severity: procure.SeverityHigh, At: t0}
	timer := func(state string, due time.Time) *procure.Timer {
		tm := &procure.Timer{Tenant: "acme", SLA: "s", Subject: "po/1", DocKey: "po/1", State: state, DueAt: due}
		tm.Schedule()
		return tm
	}
	err := m.InTx(ctx, func(tx procure.StateTx) error {
		tx.MarkProcessed(ctx, []procure.EventKey{{Tenant: "acme", ID: "e1"}}, t0)
		tx.SaveStates(ctx, map[procure.StateKey][]byte{{Tenant: "acme", Kind: "po", ID: "1"}: []byte(`{"v":1}`)})
		tx.SaveTimers(ctx, []*procure.Timer{timer(procure.TimerRunning, t0.Add(time.Hour))})
		_, err := tx.Exceptions().RaiseException(ctx, &cand)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before := m.Exceptions()
	boom := errors.New("boom")
	err = m.InTx(ctx, func(tx procure.StateTx) error {
		fresh, _ := tx.MarkProcessed(ctx, []procure.EventKey{{Tenant: "acme", ID: "e2"}}, t0)
		if !fresh[0] {
			t.Error("e2 not fresh")
		}
		tx.SaveStates(ctx, map[procure.StateKey][]byte{{Tenant: "acme", Kind: "po", ID: "1"}: []byte(`{"v":2}`), {Tenant: "acme", Kind: "po", ID: "2"}: []byte(`{}`)})
		tx.SaveTimers(ctx, []*procure.Timer{timer(procure.TimerMet, t0.Add(time.Hour)), {Tenant: "acme", SLA: "s", Subject: "po/2", DocKey: "po/2", State: procure.TimerRunning, NextFireAt: t0}})
		tx.Exceptions().ResolveException(ctx, "acme", cand.Fingerprint(), t0, procure.Actor{Kind: procure.ActorRule, Name: "r"}, "x")
		c2 := cand
		c2.Subject = "po/2"
		tx.Exceptions().RaiseException(ctx, &c2)
		tx.AdvanceEventTime(ctx, t0.Add(24*time.Hour))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	after := m.Exceptions()
	if len(after) != 1 || after[0] != before[0] {
		t.Errorf("exceptions after rollback %+v, want %+v", after, before)
	}
	if len(m.Outbox()) != 1 {
		t.Errorf("outbox has %d events after rollback, want 1", len(m.Outbox()))
	}
	if got := m.stateJSON(procure.StateKey{Tenant: "acme", Kind: "po", ID: "1"}); got != "{\n  \"v\": 1\n}" {
		t.Errorf("state after rollback %s", got)
	}
	if next, _ := m.NextFireAt(ctx); !next.Equal(t0.Add(time.Hour)) {
		t.Errorf("next fire at %s after rollback, want %s", next, t0.Add(time.Hour))
	}
	if et, _, _ := m.EventTime(ctx); !et.IsZero() {
		t.Errorf("event time %s after rollback", et)
	}
	m.InTx(ctx, func(tx procure.StateTx) error {
		fresh, _ := tx.MarkProcessed(ctx, []procure.EventKey{{Tenant: "acme", ID: "e2"}}, t0)
		if !fresh[0] {
			t.Error("e2 marked processed by a rolled-back transaction")
		}
		ts, _ := tx.LoadTimers(ctx, "acme", []string{"po/1", "po/2"})
		if len(ts) != 1 || ts[0].State != procure.TimerRunning {
			t.Errorf("timers after rollback %+v", ts)
		}
		return nil
	})
}
