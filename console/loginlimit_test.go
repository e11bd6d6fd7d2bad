package console

import (
	"testing"
	"time"
)

func TestLoginLimiterRecoversOneAttemptPerInterval(t *testing.T) {
	l := newLoginLimiter(LoginLimit{PerLogin: 2, PerAddress: 100, Every: time.Minute})
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	l.failed("ann", "10.0.0.1", t0)
	l.failed("ann", "10.0.0.1", t0)
	if w := l.wait("ann", "10.0.0.1", t0); w != time.Minute {
		t.Fatalf("after 2 failures: wait %s, want 1m", w)
	}
	if w := l.wait("ann", "10.0.0.1", t0.Add(45*time.Second)); w != 15*time.Second {
		t.Fatalf("45s later: wait %s, want 15s", w)
	}
	if w := l.wait("ann", "10.0.0.1", t0.Add(time.Minute)); w != 0 {
		t.Fatalf("a minute later: wait %s", w)
	}
	l.failed("ann", "10.0.0.1", t0.Add(time.Minute))
	if w := l.wait("ann", "10.0.0.1", t0.Add(time.Minute)); w == 0 {
		t.Fatal("the recovered attempt failed too: no wait")
	}
	l.succeeded("ann")
	if w := l.wait("ann", "10.0.0.1", t0.Add(time.Minute)); w != 0 {
		t.Fatalf("after a success: wait %s", w)
	}
}
