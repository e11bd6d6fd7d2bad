package alerts

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Route is a resolved node of the routing tree: inherited fields filled.
type Route struct {
	ID                  string // path of names: root/procurement/critical
	Receiver            string
	GroupBy             []string
	GroupWait           time.Duration
	GroupInterval       time.Duration
	RepeatInterval      time.Duration
	MuteTimeIntervals   []string
	ActiveTimeIntervals []string
	Escalation          []EscalationStep
	Continue            bool
	// Segment is the supplier segment the route is limited to ("pilot",
	// "!pilot"), "" for none.
	Segment    string
	segment    string
	segmentNot bool
	matchers   []matcher
	children   []*Route
}

// NewRouteTree resolves the routing tree of cfg (after Defaults).
func NewRouteTree(cfg RouteConfig) (*Route, error) { return newRoute(cfg, nil, "") }

func newRoute(c RouteConfig, parent *Route, prefix string) (*Route, error) {
	r := &Route{Receiver: c.Receiver, GroupBy: c.GroupBy, GroupWait: c.GroupWait, GroupInterval: c.GroupInterval,
		RepeatInterval: c.RepeatInterval, MuteTimeIntervals: c.MuteTimeIntervals, ActiveTimeIntervals: c.ActiveTimeIntervals,
		Escalation: c.Escalation, Continue: c.Continue, Segment: c.Segment}
	name := c.Name
	if parent != nil {
		if r.Receiver == "" {
			r.Receiver = parent.Receiver
		}
		if len(r.GroupBy) == 0 {
			r.GroupBy = parent.GroupBy
		}
		if r.GroupWait == 0 {
			r.GroupWait = parent.GroupWait
		}
		if r.GroupInterval == 0 {
			r.GroupInterval = parent.GroupInterval
		}
		if r.RepeatInterval == 0 {
			r.RepeatInterval = parent.RepeatInterval
		}
		if r.MuteTimeIntervals == nil {
			r.MuteTimeIntervals = parent.MuteTimeIntervals
		}
		if r.ActiveTimeIntervals == nil {
			r.ActiveTimeIntervals = parent.ActiveTimeIntervals
		}
		if r.Escalation == nil {
			r.Escalation = parent.Escalation
		}
	}
	if name == "" {
		name = fmt.Sprint(len(prefix))
	}
	r.ID = strings.TrimPrefix(prefix+"/"+name, "/")
	if c.Segment != "" {
		var err error
		if r.segment, r.segmentNot, err = procure.ParseSegmentRef(c.Segment); err != nil {
			return nil, fmt.Errorf("route %s: segment: %w", r.ID, err)
		}
	}
	for _, s := range c.Matchers {
		m, err := parseMatcher(s)
		if err != nil {
			return nil, err
		}
		r.matchers = append(r.matchers, m)
	}
	for i, cc := range c.Routes {
		if cc.Name == "" {
			cc.Name = fmt.Sprint(i)
		}
		child, err := newRoute(cc, r, r.ID)
		if err != nil {
			return nil, err
		}
		r.children = append(r.children, child)
	}
	return r, nil
}

// Match returns the routes an alert with labels goes to: depth first, the
// first matching child wins unless it has continue; a node whose children
// do not match takes the alert itself. The alert's supplier is taken to be
// in no segment (MatchSegments says which).
func (r *Route) Match(labels map[string]string) []*Route { return r.MatchSegments(labels, nil) }

// MatchSegments is Match for an alert whose supplier is in the given
// segments: a route with segment S matches only if S is among them, one
// with !S only if it is not.
func (r *Route) MatchSegments(labels map[string]string, segments []string) []*Route {
	if r.segment != "" && slices.Contains(segments, r.segment) == r.segmentNot {
		return nil
	}
	for _, m := range r.matchers {
		if !m.matches(labels) {
			return nil
		}
	}
	var out []*Route
	for _, c := range r.children {
		got := c.MatchSegments(labels, segments)
		if len(got) == 0 {
			continue
		}
		out = append(out, got...)
		if !c.Continue {
			break
		}
	}
	if len(out) == 0 {
		out = []*Route{r}
	}
	return out
}

// Walk calls f for r and every descendant.
func (r *Route) Walk(f func(*Route)) {
	f(r)
	for _, c := range r.children {
		c.Walk(f)
	}
}

// segments lists the segment names the routes of r refer to.
func (r *Route) segments() []string {
	var out []string
	r.Walk(func(x *Route) {
		if x.segment != "" && !slices.Contains(out, x.segment) {
			out = append(out, x.segment)
		}
	})
	return out
}

// GroupKey is the route id and the values of the group_by labels.
func (r *Route) GroupKey(labels map[string]string) string {
	parts := []string{r.ID}
	for _, l := range r.GroupBy {
		parts = append(parts, l+"="+labels[l])
	}
	return strings.Join(parts, "|")
}
