package procure

import (
	"strings"
	"testing"
	"time"
)

func TestApplyChecksAndRecordsEachAction(t *testing.T) {
	at := time.Date(2026, 5, 12, 9, 30, 0, 0, time.UTC)
	ann := Actor{Kind: ActorUser, Name: "ann"}
	open := func() *Exception { return &Exception{ID: 7, State: ExceptionOpen} }
	resolved := func() *Exception {
		return &Exception{ID: 7, State: ExceptionResolved, ResolvedAt: at.Add(-time.Hour), Resolution: "fixed"}
	}
	tests := []struct {
		name     string
		x        func() *Exception
		a        Action
		state    string
		assignee string
		outbox   string
		note     string // of the one activity entry
		err      string
	}{
		{"acknowledge moves open to acknowledged", open, Action{Kind: ActAcknowledge, Actor: ann}, ExceptionAcknowledged, "", OutboxAcknowledged, "", ""},
		{"resolve keeps the reason as resolution", open, Action{Kind: ActResolve, Reason: "delivered late", Actor: ann}, ExceptionResolved, "", OutboxResolved, "delivered late", ""},
		{"resolve without a reason is refused", open, Action{Kind: ActResolve, Reason: "  ", Actor: ann}, "", "", "", "", "reason: a resolution needs a reason"},
		{"ignore", open, Action{Kind: ActIgnore, Actor: ann}, ExceptionIgnored, "", OutboxIgnored, "", ""},
		{"reopen drops a snooze", resolved, Action{Kind: ActReopen, Actor: ann}, ExceptionOpen, "", OutboxReopened, "", ""},
		{"acknowledge of a resolved one is refused", resolved, Action{Kind: ActAcknowledge, Actor: ann}, "", "", "", "", "cannot go from resolved to acknowledged"},
		{"assign to a login", open, Action{Kind: ActAssign, Assignee: "bob", Reason: "from Slack", Actor: ann}, ExceptionOpen, "bob", OutboxUpdated, "to bob from Slack", ""},
		{"assign to nobody", func() *Exception { x := open(); x.Assignee = "bob"; return x }, Action{Kind: ActAssign, Actor: ann}, ExceptionOpen, "", OutboxUpdated, "to nobody", ""},
		{"assign to the assignee is refused", func() *Exception { x := open(); x.Assignee = "bob"; return x }, Action{Kind: ActAssign, Assignee: "bob", Actor: ann}, "", "", "", "", "assigned to bob already"},
		{"a display name is not a login", open, Action{Kind: ActAssign, Assignee: "Bob Smith", Actor: ann}, "", "", "", "", `assignee: "Bob Smith" is not a login`},
		{"snooze", open, Action{Kind: ActSnooze, Until: at.Add(4 * time.Hour), Actor: ann}, ExceptionOpen, "", OutboxUpdated, "until 2026-05-12T13:30:00Z", ""},
		{"snooze into the past is refused", open, Action{Kind: ActSnooze, Until: at, Actor: ann}, "", "", "", "", "until: must be in the future"},
		{"snooze of a resolved one is refused", resolved, Action{Kind: ActSnooze, Until: at.Add(time.Hour), Actor: ann}, "", "", "", "", "only open or acknowledged"},
		{"an unknown action is refused", open, Action{Kind: "escalate", Actor: ann}, "", "", "", "", `action: "escalate" is not one of`},
		{"an unknown actor kind is refused", open, Action{Kind: ActAcknowledge, Actor: Actor{Kind: "bot", Name: "x"}}, "", "", "", "", `actor: kind "bot"`},
		{"an actor without a name is refused", open, Action{Kind: ActAcknowledge, Actor: Actor{Kind: ActorSlack}}, "", "", "", "", "actor: a change needs the name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := tc.x()
			before := *x
			ch, err := x.Apply(tc.a, at)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || ErrorCode(err) != EINVALID {
					t.Fatalf("err %v (%s), want EINVALID containing %q", err, ErrorCode(err), tc.err)
				}
				if *x != before {
					t.Fatalf("a refused action changed the exception: %+v", x)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if x.State != tc.state || x.Assignee != tc.assignee || ch.Outbox != tc.outbox || len(ch.Activities) != 1 {
				t.Fatalf("state %s assignee %q outbox %s activities %d", x.State, x.Assignee, ch.Outbox, len(ch.Activities))
			}
			if a := ch.Activities[0]; a.Note != tc.note || a.Actor != ann || !a.At.Equal(at) {
				t.Fatalf("activity %+v", a)
			}
			if tc.a.Kind == ActResolve && x.Resolution != tc.a.Reason {
				t.Fatalf("resolution %q", x.Resolution)
			}
			if ch.ClearSnooze != (tc.a.Kind == ActReopen) || !ch.SnoozeUntil.IsZero() != (tc.a.Kind == ActSnooze) || !ch.SnoozeUntil.Equal(tc.a.Until) {
				t.Fatalf("snooze: %+v", ch)
			}
		})
	}
}

func TestActionsOfKeepsOnlyWhatDiffers(t *testing.T) {
	x := &Exception{State: ExceptionAcknowledged, Assignee: "ann"}
	ack, res, ann, bob, bad := ExceptionAcknowledged, ExceptionResolved, "ann", "bob", "closed"
	slack := Actor{Kind: ActorSlack, Name: "ann"}
	as, err := x.ActionsOf(ExceptionUpdate{State: &ack, Assignee: &ann, Note: "n", Actor: slack})
	if err != nil || len(as) != 0 {
		t.Fatalf("no difference: %+v %v", as, err)
	}
	as, err = x.ActionsOf(ExceptionUpdate{Version: 3, State: &res, Assignee: &bob, Note: "done", Actor: slack})
	if err != nil || len(as) != 2 || as[0].Kind != ActResolve || as[0].Reason != "done" || as[1].Kind != ActAssign || as[1].Assignee != "bob" || as[1].Version != 3 {
		t.Fatalf("resolve and assign: %+v %v", as, err)
	}
	if _, err := x.ActionsOf(ExceptionUpdate{State: &bad, Actor: slack}); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), `state: "closed"`) {
		t.Fatalf("unknown state: %v", err)
	}
}
