package slack_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/alerts"
	slackadapter "github.com/supplywatch/supplywatch/alerts/slack"
)

// deliveries returns the status, attempts and error of every delivery.
func (e *env) deliveries() map[string]int {
	e.t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), `SELECT status, count(*) FROM alert_deliveries GROUP BY status`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		rows.Scan(&s, &n)
		out[s] = n
	}
	return out
}

// Slack faults through the real adapter and the Postgres delivery outbox:
// 503s and a Slack that takes a post and goes away before answering (a
// restart mid-delivery) are retried and end in exactly one post; while
// Slack is down altogether (connection refused) nothing is lost; a
// channel Slack does not know is recorded as failed at the first attempt
// and the other channel goes on; a Slack that keeps failing is given up
// after max_attempts, recorded, not retried for ever.
func TestSlackFaultsRetryTransientRecordDeterministicAndNeverPostTwice(t *testing.T) {
	e := newEnv(t)
	// Slack on a listener we can stop and restart at the same address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(e.slack.serve)}}
	srv.Start()
	defer func() { srv.Close() }()
	url := "http://" + addr + "/api/"
	e.slack.gone = map[string]bool{"C0GONE": true}

	cfg := e.config()
	cfg.MaxAttempts = 4
	cfg.Route.Routes = []alerts.RouteConfig{{Receiver: "C0GONE", Matchers: []string{"rule=gone-rule"}}}
	d, err := alerts.New(cfg, alerts.Deps{Store: e.alertStore(), Exceptions: e.xs,
		Poster: slackadapter.NewPoster(slackadapter.Config{Token: "xoxb-test", APIURL: url}), Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	settle := func(rounds int) {
		for range rounds {
			e.step(d)
			e.now = e.now.Add(2 * time.Minute) // past any backoff
		}
	}

	// 503 twice, then the post is taken and the answer lost.
	e.slack.fail5xx, e.slack.cutAfter = 2, 1
	e.raise("ack-qty", "po/4500000001/10")
	e.raise("gone-rule", "po/4500000009/10")
	settle(6)
	top := len(e.slack.Calls("chat.postMessage")) - len(threadReplies(e.slack))
	if top != 1 || len(e.slack.Calls("503")) != 2 {
		t.Fatalf("top-level posts %d, 503s %d: want one post after two 503s and a lost answer", top, len(e.slack.Calls("503")))
	}
	if n := len(e.slack.Calls("channel_not_found")); n != 1 {
		t.Fatalf("channel_not_found attempts = %d, want 1 (recorded failed, not retried)", n)
	}
	if st := e.deliveries(); st["failed"] != 1 || st["pending"] != 0 {
		t.Fatalf("deliveries %v: want the unknown channel's one failed, none pending", st)
	}

	// Slack down (connection refused) while an exception changes.
	srv.Close()
	e.raise("ack-qty", "po/4500000002/10")
	settle(2)
	if st := e.deliveries(); st["pending"] == 0 {
		t.Fatalf("deliveries %v: the update made while Slack was down is not pending", st)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(e.slack.serve)}}
	srv.Start()
	settle(3)
	ups := e.slack.Calls("chat.update")
	if len(ups) == 0 || !strings.Contains(ups[len(ups)-1].Blocks, "po/4500000002/10") {
		t.Fatalf("after Slack came back: %d updates, want the message to show the exception raised while it was down", len(ups))
	}
	if top := len(e.slack.Calls("chat.postMessage")) - len(threadReplies(e.slack)); top != 1 {
		t.Fatalf("top-level posts = %d after the outage, want still 1", top)
	}

	// A Slack that keeps failing: given up after max_attempts, recorded.
	before := e.deliveries()["failed"]
	e.slack.fail5xx = 1000
	e.raise("ack-qty", "po/4500000003/10")
	settle(8)
	if got := len(e.slack.Calls("503")) - 2; got > cfg.MaxAttempts*2 {
		t.Fatalf("%d attempts against a failing Slack, want at most max_attempts per delivery", got)
	}
	if st := e.deliveries(); st["failed"] <= before || st["pending"] != 0 {
		t.Fatalf("deliveries %v: want the ones Slack kept refusing recorded failed, none pending", st)
	}
}
