package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// The stages over literal groups and times, without a database.

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func alertOf(id int64, state, assignee string) *Alert {
	return &Alert{Labels: map[string]string{"tenant": "acme", "rule": "ack-qty", "supplier": "S1", "plant": "P1"},
		Member: procure.AlertMember{Key: fmt.Sprintf("x:%d", id), ExceptionID: id, Title: "Quantity off", State: state, Assignee: assignee,
			Severity: "high", FirstSeen: t0},
		Change: fmt.Sprintf("po/%d %s", id, state)}
}

func TestGrouperMakesDedupsAndResolvesGroups(t *testing.T) {
	r := &Route{ID: "root", Receiver: "C1", GroupBy: []string{"tenant", "rule", "supplier"}}
	var gr Grouper
	if g, changed := gr.Apply(nil, r, alertOf(1, procure.ExceptionResolved, ""), t0); g != nil || changed {
		t.Fatalf("resolution of something never alerted: %+v, %v; want nothing stored", g, changed)
	}
	g, changed := gr.Apply(nil, r, alertOf(1, procure.ExceptionOpen, ""), t0)
	if !changed || g.ID != 0 || g.GroupKey != "root|tenant=acme|rule=ack-qty|supplier=S1" || g.Channel != "C1" || g.State != procure.AlertFiring ||
		!g.FirstAt.Equal(t0) || len(g.Members) != 1 || len(g.Changes) != 0 {
		t.Fatalf("new group: %+v, %v", g, changed)
	}
	// A second exception before the first post: shown by the post, no change line.
	if _, changed := gr.Apply(g, r, alertOf(2, procure.ExceptionOpen, ""), t0.Add(time.Second)); !changed || len(g.Members) != 2 || len(g.Changes) != 0 {
		t.Fatalf("member before the post: changed %v, %d members, changes %v", changed, len(g.Members), g.Changes)
	}
	g.NotifiedAt = t0.Add(time.Minute)
	// A recurrence shows nothing new.
	if _, changed := gr.Apply(g, r, alertOf(2, procure.ExceptionOpen, ""), t0.Add(2*time.Minute)); changed || len(g.Changes) != 0 {
		t.Fatalf("recurrence: changed %v, changes %v; want no change", changed, g.Changes)
	}
	if _, changed := gr.Apply(g, r, alertOf(1, procure.ExceptionAcknowledged, "jane"), t0.Add(3*time.Minute)); !changed ||
		!slices.Equal(g.Changes, []string{"po/1 acknowledged"}) || !g.ChangedAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("acknowledged: changed %v, changes %v, changed at %v", changed, g.Changes, g.ChangedAt)
	}
	g.EscalationLevel = 2
	gr.Apply(g, r, alertOf(1, procure.ExceptionResolved, ""), t0.Add(4*time.Minute))
	if gr.Apply(g, r, alertOf(2, procure.ExceptionResolved, ""), t0.Add(4*time.Minute)); g.State != procure.AlertResolved {
		t.Fatalf("all members resolved: state %s", g.State)
	}
	gr.Apply(g, r, alertOf(2, procure.ExceptionOpen, ""), t0.Add(5*time.Minute))
	if g.State != procure.AlertFiring || g.EscalationLevel != 0 {
		t.Fatalf("reopened: state %s, escalation level %d; want firing, 0", g.State, g.EscalationLevel)
	}
	// A change processed before the last notification time still counts
	// as a change since it.
	g.NotifiedAt = t0.Add(time.Hour)
	gr.Apply(g, r, alertOf(2, procure.ExceptionAcknowledged, ""), t0.Add(6*time.Minute))
	if !g.ChangedAt.After(g.NotifiedAt) {
		t.Fatalf("changed at %v is not after notified at %v", g.ChangedAt, g.NotifiedAt)
	}
}

func TestGroupAllAppliesABatchInOrder(t *testing.T) {
	r := &Route{ID: "root", Receiver: "C1", GroupBy: []string{"supplier"}}
	var rs []routed
	for _, a := range []*Alert{alertOf(1, procure.ExceptionOpen, ""), alertOf(2, procure.ExceptionOpen, ""), alertOf(1, procure.ExceptionAcknowledged, "")} {
		rs = append(rs, routed{alert: a, route: r, key: procure.AlertGroupKey{Route: r.ID, Key: r.GroupKey(a.Labels)}})
	}
	got := Grouper{}.groupAll(map[procure.AlertGroupKey]*procure.AlertGroup{}, rs, t0)
	if len(got) != 1 || len(got[0].Members) != 2 || got[0].Members["x:1"].State != procure.ExceptionAcknowledged {
		t.Fatalf("groups to store: %+v; want one group with both members, x:1 acknowledged", got)
	}
}

