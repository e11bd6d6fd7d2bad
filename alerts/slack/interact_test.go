package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/alerts"
	slackadapter "github.com/supplywatch/supplywatch/alerts/slack"
	"github.com/supplywatch/supplywatch/procure"
)

// raiseAt opens an exception of tenant at plant (rule ack-qty, supplier S1,
// so one alert group per tenant) with the document number po.
func (e *env) raiseAt(tenant, plant, po string) *procure.Exception {
	e.t.Helper()
	var x *procure.Exception
	err := e.states.InTx(context.Background(), func(tx procure.StateTx) error {
		var err error
		x, err = tx.Exceptions().RaiseException(context.Background(), &procure.ExceptionCandidate{Tenant: tenant, Rule: "ack-qty", Kind: "validation",
			Subject: "po/" + po + "/10", Title: "Acknowledged quantity outside tolerance", Message: "PO " + po + ": 40 confirmed, 50 ordered",
			Severity: "high", Team: "procurement", Supplier: "S1", Plant: plant, PO: po, ValueAtRisk: 1000, Currency: "EUR", NeedBy: e.now.Add(72 * time.Hour), At: e.now})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return x
}

// clicker presses buttons as Slack would: a signed block_actions callback.
type clicker struct {
	t      *testing.T
	r      *gin.Engine
	secret string
	now    time.Time
}

func (c *clicker) click(team, user, action string, groupID int64) string {
	c.t.Helper()
	p := fmt.Sprintf(`{"type":"block_actions","team":{"id":%q},"user":{"id":%q},"actions":[{"action_id":%q,"block_id":"group_%d","value":"%d","type":"button"}]}`,
		team, user, action, groupID, groupID)
	body := "payload=" + url.QueryEscape(p)
	ts := strconv.FormatInt(c.now.Unix(), 10)
	req := httptest.NewRequest("POST", "/slack/interactions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", fmt.Sprintf("v0=%x", slackadapter.Sign(c.secret, ts, []byte(body))))
	w := httptest.NewRecorder()
	c.r.ServeHTTP(w, req)
	if w.Code != 200 {
		c.t.Fatalf("click %s by %s: %d %s", action, user, w.Code, w.Body)
	}
	var out struct{ Text string }
	json.Unmarshal(w.Body.Bytes(), &out)
	return out.Text
}

func (e *env) groupOf(tenant string) int64 {
	e.t.Helper()
	var id int64
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT id FROM alert_groups WHERE labels->>'tenant' = $1`, tenant).Scan(&id); err != nil {
		e.t.Fatalf("group of %s: %v", tenant, err)
	}
	return id
}

func (e *env) exception(id int64) *procure.Exception {
	e.t.Helper()
	x, err := e.xs.FindExceptionByID(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return x
}

// Each button against the fake Slack API, per member: tenant, plant and
// workspace bound what a click changes; the group message that follows
// links every exception at /exceptions/{id}.
func TestButtonsActOnlyOnMembersInTheClickersScope(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(nil)
	p1 := e.raiseAt("acme", "P1", "4500000001")
	p2 := e.raiseAt("acme", "P2", "4500000002")
	other := e.raiseAt("globex", "P1", "4500000003")
	e.step(d)
	acme, globex := e.groupOf("acme"), e.groupOf("globex")
	now := time.Unix(1_780_000_000, 0)
	h := slackadapter.NewInteractions("s3cret", map[string]string{"T1": "acme", "T2": "globex"}, users{
		"UJANE":  {ID: "1", Login: "jane", Name: "Jane", Role: "procurement", Tenant: "acme"},
		"UPAT":   {ID: "2", Login: "pat", Name: "Pat", Role: "plant", Tenant: "acme", Plants: []string{"P1"}},
		"UGLOB":  {ID: "3", Login: "gil", Name: "Gil", Role: "procurement", Tenant: "globex"},
		"UEXEC":  {ID: "4", Login: "eve", Name: "Eve", Role: "executive", Tenant: "acme"},
		"UOCALL": {ID: "5", Login: "omar", Name: "Omar", Role: "oncall", Tenant: "acme"},
	}, d, nil, func() time.Time { return now })
	gin.SetMode(gin.TestMode)
	r := gin.New()
	h.Register(r)
	c := &clicker{t: t, r: r, secret: "s3cret", now: now}

	t.Run("a workspace not linked to supplywatch changes nothing", func(t *testing.T) {
		if got := c.click("T9", "UJANE", alerts.ActionAcknowledge, acme); !strings.Contains(got, "not linked") {
			t.Fatalf("reply %q", got)
		}
		if x := e.exception(p1.ID); x.State != procure.ExceptionOpen {
			t.Fatalf("P1 exception %s", x.State)
		}
	})
	t.Run("a user of another tenant in this workspace changes nothing", func(t *testing.T) {
		if got := c.click("T1", "UGLOB", alerts.ActionAcknowledge, acme); !strings.Contains(got, "not a supplywatch user of this workspace") {
			t.Fatalf("reply %q", got)
		}
	})
	t.Run("another tenant's group is not found", func(t *testing.T) {
		if got := c.click("T1", "UJANE", alerts.ActionAcknowledge, globex); !strings.Contains(got, "not found") {
			t.Fatalf("reply %q", got)
		}
		if x := e.exception(other.ID); x.State != procure.ExceptionOpen {
			t.Fatalf("globex exception %s", x.State)
		}
	})
	t.Run("an executive may not act", func(t *testing.T) {
		if got := c.click("T1", "UEXEC", alerts.ActionAcknowledge, acme); !strings.Contains(got, "may not") {
			t.Fatalf("reply %q", got)
		}
	})
	t.Run("a plant user may not snooze a group with another plant's exception", func(t *testing.T) {
		if got := c.click("T1", "UPAT", alerts.ActionSnooze, acme); !strings.Contains(got, "outside your plants") {
			t.Fatalf("reply %q", got)
		}
	})
	t.Run("a plant user acknowledges only their plant's member", func(t *testing.T) {
		got := c.click("T1", "UPAT", alerts.ActionAcknowledge, acme)
		if !strings.Contains(got, "acknowledge: 1") || !strings.Contains(got, "1 outside your plants") {
			t.Fatalf("reply %q", got)
		}
		if x := e.exception(p1.ID); x.State != procure.ExceptionAcknowledged {
			t.Fatalf("P1 exception %s, want acknowledged", x.State)
		}
		if x := e.exception(p2.ID); x.State != procure.ExceptionOpen {
			t.Fatalf("P2 exception %s, want open (not the plant user's)", x.State)
		}
	})
	t.Run("assign to me stores the login on every member in scope", func(t *testing.T) {
		if got := c.click("T1", "UJANE", alerts.ActionAssignToMe, acme); !strings.Contains(got, "assign_to_me: 2") {
			t.Fatalf("reply %q", got)
		}
		for _, id := range []int64{p1.ID, p2.ID} {
			if x := e.exception(id); x.Assignee != "jane" {
				t.Fatalf("exception %d assignee %q, want the login jane", id, x.Assignee)
			}
		}
		acts, _ := e.xs.FindActivity(context.Background(), p2.ID)
		if last := acts[len(acts)-1]; last.Actor.Kind != procure.ActorSlack || last.Actor.Name != "jane" {
			t.Fatalf("last activity by %+v, want slack/jane", last.Actor)
		}
		if x := e.exception(other.ID); x.Assignee != "" {
			t.Fatalf("globex exception assigned to %q", x.Assignee)
		}
	})
	t.Run("the group message shows the changes with links to /exceptions/{id}", func(t *testing.T) {
		e.now = e.now.Add(time.Minute)
		e.step(d)
		ups := e.slack.Calls("chat.update")
		if len(ups) == 0 {
			t.Fatal("no chat.update after the clicks")
		}
		last := ups[len(ups)-1]
		for _, want := range []string{"https://sw.example/exceptions/" + strconv.FormatInt(p1.ID, 10) + "|",
			"https://sw.example/exceptions/" + strconv.FormatInt(p2.ID, 10) + "|", "jane", "*acknowledged*"} {
			if !strings.Contains(last.Blocks, want) {
				t.Errorf("update lacks %q:\n%s", want, last.Blocks)
			}
		}
	})
	t.Run("a procurement user snoozes the whole group", func(t *testing.T) {
		if got := c.click("T1", "UJANE", alerts.ActionSnooze, acme); !strings.Contains(got, "Snoozed") {
			t.Fatalf("reply %q", got)
		}
	})
}

// A document number is data: Slack must show it, never act on it.
func TestDataInSlackTextIsEscaped(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(nil)
	x := e.raiseAt("acme", "P1", "<!channel>")
	e.raiseAt("acme", "P1", "<https://evil.example|Open in supplywatch>")
	e.step(d)
	posts := e.slack.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("posts %d", len(posts))
	}
	p := posts[0]
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(p.Blocks), &blocks); err != nil {
		t.Fatal(err)
	}
	mrkdwn := p.Text + collectMrkdwn(blocks)
	for _, bad := range []string{"<!channel>", "<https://evil.example"} {
		if strings.Contains(mrkdwn, bad) {
			t.Errorf("mrkdwn text carries %q raw:\n%s", bad, mrkdwn)
		}
	}
	for _, want := range []string{"&lt;!channel&gt;", "&lt;https://evil.example|Open in supplywatch&gt;",
		"<https://sw.example/exceptions/" + strconv.FormatInt(x.ID, 10) + "|po/&lt;!channel&gt;/10>"} {
		if !strings.Contains(mrkdwn, want) {
			t.Errorf("mrkdwn text lacks %q:\n%s", want, mrkdwn)
		}
	}
	// The thread reply of a change carries the subject too.
	e.now = e.now.Add(time.Minute)
	ack := procure.ExceptionAcknowledged
	if _, err := e.xs.UpdateException(context.Background(), x.ID, procure.ExceptionUpdate{Version: x.Version, State: &ack,
		Actor: procure.Actor{Kind: procure.ActorUser, Name: "jane"}}); err != nil {
		t.Fatal(err)
	}
	e.step(d)
	replies := threadReplies(e.slack)
	if len(replies) != 1 || strings.Contains(replies[0].Text, "<!channel>") || !strings.Contains(replies[0].Text, "&lt;!channel&gt;") {
		t.Fatalf("replies %+v, want the subject escaped", replies)
	}
}

// collectMrkdwn returns every mrkdwn text of Block Kit blocks.
func collectMrkdwn(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if t["type"] == "mrkdwn" {
				s, _ := t["text"].(string)
				b.WriteString(s + "\n")
			}
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	if bs, ok := v.([]map[string]any); ok {
		for _, x := range bs {
			walk(x)
		}
	}
	return b.String()
}

// The daily digest links each exception at /exceptions/{id} and escapes
// what comes from data.
func TestDigestLinksExceptionsAndEscapesData(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Digests = []alerts.DigestConfig{{Team: "procurement", Channel: "C0DIG", At: "00:00", Location: "UTC", Tenant: "acme"}}
	d, err := alerts.New(cfg, alerts.Deps{Store: e.alertStore(), Exceptions: e.xs,
		Poster: slackadapter.NewPoster(slackadapter.Config{Token: "xoxb-test", APIURL: e.slack.URL()}), Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	x := e.raiseAt("acme", "P1", "<!channel>")
	other := e.raiseAt("globex", "P1", "4500000009")
	e.step(d)
	var digest *call
	for _, c := range e.slack.Calls("chat.postMessage") {
		if c.Channel == "C0DIG" {
			digest = &c
		}
	}
	if digest == nil {
		t.Fatalf("no digest posted: %+v", e.slack.Calls(""))
	}
	want := "<https://sw.example/exceptions/" + strconv.FormatInt(x.ID, 10) + "|Acknowledged quantity outside tolerance> po/&lt;!channel&gt;/10"
	if !strings.Contains(digest.Text, want) || strings.Contains(digest.Text, "<!channel>") {
		t.Fatalf("digest %q, want %q and no raw mention", digest.Text, want)
	}
	if strings.Contains(digest.Text, strconv.FormatInt(other.ID, 10)+"|") || strings.Contains(digest.Text, "4500000009") {
		t.Fatalf("digest of acme lists globex's exception: %q", digest.Text)
	}
}
