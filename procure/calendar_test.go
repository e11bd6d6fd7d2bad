package procure

import (
	"testing"
	"time"
)

func mustCal(t *testing.T, cfg CalendarConfig) *Calendar {
	t.Helper()
	c, err := NewCalendar("test", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var office = CalendarConfig{TimeZone: "Europe/Berlin", Hours: map[string][]string{
	"mon": {"08:00-17:00"}, "tue": {"08:00-17:00"}, "wed": {"08:00-17:00"}, "thu": {"08:00-17:00"}, "fri": {"08:00-17:00"}},
	Holidays: []string{"2026-12-25"}}

var allDay = CalendarConfig{TimeZone: "Europe/Berlin", Hours: map[string][]string{
	"mon": {"00:00-24:00"}, "tue": {"00:00-24:00"}, "wed": {"00:00-24:00"}, "thu": {"00:00-24:00"}, "fri": {"00:00-24:00"}, "sat": {"00:00-24:00"}, "sun": {"00:00-24:00"}}}

func TestCalendarAdd(t *testing.T) {
	tests := []struct {
		name string
		cfg  CalendarConfig
		from string
		d    time.Duration
		want string
	}{
		{"within the day stays on the day", office, "2026-05-12T08:00:00+02:00", 3 * time.Hour, "2026-05-12T11:00:00+02:00"},
		{"before opening starts at opening", office, "2026-05-12T05:00:00+02:00", time.Hour, "2026-05-12T09:00:00+02:00"},
		{"friday evening carries over the weekend", office, "2026-05-15T16:00:00+02:00", 2 * time.Hour, "2026-05-18T09:00:00+02:00"},
		{"24 business hours are 2 days and 6 hours", office, "2026-05-12T08:00:00+02:00", 24 * time.Hour, "2026-05-14T14:00:00+02:00"},
		{"weekend over the spring DST change keeps wall-clock hours", office, "2026-03-27T16:00:00+01:00", 2 * time.Hour, "2026-03-30T09:00:00+02:00"},
		{"holiday is skipped", office, "2026-12-24T16:00:00+01:00", 2 * time.Hour, "2026-12-28T09:00:00+01:00"},
		{"23-hour spring day counts real hours", allDay, "2026-03-28T12:00:00+01:00", 24 * time.Hour, "2026-03-29T13:00:00+02:00"},
		{"25-hour autumn day counts real hours", allDay, "2026-10-24T12:00:00+02:00", 24 * time.Hour, "2026-10-25T11:00:00+01:00"},
		{"zero duration is the start", office, "2026-05-16T10:00:00+02:00", 0, "2026-05-16T10:00:00+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCal(t, tt.cfg)
			got := c.Add(at(tt.from), tt.d)
			if !got.Equal(at(tt.want)) {
				t.Fatalf("Add(%s, %s) = %s, want %s", tt.from, tt.d, got.In(c.Location).Format(time.RFC3339), tt.want)
			}
		})
	}
}

func TestCalendarBetween(t *testing.T) {
	tests := []struct {
		name     string
		cfg      CalendarConfig
		from, to string
		want     time.Duration
	}{
		{"across a weekend counts working hours only", office, "2026-05-15T16:00:00+02:00", "2026-05-18T09:00:00+02:00", 2 * time.Hour},
		{"across the spring DST weekend", office, "2026-03-27T16:00:00+01:00", "2026-03-30T09:00:00+02:00", 2 * time.Hour},
		{"the autumn DST sunday has 25 hours", allDay, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25 * time.Hour},
		{"the spring DST sunday has 23 hours", allDay, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23 * time.Hour},
		{"reversed is negative", office, "2026-05-12T10:00:00+02:00", "2026-05-12T09:00:00+02:00", -time.Hour},
		{"closed hours count nothing", office, "2026-05-16T10:00:00+02:00", "2026-05-17T10:00:00+02:00", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCal(t, tt.cfg)
			if got := c.Between(at(tt.from), at(tt.to)); got != tt.want {
				t.Fatalf("Between = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCalendar24x7IsPlainDuration(t *testing.T) {
	var cs Calendars
	c := cs.For(Calendar24x7)
	if got := c.Add(at("2026-03-28T12:00:00Z"), 48*time.Hour); !got.Equal(at("2026-03-30T12:00:00Z")) {
		t.Fatal(got)
	}
}

func TestNewCalendarRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]CalendarConfig{
		"unknown zone":     {TimeZone: "Mars/Olympus", Hours: map[string][]string{"mon": {"08:00-17:00"}}},
		"reversed range":   {TimeZone: "UTC", Hours: map[string][]string{"mon": {"17:00-08:00"}}},
		"unknown weekday":  {TimeZone: "UTC", Hours: map[string][]string{"monday": {"08:00-17:00"}}},
		"holiday not date": {TimeZone: "UTC", Hours: map[string][]string{"mon": {"08:00-17:00"}}, Holidays: []string{"25.12."}},
	} {
		if _, err := NewCalendar("x", cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
