package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	stateFiring   = "firing"
	stateResolved = "resolved"
)

// group is a row of alert_groups.
type group struct {
	ID              int64
	Route           string
	GroupKey        string
	Channel         string
	Labels          map[string]string
	Members         map[string]Member
	Changes         []string
	State           string
	FirstAt         time.Time
	ChangedAt       time.Time
	NotifiedAt      time.Time
	SlackTS         string
	EscalationLevel int
	SnoozedUntil    time.Time
}

const groupCols = `id, route, group_key, channel, labels, members, changes, state, first_at, changed_at,
	coalesce(notified_at, 'epoch'), slack_ts, escalation_level, coalesce(snoozed_until, 'epoch')`

func scanGroup(row pgx.Row) (*group, error) {
	var g group
	var labels, members, changes []byte
	if err := row.Scan(&g.ID, &g.Route, &g.GroupKey, &g.Channel, &labels, &members, &changes, &g.State, &g.FirstAt, &g.ChangedAt,
		&g.NotifiedAt, &g.SlackTS, &g.EscalationLevel, &g.SnoozedUntil); err != nil {
		return nil, err
	}
	if g.NotifiedAt.Unix() == 0 {
		g.NotifiedAt = time.Time{}
	}
	if g.SnoozedUntil.Unix() == 0 {
		g.SnoozedUntil = time.Time{}
	}
	if err := errors.Join(json.Unmarshal(labels, &g.Labels), json.Unmarshal(members, &g.Members), json.Unmarshal(changes, &g.Changes)); err != nil {
		return nil, fmt.Errorf("alert group %d: %w", g.ID, err)
	}
	return &g, nil
}

func (g *group) save(ctx context.Context, tx pgx.Tx) error {
	members, _ := json.Marshal(g.Members)
	changes, _ := json.Marshal(g.Changes)
	_, err := tx.Exec(ctx, `UPDATE alert_groups SET members = $2, changes = $3, state = $4, changed_at = $5,
		notified_at = $6, escalation_level = $7, snoozed_until = $8 WHERE id = $1`,
		g.ID, members, changes, g.State, g.ChangedAt, nullTime(g.NotifiedAt), g.EscalationLevel, nullTime(g.SnoozedUntil))
	return err
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Grouper is the group/dedup stage: an alert becomes a member of the group
// of its route and group key; a member that did not change what people see
// (a recurrence) does not change the group.
type Grouper struct{}

// Apply adds a to the group of r at now (processing time: the throttle
// compares it with notification times) and reports whether the group changed.
func (Grouper) Apply(ctx context.Context, tx pgx.Tx, r *Route, a *Alert, now time.Time) (bool, error) {
	key := r.GroupKey(a.Labels)
	g, err := scanGroup(tx.QueryRow(ctx, `SELECT `+groupCols+` FROM alert_groups WHERE route = $1 AND group_key = $2 FOR UPDATE`, r.ID, key))
	if errors.Is(err, pgx.ErrNoRows) {
		if !a.Member.Active() {
			return false, nil // a resolution of something never alerted
		}
		labels, _ := json.Marshal(a.Labels)
		members, _ := json.Marshal(map[string]Member{a.Member.Key: a.Member})
		_, err := tx.Exec(ctx, `INSERT INTO alert_groups (route, group_key, channel, labels, members, state, first_at, changed_at)
			VALUES ($1, $2, $3, $4, $5, 'firing', $6, $6) ON CONFLICT (route, group_key) DO NOTHING`, r.ID, key, r.Receiver, labels, members, now)
		return true, err
	}
	if err != nil {
		return false, fmt.Errorf("alert group %s: %w", key, err)
	}
	old, had := g.Members[a.Member.Key]
	g.Members[a.Member.Key] = a.Member
	if had && old.State == a.Member.State && old.Assignee == a.Member.Assignee && old.Severity == a.Member.Severity && old.Title == a.Member.Title {
		return false, g.save(ctx, tx) // dedup: same problem again
	}
	was := g.State
	g.State = stateResolved
	for _, m := range g.Members {
		if m.Active() {
			g.State = stateFiring
		}
	}
	if !had && g.NotifiedAt.IsZero() {
		// not announced yet: the first post shows it
	} else {
		g.Changes = append(g.Changes, a.Change)
	}
	if was == stateResolved && g.State == stateFiring {
		g.EscalationLevel = 0
	}
	g.ChangedAt = now
	if !g.ChangedAt.After(g.NotifiedAt) {
		g.ChangedAt = g.NotifiedAt.Add(time.Microsecond)
	}
	return true, g.save(ctx, tx)
}

// view is what the Poster renders.
func (g *group) view(publicURL string) *GroupView {
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
