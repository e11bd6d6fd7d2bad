package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/procure"
)

type queuePage struct {
	Items      []queueItem `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

type errBody struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
	Current *queueItem `json:"current"`
}

func TestOpenAPIDocumentsEveryRouteAndNothingElse(t *testing.T) {
	c, err := console.New(console.Config{}, console.Deps{Store: struct{ console.Store }{}, Facts: struct{ console.Facts }{}})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	c.Register(r)
	// The KPI API is served beside the console (app.go) and documented in
	// the same document.
	kpi.NewHandler(nil, kpi.HandlerOptions{}).Register(r)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	b, err := console.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" {
				continue
			}
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	served := map[string]bool{}
	for _, rt := range r.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/") {
			continue
		}
		segs := strings.Split(rt.Path, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, ":") {
				segs[i] = "{" + s[1:] + "}"
			}
		}
		served[rt.Method+" "+strings.Join(segs, "/")] = true
	}
	for k := range served {
		if !documented[k] {
			t.Errorf("route %s is not in openapi.yaml", k)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("openapi.yaml documents %s, which is not served", k)
		}
	}
	// The document is served as JSON.
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/api/openapi.json", nil))
	if w.Code != 200 || !json.Valid(w.Body.Bytes()) {
		t.Fatalf("GET /api/openapi.json: %d", w.Code)
	}
}

// TestAuthorizationMatrix calls every route as every role, as a supplier
// token and anonymously: a role not allowed gets 403, nobody 401, an
// allowed role never 401 or 403.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	clients := map[string]*client{"anonymous": e.anonymous(), procure.RoleSupplier: e.supplierToken("S1")}
	for _, role := range procure.UserRoles {
		clients[role] = e.signIn(role)
	}
	fill := func(path string) string {
		r := strings.NewReplacer(":id", "999999", ":plant", "P01", ":supplier", "S1")
		if strings.HasPrefix(path, "/api/exceptions/:id") {
			return strings.Replace(path, ":id", itoa(e.ids["asn-over"]), 1)
		}
		if strings.HasPrefix(path, "/api/supplier/v1/orders/") {
			return strings.Replace(path, ":id", "4500000001", 1)
		}
		if strings.HasPrefix(path, "/api/supplier/v1/invoices/") {
			return strings.Replace(path, ":id", "INV1", 1)
		}
		return r.Replace(path)
	}
	routes := e.console.Routes()
	// Sign-out last: it ends the session.
	sort.SliceStable(routes, func(i, j int) bool { return routes[j][1] == "/api/auth/logout" && routes[i][1] != routes[j][1] })
	who := append([]string{"anonymous", procure.RoleSupplier}, procure.UserRoles...)
	for _, rt := range routes {
		method, path := rt[0], rt[1]
		roles, public, _ := e.console.RouteRoles(method, path)
		for _, name := range who {
			cl := clients[name]
			var body any
			if method != "GET" && method != "DELETE" {
				body = map[string]any{}
			}
			var st int
			if path == "/api/live" {
				st = cl.liveStatus()
			} else {
				st, _ = cl.raw(method, fill(path), body)
			}
			allowed := public || slices.Contains(roles, name)
			switch {
			case public:
				if st == 401 || st == 403 {
					t.Errorf("%s %s as %s: %d, want access (public)", method, path, name, st)
				}
			case name == "anonymous":
				if st != 401 {
					t.Errorf("%s %s anonymously: %d, want 401", method, path, st)
				}
			case allowed:
				if st == 401 || st == 403 || st >= 500 && st != 503 {
					t.Errorf("%s %s as %s: %d, want access", method, path, name, st)
				}
			default:
				if st != 403 {
					t.Errorf("%s %s as %s: %d, want 403", method, path, name, st)
				}
			}
		}
	}
}

func (c *client) liveStatus() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.e.srv.URL+"/api/live", nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("GET /api/live: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func itoa(n int64) string { return strings.TrimSpace(strings.Replace(idPath("%d", n), " ", "", -1)) }

func TestScopesAreEnforcedInQueries(t *testing.T) {
	e := newEnv(t)
	plant := e.signIn(procure.RolePlant) // P01 only
	other := e.ids["ack-missing-2"]      // P02
	own := e.ids["ack-missing-3"]        // P01

	t.Run("plant user's queue holds only its plant", func(t *testing.T) {
		var page queuePage
		plant.mustOK("GET", "/api/exceptions?limit=100", nil, &page)
		if len(page.Items) == 0 {
			t.Fatal("empty queue")
		}
		for _, it := range page.Items {
			if it.Plant != "P01" {
				t.Errorf("plant user sees exception %d of plant %s", it.ID, it.Plant)
			}
		}
		plant.mustOK("GET", "/api/exceptions?plant=P02", nil, &page)
		if len(page.Items) != 0 {
			t.Errorf("plant=P02 gives %d exceptions to a P01 user", len(page.Items))
		}
	})
	t.Run("plant user reaching for another plant's exception gets 404", func(t *testing.T) {
		for _, p := range []string{"/api/exceptions/%d", "/api/exceptions/%d/timeline"} {
			if st := plant.do("GET", idPath(p, other), nil, nil); st != 404 {
				t.Errorf("GET %s: %d, want 404", p, st)
			}
		}
		st := plant.do("POST", idPath("/api/exceptions/%d/actions", other), map[string]any{"action": "acknowledge", "version": 1}, nil)
		if st != 404 {
			t.Errorf("acting on another plant's exception: %d, want 404", st)
		}
		if st := plant.do("POST", idPath("/api/exceptions/%d/comments", other), map[string]any{"note": "x"}, nil); st != 404 {
			t.Errorf("commenting on another plant's exception: %d, want 404", st)
		}
		var res struct {
			Results []struct{ OK bool } `json:"results"`
		}
		plant.mustOK("POST", "/api/exceptions/bulk", map[string]any{"action": "acknowledge", "items": []any{map[string]any{"id": other, "version": 1}}}, &res)
		if len(res.Results) != 1 || res.Results[0].OK {
			t.Errorf("bulk act on another plant's exception: %+v", res)
		}
		if st := plant.do("GET", idPath("/api/exceptions/%d", own), nil, nil); st != 200 {
			t.Errorf("own plant's exception: %d", st)
		}
	})
	t.Run("plant user gets 403 on another plant's board", func(t *testing.T) {
		if st := plant.do("GET", "/api/plants/P02/inbound", nil, nil); st != 403 {
			t.Errorf("%d, want 403", st)
		}
		if st := plant.do("GET", "/api/plants/P01/inbound", nil, nil); st != 200 {
			t.Errorf("own board: %d", st)
		}
	})
	t.Run("plant user's supplier view holds only its plant's orders", func(t *testing.T) {
		var v struct {
			Open []map[string]any `json:"open_orders"`
		}
		plant.mustOK("GET", "/api/suppliers/S2", nil, &v)
		for _, o := range v.Open {
			if o["plant"] != "P01" {
				t.Errorf("order %v of plant %v", o["po"], o["plant"])
			}
		}
	})
	t.Run("supplier token sees only its own documents", func(t *testing.T) {
		s1 := e.supplierToken("S1")
		var orders struct {
			Orders []map[string]any `json:"orders"`
		}
		s1.mustOK("GET", "/api/supplier/v1/orders", nil, &orders)
		if len(orders.Orders) != 1 || orders.Orders[0]["po"] != "4500000001" {
			t.Errorf("S1 orders: %v", orders.Orders)
		}
		for _, p := range []string{"/api/supplier/v1/orders/4500000002", "/api/supplier/v1/invoices/INV2", "/api/supplier/v1/orders/4500000003"} {
			if st := s1.do("GET", p, nil, nil); st != 404 {
				t.Errorf("S1 GET %s: %d, want 404", p, st)
			}
		}
		for _, p := range []string{"/api/exceptions", "/api/suppliers/S1", "/api/kpis", "/api/me"} {
			if st := s1.do("GET", p, nil, nil); st != 403 {
				t.Errorf("S1 GET %s: %d, want 403", p, st)
			}
		}
	})
	t.Run("supplier never sees internal financial controls", func(t *testing.T) {
		s1 := e.supplierToken("S1")
		for _, p := range []string{"/api/supplier/v1/invoices", "/api/supplier/v1/invoices/INV1", "/api/supplier/v1/orders/4500000001", "/api/supplier/v1/orders"} {
			st, b := s1.raw("GET", p, nil)
			if st != 200 {
				t.Fatalf("GET %s: %d %s", p, st, b)
			}
			for _, secret := range []string{"block_reason", "price_variance", "po_unit_price", "tolerance", "buyer", "note"} {
				if contains(b, secret) {
					t.Errorf("GET %s shows %q: %s", p, secret, b)
				}
			}
		}
	})
	t.Run("executive reads KPIs only", func(t *testing.T) {
		x := e.signIn(procure.RoleExecutive)
		if st := x.do("GET", "/api/kpis", nil, nil); st != 200 {
			t.Errorf("kpis: %d", st)
		}
		if st := x.do("GET", "/api/exceptions", nil, nil); st != 403 {
			t.Errorf("queue: %d, want 403", st)
		}
	})
}

func TestConcurrentUpdatesOneWinsOtherGetsConflictWithCurrentState(t *testing.T) {
	e := newEnv(t)
	a, b := e.signIn(procure.RoleProcurement), e.signIn(procure.RoleAdmin)
	id := e.ids["asn-over"]
	var x queueItem
	a.mustOK("GET", idPath("/api/exceptions/%d", id), nil, &struct {
		Exception *queueItem `json:"exception"`
	}{&x})
	v := x.Version

	type result struct {
		who    string
		status int
		body   errBody
	}
	results := make(chan result, 2)
	var wg sync.WaitGroup
	for who, cl := range map[string]*client{"anna": a, "bert": b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var eb errBody
			st := cl.do("POST", idPath("/api/exceptions/%d/actions", id), map[string]any{"action": "assign", "assignee": who}, &eb, "If-Match", `"`+itoa(v)+`"`)
			results <- result{who, st, eb}
		}()
	}
	wg.Wait()
	close(results)
	var won, lost []result
	for r := range results {
		switch r.status {
		case 200:
			won = append(won, r)
		case 409:
			lost = append(lost, r)
		default:
			t.Fatalf("%s: status %d", r.who, r.status)
		}
	}
	if len(won) != 1 || len(lost) != 1 {
		t.Fatalf("won %d, lost %d; want one each", len(won), len(lost))
	}
	cur := lost[0].body.Current
	if lost[0].body.Error.Code != procure.ECONFLICT || cur == nil || cur.Assignee != won[0].who || cur.Version != v+1 {
		t.Fatalf("409 body: %+v (current %+v)", lost[0].body.Error, cur)
	}
	// The loser re-applies on the current version: nothing is lost.
	loser := map[string]*client{"anna": a, "bert": b}[lost[0].who]
	if st := loser.do("POST", idPath("/api/exceptions/%d/actions", id), map[string]any{"action": "assign", "assignee": lost[0].who, "version": cur.Version}, nil); st != 200 {
		t.Fatalf("retry on current version: %d", st)
	}
	var d struct {
		Activity []procure.Activity `json:"activity"`
	}
	a.mustOK("GET", idPath("/api/exceptions/%d", id), nil, &d)
	var assigns []string
	for _, act := range d.Activity {
		if act.Action == "assign" {
			assigns = append(assigns, act.Note)
		}
	}
	if len(assigns) != 2 || assigns[0] != "to "+won[0].who || assigns[1] != "to "+lost[0].who {
		t.Fatalf("assign activity %v", assigns)
	}

	t.Run("ten writers on one version: exactly one wins", func(t *testing.T) {
		id := e.ids["ack-missing-3"]
		var x struct {
			Exception queueItem `json:"exception"`
		}
		a.mustOK("GET", idPath("/api/exceptions/%d", id), nil, &x)
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := a.do("POST", idPath("/api/exceptions/%d/actions", id), map[string]any{"action": "assign", "assignee": "u" + itoa(int64(i)), "version": x.Exception.Version}, nil)
				mu.Lock()
				codes[st]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[200] != 1 || codes[409] != 9 {
			t.Fatalf("statuses %v", codes)
		}
	})
}

func TestActions(t *testing.T) {
	e := newEnv(t)
	p := e.signIn(procure.RoleProcurement)
	id := e.ids["ack-missing-2"]
	get := func() queueItem {
		var d struct {
			Exception queueItem `json:"exception"`
		}
		p.mustOK("GET", idPath("/api/exceptions/%d", id), nil, &d)
		return d.Exception
	}
	act := func(body map[string]any) (int, errBody) {
		body["version"] = get().Version
		var eb errBody
		st := p.do("POST", idPath("/api/exceptions/%d/actions", id), body, &eb)
		return st, eb
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
		check  func(x queueItem) bool
	}{
		{"acknowledge moves to acknowledged", map[string]any{"action": "acknowledge"}, 200, "", func(x queueItem) bool { return x.State == "acknowledged" }},
		{"assign to me assigns the caller", map[string]any{"action": "assign", "assignee": "me"}, 200, "", func(x queueItem) bool { return x.Assignee == "demo-procurement" }},
		{"snooze without until is refused naming the field", map[string]any{"action": "snooze"}, 400, "until", nil},
		{"snooze for 4h hides it", map[string]any{"action": "snooze", "for": "4h"}, 200, "", func(x queueItem) bool { return x.SnoozedUntil.After(time.Now()) }},
		{"resolve without reason is refused naming the field", map[string]any{"action": "resolve"}, 400, "reason", nil},
		{"resolve with reason resolves", map[string]any{"action": "resolve", "reason": "supplier confirmed by phone"}, 200, "", func(x queueItem) bool {
			return x.State == "resolved" && x.Resolution == "supplier confirmed by phone"
		}},
		{"acknowledge a resolved exception is refused", map[string]any{"action": "acknowledge"}, 400, "", nil},
		{"reopen reopens", map[string]any{"action": "reopen", "reason": "not fixed"}, 200, "", func(x queueItem) bool { return x.State == "open" && x.SnoozedUntil.IsZero() }},
		{"ignore ignores", map[string]any{"action": "ignore", "reason": "duplicate of another"}, 200, "", func(x queueItem) bool { return x.State == "ignored" }},
		{"unknown action is refused naming the field", map[string]any{"action": "explode"}, 400, "action", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, eb := act(tc.body)
			if st != tc.status {
				t.Fatalf("status %d (%+v), want %d", st, eb.Error, tc.status)
			}
			if tc.field != "" && eb.Error.Field != tc.field {
				t.Errorf("field %q, want %q", eb.Error.Field, tc.field)
			}
			if tc.check != nil && !tc.check(get()) {
				t.Errorf("after: %+v", get())
			}
		})
	}
	t.Run("a missing version is refused", func(t *testing.T) {
		var eb errBody
		if st := p.do("POST", idPath("/api/exceptions/%d/actions", id), map[string]any{"action": "reopen"}, &eb); st != 400 || eb.Error.Field != "version" {
			t.Fatalf("%d %+v", st, eb)
		}
	})
	t.Run("comment is in the activity and every change is audited", func(t *testing.T) {
		p.mustOK("POST", idPath("/api/exceptions/%d/comments", id), map[string]any{"note": "called S2"}, nil)
		var d struct {
			Activity []procure.Activity `json:"activity"`
		}
		p.mustOK("GET", idPath("/api/exceptions/%d", id), nil, &d)
		last := d.Activity[len(d.Activity)-1]
		if last.Action != "comment" || last.Note != "called S2" || last.Actor.Name != "demo-procurement" {
			t.Fatalf("last activity %+v", last)
		}
		var audit struct {
			Entries []procure.AuditEntry `json:"entries"`
		}
		e.signIn(procure.RoleAdmin).mustOK("GET", "/api/audit", nil, &audit)
		actions := map[string]bool{}
		for _, a := range audit.Entries {
			actions[a.Action] = true
			if a.Action == "exception.comment" && (a.Actor != "demo-procurement" || a.RemoteAddr == "" || a.At.IsZero()) {
				t.Errorf("audit entry %+v", a)
			}
		}
		for _, want := range []string{"exception.acknowledge", "exception.assign", "exception.snooze", "exception.resolve", "exception.reopen", "exception.ignore", "exception.comment", "auth.sign_in"} {
			if !actions[want] {
				t.Errorf("no audit entry %s", want)
			}
		}
	})
}

func TestQueue(t *testing.T) {
	e := newEnv(t)
	p := e.signIn(procure.RoleProcurement)
	list := func(q string) []queueItem {
		var page queuePage
		p.mustOK("GET", "/api/exceptions?"+q, nil, &page)
		return page.Items
	}
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"all active, by priority", "", nil},
		{"severity critical", "severity=critical", []string{"asn-over"}},
		{"rule", "rule=po-not-acknowledged", []string{"ack-missing-2", "ack-missing-3"}},
		{"plant and supplier", "plant=P01&supplier=S2", []string{"ack-missing-3"}},
		{"team", "team=integration", []string{"delivery"}},
		{"search by invoice number", "q=INV1", []string{"price"}},
		{"search by PO number", "q=4500000002", []string{"ack-missing-2"}},
		{"search by correlation id finds the chain", "q=C2", []string{"ack-missing-2"}},
		{"age older than 2 hours finds none", "age=2h", []string{}},
		{"subject kind message", "subject_kind=message", []string{"delivery"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items := list(tc.query)
			if tc.want == nil {
				if len(items) != 5 {
					t.Fatalf("%d items", len(items))
				}
				for i := 1; i < len(items); i++ {
					if items[i].Priority < items[i-1].Priority {
						t.Fatalf("not sorted by priority: %d after %d", items[i].Priority, items[i-1].Priority)
					}
				}
				return
			}
			var got []string
			for _, it := range items {
				for n, id := range e.ids {
					if id == it.ID {
						got = append(got, n)
					}
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("cursor pages through everything once", func(t *testing.T) {
		seen := map[int64]bool{}
		cur := ""
		for range 10 {
			var page queuePage
			p.mustOK("GET", "/api/exceptions?limit=2&cursor="+url.QueryEscape(cur), nil, &page)
			for _, it := range page.Items {
				if seen[it.ID] {
					t.Fatalf("exception %d twice", it.ID)
				}
				seen[it.ID] = true
			}
			if cur = page.NextCursor; cur == "" {
				break
			}
		}
		if len(seen) != 5 {
			t.Fatalf("saw %d of 5", len(seen))
		}
	})
	t.Run("bad filter is refused naming the field", func(t *testing.T) {
		var eb errBody
		if st := p.do("GET", "/api/exceptions?severity=urgent", nil, &eb); st != 400 || eb.Error.Field != "severity" {
			t.Fatalf("%d %+v", st, eb)
		}
	})
	t.Run("saved views are per user", func(t *testing.T) {
		p.mustOK("POST", "/api/views", map[string]any{"name": "critical P01", "query": "severity=critical&plant=P01"}, nil)
		var vs struct {
			Views []procure.SavedView `json:"views"`
		}
		p.mustOK("GET", "/api/views", nil, &vs)
		if len(vs.Views) != 1 || vs.Views[0].Query != "severity=critical&plant=P01" {
			t.Fatalf("views %+v", vs.Views)
		}
		e.signIn(procure.RoleAdmin).mustOK("GET", "/api/views", nil, &vs)
		if len(vs.Views) != 0 {
			t.Fatalf("admin sees procurement's views: %+v", vs.Views)
		}
	})
}

func TestDetailAndTimeline(t *testing.T) {
	e := newEnv(t)
	p := e.signIn(procure.RoleProcurement)
	var d struct {
		Exception queueItem     `json:"exception"`
		Chain     procure.Chain `json:"chain"`
		Documents []procure.Document
		Activity  []procure.Activity `json:"activity"`
	}
	p.mustOK("GET", idPath("/api/exceptions/%d", e.ids["price"]), nil, &d)
	steps := map[string]string{}
	for _, s := range d.Chain.Steps {
		steps[s.Step] = s.Status
	}
	want := map[string]string{"po": "done", "acknowledgement": "done", "asn": "attention", "quality": "attention", "invoice": "attention", "receipt": "due"}
	for k, v := range want {
		if steps[k] != v {
			t.Errorf("chain step %s: %q, want %q (%+v)", k, steps[k], v, d.Chain.Steps)
		}
	}
	if len(d.Activity) == 0 || d.Activity[0].Action != "opened" {
		t.Errorf("activity %+v", d.Activity)
	}
	var tl struct {
		Entries []procure.TimelineEntry `json:"entries"`
	}
	p.mustOK("GET", idPath("/api/exceptions/%d/timeline", e.ids["price"]), nil, &tl)
	var kinds []string
	for _, en := range tl.Entries {
		kinds = append(kinds, en.Kind+":"+en.Type)
	}
	for _, w := range []string{"event:po.released", "event:po.acknowledged", "event:asn.submitted", "event:message.failed", "event:invoice.status_changed", "span:POST /wms/asn"} {
		if !slices.Contains(kinds, w) {
			t.Errorf("timeline lacks %s: %v", w, kinds)
		}
	}
	if slices.Contains(kinds, "event:po.released") && slices.ContainsFunc(tl.Entries, func(e procure.TimelineEntry) bool { return e.DocumentID == "4500000002" }) {
		t.Errorf("timeline has another chain's events")
	}
	for i := 1; i < len(tl.Entries); i++ {
		if tl.Entries[i].At.Before(tl.Entries[i-1].At) {
			t.Fatal("timeline not in time order")
		}
	}
}

func TestRetryNeedsPreviewAndRepublishesWithOriginalKey(t *testing.T) {
	e := newEnv(t)
	o := e.signIn(procure.RoleOncall)
	id := e.ids["delivery"]
	var eb errBody
	if st := o.do("POST", "/api/retries", map[string]any{"exception_ids": []int64{id}}, &eb); st != 400 || eb.Error.Field != "confirm" {
		t.Fatalf("retry without preview: %d %+v", st, eb)
	}
	var pv struct {
		Plans   []procure.RetryPlan `json:"plans"`
		Confirm string              `json:"confirm"`
	}
	o.mustOK("POST", "/api/retries/preview", map[string]any{"exception_ids": []int64{id}}, &pv)
	pl := pv.Plans[0]
	if pl.Topic != "supplywatch.retry.wms" || pl.IdempotencyKey != "IK-ASN1-1" || pl.Blocked != "" || pl.Risk != "low" || pl.PayloadBytes == 0 {
		t.Fatalf("plan %+v", pl)
	}
	if st := o.do("POST", "/api/retries", map[string]any{"exception_ids": []int64{id}, "confirm": "stale"}, nil); st != 409 {
		t.Fatalf("retry with a stale confirm: %d", st)
	}
	var res struct {
		Retries []procure.Retry `json:"retries"`
	}
	o.mustOK("POST", "/api/retries", map[string]any{"exception_ids": []int64{id}, "confirm": pv.Confirm}, &res)
	msgs := e.pub.all()
	if len(msgs) != 1 || msgs[0].Topic != "supplywatch.retry.wms" || string(msgs[0].Key) != "IK-ASN1-1" ||
		msgs[0].Headers[kafka.HeaderIdempotencyKey] != "IK-ASN1-1" || !strings.Contains(string(msgs[0].Value), `"asn":"ASN1"`) {
		t.Fatalf("published %+v", msgs)
	}
	t.Run("a second retry before the outcome is a high duplicate risk", func(t *testing.T) {
		o.mustOK("POST", "/api/retries/preview", map[string]any{"exception_ids": []int64{id}}, &pv)
		if pv.Plans[0].Risk != "high" || pv.Plans[0].PreviousTries != 1 {
			t.Fatalf("plan %+v", pv.Plans[0])
		}
	})
	t.Run("the outcome is tracked on the exception", func(t *testing.T) {
		time.Sleep(10 * time.Millisecond)
		evs := []procure.Received{deliveredEvent(t, "E9", time.Now().UTC())}
		if err := e.facts.InsertEvents(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		var d struct {
			Retries  []procure.Retry    `json:"retries"`
			Activity []procure.Activity `json:"activity"`
		}
		o.mustOK("GET", idPath("/api/exceptions/%d", id), nil, &d)
		if len(d.Retries) != 1 || d.Retries[0].Status != procure.RetryDelivered {
			t.Fatalf("retries %+v", d.Retries)
		}
		if !slices.ContainsFunc(d.Activity, func(a procure.Activity) bool { return a.Action == "retry" }) {
			t.Fatalf("no retry activity: %+v", d.Activity)
		}
	})
	t.Run("reading the outcome stores nothing; planning the next retry stores it", func(t *testing.T) {
		stored := func() string {
			t.Helper()
			rs, err := e.store.FindRetries(context.Background(), procure.Scope{Tenant: tenant}, id, 10)
			if err != nil || len(rs) != 1 {
				t.Fatalf("stored retries %+v %v", rs, err)
			}
			return rs[0].Status
		}
		var l struct {
			Retries []procure.Retry `json:"retries"`
		}
		o.mustOK("GET", "/api/retries", nil, &l)
		if len(l.Retries) != 1 || l.Retries[0].Status != procure.RetryDelivered {
			t.Fatalf("listed retries %+v", l.Retries)
		}
		if s := stored(); s != procure.RetryPublished {
			t.Fatalf("after the GETs the stored retry is %s, want %s: a GET writes nothing", s, procure.RetryPublished)
		}
		o.mustOK("POST", "/api/retries/preview", map[string]any{"exception_ids": []int64{id}}, &pv)
		if s := stored(); s != procure.RetryDelivered {
			t.Fatalf("after the preview the stored retry is %s, want %s", s, procure.RetryDelivered)
		}
		if pv.Plans[0].Risk == "high" || pv.Plans[0].PreviousTries != 1 {
			t.Fatalf("plan after a delivered retry: %+v", pv.Plans[0])
		}
	})
	t.Run("a plant user may not retry", func(t *testing.T) {
		if st := e.signIn(procure.RolePlant).do("POST", "/api/retries/preview", map[string]any{"exception_ids": []int64{id}}, nil); st != 403 {
			t.Fatalf("%d", st)
		}
	})
}

func deliveredEvent(t *testing.T, id string, at time.Time) procure.Received {
	b, _ := json.Marshal(procure.Delivery{MessageID: "MSG1", Target: "wms", DocumentType: "asn.submitted"})
	x := &procure.Event{ID: id, Type: procure.MessageDelivered, Source: procure.SourceMiddleware, Tenant: tenant, OccurredAt: at,
		CorrelationID: "C1", Plant: "P01", Supplier: "S1", Document: procure.DocumentRef{Kind: procure.DocMessage, ID: "MSG1"}, Data: b}
	raw, err := procure.Encode(x)
	if err != nil {
		t.Fatal(err)
	}
	return procure.Received{Event: x, Raw: raw, Channel: "kafka", ReceivedAt: at}
}

func TestDeadLetterRedrive(t *testing.T) {
	e := newEnv(t)
	o := e.signIn(procure.RoleOncall)
	var dl struct {
		Rejected []procure.Rejected `json:"rejected"`
	}
	o.mustOK("GET", "/api/deadletter", nil, &dl)
	if len(dl.Rejected) != 1 || dl.Rejected[0].EventID != "BAD1" {
		t.Fatalf("dead letter %+v (another tenant's must not show)", dl.Rejected)
	}
	o.mustOK("POST", "/api/deadletter/redrive", map[string]any{"input_ids": []string{dl.Rejected[0].InputID, "kafka/supplywatch.events/1/3"}}, nil)
	msgs := e.pub.all()
	if len(msgs) != 1 || msgs[0].Topic != "supplywatch.events" || !strings.Contains(string(msgs[0].Value), "BAD1") {
		t.Fatalf("published %+v", msgs)
	}
}

func TestSessionsNeedCSRFForChanges(t *testing.T) {
	e := newEnv(t)
	p := e.signIn(procure.RoleProcurement)
	csrf := p.csrf
	p.csrf = ""
	var eb errBody
	if st := p.do("POST", idPath("/api/exceptions/%d/comments", e.ids["asn-over"]), map[string]any{"note": "x"}, &eb); st != 403 || !strings.Contains(eb.Error.Message, "CSRF") {
		t.Fatalf("without CSRF header: %d %+v", st, eb)
	}
	p.csrf = "wrong"
	if st := p.do("POST", idPath("/api/exceptions/%d/comments", e.ids["asn-over"]), map[string]any{"note": "x"}, nil); st != 403 {
		t.Fatalf("with a wrong CSRF header: %d", st)
	}
	p.csrf = csrf
	if st := p.do("POST", idPath("/api/exceptions/%d/comments", e.ids["asn-over"]), map[string]any{"note": "x"}, nil); st != 201 {
		t.Fatalf("with the CSRF header: %d", st)
	}
	t.Run("session cookie is HttpOnly and SameSite Strict", func(t *testing.T) {
		s := e.signIns[procure.RoleProcurement]
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/auth/login", strings.NewReader(`{"login":"`+s.Login+`","password":"`+s.Password+`"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var found bool
		for _, ck := range resp.Cookies() {
			if ck.Name == "sw_session" {
				found = true
				if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
					t.Errorf("session cookie %+v", ck)
				}
			}
		}
		if !found {
			t.Fatal("no session cookie")
		}
	})
	t.Run("wrong password is 401 and audited", func(t *testing.T) {
		if st := e.anonymous().do("POST", "/api/auth/login", map[string]string{"login": "demo-admin", "password": "nope-nope-nope"}, nil); st != 401 {
			t.Fatalf("%d", st)
		}
	})
	t.Run("user API token needs no CSRF and can be revoked", func(t *testing.T) {
		admin := e.signIn(procure.RoleAdmin)
		var tok struct {
			Token  procure.Token `json:"token"`
			Secret string        `json:"secret"`
		}
		if st := admin.do("POST", "/api/tokens", map[string]any{"name": "as-oncall", "login": "demo-oncall"}, nil); st != 403 {
			t.Fatalf("an admin minting a token that acts as another user: %d, want 403", st)
		}
		admin.mustOK("POST", "/api/tokens", map[string]any{"name": "ci", "login": "demo-admin"}, &tok)
		tc := e.withToken(tok.Secret)
		if st := tc.do("POST", idPath("/api/exceptions/%d/comments", e.ids["asn-over"]), map[string]any{"note": "via token"}, nil); st != 201 {
			t.Fatalf("token comment: %d", st)
		}
		admin.mustOK("DELETE", idPath("/api/tokens/%d", tok.Token.ID), nil, nil)
		if st := tc.do("GET", "/api/exceptions", nil, nil); st != 401 {
			t.Fatalf("revoked token: %d", st)
		}
	})
}

