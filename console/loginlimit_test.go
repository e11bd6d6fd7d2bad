package console

import (
	"testing"
	"time"
)

func TestLoginLimiterRecoversOneAttemptPerInterval(t *testing.T) {
	l := newLoginLimiter(LoginLimit{PerLogin: 2, PerAddress: 100, Every: time.Minute})
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	fail := func(at time.Time) {
		t.Helper()
		if w := l.begin("ann", "10.0.0.1", at); w != 0 {
			t.Fatalf("attempt at %s refused: wait %s", at, w)
		}
		l.end("ann", "10.0.0.1", at, true, false)
	}
	fail(t0)
	fail(t0)
	if w := l.begin("ann", "10.0.0.1", t0); w != time.Minute {
		t.Fatalf("after 2 failures: wait %s, want 1m", w)
	}
	if w := l.begin("ann", "10.0.0.1", t0.Add(45*time.Second)); w != 15*time.Second {
		t.Fatalf("45s later: wait %s, want 15s", w)
	}
	fail(t0.Add(time.Minute))
	if w := l.begin("ann", "10.0.0.1", t0.Add(time.Minute)); w == 0 {
		t.Fatal("the recovered attempt failed too: no wait")
	}
	t2 := t0.Add(2 * time.Minute)
	if w := l.begin("ann", "10.0.0.1", t2); w != 0 {
		t.Fatalf("two minutes later: wait %s", w)
	}
	l.end("ann", "10.0.0.1", t2, true, true)
	for i := range 2 {
		if w := l.begin("ann", "10.0.0.1", t2); w != 0 {
			t.Fatalf("after a success, attempt %d: wait %s", i+1, w)
		}
		l.end("ann", "10.0.0.1", t2, true, false)
	}
}

func TestLoginLimiterCountsAttemptsInFlightBeforeTheyFail(t *testing.T) {
	l := newLoginLimiter(LoginLimit{PerLogin: 5, PerAddress: 100, Every: time.Minute})
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	began := 0
	for range 40 {
		if l.begin("ann", "10.0.0.1", t0) == 0 {
			began++
		}
	}
	if began != 5 {
		t.Fatalf("40 attempts at once: %d began, want 5", began)
	}
	for range began {
		l.end("ann", "10.0.0.1", t0, false, false) // not checked: nothing spent
	}
	if w := l.begin("ann", "10.0.0.1", t0); w != 0 {
		t.Fatalf("unchecked attempts spent the budget: wait %s", w)
	}
}
