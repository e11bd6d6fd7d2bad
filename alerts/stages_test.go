package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

func TestRouteTreeChoosesReceiver(t *testing.T) {
	cfg := Config{Route: RouteConfig{Receiver: "C-default", Routes: []RouteConfig{
		{Name: "critical", Matchers: []string{`severity="critical"`}, Receiver: "C-crit", Continue: true},
		{Name: "p01", Matchers: []string{`plant=~"P0[12]"`, `team!="finance"`}, Receiver: "C-p01"},
		{Name: "finance", Matchers: []string{`team="finance"`}, Receiver: "C-fin", GroupBy: []string{"tenant", "supplier"}},
	}}}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tree, err := NewRouteTree(cfg.Route)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"unmatched goes to the root receiver", map[string]string{"plant": "P09", "team": "procurement"}, []string{"C-default"}},
		{"plant regex matches", map[string]string{"plant": "P02", "team": "procurement"}, []string{"C-p01"}},
		{"critical continues to the next sibling", map[string]string{"severity": "critical", "plant": "P01"}, []string{"C-crit", "C-p01"}},
		{"negative matcher skips to finance", map[string]string{"plant": "P01", "team": "finance"}, []string{"C-fin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range tree.Match(tt.labels) {
				got = append(got, r.Receiver)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("receivers = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("receivers = %v, want %v", got, tt.want)
				}
			}
		})
	}
	fin := tree.Match(map[string]string{"team": "finance", "tenant": "acme", "supplier": "S1", "rule": "x"})[0]
	if k := fin.GroupKey(map[string]string{"tenant": "acme", "supplier": "S1", "rule": "x"}); k != "root/finance|tenant=acme|supplier=S1" {
		t.Errorf("group key = %q", k)
	}
	if fin.GroupWait != 30*time.Second || fin.RepeatInterval != 4*time.Hour {
		t.Errorf("inherited timings = %v %v", fin.GroupWait, fin.RepeatInterval)
	}
}

func TestThrottleHoldsWhileMutedAndPacesUpdates(t *testing.T) {
	night, err := newTimeInterval(TimeIntervalConfig{Name: "night", Location: "Europe/Berlin", Times: []string{"00:00-06:00"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	th := &Throttler{intervals: map[string]*TimeInterval{"night": night}}
	r := &Route{GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour, MuteTimeIntervals: []string{"night"}}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // 10:00 in Berlin
	tests := []struct {
		name string
		g    procure.AlertGroup
		now  time.Time
		want Action
	}{
		{"new group waits group_wait", procure.AlertGroup{State: procure.AlertFiring, FirstAt: t0}, t0.Add(10 * time.Second), ActNone},
		{"new group posts after group_wait", procure.AlertGroup{State: procure.AlertFiring, FirstAt: t0}, t0.Add(30 * time.Second), ActPost},
		{"muted at night in Berlin", procure.AlertGroup{State: procure.AlertFiring, FirstAt: t0}, time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), ActNone},
		{"change waits group_interval", procure.AlertGroup{State: procure.AlertFiring, FirstAt: t0, NotifiedAt: t0, ChangedAt: t0.Add(time.Minute)}, t0.Add(2 * time.Minute), ActNone},
		{"change updates after group_interval", procure.AlertGroup{State: procure.AlertFiring, FirstAt: t0, NotifiedAt: t0, ChangedAt: t0.Add(time.Minute)}, t0.Add(5 * time.Minute), ActUpdate},
		{"unchanged repeats after repeat_interval", procure.AlertGroup{State: procure.AlertFiring, FirstAt: t0, NotifiedAt: t0, ChangedAt: t0}, t0.Add(4 * time.Hour), ActRepeat},
		{"snoozed does not repeat", procure.AlertGroup{State: procure.AlertFiring, FirstAt: t0, NotifiedAt: t0, ChangedAt: t0, SnoozedUntil: t0.Add(5 * time.Hour)}, t0.Add(4 * time.Hour), ActNone},
		{"resolution goes out despite snooze", procure.AlertGroup{State: procure.AlertResolved, FirstAt: t0, NotifiedAt: t0, ChangedAt: t0.Add(time.Minute), SnoozedUntil: t0.Add(5 * time.Hour)}, t0.Add(time.Hour), ActUpdate},
		{"resolved before announced stays quiet", procure.AlertGroup{State: procure.AlertResolved, FirstAt: t0}, t0.Add(time.Hour), ActNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := th.Due(&tt.g, r, tt.now); got != tt.want {
				t.Fatalf("Due = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEscalationCountsBusinessHours(t *testing.T) {
	cals := &procure.Calendars{Default: procure.DefaultCalendar()} // Mon–Fri 08–17 UTC
	e := &Escalator{cals: cals}
	r := &Route{Escalation: []EscalationStep{{After: 4 * time.Hour, Mention: "<!subteam^S1>"}, {After: 8 * time.Hour, Mention: "<@U9>", Calendar: procure.Calendar24x7}}}
	fri := time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC) // Friday 15:00
	g := func(level int, state string) *procure.AlertGroup {
		return &procure.AlertGroup{State: procure.AlertFiring, NotifiedAt: fri, EscalationLevel: level,
			Members: map[string]procure.AlertMember{"x:1": {State: state, FirstSeen: fri}}}
	}
	tests := []struct {
		name string
		g    *procure.AlertGroup
		now  time.Time
		want string
	}{
		{"two business hours on Friday are not enough", g(0, "open"), fri.Add(2 * time.Hour), ""},
		{"the weekend does not count", g(0, "open"), time.Date(2026, 3, 8, 20, 0, 0, 0, time.UTC), ""},
		{"Monday 10:00 completes four business hours", g(0, "open"), time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC), "<!subteam^S1>"},
		{"an acknowledged group does not escalate", g(0, "acknowledged"), time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC), ""},
		{"the 24x7 step counts wall-clock hours", g(1, "open"), fri.Add(8 * time.Hour), "<@U9>"},
		{"no step beyond the last", g(2, "open"), fri.Add(100 * time.Hour), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.Due(tt.g, r, tt.now)
			got := ""
			if s != nil {
				got = s.Mention
			}
			if got != tt.want {
				t.Fatalf("escalate to %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWatcherFiresAfterForAndResolves(t *testing.T) {
	var failed float64
	var got []*Alert
	w := NewWatcher([]WatchRule{{Name: "slack-delivery-failures", Metric: "f_total", Rate: true, Threshold: 0, For: time.Minute, Severity: "high", Team: "oncall"}},
		SamplerFunc(func(context.Context) ([]Sample, error) { return []Sample{{Name: "f_total", Value: failed}}, nil }),
		func(_ context.Context, as []*Alert) error { got = append(got, as...); return nil })
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		at     time.Duration
		failed float64
		want   string // state of a new alert, "" for none
	}{
		{0, 0, ""},
		{30 * time.Second, 3, ""},     // breaching, not yet for a minute
		{90 * time.Second, 6, "open"}, // a minute of failures
		{120 * time.Second, 9, ""},    // still firing: nothing new
		{150 * time.Second, 9, "resolved"},
	}
	for _, s := range steps {
		failed = s.failed
		n := len(got)
		if err := w.Evaluate(context.Background(), t0.Add(s.at)); err != nil {
			t.Fatal(err)
		}
		state := ""
		if len(got) > n {
			state = got[len(got)-1].Member.State
		}
		if state != s.want {
			t.Fatalf("at %v: alert %q, want %q", s.at, state, s.want)
		}
	}
	if got[0].Labels["rule"] != "pipeline.slack-delivery-failures" {
		t.Errorf("labels = %v", got[0].Labels)
	}
}
