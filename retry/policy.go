package retry

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"
)

// Config is the retry worker's configuration (YAML `retry:`). The zero
// value retries the transient error classes with the built-in policies.
type Config struct {
	// Disabled turns automatic retries off: every failed delivery raises
	// its exception at once.
	Disabled bool `yaml:"disabled" env:"DISABLED"`
	// Poll is how often the worker looks for due retries (default 1s).
	Poll time.Duration `yaml:"poll" env:"POLL"`
	// OutcomeTimeout is how long a re-published message may go without a
	// message.delivered or message.failed before the attempt counts as
	// failed (default 15m).
	OutcomeTimeout time.Duration `yaml:"outcome_timeout" env:"OUTCOME_TIMEOUT"`
	// Batch is the most due retries one worker claims at a time (default 100).
	Batch int `yaml:"batch" env:"BATCH"`
	// MaxAge: a failure that occurred longer ago than this is not retried
	// automatically (history being replayed, a backlog), its exception is
	// raised at once (default 24h).
	MaxAge time.Duration `yaml:"max_age" env:"MAX_AGE"`
	// Targets are the receiving systems a failed delivery may be re-sent
	// to, automatically or by hand (its topic is the retry topic prefix
	// and the target): a failure naming any other target is never re-sent,
	// whatever its sender says (default DefaultTargets).
	Targets []string `yaml:"targets" env:"TARGETS" envSeparator:","`
	// Policies are tried in order before the built-in ones (DefaultPolicies);
	// the first whose targets and classes match a failure decides.
	Policies []Policy `yaml:"policies"`
}

// Policy says how failures of some error classes (to some targets) are
// retried.
type Policy struct {
	Name string `yaml:"name" json:"name"`
	// Classes are the error classes it covers ("*": any).
	Classes []string `yaml:"classes" json:"classes"`
	// Targets are the receiving systems it covers (empty: any).
	Targets []string `yaml:"targets,omitempty" json:"targets,omitempty"`
	// MaxAttempts is how many automatic retries are made before the
	// exception is raised; 0 raises it at once.
	MaxAttempts int     `yaml:"max_attempts" json:"max_attempts"`
	Backoff     Backoff `yaml:"backoff" json:"backoff"`
}

// Backoff is the wait before automatic retry n (0-based):
// min(Initial × Multiplier^n, Max), less up to Jitter of it at random.
type Backoff struct {
	Initial    time.Duration `yaml:"initial" json:"initial"`
	Multiplier float64       `yaml:"multiplier" json:"multiplier"`
	Max        time.Duration `yaml:"max" json:"max"`
	// Jitter is the fraction (0 to 1) of the wait that is taken off at
	// random, so that retries of one outage do not arrive together.
	Jitter float64 `yaml:"jitter" json:"jitter"`
}

var targetRE = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)

// DefaultTargets are the retry targets when retry.targets is not set: the
// systems of the procure-to-pay chain.
var DefaultTargets = []string{"erp", "portal", "middleware", "wms", "qms", "ap"}

// AllowedTargets returns the targets in force (defaults filled).
func (c Config) AllowedTargets() []string {
	c.Defaults()
	return c.Targets
}

// AllowsTarget reports whether failures to target may be re-sent.
func (c *Config) AllowsTarget(target string) bool {
	return target != "" && slices.Contains(c.Targets, target)
}

// DefaultBackoff is the backoff of a policy that gives none.
var DefaultBackoff = Backoff{Initial: 30 * time.Second, Multiplier: 2, Max: 30 * time.Minute, Jitter: 0.2}

// DefaultPolicies come after the configured ones: transient classes are
// retried five times, every other class (validation, auth, mapping,
// unknown, ...) raises its exception at once.
func DefaultPolicies() []Policy {
	return []Policy{
		{Name: "transient", Classes: []string{"transient", "timeout", "connection", "throttled", "http_5xx", "server"},
			MaxAttempts: 5, Backoff: DefaultBackoff},
		{Name: "permanent", Classes: []string{"*"}, MaxAttempts: 0},
	}
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Targets == nil {
		c.Targets = slices.Clone(DefaultTargets)
	}
	if c.Poll == 0 {
		c.Poll = time.Second
	}
	if c.OutcomeTimeout == 0 {
		c.OutcomeTimeout = 15 * time.Minute
	}
	if c.Batch == 0 {
		c.Batch = 100
	}
	if c.MaxAge == 0 {
		c.MaxAge = 24 * time.Hour
	}
	for i := range c.Policies {
		p := &c.Policies[i]
		if p.Name == "" {
			p.Name = fmt.Sprintf("policy-%d", i+1)
		}
		if p.MaxAttempts > 0 {
			p.Backoff.defaults()
		}
	}
}

