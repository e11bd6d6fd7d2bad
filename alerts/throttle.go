package alerts

import (
	"fmt"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// TimeInterval is a resolved named interval.
type TimeInterval struct {
	Name     string
	loc      *time.Location
	days     [7]bool
	times    [][2]int
	calendar *procure.Calendar
}

var dayNames = map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

func newTimeInterval(c TimeIntervalConfig, cals *procure.Calendars) (*TimeInterval, error) {
	ti := &TimeInterval{Name: c.Name, loc: time.UTC}
	if c.Name == "" {
		return nil, fmt.Errorf("alerts.time_intervals: a name is required")
	}
	if c.Calendar != "" {
		name := c.Calendar
		if name == "default" {
			name = ""
		}
		ti.calendar = cals.For(name)
		return ti, nil
	}
	if c.Location != "" {
		loc, err := time.LoadLocation(c.Location)
		if err != nil {
			return nil, fmt.Errorf("alerts.time_intervals %s: %w", c.Name, err)
		}
		ti.loc = loc
	}
	if len(c.Weekdays) == 0 {
		ti.days = [7]bool{true, true, true, true, true, true, true}
	}
	for _, w := range c.Weekdays {
		a, b, _ := strings.Cut(strings.ToLower(w), ":")
		if b == "" {
			b = a
		}
		from, ok1 := dayNames[a]
		to, ok2 := dayNames[b]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("alerts.time_intervals %s: %q is not a weekday or range mon:fri", c.Name, w)
		}
		for d := from; ; d = (d + 1) % 7 {
			ti.days[d] = true
			if d == to {
				break
			}
		}
	}
	for _, t := range c.Times {
		a, b, ok := strings.Cut(t, "-")
		f, err1 := parseClock(a)
		e, err2 := parseClock(b)
		if !ok || err1 != nil || err2 != nil || f >= e {
			return nil, fmt.Errorf("alerts.time_intervals %s: %q is not HH:MM-HH:MM", c.Name, t)
		}
		ti.times = append(ti.times, [2]int{f, e})
	}
	return ti, nil
}

// Contains reports whether t is inside the interval.
func (ti *TimeInterval) Contains(t time.Time) bool {
	if ti.calendar != nil {
		return ti.calendar.Between(t, t.Add(time.Second)) > 0
	}
	lt := t.In(ti.loc)
	if !ti.days[lt.Weekday()] {
		return false
	}
	if len(ti.times) == 0 {
		return true
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, r := range ti.times {
		if m >= r[0] && m < r[1] {
			return true
		}
	}
	return false
}

// Throttler decides when a group is notified: the throttle stage.
type Throttler struct {
	intervals map[string]*TimeInterval
}

// Action is what the throttle stage lets through for a group now.
type Action string

// The actions.
const (
	ActNone   Action = ""
	ActPost   Action = "post"   // first notification, after group_wait
	ActUpdate Action = "update" // changed since the last notification, after group_interval
	ActRepeat Action = "repeat" // unchanged and firing, after repeat_interval
)

// Due returns the action due for g on route r at now. A muted, inactive or
// snoozed group waits (a resolution is never held back by a snooze).
func (t *Throttler) Due(g *procure.AlertGroup, r *Route, now time.Time) Action {
	for _, n := range r.MuteTimeIntervals {
		if ti := t.intervals[n]; ti != nil && ti.Contains(now) {
			return ActNone
		}
	}
	if len(r.ActiveTimeIntervals) > 0 {
		active := false
		for _, n := range r.ActiveTimeIntervals {
			if ti := t.intervals[n]; ti != nil && ti.Contains(now) {
				active = true
			}
		}
		if !active {
			return ActNone
		}
	}
	switch {
	case g.NotifiedAt.IsZero():
		if g.State == procure.AlertResolved {
			return ActNone // resolved before anyone was told: stay quiet
		}
		if !now.Before(g.FirstAt.Add(r.GroupWait)) {
			return ActPost
		}
	case g.ChangedAt.After(g.NotifiedAt):
		if g.State == procure.AlertFiring && now.Before(g.SnoozedUntil) {
			return ActNone
		}
		if !now.Before(g.NotifiedAt.Add(r.GroupInterval)) {
			return ActUpdate
		}
	case g.State == procure.AlertFiring && !now.Before(g.NotifiedAt.Add(r.RepeatInterval)) && !now.Before(g.SnoozedUntil):
		return ActRepeat
	}
	return ActNone
}
