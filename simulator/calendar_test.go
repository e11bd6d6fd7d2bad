package simulator

import (
	"testing"
	"time"
)

func TestCalendarAddsBusinessHours(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cal := calendar{loc: berlin, open: 8, close: 17, holidays: map[[2]int]bool{{5, 1}: true}}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for name, tc := range map[string]struct {
		from string
		add  time.Duration
		want string
	}{
		"within the day":            {"2026-05-12 09:00", 3 * time.Hour, "2026-05-12 12:00"},
		"to the next morning":       {"2026-05-12 16:00", 2 * time.Hour, "2026-05-13 09:00"},
		"over the weekend":          {"2026-05-15 16:30", time.Hour, "2026-05-18 08:30"},
		"from the night":            {"2026-05-12 22:00", time.Hour, "2026-05-13 09:00"},
		"over a holiday":            {"2026-04-30 16:00", 2 * time.Hour, "2026-05-04 09:00"},
		"a business day is 9 hours": {"2026-05-12 08:00", 18 * time.Hour, "2026-05-13 17:00"},
		"over the DST change":       {"2026-03-27 16:00", 2 * time.Hour, "2026-03-30 09:00"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := cal.addHours(at(tc.from), tc.add); !got.Equal(at(tc.want)) {
				t.Fatalf("got %s, want %s", got.In(berlin), tc.want)
			}
		})
	}
	if got := cal.addDays(at("2026-05-15 10:00"), 1, 10, 0); !got.Equal(at("2026-05-18 10:00")) {
		t.Fatalf("addDays over a weekend: %s", got)
	}
}