func TestNotifierQueuesTheMessagesOfADecision(t *testing.T) {
	group := func() *procure.AlertGroup {
		return &procure.AlertGroup{ID: 7, Channel: "C1", State: procure.AlertFiring, Changes: []string{"po/1 acknowledged", "po/2 resolved"},
			Members:    map[string]procure.AlertMember{"x:1": {State: procure.ExceptionOpen}, "x:2": {State: procure.ExceptionResolved}},
			NotifiedAt: t0, ChangedAt: t0.Add(time.Hour)}
	}
	step := &EscalationStep{After: 4 * time.Hour, Mention: "<!subteam^S1>"}
	now := t0.Add(time.Minute)
	tests := []struct {
		name   string
		action Action
		step   *EscalationStep
		want   []string // kind: body
		level  int
		notify bool
	}{
		{"post", ActPost, nil, []string{"post: "}, 0, true},
		{"update with its changes threaded", ActUpdate, nil, []string{"update: ", "reply: po/1 acknowledged\npo/2 resolved"}, 0, true},
		{"repeat counts the open members", ActRepeat, nil, []string{"reply: Still firing: 1 exception(s) open."}, 0, true},
		{"escalation alone updates the message", ActNone, step, []string{"reply: <!subteam^S1> Escalation level 1: not acknowledged within 4h0m0s.", "update: "}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := group()
			var got []string
			for _, d := range (Notifier{}).Enqueue(g, tt.action, tt.step, now) {
				if d.GroupID != 7 || d.Channel != "C1" || !d.CreatedAt.Equal(now) {
					t.Errorf("delivery %+v: want group 7, channel C1, created now", d)
				}
				got = append(got, d.Kind+": "+d.Body)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("deliveries:\n%q\nwant\n%q", got, tt.want)
			}
			if g.EscalationLevel != tt.level {
				t.Errorf("escalation level %d, want %d", g.EscalationLevel, tt.level)
			}
			if notified := g.NotifiedAt.Equal(now); notified != tt.notify {
				t.Errorf("notified at %v, want notified now: %v", g.NotifiedAt, tt.notify)
			}
			if tt.notify && g.ChangedAt.After(now) {
				t.Errorf("changed at %v after the notification %v", g.ChangedAt, now)
			}
		})
	}
}

