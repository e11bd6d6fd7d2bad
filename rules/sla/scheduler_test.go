package sla_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules/sla"
	"go.uber.org/goleak"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func observation(i int, at time.Time) *sla.Observation {
	subject := procure.OrderSubject(fmt.Sprint(4500000000 + i))
	return &sla.Observation{SLA: "po-not-acknowledged", Tenant: "acme", Subject: subject, DocKey: subject, At: at, Start: true,
		Calendar: (&procure.Calendars{}).For(procure.Calendar24x7), Duration: time.Hour, WarnAt: []float64{0.5},
		Raise: procure.ExceptionCandidate{Tenant: "acme", Rule: "po-not-acknowledged", Subject: subject, Title: "PO not acknowledged",
			Severity: procure.SeverityHigh, Supplier: "S1"}}
}

func TestTwoSchedulersFireEachTimerOnce(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	store := postgres.NewStateStore(db)
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	s1 := sla.New(sla.Config{BatchSize: 17}, store, quiet, nil)
	const n = 300
	if err := store.InTx(ctx, func(tx procure.StateTx) error {
		var ts []*procure.Timer
		for i := range n {
			tm, err := s1.Observe(ctx, tx.Exceptions(), nil, observation(i, t0))
			if err != nil {
				return err
			}
			ts = append(ts, tm)
		}
		return tx.SaveTimers(ctx, ts)
	}); err != nil {
		t.Fatal(err)
	}
	s2 := sla.New(sla.Config{BatchSize: 13}, store, quiet, nil)
	var wg sync.WaitGroup
	for _, s := range []*sla.Scheduler{s1, s2, s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.FireDue(ctx, t0.Add(2*time.Hour)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	xs := postgres.NewExceptionStore(db, nil)
	got, err := xs.FindExceptions(ctx, procure.ExceptionFilter{Tenant: "acme", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d exceptions, want %d", len(got), n)
	}
	for _, x := range got {
		if x.Occurrences != 1 || x.State != procure.ExceptionOpen || !x.FirstSeen.Equal(t0.Add(time.Hour)) {
			t.Fatalf("exception %+v", x)
		}
	}
	// Warnings were due before the breach only while running: one per timer.
	counts, _ := store.CountTimers(ctx)
	if counts[procure.TimerBreached] != n {
		t.Fatalf("timers %v", counts)
	}
}

func TestRunFiresDueTimersAndStopsWithoutLeaks(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // the pool's goroutines end at cleanup
	store := postgres.NewStateStore(db)
	now := time.Now().UTC()
	s := sla.New(sla.Config{PollInterval: 20 * time.Millisecond}, store, quiet, nil)
	fired := make(chan time.Time, 10)
	s.OnFire = func(due []time.Time, at time.Time) {
		for range due {
			fired <- at
		}
	}
	if err := store.InTx(ctx, func(tx procure.StateTx) error {
		tm, err := s.Observe(ctx, tx.Exceptions(), nil, observation(1, now.Add(-time.Hour+100*time.Millisecond)))
		if err != nil {
			return err
		}
		return tx.SaveTimers(ctx, []*procure.Timer{tm})
	}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- s.Run(rctx) }()
	select {
	case at := <-fired:
		if lag := at.Sub(now.Add(100 * time.Millisecond)); lag > time.Second {
			t.Errorf("breach-to-exception lag %s", lag)
		}
	case <-time.After(5 * time.Second):
		t.Error("timer did not fire")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestObserveLateStopRaisesAndResolves(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	store := postgres.NewStateStore(db)
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	s := sla.New(sla.Config{}, store, quiet, nil)
	err := store.InTx(ctx, func(tx procure.StateTx) error {
		tm, err := s.Observe(ctx, tx.Exceptions(), nil, observation(1, t0))
		if err != nil {
			return err
		}
		stop := observation(1, t0.Add(2*time.Hour))
		stop.Start, stop.Stop = false, true
		tm, err = s.Observe(ctx, tx.Exceptions(), tm, stop)
		if err != nil {
			return err
		}
		if tm.State != procure.TimerBreached || !tm.NextFireAt.IsZero() {
			t.Errorf("timer %+v", tm)
		}
		return tx.SaveTimers(ctx, []*procure.Timer{tm})
	})
	if err != nil {
		t.Fatal(err)
	}
	x, err := postgres.NewExceptionStore(db, nil).FindExceptionByFingerprint(ctx, "acme", procure.Fingerprint("acme", "po-not-acknowledged", observation(1, t0).Subject))
	if err != nil || x.State != procure.ExceptionResolved {
		t.Fatalf("exception %+v %v", x, err)
	}
}

// A fired timer reset to a due time still ahead (the supplier promised a
// new date) resolves its breach; the stop then finds nothing open. Reset to
// a due time already past, it fires again and the exception stays open.
func TestResetOfAFiredTimerResolvesItsBreachWhenTheNewDueIsAhead(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		deadline time.Time
		want     string
	}{
		{"new due ahead: resolved", t0.Add(48 * time.Hour), procure.ExceptionResolved},
		{"new due past: open", t0.Add(90 * time.Minute), procure.ExceptionOpen},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := pgtest.New(t)
			store := postgres.NewStateStore(db)
			s := sla.New(sla.Config{}, store, quiet, nil)
			o := observation(1, t0)
			o.Deadline = t0.Add(time.Hour)
			var tm *procure.Timer
			step := func(f func(tx procure.StateTx) error) {
				t.Helper()
				if err := store.InTx(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			step(func(tx procure.StateTx) (err error) {
				tm, err = s.Observe(ctx, tx.Exceptions(), nil, o)
				if err == nil {
					err = tx.SaveTimers(ctx, []*procure.Timer{tm})
				}
				return err
			})
			if _, err := s.FireDue(ctx, t0.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			reset := observation(1, t0.Add(3*time.Hour))
			reset.Start, reset.Reset, reset.Deadline = false, true, c.deadline
			step(func(tx procure.StateTx) error {
				ts, err := tx.LoadTimers(ctx, "acme", []string{o.DocKey})
				if err != nil {
					return err
				}
				tm, err = s.Observe(ctx, tx.Exceptions(), ts[0], reset)
				if err == nil {
					err = tx.SaveTimers(ctx, []*procure.Timer{tm})
				}
				return err
			})
			if _, err := s.FireDue(ctx, t0.Add(4*time.Hour)); err != nil {
				t.Fatal(err)
			}
			x, err := postgres.NewExceptionStore(db, nil).FindExceptionByFingerprint(ctx, "acme", procure.Fingerprint("acme", "po-not-acknowledged", o.Subject))
			if err != nil {
				t.Fatal(err)
			}
			if x.State != c.want {
				t.Errorf("exception %s (occurrences %d, %q), want %s", x.State, x.Occurrences, x.Resolution, c.want)
			}
		})
	}
}
