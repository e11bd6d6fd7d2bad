package console_test

import (
	"context"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/retry"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/procure"
)

// addUser creates a user of any tenant and signs them in.
func (e *env) addUser(tenant, login, role string, plants ...string) *client {
	e.t.Helper()
	pw := "a long enough password " + login
	if _, err := console.AddUser(context.Background(), e.store, console.NewUser{Tenant: tenant, Login: login, Name: login, Role: role, Plants: plants, Password: pw}); err != nil {
		e.t.Fatal(err)
	}
	c := e.anonymous()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if st := c.do("POST", "/api/auth/login", map[string]string{"login": login, "password": pw}, &me); st != 200 {
		e.t.Fatalf("sign in as %s: %d", login, st)
	}
	c.csrf = me.CSRF
	return c
}

type deadLetters struct {
	Rejected []procure.Rejected `json:"rejected"`
}

func (d deadLetters) ids() map[string]bool {
	out := map[string]bool{}
	for _, r := range d.Rejected {
		out[r.InputID] = true
	}
	return out
}

// Dead letters: a tenant sees and redrives its own only; rows without a
// tenant only the operators; a redrive is re-checked against the tenant
// and the tenant and sources of the ingest token that sent it (or, for rows
// without a sender, of the tenant's tokens); no secret is returned.
func TestDeadLettersStayInTheirTenantAndKeepNoSecrets(t *testing.T) {
	e := newEnv(t, func(c *console.Config, d *console.Deps) {
		c.OperatorTenant = "ops"
		d.IngestSources = func(tenant string) ([]string, bool) {
			if tenant == "acme" {
				return []string{"portal", "erp"}, false
			}
			return nil, false
		}
		d.IngestToken = func(name string) (string, []string, bool) {
			if name == "portal-feed" {
				return "acme", []string{"portal"}, true
			}
			return "", nil, false
		}
	})
	at := e.now.Add(-30 * time.Minute)
	rows := []procure.Rejection{
		{ReceivedAt: at, InputID: "http/acme/cross", Channel: procure.ChannelHTTP, Tenant: tenant, Reason: `"globex" is not the tenant of token "erp"`, Field: "tenant",
			Raw: []byte(`{"id":"X1","type":"po.released","tenant":"globex","source":"erp"}`)},
		{ReceivedAt: at, InputID: "http/acme/dupkey", Channel: procure.ChannelHTTP, Tenant: tenant, Reason: "bad",
			Raw: []byte(`{"id":"X2","tenant":"acme","source":"erp","tenant":"globex"}`)},
		{ReceivedAt: at, InputID: "http/acme/source", Channel: procure.ChannelHTTP, Tenant: tenant, Reason: "source",
			Raw: []byte(`{"id":"X3","type":"po.released","tenant":"acme","source":"wms"}`)},
		{ReceivedAt: at, InputID: "http/acme/ok", Channel: procure.ChannelHTTP, Tenant: tenant, Reason: "must be a number",
			Raw: []byte(`{"id":"X4","type":"po.released","tenant":"acme","source":"portal"}`)},
		// Sent with the portal token: erp is a source of another acme token,
		// not of this one, so only the exact token's check refuses it.
		{ReceivedAt: at, InputID: "http/acme/token-source", Channel: procure.ChannelHTTP, Tenant: tenant, Sender: "portal-feed", Reason: "source",
			Raw: []byte(`{"id":"X6","type":"po.released","tenant":"acme","source":"erp"}`)},
		{ReceivedAt: at, InputID: "http/acme/token-gone", Channel: procure.ChannelHTTP, Tenant: tenant, Sender: "retired-feed", Reason: "bad",
			Raw: []byte(`{"id":"X7","type":"po.released","tenant":"acme","source":"portal"}`)},
		{ReceivedAt: at, InputID: "http/acme/token-ok", Channel: procure.ChannelHTTP, Tenant: tenant, Sender: "portal-feed", Reason: "must be a number",
			Raw: []byte(`{"id":"X8","type":"po.released","tenant":"acme","source":"portal"}`)},
		{ReceivedAt: at, InputID: "b2b/nobody/1", Channel: "b2b", Tenant: "", Reason: "unknown partner ZZ01",
			Raw: []byte("<cXML><Header><Sender><Credential domain=\"NetworkID\"><Identity>ZZ01</Identity><SharedSecret>hunter2-secret</SharedSecret></Credential></Sender></Header></cXML>")},
		{ReceivedAt: at, InputID: "http/acme/authz", Channel: procure.ChannelHTTP, Tenant: tenant, Reason: "bad",
			Raw: []byte("{\"id\":\"X5\",\"tenant\":\"acme\",\"source\":\"erp\",\"headers\":{\"Authorization\":\"Bearer swt_leaked\"}}")},
	}
	if err := e.facts.InsertRejections(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	acme := e.signIn(procure.RoleOncall)
	other := e.addUser("other", "other-oncall", procure.RoleOncall)
	ops := e.addUser("ops", "ops-oncall", procure.RoleOncall)

	t.Run("a tenant sees its own dead letters, not another's nor those without a tenant", func(t *testing.T) {
		var d deadLetters
		acme.mustOK("GET", "/api/deadletter", nil, &d)
		ids := d.ids()
		if !ids["http/acme/ok"] || ids["b2b/nobody/1"] || ids["kafka/supplywatch.events/1/3"] {
			t.Fatalf("acme sees %v", ids)
		}
		for _, r := range d.Rejected {
			if r.Tenant != tenant {
				t.Fatalf("acme sees a row of tenant %q", r.Tenant)
			}
		}
		var o deadLetters
		other.mustOK("GET", "/api/deadletter", nil, &o)
		if ids := o.ids(); len(ids) != 1 || !ids["kafka/supplywatch.events/1/3"] {
			t.Fatalf("tenant other sees %v", ids)
		}
	})
	t.Run("operators see the dead letters without a tenant, with secrets redacted", func(t *testing.T) {
		st, b := ops.raw("GET", "/api/deadletter", nil)
		if st != 200 || !contains(b, "b2b/nobody/1") || contains(b, "http/acme/ok") {
			t.Fatalf("%d %s", st, b)
		}
		if contains(b, "hunter2-secret") || !contains(b, "[redacted]") {
			t.Fatalf("the shared secret is returned: %s", b)
		}
		if st := acme.do("POST", "/api/deadletter/redrive", map[string]any{"input_ids": []string{"b2b/nobody/1"}}, nil); st != 404 {
			t.Fatalf("acme redriving a row without tenant: %d, want 404", st)
		}
	})
	t.Run("no authorization header is returned", func(t *testing.T) {
		_, b := acme.raw("GET", "/api/deadletter", nil)
		if contains(b, "swt_leaked") {
			t.Fatalf("authorization returned: %s", b)
		}
	})
	t.Run("another tenant's dead letter is not redriven", func(t *testing.T) {
		if st := other.do("POST", "/api/deadletter/redrive", map[string]any{"input_ids": []string{"http/acme/ok"}}, nil); st != 404 {
			t.Fatalf("%d, want 404", st)
		}
	})
	t.Run("a redrive is re-checked against the tenant and sources of the sender", func(t *testing.T) {
		before := len(e.pub.all())
		var out struct {
			Redriven []string          `json:"redriven"`
			Refused  map[string]string `json:"refused"`
		}
		acme.mustOK("POST", "/api/deadletter/redrive", map[string]any{"input_ids": []string{"http/acme/cross", "http/acme/dupkey", "http/acme/source", "http/acme/ok", "http/acme/token-source", "http/acme/token-gone", "http/acme/token-ok"}}, &out)
		slices.Sort(out.Redriven)
		if !slices.Equal(out.Redriven, []string{"http/acme/ok", "http/acme/token-ok"}) || len(out.Refused) != 5 {
			t.Fatalf("redriven %v refused %v", out.Redriven, out.Refused)
		}
		for id, want := range map[string]string{"http/acme/cross": `names tenant "globex"`, "http/acme/dupkey": "twice", "http/acme/source": `source "wms"`,
			"http/acme/token-source": `token "portal-feed" that sent it may not send source "erp"`, "http/acme/token-gone": `"retired-feed" that sent it no longer exists`} {
			if !strings.Contains(out.Refused[id], want) {
				t.Errorf("%s refused for %q, want %q", id, out.Refused[id], want)
			}
		}
		msgs := e.pub.all()[before:]
		if len(msgs) != 2 {
			t.Fatalf("published %+v, want X4 and X8", msgs)
		}
		for _, m := range msgs {
			if m.Headers[kafka.HeaderTenant] != tenant || !strings.Contains(string(m.Value), "X4") && !strings.Contains(string(m.Value), "X8") {
				t.Fatalf("published %+v, want X4 and X8 with the tenant header", msgs)
			}
		}
	})
}

// A manual retry goes only to a target of retry.targets, and names its
// tenant.
func TestManualRetryOnlyToAllowedTargetsAndWithTheTenant(t *testing.T) {
	t.Run("a target outside the allow-list is blocked", func(t *testing.T) {
		e := newEnv(t, func(_ *console.Config, d *console.Deps) { d.Retries.(*retry.Service).Targets = []string{"erp"} })
		p := e.signIn(procure.RoleOncall)
		var pv struct {
			Plans []procure.RetryPlan `json:"plans"`
		}
		p.mustOK("POST", "/api/retries/preview", map[string]any{"exception_ids": []int64{e.ids["delivery"]}}, &pv)
		if len(pv.Plans) != 1 || !strings.Contains(pv.Plans[0].Blocked, `target "wms" is not in retry.targets`) {
			t.Fatalf("plans %+v", pv.Plans)
		}
	})
	t.Run("an allowed target is re-sent with the tenant header", func(t *testing.T) {
		e := newEnv(t)
		p := e.signIn(procure.RoleOncall)
		var pv struct {
			Confirm string `json:"confirm"`
		}
		p.mustOK("POST", "/api/retries/preview", map[string]any{"exception_ids": []int64{e.ids["delivery"]}}, &pv)
		p.mustOK("POST", "/api/retries", map[string]any{"exception_ids": []int64{e.ids["delivery"]}, "confirm": pv.Confirm}, nil)
		msgs := e.pub.all()
		if len(msgs) != 1 || msgs[0].Topic != "supplywatch.retry.wms" || msgs[0].Headers[kafka.HeaderTenant] != tenant {
			t.Fatalf("published %+v", msgs)
		}
	})
}

type timelineBody struct {
	Entries []procure.TimelineEntry `json:"entries"`
}

// Plant scope holds in the timelines: a plant user sees events of their
// plants only, and only the spans of those events' ids.
func TestTimelinesAreFilteredByPlantInTheQuery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	at := e.now.Add(-3 * time.Hour)
	ev := func(id, corr, trace, plant, doc string) procure.Received {
		x := &procure.Event{ID: id, Type: procure.POChanged, Source: procure.SourceERP, Tenant: tenant, OccurredAt: at, CorrelationID: corr, TraceID: trace,
			Plant: plant, Supplier: "S2", Document: procure.DocumentRef{Kind: procure.DocPO, ID: doc}, Data: []byte(`{}`)}
		raw, err := procure.Encode(x)
		if err != nil {
			t.Fatal(err)
		}
		return procure.Received{Event: x, Raw: raw, Channel: "kafka", ReceivedAt: at}
	}
	// PO 4500000003 (an exception of P01) also has an event recorded at
	// P02, with its own correlation and trace; C2 is P02's transaction.
	if err := e.facts.InsertEvents(ctx, []procure.Received{ev("E-P02", "C3", "1f7651916cd43dd8448eb211c8031900", "P02", "4500000003")}); err != nil {
		t.Fatal(err)
	}
	if err := e.facts.InsertSpans(ctx, []procure.Span{
		{Tenant: tenant, StartTime: at, TraceID: "1f7651916cd43dd8448eb211c8031900", SpanID: "c7ad6b7169203331", Name: "P02 span", Kind: "client",
			ServiceName: "middleware", DurationNanos: 1e6, StatusCode: "ok", CorrelationID: "C3"},
		{Tenant: tenant, StartTime: at, TraceID: "2f7651916cd43dd8448eb211c8031900", SpanID: "d7ad6b7169203331", Name: "C2 span", Kind: "client",
			ServiceName: "middleware", DurationNanos: 1e6, StatusCode: "ok", CorrelationID: "C2", DocumentID: "4500000002"},
	}); err != nil {
		t.Fatal(err)
	}
	plant := e.signIn(procure.RolePlant) // P01
	proc := e.signIn(procure.RoleProcurement)
	outOfScope := func(tl timelineBody) []string {
		var bad []string
		for _, x := range tl.Entries {
			if x.Kind == "event" && x.Plant != "P01" || x.Kind == "span" && (x.Type == "P02 span" || x.Type == "C2 span") {
				bad = append(bad, x.Kind+" "+x.ID+" "+x.Type)
			}
		}
		return bad
	}
	t.Run("exception timeline", func(t *testing.T) {
		var tl timelineBody
		plant.mustOK("GET", idPath("/api/exceptions/%d/timeline", e.ids["ack-missing-3"]), nil, &tl)
		if bad := outOfScope(tl); len(bad) > 0 {
			t.Fatalf("plant user sees %v", bad)
		}
		var all timelineBody
		proc.mustOK("GET", idPath("/api/exceptions/%d/timeline", e.ids["ack-missing-3"]), nil, &all)
		if len(outOfScope(all)) == 0 {
			t.Fatal("procurement does not see the P02 event and span: the fixture proves nothing")
		}
	})
	t.Run("timeline by another plant's correlation id", func(t *testing.T) {
		var tl timelineBody
		plant.mustOK("GET", "/api/timeline?correlation_id=C2", nil, &tl)
		if len(tl.Entries) != 0 {
			t.Fatalf("plant user sees %+v", tl.Entries)
		}
		var all timelineBody
		proc.mustOK("GET", "/api/timeline?correlation_id=C2", nil, &all)
		if len(all.Entries) == 0 {
			t.Fatal("procurement sees nothing of C2")
		}
	})
}

