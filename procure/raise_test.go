package procure

import (
	"errors"
	"testing"
	"time"
)

func TestRaiseOpensRecursAndReopens(t *testing.T) {
	t0 := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	c := &ExceptionCandidate{Tenant: "acme", Rule: "ack-late", Kind: KindSLA, Subject: "po/1", Title: "PO not acknowledged",
		Message: "PO 1 not acknowledged", Severity: SeverityHigh, At: t0}
	rule := Actor{Kind: ActorRule, Name: "ack-late"}

	x, ch, err := Raise(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	want := Activity{At: t0, Actor: rule, Action: "opened", ToState: ExceptionOpen, Note: "PO 1 not acknowledged"}
	if x.State != ExceptionOpen || x.Occurrences != 1 || ch.Outbox != OutboxOpened || len(ch.Activities) != 1 || ch.Activities[0] != want {
		t.Fatalf("open: %+v %+v", x, ch)
	}

	c.At = t0.Add(time.Hour)
	if _, ch, err = Raise(x, c); err != nil {
		t.Fatal(err)
	}
	want = Activity{At: c.At, Actor: rule, Action: "recurred", FromState: ExceptionOpen, ToState: ExceptionOpen, Note: "PO 1 not acknowledged"}
	if x.Occurrences != 2 || !x.LastSeen.Equal(c.At) || ch.Outbox != OutboxRecurred || ch.Activities[0] != want {
		t.Fatalf("recur: %+v %+v", x, ch)
	}

	// The rule's resolve is a person's resolve by the rule.
	at := t0.Add(2 * time.Hour)
	if ch, err = x.Apply(RuleResolve(rule, "condition cleared", at), at); err != nil {
		t.Fatal(err)
	}
	want = Activity{At: at, Actor: rule, Action: "state", FromState: ExceptionOpen, ToState: ExceptionResolved, Note: "condition cleared"}
	if x.State != ExceptionResolved || x.Resolution != "condition cleared" || !x.ResolvedAt.Equal(at) || ch.Outbox != OutboxResolved || ch.Activities[0] != want {
		t.Fatalf("resolve: %+v %+v", x, ch)
	}

	c.At = t0.Add(3 * time.Hour)
	if _, ch, err = Raise(x, c); err != nil {
		t.Fatal(err)
	}
	if x.State != ExceptionOpen || x.Resolution != "" || !x.ResolvedAt.IsZero() || ch.Outbox != OutboxReopened || ch.Activities[0].Action != "reopened" {
		t.Fatalf("reopen: %+v %+v", x, ch)
	}
}

func TestRaiseRefuses(t *testing.T) {
	c := &ExceptionCandidate{Tenant: "acme", Rule: "ack-late", Subject: "po/1", At: time.Now()}
	x, _, err := Raise(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	var fe *FieldError
	if _, _, err := Raise(nil, &ExceptionCandidate{Tenant: "acme", Rule: " ", Subject: "po/1"}); !errors.As(err, &fe) || fe.Field != "rule" {
		t.Errorf("a candidate without a rule: %v, want a FieldError on rule", err)
	}
	other := *c
	other.Subject = "po/2"
	if _, _, err := Raise(x, &other); err == nil || x.Occurrences != 1 {
		t.Errorf("a candidate of another exception recurred on it: %v, occurrences %d", err, x.Occurrences)
	}
}
