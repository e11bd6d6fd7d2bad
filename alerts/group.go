package alerts

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// GroupEditor stores the groups (postgres.AlertStore): EditGroups locks
// the groups of keys, hands the existing ones to edit and stores the
// groups edit returns (made when they have no id), in one transaction.
type GroupEditor interface {
	EditGroups(ctx context.Context, keys []procure.AlertGroupKey,
		edit func(map[procure.AlertGroupKey]*procure.AlertGroup) ([]*procure.AlertGroup, error)) error
}

// Grouper is the group/dedup stage: an alert becomes a member of the group
// of its route and group key; a member that did not change what people see
// (a recurrence) does not change the group.
type Grouper struct{}

// Apply adds a to g, the group of route r and a's group key (nil when
// there is none yet), at now (processing time: the throttle compares it
// with notification times). It returns the group to store, nil when there
// is nothing to store (the resolution of something never alerted), and
// whether the group changed what it shows.
func (Grouper) Apply(g *procure.AlertGroup, r *Route, a *Alert, now time.Time) (*procure.AlertGroup, bool) {
	if g == nil {
		if !a.Member.Active() {
			return nil, false // a resolution of something never alerted
		}
		return &procure.AlertGroup{Route: r.ID, GroupKey: r.GroupKey(a.Labels), Channel: r.Receiver, Labels: a.Labels,
			Members: map[string]procure.AlertMember{a.Member.Key: a.Member}, State: procure.AlertFiring, FirstAt: now, ChangedAt: now}, true
	}
	old, had := g.Members[a.Member.Key]
	g.Members[a.Member.Key] = a.Member
	if had && old.State == a.Member.State && old.Assignee == a.Member.Assignee && old.Severity == a.Member.Severity && old.Title == a.Member.Title {
		return g, false // dedup: same problem again
	}
	was := g.State
	g.State = procure.AlertResolved
	for _, m := range g.Members {
		if m.Active() {
			g.State = procure.AlertFiring
		}
	}
	if !had && g.NotifiedAt.IsZero() {
		// not announced yet: the first post shows it
	} else {
		g.Changes = append(g.Changes, a.Change)
	}
	if was == procure.AlertResolved && g.State == procure.AlertFiring {
		g.EscalationLevel = 0
	}
	g.ChangedAt = now
	if !g.ChangedAt.After(g.NotifiedAt) {
		g.ChangedAt = g.NotifiedAt.Add(time.Microsecond)
	}
	return g, true
}

// routed is an alert on one of its routes.
type routed struct {
	alert *Alert
	route *Route
	key   procure.AlertGroupKey
}

// groupAll applies the routed alerts, in order, to the groups of have
// (by key; those missing are made) at now and returns the groups to
// store, in the order they were first touched.
func (gr Grouper) groupAll(have map[procure.AlertGroupKey]*procure.AlertGroup, rs []routed, now time.Time) []*procure.AlertGroup {
	var out []*procure.AlertGroup
	touched := map[procure.AlertGroupKey]bool{}
	for _, x := range rs {
		g, _ := gr.Apply(have[x.key], x.route, x.alert, now)
		if g == nil {
			continue
		}
		have[x.key] = g
		if !touched[x.key] {
			touched[x.key] = true
			out = append(out, g)
		}
	}
	return out
}

// view is what the Poster renders.
func view(g *procure.AlertGroup, publicURL string) *GroupView {
	v := &GroupView{ID: g.ID, Route: g.Route, Labels: g.Labels, State: g.State, EscalationLevel: g.EscalationLevel,
		SnoozedUntil: g.SnoozedUntil, PublicURL: publicURL}
	for _, m := range g.Members {
		v.Members = append(v.Members, m)
	}
	sort.Slice(v.Members, func(i, j int) bool {
		a, b := v.Members[i], v.Members[j]
		if a.Active() != b.Active() {
			return a.Active()
		}
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Key < b.Key
	})
	v.ConsoleURL = fmt.Sprintf("%s/exceptions?tenant=%s&rule=%s&supplier=%s", publicURL, url.QueryEscape(g.Labels["tenant"]),
		url.QueryEscape(g.Labels["rule"]), url.QueryEscape(g.Labels["supplier"]))
	return v
}