func TestNoticeNeverPostsAGroupTwice(t *testing.T) {
	posted := &procure.AlertGroup{ID: 7, SlackTS: "111.1", Labels: map[string]string{"tenant": "acme"}}
	unposted := &procure.AlertGroup{ID: 8, Labels: map[string]string{}}
	tests := []struct {
		name     string
		kind     string
		g        *procure.AlertGroup
		want     string // kind ts thread_ts
		wantPerm bool
	}{
		{"first post", procure.DeliveryPost, unposted, "post  ", false},
		{"post of a posted group updates it", procure.DeliveryPost, posted, "update 111.1 ", false},
		{"update", procure.DeliveryUpdate, posted, "update 111.1 ", false},
		{"reply in the thread", procure.DeliveryReply, posted, "reply  111.1", false},
		{"update without a message", procure.DeliveryUpdate, unposted, "", true},
		{"reply without a message", procure.DeliveryReply, unposted, "", true},
		{"digest", procure.DeliveryDigest, nil, "digest  ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := notice(procure.AlertDelivery{ID: 3, Channel: "C1", Kind: tt.kind, Body: "b"}, tt.g, "https://sw.example")
			if tt.wantPerm {
				if !errors.Is(err, ErrPermanent) {
					t.Fatalf("err = %v, want ErrPermanent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Kind + " " + n.TS + " " + n.ThreadTS; got != tt.want || n.DeliveryID != 3 || n.Text != "b" {
				t.Fatalf("notice %q (delivery %d, text %q), want %q", got, n.DeliveryID, n.Text, tt.want)
			}
			if (n.Group != nil) != (tt.g != nil) {
				t.Fatalf("group view %v for group %v", n.Group, tt.g)
			}
		})
	}
}

type retryAfter time.Duration

func (r retryAfter) Error() string             { return "rate_limited" }
func (r retryAfter) RetryAfter() time.Duration { return time.Duration(r) }

func TestSenderPlansRetriesAndGivesUp(t *testing.T) {
	s := NewSender(nil, nil, Config{MaxAttempts: 5, MaxDeliveryAge: time.Hour}, nil)
	now := t0.Add(10 * time.Minute)
	unavailable := errors.New("connection refused")
	tests := []struct {
		name     string
		attempts int
		first    time.Time
		cause    error
		want     retryPlan
	}{
		{"first failure waits 2 s", 1, time.Time{}, unavailable, retryPlan{wait: 2 * time.Second, class: "transient", reason: "unavailable"}},
		{"backoff doubles", 4, t0, unavailable, retryPlan{wait: 16 * time.Second, class: "transient", reason: "unavailable"}},
		{"rate limit waits Retry-After and pauses the channel", 9, t0, retryAfter(30 * time.Second),
			retryPlan{wait: 30 * time.Second, class: "transient", reason: "rate_limited", pauseChannel: true}},
		{"permanent gives up at once", 1, time.Time{}, fmt.Errorf("%w: channel_not_found", ErrPermanent),
			retryPlan{wait: 2 * time.Second, class: "deterministic", reason: "rejected", gaveUp: true}},
		{"max attempts exhausted", 5, t0, unavailable, retryPlan{wait: 32 * time.Second, class: "transient", reason: "exhausted", gaveUp: true}},
		{"max delivery age exhausted", 2, now.Add(-time.Hour), unavailable, retryPlan{wait: 4 * time.Second, class: "transient", reason: "exhausted", gaveUp: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.plan(procure.AlertDelivery{Attempts: tt.attempts, AttemptedAt: tt.first}, now, tt.cause); got != tt.want {
				t.Fatalf("plan = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// senderStore is the Sender's seam in memory: one group and the outcomes
// recorded.
type senderStore struct {
	group    *procure.AlertGroup
	claim    []procure.AlertDelivery
	outcomes []string
}

func (f *senderStore) ClaimDeliveries(context.Context, time.Time, time.Duration, time.Duration) ([]procure.AlertDelivery, error) {
	c := f.claim
	f.claim = nil
	return c, nil
}
func (f *senderStore) DeliverySent(_ context.Context, d procure.AlertDelivery, ts string) error {
	f.outcomes = append(f.outcomes, fmt.Sprintf("sent %d %s", d.ID, ts))
	return nil
}
func (f *senderStore) RetryDelivery(_ context.Context, d procure.AlertDelivery, at time.Time, cause string, pause bool) error {
	f.outcomes = append(f.outcomes, fmt.Sprintf("retry %d at +%s pause=%v: %s", d.ID, at.Sub(t0), pause, cause))
	return nil
}
func (f *senderStore) DeliveryFailed(_ context.Context, d procure.AlertDelivery, cause string) error {
	f.outcomes = append(f.outcomes, fmt.Sprintf("failed %d: %s", d.ID, cause))
	return nil
}
func (f *senderStore) AlertGroup(_ context.Context, id int64) (*procure.AlertGroup, error) {
	if f.group == nil || f.group.ID != id {
		return nil, procure.Errorf(procure.ENOTFOUND, "alert group %d not found", id)
	}
	return f.group, nil
}

// poster answers Send with ts or err and FindSent with found.
type poster struct {
	ts, found string
	err       error
	sent      []string
}

func (p *poster) Send(_ context.Context, n *Notice) (string, error) {
	p.sent = append(p.sent, n.Kind)
	return p.ts, p.err
}
func (p *poster) FindSent(context.Context, string, int64, time.Time) (string, error) {
	return p.found, nil
}

func TestSenderRecordsEachOutcome(t *testing.T) {
	g := &procure.AlertGroup{ID: 7, Channel: "C1", Labels: map[string]string{}}
	post := procure.AlertDelivery{ID: 1, GroupID: 7, Channel: "C1", Kind: procure.DeliveryPost, Attempts: 1}
	tests := []struct {
		name     string
		d        procure.AlertDelivery
		p        *poster
		wantSent []string
		want     string
	}{
		{"sent", post, &poster{ts: "111.1"}, []string{"post"}, "sent 1 111.1"},
		{"an earlier attempt that reached Slack is adopted, not posted again",
			procure.AlertDelivery{ID: 1, GroupID: 7, Channel: "C1", Kind: procure.DeliveryPost, Attempts: 2, AttemptedAt: t0},
			&poster{found: "111.0", ts: "222.2"}, nil, "sent 1 111.0"},
		{"rate limited", post, &poster{err: retryAfter(time.Minute)}, []string{"post"}, "retry 1 at +1m0s pause=true: rate_limited"},
		{"rejected", post, &poster{err: fmt.Errorf("%w: channel_not_found", ErrPermanent)}, []string{"post"},
			"failed 1: permanent delivery failure: channel_not_found"},
		{"a reply to a group never posted fails without a call", procure.AlertDelivery{ID: 2, GroupID: 7, Kind: procure.DeliveryReply, Attempts: 1},
			&poster{ts: "333.3"}, nil, "failed 2: permanent delivery failure: group 7 has no message to reply to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &senderStore{group: g, claim: []procure.AlertDelivery{tt.d}}
			s := NewSender(st, tt.p, Config{}, nil)
			n, err := s.Once(context.Background(), t0)
			if err != nil || n != 1 {
				t.Fatalf("Once = %d, %v", n, err)
			}
			if !slices.Equal(tt.p.sent, tt.wantSent) || len(st.outcomes) != 1 || st.outcomes[0] != tt.want {
				t.Fatalf("calls %v, outcomes %q; want %v, %q", tt.p.sent, st.outcomes, tt.wantSent, tt.want)
			}
		})
	}
	// The unknown group of a delivery is an error of the round, not a
	// failed delivery.
	st := &senderStore{claim: []procure.AlertDelivery{post}}
	if _, err := NewSender(st, &poster{}, Config{}, nil).Once(context.Background(), t0); procure.ErrorCode(err) != procure.ENOTFOUND || len(st.outcomes) != 0 {
		t.Fatalf("delivery of a missing group: %v, outcomes %v", err, st.outcomes)
	}
}

func TestSnoozeHoldsTheGroupAndSaysSo(t *testing.T) {
	g := &procure.AlertGroup{ChangedAt: t0}
	snooze(g, User{Name: "Jane <Doe>"}, t0.Add(time.Minute))
	if !g.SnoozedUntil.Equal(t0.Add(time.Minute+SnoozeFor)) || !g.ChangedAt.Equal(t0.Add(time.Minute)) ||
		!slices.Equal(g.Changes, []string{"snoozed until 2026-03-02 13:01 UTC by Jane &lt;Doe&gt;"}) {
		t.Fatalf("snoozed group: until %v, changed %v, changes %q", g.SnoozedUntil, g.ChangedAt, g.Changes)
	}
}

func TestDigestTextListsTheTeamsActiveExceptions(t *testing.T) {
	var xs []*procure.Exception
	for i := range 12 {
		xs = append(xs, &procure.Exception{ID: int64(i + 1), Team: "procurement", Severity: procure.SeverityHigh, Priority: 12 - i, ValueAtRisk: 100,
			Title: "Late <b>", Subject: fmt.Sprintf("po/%d", i+1), State: procure.ExceptionOpen, FirstSeen: t0})
	}
	xs = append(xs, &procure.Exception{ID: 99, Team: "finance", Severity: procure.SeverityCritical, Title: "other team"})
	got := digestText(DigestConfig{Team: "procurement"}, xs, t0, "https://sw.example")
	lines := strings.Split(strings.TrimSpace(got), "\n")
	want0 := "*Daily digest for procurement* (2026-03-02): 12 active exception(s), 12 high; value at risk 1200"
	if lines[0] != want0 || len(lines) != 12 {
		t.Fatalf("digest:\n%s\nwant first line %q and 12 lines", got, want0)
	}
	if lines[1] != "• P1 <https://sw.example/exceptions/12|Late &lt;b&gt;> po/12 (open, since 2026-03-02)" {
		t.Errorf("highest priority line: %q", lines[1])
	}
	if lines[11] != "… and 2 more: https://sw.example/exceptions?team=procurement" {
		t.Errorf("last line: %q", lines[11])
	}
	if strings.Contains(got, "other team") {
		t.Errorf("digest lists another team's exception:\n%s", got)
	}
}
