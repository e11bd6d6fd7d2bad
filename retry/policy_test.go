package retry_test

import (
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/retry"
)

func TestPolicyForFirstMatchThenDefaults(t *testing.T) {
	cfg := retry.Config{Policies: []retry.Policy{{Name: "erp-timeouts", Targets: []string{"erp"}, Classes: []string{"timeout"}, MaxAttempts: 2}}}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ target, class, want string }{
		{"erp", "timeout", "erp-timeouts"},
		{"wms", "timeout", "transient"},
		{"erp", "transient", "transient"},
		{"erp", "validation", "permanent"},
		{"erp", "", "permanent"},
	} {
		if got := cfg.PolicyFor(c.target, c.class).Name; got != c.want {
			t.Errorf("%s %s: policy %s, want %s", c.target, c.class, got, c.want)
		}
	}
	if b := cfg.PolicyFor("erp", "timeout").Backoff; b != (retry.Backoff{Initial: 30 * time.Second, Multiplier: 2, Max: 30 * time.Minute}) {
		t.Errorf("unset backoff not defaulted: %+v", b)
	}
}

func TestBackoffGrowsToItsCapLessJitter(t *testing.T) {
	b := retry.Backoff{Initial: time.Second, Multiplier: 3, Max: 20 * time.Second, Jitter: 0.5}
	for n, want := range []time.Duration{time.Second, 3 * time.Second, 9 * time.Second, 20 * time.Second, 20 * time.Second} {
		if got := b.Delay(n, 0); got != want {
			t.Errorf("retry %d: %s, want %s", n, got, want)
		}
	}
	if got := b.Delay(3, 0.999999); got < 10*time.Second || got > 10*time.Second+time.Millisecond {
		t.Errorf("full jitter takes off half: %s", got)
	}
}

func TestConfigRefusesBadPolicies(t *testing.T) {
	for name, p := range map[string]retry.Policy{
		"no classes":        {Name: "a", MaxAttempts: 1},
		"negative attempts": {Name: "b", Classes: []string{"*"}, MaxAttempts: -1},
		"shrinking backoff": {Name: "c", Classes: []string{"*"}, MaxAttempts: 1, Backoff: retry.Backoff{Multiplier: 0.5}},
		"jitter above one":  {Name: "d", Classes: []string{"*"}, MaxAttempts: 1, Backoff: retry.Backoff{Jitter: 2}},
		"max below initial": {Name: "e", Classes: []string{"*"}, MaxAttempts: 1, Backoff: retry.Backoff{Initial: time.Minute, Max: time.Second}},
	} {
		cfg := retry.Config{Policies: []retry.Policy{p}}
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
