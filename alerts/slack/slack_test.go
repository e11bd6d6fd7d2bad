package slack_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/alerts"
	slackadapter "github.com/supplywatch/supplywatch/alerts/slack"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
	"go.uber.org/goleak"
)

const channel = "C0PROC"

type env struct {
	t      *testing.T
	db     *postgres.DB
	states *postgres.StateStore
	xs     *postgres.ExceptionStore
	slack  *fakeSlack
	now    time.Time
}

func newEnv(t *testing.T) *env {
	db := pgtest.New(t)
	return &env{t: t, db: db, states: postgres.NewStateStore(db), xs: postgres.NewExceptionStore(db, nil),
		slack: newFakeSlack(t), now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

// alertStore is the pipeline's store on the env's database.
func (e *env) alertStore() *postgres.AlertStore { return postgres.NewAlertStore(e.db) }

func (e *env) config() alerts.Config {
	return alerts.Config{PublicURL: "https://sw.example", Consumers: []string{"clickhouse"},
		Route: alerts.RouteConfig{Receiver: channel, GroupWait: time.Nanosecond, GroupInterval: time.Nanosecond, RepeatInterval: 24 * time.Hour}}
}

func (e *env) dispatcher(poster alerts.Poster) *alerts.Dispatcher {
	e.t.Helper()
	if poster == nil {
		poster = slackadapter.NewPoster(slackadapter.Config{Token: "xoxb-test", APIURL: e.slack.URL()})
	}
	d, err := alerts.New(e.config(), alerts.Deps{Store: e.alertStore(), Exceptions: e.xs, Poster: poster, Now: func() time.Time { return e.now }})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// raise opens (or recurs) an exception of rule for supplier S1 on subject.
func (e *env) raise(rule, subject string) *procure.Exception {
	e.t.Helper()
	var x *procure.Exception
	err := e.states.InTx(context.Background(), func(tx procure.StateTx) error {
		var err error
		x, err = tx.Exceptions().RaiseException(context.Background(), &procure.ExceptionCandidate{Tenant: "acme", Rule: rule, Kind: "validation",
			Subject: subject, Title: "Acknowledged quantity outside tolerance", Message: subject + ": 40 confirmed, 50 ordered",
			Severity: "high", Team: "procurement", Supplier: "S1", Plant: "P1", PO: strings.Split(subject, "/")[1],
			ValueAtRisk: 1000, Currency: "EUR", NeedBy: e.now.Add(72 * time.Hour), At: e.now})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return x
}

// step runs the pipeline once at the env's clock: feed, stages, sender
// until nothing is due.
func (e *env) step(d *alerts.Dispatcher) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := d.Feeder().Once(ctx, 500); err != nil {
		e.t.Fatal(err)
	}
	if err := d.Consume(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.now = e.now.Add(time.Millisecond) // past group_wait and group_interval
	if _, err := d.Tick(ctx, e.now); err != nil {
		e.t.Fatal(err)
	}
	for range 20 {
		n, err := d.Sender().Once(ctx, e.now)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		e.now = e.now.Add(time.Second) // the channel's pace
	}
}

func TestGroupIsPostedOnceThenUpdatedInPlaceAndThreaded(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(nil)
	x1 := e.raise("ack-qty", "po/4500000001/10")
	x2 := e.raise("ack-qty", "po/4500000002/10")
	e.step(d)
	posts := e.slack.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("posts = %d, want one message for the group", len(posts))
	}
	p := posts[0]
	for _, want := range []string{"po/4500000001/10", "po/4500000002/10", "https://sw.example/exceptions/" + strconv.FormatInt(x1.ID, 10),
		`"action_id":"acknowledge"`, `"action_id":"assign_to_me"`, `"action_id":"snooze"`, `"action_id":"retry"`, "value at risk 2000 EUR", "plant P1, supplier S1"} {
		if !strings.Contains(p.Blocks, want) {
			t.Errorf("post blocks lack %q:\n%s", want, p.Blocks)
		}
	}
	if !strings.Contains(p.Metadata, "delivery_id") {
		t.Errorf("post metadata = %q, want the delivery id", p.Metadata)
	}
	ts := "1700000000.000001"

	// A recurrence changes nothing people see: no message.
	e.now = e.now.Add(time.Minute)
	e.raise("ack-qty", "po/4500000001/10")
	e.step(d)
	if n := len(e.slack.Calls("")); n != 1 {
		t.Fatalf("calls after a recurrence = %d, want 1", n)
	}

	// Acknowledged from the console: the message changes in place, the change is threaded.
	e.now = e.now.Add(time.Minute)
	ack := procure.ExceptionAcknowledged
	if _, err := e.xs.UpdateException(context.Background(), x1.ID, procure.ExceptionUpdate{Version: x1.Version + 1, State: &ack,
		Actor: procure.Actor{Kind: procure.ActorUser, Name: "jane"}}); err != nil {
		t.Fatal(err)
	}
	e.step(d)
	ups, replies := e.slack.Calls("chat.update"), threadReplies(e.slack)
	if len(ups) != 1 || ups[0].TS != ts || !strings.Contains(ups[0].Blocks, "*acknowledged*") {
		t.Fatalf("updates = %+v, want one update of %s showing the acknowledgement", ups, ts)
	}
	if len(replies) != 1 || replies[0].ThreadTS != ts || !strings.Contains(replies[0].Text, "po/4500000001/10 acknowledged") {
		t.Fatalf("replies = %+v, want one thread reply under %s", replies, ts)
	}

	// Both resolved: the same message says resolved, without buttons.
	e.now = e.now.Add(time.Minute)
	err := e.states.InTx(context.Background(), func(tx procure.StateTx) error {
		for _, x := range []*procure.Exception{x1, x2} {
			if _, err := tx.Exceptions().ResolveException(context.Background(), "acme", x.Fingerprint, e.now, procure.Actor{Kind: procure.ActorRule, Name: "ack-qty"}, "evidence arrived"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.step(d)
	ups = e.slack.Calls("chat.update")
	last := ups[len(ups)-1]
	if last.TS != ts || !strings.Contains(last.Blocks, "RESOLVED") || strings.Contains(last.Blocks, `"action_id"`) {
		t.Fatalf("last update = %+v, want the message resolved in place without buttons", last)
	}
	if n := len(e.slack.Calls("chat.postMessage")) - len(threadReplies(e.slack)); n != 1 {
		t.Fatalf("top-level posts = %d, want 1", n)
	}
}

func threadReplies(f *fakeSlack) []call {
	var out []call
	for _, c := range f.Calls("chat.postMessage") {
		if c.ThreadTS != "" {
			out = append(out, c)
		}
	}
	return out
}

func TestSlack429WaitsRetryAfterThenPostsOnce(t *testing.T) {
	e := newEnv(t)
	e.slack.limitFor, e.slack.retryAft = 1, "7"
	d := e.dispatcher(nil)
	e.raise("ack-qty", "po/4500000001/10")
	e.step(d)
	if n := len(e.slack.Calls("429")); n != 1 {
		t.Fatalf("429s = %d, want 1", n)
	}
	e.now = e.now.Add(4 * time.Second) // within Retry-After: nothing goes
	e.step(d)
	if n := len(e.slack.Calls("chat.postMessage")); n != 0 {
		t.Fatalf("posted %d times before Retry-After passed", n)
	}
	e.now = e.now.Add(4 * time.Second)
	e.step(d)
	if n := len(e.slack.Calls("chat.postMessage")); n != 1 {
		t.Fatalf("posts after Retry-After = %d, want 1", n)
	}
	// The retry looked for an earlier success before posting.
	if n := len(e.slack.Calls("conversations.history")); n != 1 {
		t.Errorf("history lookups = %d, want 1", n)
	}
}

// crashingPoster sends, then "crashes": it cancels the sender's context
// before the outcome is recorded.
type crashingPoster struct {
	alerts.Poster
	cancel context.CancelFunc
}

func (p *crashingPoster) Send(ctx context.Context, n *alerts.Notice) (string, error) {
	_, err := p.Poster.Send(ctx, n)
	p.cancel()
	if err != nil {
		return "", err
	}
	return "", context.Canceled
}

func TestRestartLosesNothingAndPostsNothingTwice(t *testing.T) {
	e := newEnv(t)
	real := slackadapter.NewPoster(slackadapter.Config{Token: "xoxb-test", APIURL: e.slack.URL()})
	ctx, cancel := context.WithCancel(context.Background())
	d1 := e.dispatcher(&crashingPoster{Poster: real, cancel: cancel})
	e.raise("ack-qty", "po/4500000001/10")
	if _, err := d1.Feeder().Once(ctx, 500); err != nil {
		t.Fatal(err)
	}
	if err := d1.Consume(ctx); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Millisecond)
	if _, err := d1.Tick(ctx, e.now); err != nil {
		t.Fatal(err)
	}
	if _, err := d1.Sender().Once(ctx, e.now); !errors.Is(err, context.Canceled) {
		t.Fatalf("crash: err = %v", err)
	}
	// An exception raised while the process is down.
	e.raise("ack-qty", "po/4500000002/10")

	// Restart after the in-flight lease.
	e.now = e.now.Add(time.Minute)
	d2 := e.dispatcher(nil)
	e.step(d2)
	top := len(e.slack.Calls("chat.postMessage")) - len(threadReplies(e.slack))
	if top != 1 {
		t.Fatalf("top-level posts = %d, want 1 (the crashed post found, not repeated)", top)
	}
	ups := e.slack.Calls("chat.update")
	if len(ups) == 0 || !strings.Contains(ups[len(ups)-1].Blocks, "po/4500000002/10") {
		t.Fatalf("updates = %d, want the exception raised while down in the message", len(ups))
	}
}

func TestDispatcherRunStopsWithoutLeaks(t *testing.T) {
	e := newEnv(t)
	ignore := goleak.IgnoreCurrent()
	defer func() {
		e.slack.srv.CloseClientConnections()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	}()
	d, err := alerts.New(e.config(), alerts.Deps{Store: e.alertStore(), Exceptions: e.xs,
		Poster: slackadapter.NewPoster(slackadapter.Config{Token: "xoxb-test", APIURL: e.slack.URL()})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	e.raise("ack-qty", "po/4500000001/10")
	deadline := time.Now().Add(10 * time.Second)
	for len(e.slack.Calls("chat.postMessage")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	if len(e.slack.Calls("chat.postMessage")) != 1 {
		t.Fatal("Run posted nothing")
	}
}

// users maps Slack users to console users.
type users map[string]alerts.User

func (u users) ResolveSlackUser(_ context.Context, _, id string) (alerts.User, error) {
	if x, ok := u[id]; ok {
		return x, nil
	}
	return alerts.User{}, procure.Errorf(procure.EUNAUTHORIZED, "slack user %s is not linked", id)
}

func TestInteractionsVerifySignatureAndRole(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(nil)
	x := e.raise("ack-qty", "po/4500000001/10")
	e.step(d)
	var groupID int64
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT id FROM alert_groups").Scan(&groupID); err != nil {
		t.Fatal(err)
	}
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	now := time.Unix(1_780_000_000, 0)
	h := slackadapter.NewInteractions(secret, map[string]string{"T1": "acme"}, users{
		"U1": {ID: "1", Login: "jane", Name: "Jane", Role: "procurement", Tenant: "acme"},
		"U2": {ID: "2", Login: "eve", Name: "Eve", Role: "executive", Tenant: "acme"},
	}, d, nil, func() time.Time { return now })
	gin.SetMode(gin.TestMode)
	r := gin.New()
	h.Register(r)
	body := func(user, action string) string {
		p := fmt.Sprintf(`{"type":"block_actions","team":{"id":"T1"},"user":{"id":%q},"actions":[{"action_id":%q,"block_id":"group_%d","value":"%d","type":"button"}]}`, user, action, groupID, groupID)
		return "payload=" + url.QueryEscape(p)
	}
	sign := func(ts, b string) string { return fmt.Sprintf("v0=%x", slackadapter.Sign(secret, ts, []byte(b))) }
	fresh := strconv.FormatInt(now.Unix(), 10)
	stale := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	tests := []struct {
		name        string
		body        string
		ts, sig     string
		status      int
		contains    string
		acknowledge bool
	}{
		{"missing signature is refused", body("U1", "acknowledge"), "", "", 401, "missing", false},
		{"stale timestamp is refused", body("U1", "acknowledge"), stale, sign(stale, body("U1", "acknowledge")), 401, "window", false},
		{"tampered body is refused", body("U1", "acknowledge"), fresh, sign(fresh, body("U2", "acknowledge")), 401, "does not match", false},
		{"wrong secret is refused", body("U1", "acknowledge"), fresh, "v0=" + strings.Repeat("ab", 32), 401, "does not match", false},
		{"unknown slack user is refused", body("U9", "acknowledge"), fresh, sign(fresh, body("U9", "acknowledge")), 200, "not a supplywatch user", false},
		{"executive may not acknowledge", body("U2", "acknowledge"), fresh, sign(fresh, body("U2", "acknowledge")), 200, "may not", false},
		{"procurement user acknowledges", body("U1", "acknowledge"), fresh, sign(fresh, body("U1", "acknowledge")), 200, "acknowledge: 1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/slack/interactions", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.ts != "" {
				req.Header.Set("X-Slack-Request-Timestamp", tt.ts)
				req.Header.Set("X-Slack-Signature", tt.sig)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.contains) {
				t.Fatalf("= %d %s, want %d containing %q", w.Code, w.Body.String(), tt.status, tt.contains)
			}
			got, err := e.xs.FindExceptionByID(context.Background(), x.ID)
			if err != nil {
				t.Fatal(err)
			}
			if (got.State == procure.ExceptionAcknowledged) != tt.acknowledge {
				t.Fatalf("state = %s", got.State)
			}
		})
	}
	acts, _ := e.xs.FindActivity(context.Background(), x.ID)
	if last := acts[len(acts)-1]; last.Actor.Kind != procure.ActorSlack || last.Actor.Name != "jane" {
		t.Errorf("last activity by %+v, want slack/jane", last.Actor)
	}
}
