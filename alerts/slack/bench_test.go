package slack_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/alerts"
	slackadapter "github.com/supplywatch/supplywatch/alerts/slack"
)

// TestExceptionToSlackLatency measures, with the Dispatcher running as in
// production (group_wait 0 s past the first tick, polling every 100 ms), the
// time from an exception's commit to its Slack post, over 40 exceptions in
// distinct groups.
func TestExceptionToSlackLatency(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Poll = 100 * time.Millisecond
	// Exceptions follow each other at once here; with the 1/s channel pace
	// each would wait for the previous post. Pacing is tested elsewhere.
	cfg.ChannelInterval = time.Millisecond
	cfg.Route.GroupBy = []string{"tenant", "rule", "supplier", "plant"}
	cfg.Route.Routes = nil
	d, err := alerts.New(cfg, alerts.Deps{Store: e.alertStore(), Exceptions: e.xs,
		Poster: slackadapter.NewPoster(slackadapter.Config{Token: "xoxb-test", APIURL: e.slack.URL()})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	const n = 40
	var lat []time.Duration
	for i := range n {
		e.now = time.Now()
		t0 := time.Now()
		e.raise(fmt.Sprintf("rule-%d", i), fmt.Sprintf("po/45%08d/10", i))
		for len(e.slack.Calls("chat.postMessage")) < i+1 {
			if time.Since(t0) > 20*time.Second {
				t.Fatalf("exception %d not posted after 20 s", i)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) float64 { return float64(lat[int(q*float64(n-1)+0.5)].Microseconds()) / 1000 }
	fmt.Printf("alerts_exception_to_slack_p50: %.0f ms\n", p(0.5))
	fmt.Printf("alerts_exception_to_slack_p95: %.0f ms\n", p(0.95))
	if p(0.95) > 2000 {
		t.Errorf("p95 %.0f ms above the 2 s target", p(0.95))
	}
}
