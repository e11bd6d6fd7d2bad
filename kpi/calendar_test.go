package kpi

import (
	"slices"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// TestCalendarSpansAreTheSLACalendarsHours: the business-hour spans the
// KPIs store are the plant calendar's working hours in UTC, across a DST
// change and around a holiday, and add up to the business time the SLA
// timers count in the same calendar (procure.Calendar.Between).
func TestCalendarSpansAreTheSLACalendarsHours(t *testing.T) {
	week := map[string][]string{"mon": {"08:00-17:00"}, "tue": {"08:00-17:00"}, "wed": {"08:00-17:00"}, "thu": {"08:00-17:00"}, "fri": {"08:00-12:00", "13:00-17:00"}}
	cal, err := procure.NewCalendar("P01", procure.CalendarConfig{TimeZone: "Europe/Berlin", Hours: week, Holidays: []string{"2026-03-30"}})
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Friday 27 March (CET, UTC+1), the weekend with the change to CEST on
	// Sunday 29, Monday 30 a holiday, Tuesday 31 (CEST, UTC+2).
	from, to := utc("2026-03-27T00:00:00Z"), utc("2026-04-01T00:00:00Z")
	got := Spans(cal, from, to)
	want := [][2]time.Time{
		{utc("2026-03-27T07:00:00Z"), utc("2026-03-27T11:00:00Z")},
		{utc("2026-03-27T12:00:00Z"), utc("2026-03-27T16:00:00Z")},
		{utc("2026-03-31T06:00:00Z"), utc("2026-03-31T15:00:00Z")},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("spans:\n%v\nwant\n%v", got, want)
	}
	var sum time.Duration
	for _, sp := range got {
		sum += sp[1].Sub(sp[0])
	}
	if between := cal.Between(from, to); sum != between || sum != 17*time.Hour {
		t.Fatalf("spans add up to %v, the calendar counts %v; want both 17h", sum, between)
	}

	always := Spans((&procure.Calendars{}).For(procure.Calendar24x7), utc("2026-03-28T10:00:00Z"), utc("2026-03-30T00:00:00Z"))
	if len(always) != 2 || !always[0][0].Equal(utc("2026-03-28T00:00:00Z")) || always[1][1].Sub(always[1][0]) != 24*time.Hour {
		t.Fatalf("24x7 spans: %v, want one whole UTC day each for 28 and 29 March", always)
	}
}
