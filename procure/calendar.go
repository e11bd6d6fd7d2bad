// Business calendars: a plant's working hours, zone and holidays. The SLA
// timers count business time in them (package sla), the alert pipeline
// holds quiet hours and escalations to them (package alerts), and the KPIs
// measure in them (package kpi); they are plain values, so they live here.

package procure

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Calendar24x7 is the name of the calendar without closed hours.
const Calendar24x7 = "24x7"

// WorkSpan is a working period of a day, in minutes from local midnight
// (wall-clock, so that 08:00 stays 08:00 across a DST change).
type WorkSpan struct{ From, To int }

// Calendar is a plant's business calendar: IANA time zone, working hours
// per weekday, and holidays (local dates). The zero Calendar is 24x7.
type Calendar struct {
	Name     string
	Location *time.Location
	Hours    [7][]WorkSpan // indexed by time.Weekday
	Holidays map[string]bool
}

// CalendarConfig is a calendar in a rule file:
//
//	time_zone: Europe/Berlin
//	hours: {mon: ["08:00-12:00", "13:00-17:00"], tue: ..., fri: ["08:00-15:00"]}
//	holidays: ["2026-12-25", "2026-12-26"]
type CalendarConfig struct {
	TimeZone string              `yaml:"time_zone"`
	Hours    map[string][]string `yaml:"hours"`
	Holidays []string            `yaml:"holidays"`
}

var calendarWeekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// NewCalendar builds a calendar from its configuration.
func NewCalendar(name string, c CalendarConfig) (*Calendar, error) {
	if c.TimeZone == "" {
		return nil, fmt.Errorf("calendar %s: time_zone is required", name)
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: time_zone %q is not an IANA time zone", name, c.TimeZone)
	}
	cal := &Calendar{Name: name, Location: loc, Holidays: map[string]bool{}}
	if len(c.Hours) == 0 {
		return nil, fmt.Errorf("calendar %s: hours are required", name)
	}
	for day, ranges := range c.Hours {
		wd, ok := calendarWeekdays[strings.ToLower(day)]
		if !ok {
			return nil, fmt.Errorf("calendar %s: %q is not a weekday (mon … sun)", name, day)
		}
		for _, r := range ranges {
			sp, err := parseCalendarSpan(r)
			if err != nil {
				return nil, fmt.Errorf("calendar %s: %s: %w", name, day, err)
			}
			cal.Hours[wd] = append(cal.Hours[wd], sp)
		}
	}
	for _, h := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			return nil, fmt.Errorf("calendar %s: holiday %q is not a date YYYY-MM-DD", name, h)
		}
		cal.Holidays[h] = true
	}
	return cal, nil
}

func parseCalendarSpan(s string) (WorkSpan, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return WorkSpan{}, fmt.Errorf("%q is not a range HH:MM-HH:MM", s)
	}
	f, err1 := parseCalendarClock(from)
	t, err2 := parseCalendarClock(to)
	if err1 != nil || err2 != nil || f >= t {
		return WorkSpan{}, fmt.Errorf("%q is not a range HH:MM-HH:MM with start before end", s)
	}
	return WorkSpan{From: f, To: t}, nil
}

func parseCalendarClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm != 0 {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	return hh*60 + mm, nil
}

// Is24x7 reports whether the calendar has no closed hours.
func (c *Calendar) Is24x7() bool { return c == nil || c.Location == nil }

// calendarMaxDays bounds the walk over days (ten years without working hours ends
// the search).
const calendarMaxDays = 3660

// spans calls f with the working periods of each local day from the day of
// t on, in order, until f returns false.
func (c *Calendar) spans(t time.Time, f func(start, end time.Time) bool) {
	lt := t.In(c.Location)
	y, m, d := lt.Date()
	for i := range calendarMaxDays {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, c.Location)
		if c.Holidays[day.Format(time.DateOnly)] {
			continue
		}
		dy, dm, dd := day.Date()
		for _, sp := range c.Hours[day.Weekday()] {
			start := time.Date(dy, dm, dd, sp.From/60, sp.From%60, 0, 0, c.Location)
			end := time.Date(dy, dm, dd, sp.To/60, sp.To%60, 0, 0, c.Location)
			if !f(start, end) {
				return
			}
		}
	}
}

// Add returns the instant d of business time after t. A negative or zero d
// returns t.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if c.Is24x7() {
		return t.Add(d)
	}
	if d <= 0 {
		return t
	}
	out := time.Time{}
	c.spans(t, func(start, end time.Time) bool {
		if !end.After(t) {
			return true
		}
		if start.Before(t) {
			start = t
		}
		if avail := end.Sub(start); d <= avail {
			out = start.Add(d)
			return false
		} else {
			d -= avail
		}
		return true
	})
	if out.IsZero() {
		return t.Add(calendarMaxDays * 24 * time.Hour)
	}
	return out.In(t.Location())
}

// Between returns the business time from a to b (negative when b is before
// a).
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if c.Is24x7() {
		return b.Sub(a)
	}
	if b.Before(a) {
		return -c.Between(b, a)
	}
	var total time.Duration
	c.spans(a, func(start, end time.Time) bool {
		if !start.Before(b) {
			return false
		}
		if start.Before(a) {
			start = a
		}
		if end.After(b) {
			end = b
		}
		if end.After(start) {
			total += end.Sub(start)
		}
		return true
	})
	return total
}

// Calendars are the calendars by plant, with a default for plants without
// one of their own.
type Calendars struct {
	ByPlant map[string]*Calendar
	Default *Calendar
}

// DefaultCalendar is Monday to Friday 08:00–17:00 UTC, for plants without a
// calendar.
func DefaultCalendar() *Calendar {
	c := &Calendar{Name: "default", Location: time.UTC, Holidays: map[string]bool{}}
	for wd := time.Monday; wd <= time.Friday; wd++ {
		c.Hours[wd] = []WorkSpan{{From: 8 * 60, To: 17 * 60}}
	}
	return c
}

// For returns the calendar of name: Calendar24x7 gives 24x7, a plant its own
// calendar or the default.
func (cs *Calendars) For(name string) *Calendar {
	if name == Calendar24x7 {
		return &Calendar{Name: Calendar24x7}
	}
	if cs != nil {
		if c, ok := cs.ByPlant[name]; ok {
			return c
		}
		if cs.Default != nil {
			return cs.Default
		}
	}
	return DefaultCalendar()
}