func TestOIDCSignInRedirectsToTheProvider(t *testing.T) {
	var issuer string
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "authorization_endpoint": issuer + "/authorize",
			"token_endpoint": issuer + "/token", "jwks_uri": issuer + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"}})
	}))
	defer idp.Close()
	issuer = idp.URL
	c, err := console.New(console.Config{PublicURL: "https://console.example", OIDC: console.OIDCConfig{Issuer: issuer, ClientID: "sw-console", ClientSecret: "s"}},
		console.Deps{Store: struct{ console.Store }{}, Facts: struct{ console.Facts }{}})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	c.Register(r)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/api/auth/oidc/login", nil))
	if w.Code != 302 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	q := loc.Query()
	if loc.Scheme+"://"+loc.Host+loc.Path != issuer+"/authorize" || q.Get("client_id") != "sw-console" || q.Get("state") == "" || q.Get("nonce") == "" ||
		q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != "https://console.example/api/auth/oidc/callback" || !strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("redirect %s", loc)
	}
	ck := w.Result().Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || !ck[0].Secure || !strings.HasPrefix(ck[0].Value, q.Get("state")+".") {
		t.Fatalf("state cookie %+v", ck)
	}
	t.Run("a callback with another state is refused", func(t *testing.T) {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/auth/oidc/callback?state=forged&code=x", nil)
		req.AddCookie(ck[0])
		r.ServeHTTP(w, req)
		if w.Code != 401 {
			t.Fatalf("%d", w.Code)
		}
	})
}

