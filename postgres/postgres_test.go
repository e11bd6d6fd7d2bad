package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestMigrateConcurrentlyAppliesEachMigrationOnce(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(ctx, postgres.Config{URL: u, MaxConns: 2})
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			errs[i] = db.Migrate(ctx, quiet)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db, err := postgres.Open(ctx, postgres.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, _ := postgres.Migrations()
	if n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

func TestMarkProcessedReportsEachEventNewOnce(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewStateStore(pgtest.New(t))
	keys := []procure.EventKey{{Tenant: "acme", ID: "e1"}, {Tenant: "acme", ID: "e2"}, {Tenant: "acme", ID: "e1"}, {Tenant: "beta", ID: "e1"}}
	var got []bool
	if err := s.InTx(ctx, func(tx procure.StateTx) (err error) {
		got, err = tx.MarkProcessed(ctx, keys, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false, true}; !equal(got, want) {
		t.Fatalf("first: %v, want %v", got, want)
	}
	if err := s.InTx(ctx, func(tx procure.StateTx) (err error) {
		got, err = tx.MarkProcessed(ctx, keys[:2], time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, false}; !equal(got, want) {
		t.Fatalf("again: %v, want %v", got, want)
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStatesRoundTripAndRollBackWithTheTransaction(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewStateStore(pgtest.New(t))
	k := procure.StateKey{Tenant: "acme", Kind: procure.StateOrder, ID: "4500000001"}
	if err := s.InTx(ctx, func(tx procure.StateTx) error {
		return tx.SaveStates(ctx, map[procure.StateKey][]byte{k: []byte(`{"id":"4500000001","version":1}`)})
	}); err != nil {
		t.Fatal(err)
	}
	boom := procure.Errorf(procure.EINTERNAL, "boom")
	err := s.InTx(ctx, func(tx procure.StateTx) error {
		if err := tx.SaveStates(ctx, map[procure.StateKey][]byte{k: []byte(`{"id":"4500000001","version":2}`)}); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("err = %v, want boom", err)
	}
	if err := s.InTx(ctx, func(tx procure.StateTx) error {
		m, err := tx.LoadStates(ctx, []procure.StateKey{k, {Tenant: "acme", Kind: "po", ID: "missing"}})
		if err != nil {
			return err
		}
		if len(m) != 1 || string(m[k]) != `{"id": "4500000001", "version": 1}` {
			t.Errorf("loaded %q", m)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func candidate(at time.Time) *procure.ExceptionCandidate {
	return &procure.ExceptionCandidate{Tenant: "acme", Rule: "ack-late", Kind: procure.KindSLA, Subject: "po/1", Title: "PO not acknowledged",
		Message: "PO 1 not acknowledged", Severity: procure.SeverityHigh, Team: "procurement", Supplier: "S1", Plant: "P1", PO: "1",
		ValueAtRisk: 5000, At: at}
}

func TestExceptionLifecycleOpensRecursResolvesAndReopens(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewStateStore(db)
	xs := postgres.NewExceptionStore(db, nil)
	t0 := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	step := func(f func(procure.ExceptionTx) error) {
		t.Helper()
		if err := s.InTx(ctx, func(tx procure.StateTx) error { return f(tx.Exceptions()) }); err != nil {
			t.Fatal(err)
		}
	}
	var x *procure.Exception
	step(func(tx procure.ExceptionTx) (err error) { x, err = tx.RaiseException(ctx, candidate(t0)); return })
	step(func(tx procure.ExceptionTx) (err error) {
		x, err = tx.RaiseException(ctx, candidate(t0.Add(time.Hour)))
		return
	})
	if x.Occurrences != 2 || x.State != procure.ExceptionOpen || !x.LastSeen.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after recurrence: %+v", x)
	}
	step(func(tx procure.ExceptionTx) (err error) {
		x, err = tx.ResolveException(ctx, "acme", candidate(t0).Fingerprint(), t0.Add(2*time.Hour), procure.Actor{Kind: procure.ActorRule, Name: "ack-late"}, "acknowledged")
		return
	})
	if x == nil || x.State != procure.ExceptionResolved {
		t.Fatalf("after resolve: %+v", x)
	}
	step(func(tx procure.ExceptionTx) (err error) {
		again, err := tx.ResolveException(ctx, "acme", candidate(t0).Fingerprint(), t0.Add(3*time.Hour), procure.Actor{Kind: procure.ActorRule, Name: "ack-late"}, "again")
		if again != nil {
			t.Errorf("resolving a resolved exception returned %+v", again)
		}
		return err
	})
	g, err := xs.FindExceptionGroups(ctx, "acme")
	if err != nil || len(g) != 1 || g[0].OpenCount != 0 || g[0].TotalCount != 1 || g[0].ValueAtRisk != 0 {
		t.Fatalf("groups after resolve: %+v %v", g, err)
	}
	step(func(tx procure.ExceptionTx) (err error) {
		x, err = tx.RaiseException(ctx, candidate(t0.Add(4*time.Hour)))
		return
	})
	if x.State != procure.ExceptionOpen || x.Occurrences != 3 {
		t.Fatalf("after recurrence of a resolved one: %+v", x)
	}
	acts, err := xs.FindActivity(ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range acts {
		actions = append(actions, a.Action)
	}
	if want := "opened recurred state reopened"; join(actions) != want {
		t.Fatalf("activity %q, want %q", join(actions), want)
	}
	g, _ = xs.FindExceptionGroups(ctx, "acme")
	if g[0].OpenCount != 1 || g[0].ValueAtRisk != 5000 {
		t.Fatalf("groups after reopen: %+v", g[0])
	}

	// A user acknowledges with the version read; a stale version conflicts.
	ack := procure.ExceptionAcknowledged
	y, err := xs.UpdateException(ctx, x.ID, procure.ExceptionUpdate{Version: x.Version, State: &ack, Actor: procure.Actor{Kind: procure.ActorUser, Name: "ann"}, Note: "on it"})
	if err != nil || y.State != procure.ExceptionAcknowledged {
		t.Fatalf("acknowledge: %+v %v", y, err)
	}
	_, err = xs.UpdateException(ctx, x.ID, procure.ExceptionUpdate{Version: x.Version, State: &ack, Actor: procure.Actor{Kind: procure.ActorSlack, Name: "bob"}})
	if procure.ErrorCode(err) != procure.ECONFLICT {
		t.Fatalf("stale update: err %v, want conflict", err)
	}
	found, err := xs.FindExceptions(ctx, procure.ExceptionFilter{Tenant: "acme", States: []string{procure.ExceptionAcknowledged}})
	if err != nil || len(found) != 1 || found[0].ID != x.ID {
		t.Fatalf("find: %v %v", found, err)
	}

	// The outbox holds one event per change, handed out once.
	var kinds []string
	n, err := xs.ClaimOutbox(ctx, 100, func(evs []*procure.OutboxEvent) error {
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		return nil
	})
	if err != nil || n != 5 {
		t.Fatalf("outbox: %d %v", n, err)
	}
	if want := "exception.opened exception.recurred exception.resolved exception.reopened exception.acknowledged"; join(kinds) != want {
		t.Fatalf("outbox %q, want %q", join(kinds), want)
	}
	if n, _ := xs.ClaimOutbox(ctx, 100, func([]*procure.OutboxEvent) error { return nil }); n != 0 {
		t.Fatalf("outbox handed out %d events twice", n)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestDueTimersAreClaimedByOneCallerEach(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewStateStore(pgtest.New(t))
	t0 := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	var timers []*procure.Timer
	for i := range 200 {
		tm := &procure.Timer{Tenant: "acme", SLA: "s", Subject: procure.OrderSubject(string(rune('a'+i%26)) + time.Duration(i).String()),
			State: procure.TimerRunning, StartedAt: t0, DueAt: t0.Add(time.Duration(i) * time.Second), New: true}
		tm.DocKey = tm.Subject
		tm.Schedule()
		timers = append(timers, tm)
	}
	if err := s.InTx(ctx, func(tx procure.StateTx) error { return tx.SaveTimers(ctx, timers) }); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	fired := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := s.FireDueTimers(ctx, t0.Add(time.Hour), 7, func(tx procure.StateTx, ts []*procure.Timer) error {
					for _, tm := range ts {
						tm.State = procure.TimerBreached
						tm.Schedule()
						mu.Lock()
						fired[tm.Subject]++
						mu.Unlock()
					}
					return tx.SaveTimers(ctx, ts)
				})
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(fired) != 200 {
		t.Fatalf("fired %d timers, want 200", len(fired))
	}
	for k, n := range fired {
		if n != 1 {
			t.Fatalf("timer %s fired %d times", k, n)
		}
	}
}