// The isolation suite: every GET route, as every role of another tenant,
// as a plant user of another plant, and as supplier tokens of this and of
// another supplier and tenant, with the path filled with this tenant's
// ids: the answer is 403 or 404, or holds none of the rows outside the
// caller's scope (their document numbers, logins or input ids).
func TestIsolationEveryRouteEveryRoleOutOfScope(t *testing.T) {
	e := newEnv(t, func(c *console.Config, _ *console.Deps) { c.OperatorTenant = "ops" })
	everything := []string{"4500000001", "4500000002", "4500000003", "INV1", "INV2", "ASN1", "BAD1", "MSG1", "demo-", "supplywatch.events/0/17"}
	type caller struct {
		name    string
		c       *client
		role    string
		markers []string // what must never appear in its answers
	}
	var callers []caller
	for _, role := range procure.UserRoles {
		plants := []string(nil)
		if role == procure.RolePlant {
			plants = []string{"P01"}
		}
		callers = append(callers, caller{"other-tenant " + role, e.addUser("other", "other-"+role, role, plants...), role, everything})
	}
	// The plant user of P01 must not see P02's order, invoice or exception.
	callers = append(callers, caller{"P01 plant user", e.signIn(procure.RolePlant), procure.RolePlant, []string{"4500000002", "INV2"}})
	callers = append(callers, caller{"supplier S2 token", e.supplierToken("S2"), procure.RoleSupplier, []string{"4500000001", "INV1", "ASN1"}})
	otherSupplier, err := console.NewToken(context.Background(), e.store, &procure.Token{Tenant: "other", Name: "other-S1", Supplier: "S1", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	callers = append(callers, caller{"other-tenant supplier S1 token", e.withToken(otherSupplier), procure.RoleSupplier, everything})

	fill := strings.NewReplacer(":plant", "P02", ":supplier", "S1")
	idOf := map[string]string{
		"/api/exceptions/":           itoa(e.ids["ack-missing-2"]), // P02
		"/api/supplier/v1/orders/":   "4500000001",                 // S1
		"/api/supplier/v1/invoices/": "INV1",
	}
	checked := 0
	for _, rt := range e.console.Routes() {
		method, path := rt[0], rt[1]
		roles, public, _ := e.console.RouteRoles(method, path)
		if method != "GET" || public || path == "/api/live" {
			continue
		}
		p := fill.Replace(path)
		for prefix, id := range idOf {
			if strings.HasPrefix(p, prefix) {
				p = strings.Replace(p, ":id", id, 1)
			}
		}
		p = strings.Replace(p, ":id", "1", 1)
		for _, cl := range callers {
			st, b := cl.c.raw("GET", p, nil)
			allowed := slices.Contains(roles, cl.role)
			switch {
			case !allowed && st != 403:
				t.Errorf("GET %s as %s: %d, want 403", p, cl.name, st)
			case st == 401 || st >= 500 && st != 503:
				t.Errorf("GET %s as %s: %d %s", p, cl.name, st, b)
			}
			for _, m := range cl.markers {
				if st == 200 && contains(b, m) {
					t.Errorf("GET %s as %s shows %q (out of scope): %.300s", p, cl.name, m, b)
				}
			}
			checked++
		}
	}
	// Changes are refused the same way: another tenant's or plant's
	// exception is not found.
	for _, cl := range callers[:len(procure.UserRoles)+1] {
		if cl.role == procure.RoleExecutive {
			continue
		}
		if st := cl.c.do("POST", idPath("/api/exceptions/%d/actions", e.ids["ack-missing-2"]), map[string]any{"action": "acknowledge", "version": 1}, nil); st != 404 {
			t.Errorf("acknowledge another scope's exception as %s: %d, want 404", cl.name, st)
		}
		if st := cl.c.do("POST", idPath("/api/exceptions/%d/comments", e.ids["ack-missing-2"]), map[string]any{"note": "x"}, nil); st != 404 {
			t.Errorf("comment on another scope's exception as %s: %d, want 404", cl.name, st)
		}
	}
	if checked < 100 {
		t.Fatalf("only %d calls checked", checked)
	}
	t.Logf("%d route × caller answers checked", checked)
}

// Slack's Retry button calls RetryAs: the console's own retry path, with
// its scope, duplicate-risk check, record and audit.
func TestSlackRetryGoesThroughTheConsoleRetryPath(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("other", "other-oncall", procure.RoleOncall)
	id := e.ids["delivery"]
	oncall := e.signIns[procure.RoleOncall].Login
	t.Run("another tenant's user finds nothing", func(t *testing.T) {
		if _, err := e.console.RetryAs(ctx, tenant, "other-oncall", id, "slack"); procure.ErrorCode(err) != procure.EFORBIDDEN {
			t.Fatalf("err %v, want forbidden", err)
		}
		if _, err := e.console.RetryAs(ctx, "other", "other-oncall", id, "slack"); procure.ErrorCode(err) != procure.ENOTFOUND {
			t.Fatalf("err %v, want not found", err)
		}
	})
	t.Run("an executive may not retry", func(t *testing.T) {
		if _, err := e.console.RetryAs(ctx, tenant, e.signIns[procure.RoleExecutive].Login, id, "slack"); procure.ErrorCode(err) != procure.EFORBIDDEN {
			t.Fatalf("err %v, want forbidden", err)
		}
	})
	t.Run("a low-risk retry is re-sent, recorded, noted and audited", func(t *testing.T) {
		r, err := e.console.RetryAs(ctx, tenant, oncall, id, "slack")
		if err != nil {
			t.Fatal(err)
		}
		msgs := e.pub.all()
		if len(msgs) != 1 || msgs[0].Topic != "supplywatch.retry.wms" || msgs[0].Headers[kafka.HeaderTenant] != tenant || r.RequestedBy != oncall {
			t.Fatalf("retry %+v published %+v", r, msgs)
		}
		audit, err := e.store.FindAudit(ctx, tenant, 50)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(audit, func(a *procure.AuditEntry) bool {
			return a.Action == "retry.publish" && a.Actor == oncall && a.ActorKind == "slack"
		}) {
			t.Fatalf("no retry.publish audit by %s via slack", oncall)
		}
		acts, err := e.store.FindActivity(ctx, procure.Scope{Tenant: tenant}, id)
		if err != nil {
			t.Fatal(err)
		}
		if last := acts[len(acts)-1]; last.Actor.Kind != procure.ActorSlack || last.Actor.Name != oncall || !strings.Contains(last.Note, "retry published") {
			t.Fatalf("last activity %+v", last)
		}
	})
	t.Run("a second retry while the first has no outcome is high risk: refused", func(t *testing.T) {
		if _, err := e.console.RetryAs(ctx, tenant, oncall, id, "slack"); procure.ErrorCode(err) != procure.ECONFLICT || !strings.Contains(err.Error(), "preview and confirm it in the console") {
			t.Fatalf("err %v, want conflict", err)
		}
		if n := len(e.pub.all()); n != 1 {
			t.Fatalf("%d published", n)
		}
	})
}
