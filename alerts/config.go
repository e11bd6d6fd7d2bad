package alerts

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Config configures the pipeline. It is decoded from YAML strictly (the
// app's loader) and checked by Validate, which does no I/O.
type Config struct {
	// PublicURL is the console's address, for links in messages.
	PublicURL string `yaml:"public_url"`
	// Route is the root of the routing tree; its receiver is the default.
	Route RouteConfig `yaml:"route"`
	// TimeIntervals are named, for mute_time_intervals and
	// active_time_intervals of routes.
	TimeIntervals []TimeIntervalConfig `yaml:"time_intervals"`
	// Digests are the daily digests per team.
	Digests []DigestConfig `yaml:"digests"`
	// ChannelInterval is the least time between two messages to one
	// channel (Slack allows about one per second).
	ChannelInterval time.Duration `yaml:"channel_interval"`
	// MaxAttempts bounds the delivery attempts of one message that were
	// not rate limited (default 10).
	MaxAttempts int `yaml:"max_attempts"`
	// MaxDeliveryAge bounds how long one message is retried, rate limits
	// included, from its first attempt (default 6h).
	MaxDeliveryAge time.Duration `yaml:"max_delivery_age"`
	// Poll is how often the loops look for work when not woken.
	Poll time.Duration `yaml:"poll"`
	// InFlightLease is how long a delivery attempt may take before another
	// process treats it as crashed and recovers it.
	InFlightLease time.Duration `yaml:"in_flight_lease"`
	// Consumers of the fan-out feed besides alerts ("clickhouse" for the
	// kpi mirror).
	Consumers []string `yaml:"consumers"`
}

// RouteConfig is a node of the routing tree. Unset fields are inherited
// from the parent.
type RouteConfig struct {
	Name string `yaml:"name"`
	// Receiver is the Slack channel (id or name).
	Receiver string `yaml:"receiver"`
	// Matchers are label=value, label!=value, label=~regex, label!~regex
	// over the labels tenant, rule, severity, plant, supplier, team, kind.
	Matchers []string `yaml:"matchers"`
	// Segment limits the route to exceptions of the suppliers of a
	// supplier segment of the rule files ("pilot"), or of those outside
	// it ("!pilot"); Deps.Segments answers membership.
	Segment             string        `yaml:"segment"`
	GroupBy             []string      `yaml:"group_by"`
	GroupWait           time.Duration `yaml:"group_wait"`
	GroupInterval       time.Duration `yaml:"group_interval"`
	RepeatInterval      time.Duration `yaml:"repeat_interval"`
	MuteTimeIntervals   []string      `yaml:"mute_time_intervals"`
	ActiveTimeIntervals []string      `yaml:"active_time_intervals"`
	// Escalation steps, in order: step i fires when the oldest
	// unacknowledged exception of the group is older than After in business
	// time of the plant's calendar (or 24x7).
	Escalation []EscalationStep `yaml:"escalation"`
	// Continue lets the alert match the next sibling routes too.
	Continue bool          `yaml:"continue"`
	Routes   []RouteConfig `yaml:"routes"`
}

// EscalationStep is one level of an escalation policy.
type EscalationStep struct {
	After time.Duration `yaml:"after"`
	// Mention is who is called: "<!subteam^S0123>", "<@U0123>", "<!here>".
	Mention string `yaml:"mention"`
	// Calendar is "plant" (default: the group's plant calendar) or "24x7".
	Calendar string `yaml:"calendar"`
}

// TimeIntervalConfig is a named set of times: weekdays and times of day in
// a zone, or the working hours of a business calendar.
type TimeIntervalConfig struct {
	Name string `yaml:"name"`
	// Location is an IANA zone (UTC when empty).
	Location string `yaml:"location"`
	// Weekdays are "mon", "mon:fri"; empty means every day.
	Weekdays []string `yaml:"weekdays"`
	// Times are "HH:MM-HH:MM"; empty means the whole day.
	Times []string `yaml:"times"`
	// Calendar, when set, is a plant name (or "default"): the interval is
	// the working hours of that plant's business calendar
	// (procure.Calendar), and the fields above are ignored.
	Calendar string `yaml:"calendar"`
}

// DigestConfig is a team's daily digest.
type DigestConfig struct {
	Team    string `yaml:"team"`
	Channel string `yaml:"channel"`
	// At is the local time of day "HH:MM" in Location.
	At       string `yaml:"at"`
	Location string `yaml:"location"`
	Tenant   string `yaml:"tenant"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.ChannelInterval == 0 {
		c.ChannelInterval = time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	if c.MaxDeliveryAge == 0 {
		c.MaxDeliveryAge = 6 * time.Hour
	}
	if c.Poll == 0 {
		c.Poll = 250 * time.Millisecond
	}
	if c.InFlightLease == 0 {
		c.InFlightLease = 30 * time.Second
	}
	if c.Route.Name == "" {
		c.Route.Name = "root"
	}
	if len(c.Route.GroupBy) == 0 {
		c.Route.GroupBy = []string{"tenant", "rule", "supplier"}
	}
	if c.Route.GroupWait == 0 {
		c.Route.GroupWait = 30 * time.Second
	}
	if c.Route.GroupInterval == 0 {
		c.Route.GroupInterval = 5 * time.Minute
	}
	if c.Route.RepeatInterval == 0 {
		c.Route.RepeatInterval = 4 * time.Hour
	}
}

var matcherRE = regexp.MustCompile(`^\s*([a-z_]+)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$`)

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	if c.Route.Receiver == "" {
		return errors.New("alerts.route.receiver: the root route needs a receiver")
	}
	names := map[string]bool{}
	for _, ti := range c.TimeIntervals {
		if _, err := newTimeInterval(ti, nil); err != nil {
			return err
		}
		names[ti.Name] = true
	}
	var walk func(r *RouteConfig, path string) error
	walk = func(r *RouteConfig, path string) error {
		for _, m := range r.Matchers {
			if _, err := parseMatcher(m); err != nil {
				return fmt.Errorf("alerts.%s: %w", path, err)
			}
		}
		if r.Segment != "" {
			if _, _, err := procure.ParseSegmentRef(r.Segment); err != nil {
				return fmt.Errorf("alerts.%s.segment: %w", path, err)
			}
		}
		for _, n := range append(append([]string{}, r.MuteTimeIntervals...), r.ActiveTimeIntervals...) {
			if !names[n] {
				return fmt.Errorf("alerts.%s: time interval %q is not defined", path, n)
			}
		}
		for i, s := range r.Escalation {
			if s.After <= 0 || s.Mention == "" {
				return fmt.Errorf("alerts.%s.escalation[%d]: after and mention are required", path, i)
			}
		}
		for i := range r.Routes {
			if err := walk(&r.Routes[i], fmt.Sprintf("%s.routes[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(&c.Route, "route"); err != nil {
		return err
	}
	for i, d := range c.Digests {
		if d.Team == "" || d.Channel == "" || d.Tenant == "" {
			// Without a tenant a digest would list every tenant's exceptions.
			return fmt.Errorf("alerts.digests[%d]: team, channel and tenant are required", i)
		}
		if _, err := parseClock(d.At); err != nil {
			return fmt.Errorf("alerts.digests[%d].at: %w", i, err)
		}
		if _, err := time.LoadLocation(d.Location); err != nil {
			return fmt.Errorf("alerts.digests[%d].location: %w", i, err)
		}
	}
	return nil
}

// Segments lists the supplier segments the routes refer to (without "!").
func (c *Config) Segments() []string {
	var out []string
	var walk func(r *RouteConfig)
	walk = func(r *RouteConfig) {
		if name, _, err := procure.ParseSegmentRef(r.Segment); err == nil && !slices.Contains(out, name) {
			out = append(out, name)
		}
		for i := range r.Routes {
			walk(&r.Routes[i])
		}
	}
	walk(&c.Route)
	return out
}

// matcher is one label condition.
type matcher struct {
	label, op, value string
	re               *regexp.Regexp
}

func parseMatcher(s string) (matcher, error) {
	m := matcherRE.FindStringSubmatch(s)
	if m == nil {
		return matcher{}, fmt.Errorf("matcher %q is not label=value, !=, =~ or !~", s)
	}
	mt := matcher{label: m[1], op: m[2], value: m[3]}
	if strings.HasSuffix(mt.op, "~") {
		re, err := regexp.Compile("^(?:" + mt.value + ")$")
		if err != nil {
			return matcher{}, fmt.Errorf("matcher %q: %w", s, err)
		}
		mt.re = re
	}
	return mt, nil
}

func (m matcher) matches(labels map[string]string) bool {
	v := labels[m.label]
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

func parseClock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 {
		return 0, fmt.Errorf("%q is not a time HH:MM", s)
	}
	return h*60 + m, nil
}
