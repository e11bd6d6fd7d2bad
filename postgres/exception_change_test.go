package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
)

// TestConsoleAndSlackStoreTheSameChange acknowledges and assigns one
// exception in the console (ConsoleStore.Act) and its twin from Slack's
// buttons (alerts.StoreActor over ExceptionStore.UpdateException): both
// go through procure.Exception.Apply, so the exceptions, their activity
// and their outbox events are the same but for the actor's kind, and the
// assignee is the person's login on both.
func TestConsoleAndSlackStoreTheSameChange(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	t0 := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	at := t0.Add(time.Hour)
	xs := postgres.NewExceptionStore(db, func() time.Time { return at })
	cs := postgres.NewConsoleStore(db)
	var viaConsole, viaSlack *procure.Exception
	if err := postgres.NewStateStore(db).InTx(ctx, func(tx procure.StateTx) (err error) {
		c := candidate(t0)
		if viaConsole, err = tx.Exceptions().RaiseException(ctx, c); err != nil {
			return err
		}
		c.Subject, c.Supplier = "po/2", "S2" // its own group, so the group counts compare too
		viaSlack, err = tx.Exceptions().RaiseException(ctx, c)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	ann := alerts.User{ID: "U042ANN", Login: "ann", Name: "Ann Example", Role: procure.RoleProcurement, Tenant: "acme"}
	slack := alerts.NewStoreActor(xs, nil)
	if err := slack.Acknowledge(ctx, ann, viaSlack.ID); err != nil {
		t.Fatal(err)
	}
	if err := slack.Assign(ctx, ann, viaSlack.ID, ann.Login); err != nil {
		t.Fatal(err)
	}
	sc := procure.Scope{Tenant: "acme"}
	actor := procure.Actor{Kind: procure.ActorUser, Name: "ann"}
	it, err := cs.Act(ctx, sc, viaConsole.ID, procure.Action{Kind: procure.ActAcknowledge, Version: viaConsole.Version,
		Reason: "acknowledged in Slack", Actor: actor, At: at})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Act(ctx, sc, viaConsole.ID, procure.Action{Kind: procure.ActAssign, Version: it.Version,
		Assignee: "ann", Reason: "from Slack", Actor: actor, At: at}); err != nil {
		t.Fatal(err)
	}

	c, err := xs.FindExceptionByID(ctx, viaConsole.ID)
	if err != nil {
		t.Fatal(err)
	}
	s, err := xs.FindExceptionByID(ctx, viaSlack.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != procure.ExceptionAcknowledged || c.Assignee != "ann" {
		t.Fatalf("console: state %s assignee %q", c.State, c.Assignee)
	}
	if s.State != c.State || s.Assignee != c.Assignee || s.Version != c.Version || s.Resolution != c.Resolution {
		t.Fatalf("slack stored state %s assignee %q version %d resolution %q; console %s %q %d %q",
			s.State, s.Assignee, s.Version, s.Resolution, c.State, c.Assignee, c.Version, c.Resolution)
	}
	if got, want := activity(t, xs, s.ID, procure.ActorSlack), activity(t, xs, c.ID, procure.ActorUser); got != want {
		t.Fatalf("slack activity\n%s\nconsole activity\n%s", got, want)
	}
	kinds := map[int64]string{}
	if _, err := xs.ClaimOutbox(ctx, 100, func(evs []*procure.OutboxEvent) error {
		for _, e := range evs {
			kinds[e.ExceptionID] += e.Kind + " "
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := "exception.opened exception.acknowledged exception.updated "; kinds[c.ID] != want || kinds[s.ID] != want {
		t.Fatalf("outbox: console %q, slack %q, want %q", kinds[c.ID], kinds[s.ID], want)
	}
	groups, err := xs.FindExceptionGroups(ctx, "acme")
	if err != nil || len(groups) != 2 || groups[0].OpenCount != groups[1].OpenCount || groups[0].ValueAtRisk != groups[1].ValueAtRisk {
		t.Fatalf("groups %+v %v", groups, err)
	}
}

// activity renders an exception's log after its opening, checking that
// every entry is by ann as kind.
func activity(t *testing.T, xs *postgres.ExceptionStore, id int64, kind string) string {
	t.Helper()
	acts, err := xs.FindActivity(bg(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, a := range acts[1:] {
		if a.Actor != (procure.Actor{Kind: kind, Name: "ann"}) {
			t.Fatalf("exception %d: %s by %+v, want ann as %s", id, a.Action, a.Actor, kind)
		}
		out += fmt.Sprintf("%s %s %s>%s %q\n", a.At.Format(time.RFC3339), a.Action, a.FromState, a.ToState, a.Note)
	}
	return out
}

func bg() context.Context { return context.Background() }

// TestUpdateExceptionChecksAsTheConsoleDoes: the checks of an update are
// the domain's, whichever store method it comes through.
func TestUpdateExceptionChecksAsTheConsoleDoes(t *testing.T) {
	db := pgtest.New(t)
	xs := postgres.NewExceptionStore(db, nil)
	var x *procure.Exception
	if err := postgres.NewStateStore(db).InTx(bg(), func(tx procure.StateTx) (err error) {
		x, err = tx.Exceptions().RaiseException(bg(), candidate(time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	slack := procure.Actor{Kind: procure.ActorSlack, Name: "ann"}
	resolved, nobody := procure.ExceptionResolved, "Ann Example"
	for _, tc := range []struct {
		name  string
		upd   procure.ExceptionUpdate
		field string
	}{
		{"a resolution without a reason is refused", procure.ExceptionUpdate{State: &resolved, Actor: slack}, "reason"},
		{"a display name is not a login", procure.ExceptionUpdate{Assignee: &nobody, Actor: slack}, "assignee"},
		{"an actor without a name is refused", procure.ExceptionUpdate{Note: "hello", Actor: procure.Actor{Kind: procure.ActorSlack}}, "actor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.upd.Version = x.Version
			_, err := xs.UpdateException(bg(), x.ID, tc.upd)
			fe, ok := err.(*procure.FieldError)
			if !ok || fe.Field != tc.field {
				t.Fatalf("err %v (%T), want a FieldError on %s", err, err, tc.field)
			}
		})
	}
	y, err := xs.FindExceptionByID(bg(), x.ID)
	if err != nil || y.Version != x.Version || y.State != procure.ExceptionOpen || y.Assignee != "" {
		t.Fatalf("a refused update changed the exception: %+v %v", y, err)
	}
}

// TestRuleAndConsoleResolveStoreTheSameChange resolves one exception by its
// rule (the rules engine's and the SLA scheduler's path, ExceptionTx.
// ResolveException) and its twin from the console (ConsoleStore.Act): both
// are a resolve through procure.Exception.Apply written by applyActions, so
// the exceptions, their activity, their outbox events and the group counts
// are the same but for the actor.
func TestRuleAndConsoleResolveStoreTheSameChange(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	t0 := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	at := t0.Add(time.Hour)
	xs := postgres.NewExceptionStore(db, nil)
	cs := postgres.NewConsoleStore(db)
	states := postgres.NewStateStore(db)
	var viaRule, viaConsole *procure.Exception
	if err := states.InTx(ctx, func(tx procure.StateTx) (err error) {
		c := candidate(t0)
		if viaRule, err = tx.Exceptions().RaiseException(ctx, c); err != nil {
			return err
		}
		c.Subject, c.Supplier = "po/2", "S2" // its own group, so the group counts compare too
		viaConsole, err = tx.Exceptions().RaiseException(ctx, c)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	const reason = "condition cleared"
	rule := procure.Actor{Kind: procure.ActorRule, Name: "ack-late"}
	if err := states.InTx(ctx, func(tx procure.StateTx) error {
		x, err := tx.Exceptions().ResolveException(ctx, "acme", viaRule.Fingerprint, at, rule, reason)
		if err == nil && x == nil {
			t.Error("the rule's resolve found no active exception")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ann := procure.Actor{Kind: procure.ActorUser, Name: "ann"}
	if _, err := cs.Act(ctx, procure.Scope{Tenant: "acme"}, viaConsole.ID, procure.Action{Kind: procure.ActResolve,
		Version: viaConsole.Version, Reason: reason, Actor: ann, At: at}); err != nil {
		t.Fatal(err)
	}

	r, err := xs.FindExceptionByID(ctx, viaRule.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := xs.FindExceptionByID(ctx, viaConsole.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != procure.ExceptionResolved || r.Resolution != reason || !r.ResolvedAt.Equal(at) {
		t.Fatalf("rule's resolve stored state %s resolution %q resolved at %s", r.State, r.Resolution, r.ResolvedAt)
	}
	if c.State != r.State || c.Resolution != r.Resolution || !c.ResolvedAt.Equal(r.ResolvedAt) || c.Version != r.Version {
		t.Fatalf("console stored %s %q %s version %d; rule %s %q %s version %d",
			c.State, c.Resolution, c.ResolvedAt, c.Version, r.State, r.Resolution, r.ResolvedAt, r.Version)
	}
	if got, want := changes(t, xs, r.ID, rule), changes(t, xs, c.ID, ann); got != want || got == "" {
		t.Fatalf("rule's activity\n%s\nconsole's activity\n%s", got, want)
	}

	events := map[int64][]*procure.OutboxEvent{}
	if _, err := xs.ClaimOutbox(ctx, 100, func(evs []*procure.OutboxEvent) error {
		for _, e := range evs {
			events[e.ExceptionID] = append(events[e.ExceptionID], e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	outbox := func(id int64) string {
		out := ""
		for _, e := range events[id] {
			out += fmt.Sprintf("%s at %s: %s %q resolved %s v%d\n", e.Kind, e.At.UTC().Format(time.RFC3339),
				e.Exception.State, e.Exception.Resolution, e.Exception.ResolvedAt.UTC().Format(time.RFC3339), e.Exception.Version)
		}
		return out
	}
	if got, want := outbox(r.ID), outbox(c.ID); got != want || len(events[r.ID]) != 2 || events[r.ID][1].Kind != procure.OutboxResolved {
		t.Fatalf("rule's outbox\n%s\nconsole's outbox\n%s", got, want)
	}
	groups, err := xs.FindExceptionGroups(ctx, "acme")
	if err != nil || len(groups) != 2 || groups[0].OpenCount != 0 || groups[1].OpenCount != 0 || groups[0].TotalCount != groups[1].TotalCount ||
		groups[0].ValueAtRisk != groups[1].ValueAtRisk {
		t.Fatalf("groups %+v %v", groups, err)
	}
}

// changes renders an exception's log after its opening, checking that
// every entry is by actor.
func changes(t *testing.T, xs *postgres.ExceptionStore, id int64, actor procure.Actor) string {
	t.Helper()
	acts, err := xs.FindActivity(bg(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) == 0 || acts[0].Action != "opened" {
		t.Fatalf("exception %d: activity %+v does not start with its opening", id, acts)
	}
	out := ""
	for _, a := range acts[1:] {
		if a.Actor != actor {
			t.Fatalf("exception %d: %s by %+v, want %+v", id, a.Action, a.Actor, actor)
		}
		out += fmt.Sprintf("%s %s %s>%s %q\n", a.At.Format(time.RFC3339), a.Action, a.FromState, a.ToState, a.Note)
	}
	return out
}