func TestLiveUpdatesStreamScopedChanges(t *testing.T) {
	e := newEnv(t)
	p := e.signIn(procure.RolePlant) // P01
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/live", nil)
	resp, err := p.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	time.Sleep(200 * time.Millisecond) // subscribed before the changes
	admin := e.signIn(procure.RoleAdmin)
	for _, name := range []string{"ack-missing-2", "asn-over"} { // P02 (not visible), then P01
		var d struct {
			Exception queueItem `json:"exception"`
		}
		admin.mustOK("GET", idPath("/api/exceptions/%d", e.ids[name]), nil, &d)
		admin.mustOK("POST", idPath("/api/exceptions/%d/actions", e.ids[name]), map[string]any{"action": "acknowledge", "version": d.Exception.Version}, nil)
	}
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 1024)
	for !strings.Contains(string(buf), "event: exception") {
		n, err := resp.Body.Read(tmp)
		if err != nil {
			t.Fatalf("stream: %v (%s)", err, buf)
		}
		buf = append(buf, tmp[:n]...)
	}
	var data string
	for _, line := range strings.Split(string(buf), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(d, "exception") {
			data = d
			break
		}
	}
	var ev struct {
		procure.OutboxEvent
		Exception *queueItem `json:"exception"`
	}
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		t.Fatalf("%q: %v", data, err)
	}
	if ev.Exception == nil || ev.Exception.ValueAtRisk != "120.00" || ev.Exception.ResolvedAt != (time.Time{}) {
		t.Errorf("live update's exception %+v: want value at risk \"120.00\", resolved_at null", ev.Exception)
	}
	if ev.ExceptionID != e.ids["asn-over"] || ev.Kind != procure.OutboxAcknowledged {
		t.Fatalf("first event %+v; the P02 change must not reach a P01 user", ev)
	}
}