func (b *Backoff) defaults() {
	if b.Initial == 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Multiplier == 0 {
		b.Multiplier = DefaultBackoff.Multiplier
	}
	if b.Max == 0 {
		b.Max = max(DefaultBackoff.Max, b.Initial)
	}
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	var errs []error
	if c.Poll < 0 || c.OutcomeTimeout < 0 || c.Batch < 0 || c.MaxAge < 0 {
		errs = append(errs, errors.New("retry: poll, outcome_timeout, batch and max_age must not be negative"))
	}
	for i, t := range c.Targets {
		if !targetRE.MatchString(t) {
			errs = append(errs, fmt.Errorf("retry.targets[%d]: %q must be 1-40 lowercase letters, digits, - or _ (it names a topic)", i, t))
		}
	}
	for i, p := range c.Policies {
		at := fmt.Sprintf("retry.policies[%d] (%s)", i, p.Name)
		switch {
		case len(p.Classes) == 0:
			errs = append(errs, fmt.Errorf("%s: classes: name at least one error class, or \"*\"", at))
		case p.MaxAttempts < 0 || p.MaxAttempts > 100:
			errs = append(errs, fmt.Errorf("%s: max_attempts: must be 0 to 100", at))
		case p.Backoff.Initial < 0 || p.Backoff.Max < 0:
			errs = append(errs, fmt.Errorf("%s: backoff: initial and max must not be negative", at))
		case p.Backoff.Multiplier != 0 && p.Backoff.Multiplier < 1:
			errs = append(errs, fmt.Errorf("%s: backoff.multiplier: must be at least 1", at))
		case p.Backoff.Jitter < 0 || p.Backoff.Jitter > 1:
			errs = append(errs, fmt.Errorf("%s: backoff.jitter: must be 0 to 1", at))
		case p.Backoff.Max != 0 && p.Backoff.Max < p.Backoff.Initial:
			errs = append(errs, fmt.Errorf("%s: backoff.max: must not be below initial", at))
		}
	}
	return errors.Join(errs...)
}

// All returns the policies in force, in the order they are tried.
func (c *Config) All() []Policy {
	return append(slices.Clone(c.Policies), DefaultPolicies()...)
}

// PolicyFor returns the policy that decides about a failure of class to
// target.
func (c *Config) PolicyFor(target, class string) Policy {
	for _, p := range c.All() {
		if (len(p.Targets) == 0 || slices.Contains(p.Targets, target)) &&
			(slices.Contains(p.Classes, "*") || slices.Contains(p.Classes, class)) {
			return p
		}
	}
	return Policy{Name: "none"} // unreachable: the last default matches everything
}

// Delay is the wait before automatic retry n (0-based); r in [0, 1) is the
// random draw for the jitter.
func (b Backoff) Delay(n int, r float64) time.Duration {
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(n))
	if b.Max > 0 && d > float64(b.Max) {
		d = float64(b.Max)
	}
	d -= d * b.Jitter * r
	return time.Duration(d)
}

// MarshalJSON writes the durations as Go duration strings ("30s").
func (b Backoff) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Initial    string  `json:"initial"`
		Multiplier float64 `json:"multiplier"`
		Max        string  `json:"max"`
		Jitter     float64 `json:"jitter"`
	}{b.Initial.String(), b.Multiplier, b.Max.String(), b.Jitter})
}

// Summary is the policy configuration as the console shows it.
type Summary struct {
	Enabled        bool     `json:"enabled"`
	OutcomeTimeout string   `json:"outcome_timeout"`
	Policies       []Policy `json:"policies"`
}

// Summary returns the policies in force, in the order they are tried.
func (c *Config) Summary() Summary {
	return Summary{Enabled: !c.Disabled, OutcomeTimeout: c.OutcomeTimeout.String(), Policies: c.All()}
}