func TestRoutingSendsNewExceptionsToTeams(t *testing.T) {
	e := newEnv(t)
	p := e.signIn(procure.RoleProcurement)
	p.mustOK("POST", "/api/teams", map[string]any{"name": "expediting", "default_assignee": "eva", "members": []string{"eva", "otto"}}, nil)
	p.mustOK("POST", "/api/routing/rules", map[string]any{"rule": "po-not-acknowledged", "plant": "P03", "team": "expediting"}, nil)
	if st := e.signIn(procure.RolePlant).do("POST", "/api/routing/rules", map[string]any{"team": "x"}, nil); st != 403 {
		t.Fatalf("plant user changing routing: %d", st)
	}
	// The rules engine raises a new exception at P03.
	ctx := context.Background()
	var id int64
	err := postgresState(e).InTx(ctx, func(tx procure.StateTx) error {
		x, err := tx.Exceptions().RaiseException(ctx, &procure.ExceptionCandidate{Tenant: tenant, Rule: "po-not-acknowledged", Kind: procure.KindSLA,
			Subject: "po/4500000099", Title: "PO not acknowledged", Message: "m", Severity: procure.SeverityHigh, Team: "procurement", Plant: "P03", Supplier: "S9", At: time.Now()})
		if x != nil {
			id = x.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var d struct {
			Exception queueItem          `json:"exception"`
			Activity  []procure.Activity `json:"activity"`
		}
		p.mustOK("GET", idPath("/api/exceptions/%d", id), nil, &d)
		if d.Exception.Team == "expediting" && d.Exception.Assignee == "eva" {
			if a := d.Activity[len(d.Activity)-1]; a.Action != "routed" || a.Actor.Name != "routing" {
				t.Fatalf("activity %+v", a)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not routed: team %q assignee %q", d.Exception.Team, d.Exception.Assignee)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Automatic retries are recorded before any exception exists; the
// exception about their message shows them, and the policies are readable.
func TestPolicyRetriesShowOnTheExceptionOfTheirMessage(t *testing.T) {
	e := newEnv(t)
	o := e.signIn(procure.RoleOncall)
	id := e.ids["delivery"]
	for i := range 2 {
		r := &procure.Retry{Tenant: tenant, MessageID: "MSG1", Target: "wms", Topic: "supplywatch.retry.wms", IdempotencyKey: "IK-ASN1-1",
			RequestedBy: "policy", RequestedAt: time.Now().Add(time.Duration(i-5) * time.Minute), Status: procure.RetryRedeliveryFailed}
		if err := e.store.CreateRetry(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	var d struct {
		Retries []procure.Retry `json:"retries"`
	}
	o.mustOK("GET", idPath("/api/exceptions/%d", id), nil, &d)
	if len(d.Retries) != 2 || d.Retries[0].RequestedBy != "policy" || d.Retries[0].ExceptionID != id {
		t.Fatalf("retries on the exception %+v", d.Retries)
	}
	var l struct {
		Retries []procure.Retry `json:"retries"`
	}
	o.mustOK("GET", "/api/retries", nil, &l)
	if len(l.Retries) != 2 || l.Retries[1].ExceptionID != id {
		t.Fatalf("retries %+v", l.Retries)
	}
	var p struct {
		Enabled  bool `json:"enabled"`
		Policies []struct {
			Name        string   `json:"name"`
			Classes     []string `json:"classes"`
			MaxAttempts int      `json:"max_attempts"`
			Backoff     struct {
				Initial string `json:"initial"`
			} `json:"backoff"`
		} `json:"policies"`
	}
	o.mustOK("GET", "/api/retry-policies", nil, &p)
	if !p.Enabled || len(p.Policies) != 2 || p.Policies[0].Name != "transient" || p.Policies[0].MaxAttempts != 5 || p.Policies[0].Backoff.Initial != "30s" {
		t.Fatalf("policies %+v", p)
	}
}
