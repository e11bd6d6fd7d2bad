package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/procure"
)

// loginFrom signs in from a client address (the test server trusts
// X-Forwarded-For) and returns the status and Retry-After.
func (c *client) loginFrom(addr, login, password string) (int, string) {
	c.e.t.Helper()
	req, _ := http.NewRequest("POST", c.e.srv.URL+"/api/auth/login", jsonBody(map[string]string{"login": login, "password": password}))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

func TestFailedSignInsAreThrottledPerLoginAndPerAddress(t *testing.T) {
	e := newEnv(t)
	c := e.anonymous()
	proc, oncall := e.signIns[procure.RoleProcurement], e.signIns[procure.RoleOncall]

	t.Run("a login with 5 failures in a row must wait, even with the right password", func(t *testing.T) {
		for i := range 5 {
			if st, _ := c.loginFrom("10.0.0.1", proc.Login, "wrong password"); st != 401 {
				t.Fatalf("failure %d: %d", i+1, st)
			}
		}
		st, after := c.loginFrom("10.0.0.9", proc.Login, proc.Password)
		if secs, _ := strconv.Atoi(after); st != 429 || secs < 1 || secs > 60 {
			t.Fatalf("6th attempt: %d, Retry-After %q", st, after)
		}
	})
	t.Run("another user from the same address signs in", func(t *testing.T) {
		if st, _ := c.loginFrom("10.0.0.1", oncall.Login, oncall.Password); st != 200 {
			t.Fatalf("%d", st)
		}
	})
	t.Run("an address with 20 failures must wait, other addresses not", func(t *testing.T) {
		for i := range 20 {
			if st, _ := c.loginFrom("10.0.0.2", fmt.Sprintf("guess%d", i), "wrong password"); st != 401 {
				t.Fatalf("failure %d: %d", i+1, st)
			}
		}
		if st, after := c.loginFrom("10.0.0.2", "guess-more", "wrong password"); st != 429 || after == "" {
			t.Fatalf("21st failure: %d, Retry-After %q", st, after)
		}
		if st, _ := c.loginFrom("10.0.0.2", oncall.Login, oncall.Password); st != 429 {
			t.Fatalf("from the throttled address: %d", st)
		}
		if st, _ := c.loginFrom("10.0.0.3", oncall.Login, oncall.Password); st != 200 {
			t.Fatalf("from another address: %d", st)
		}
	})
}

func TestAdminDisablesUsersAndChangesTheirRoleAndPlants(t *testing.T) {
	e := newEnv(t)
	admin := e.signIn(procure.RoleAdmin)
	proc := e.signIn(procure.RoleProcurement)
	var users struct {
		Users []procure.User `json:"users"`
	}
	admin.mustOK("GET", "/api/users", nil, &users)
	ids := map[string]int64{}
	for _, u := range users.Users {
		ids[u.Role] = u.ID
	}
	id := ids[procure.RoleProcurement]
	secret, err := console.NewToken(context.Background(), e.store, &procure.Token{Tenant: tenant, Name: "ci", UserID: id, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	tok := e.withToken(secret)
	path := idPath("/api/users/%d", id)

	t.Run("a role and scope change applies at the user's next request", func(t *testing.T) {
		var u procure.User
		admin.mustOK("PATCH", path, map[string]any{"role": "plant", "plants": []string{"P02"}}, &u)
		if u.Role != procure.RolePlant || len(u.Plants) != 1 || u.Plants[0] != "P02" {
			t.Fatalf("changed to %+v", u)
		}
		var me struct {
			Role   string   `json:"role"`
			Plants []string `json:"plants"`
		}
		proc.mustOK("GET", "/api/me", nil, &me)
		if me.Role != procure.RolePlant || len(me.Plants) != 1 || me.Plants[0] != "P02" {
			t.Fatalf("me %+v", me)
		}
		if st := tok.do("GET", "/api/teams", nil, nil); st != 403 {
			t.Fatalf("plant user's token on /api/teams: %d", st)
		}
	})
	t.Run("disabling ends sessions and tokens at once", func(t *testing.T) {
		admin.mustOK("PATCH", path, map[string]any{"disabled": true}, nil)
		if st := proc.do("GET", "/api/me", nil, nil); st != 401 {
			t.Fatalf("session of a disabled user: %d", st)
		}
		if st := tok.do("GET", "/api/me", nil, nil); st != 401 {
			t.Fatalf("token of a disabled user: %d", st)
		}
		s := e.signIns[procure.RoleProcurement]
		if st := e.anonymous().do("POST", "/api/auth/login", map[string]string{"login": s.Login, "password": s.Password}, nil); st != 401 {
			t.Fatalf("sign-in of a disabled user: %d", st)
		}
	})
	t.Run("enabled again with another role, the plant scope goes", func(t *testing.T) {
		var u procure.User
		admin.mustOK("PATCH", path, map[string]any{"disabled": false, "role": "procurement"}, &u)
		if u.Disabled || u.Role != procure.RoleProcurement || len(u.Plants) != 0 {
			t.Fatalf("%+v", u)
		}
		if st := tok.do("GET", "/api/teams", nil, nil); st != 200 {
			t.Fatalf("token after enabling: %d", st)
		}
	})
	t.Run("invalid changes are refused", func(t *testing.T) {
		for name, c := range map[string]struct {
			path  string
			body  map[string]any
			st    int
			field string
		}{
			"plant role without plants": {idPath("/api/users/%d", ids[procure.RoleExecutive]), map[string]any{"role": "plant"}, 400, "plants"},
			"plants for a non-plant":    {path, map[string]any{"plants": []string{"P01"}}, 400, "plants"},
			"unknown role":              {path, map[string]any{"role": "root"}, 400, "role"},
			"nothing to change":         {path, map[string]any{}, 400, "role"},
			"disable yourself":          {idPath("/api/users/%d", ids[procure.RoleAdmin]), map[string]any{"disabled": true}, 400, "role"},
			"demote yourself":           {idPath("/api/users/%d", ids[procure.RoleAdmin]), map[string]any{"role": "oncall"}, 400, "role"},
			"unknown user":              {"/api/users/999999", map[string]any{"disabled": true}, 404, ""},
		} {
			var eb errBody
			if st := admin.do("PATCH", c.path, c.body, &eb); st != c.st || eb.Error.Field != c.field {
				t.Errorf("%s: %d %+v", name, st, eb)
			}
		}
	})
	t.Run("changes are audited: who, what, when, from where", func(t *testing.T) {
		var a struct {
			Entries []procure.AuditEntry `json:"entries"`
		}
		admin.mustOK("GET", "/api/audit", nil, &a)
		seen := map[string]bool{}
		for _, x := range a.Entries {
			if x.Target != "user/demo-procurement" || x.Actor != "demo-admin" {
				continue
			}
			var d struct {
				Before, After struct {
					Role     string `json:"role"`
					Disabled bool   `json:"disabled"`
				}
			}
			json.Unmarshal(x.Detail, &d)
			if x.RemoteAddr == "" || x.At.IsZero() {
				t.Errorf("entry without time or address: %+v", x)
			}
			seen[x.Action+" "+d.Before.Role+">"+d.After.Role] = true
		}
		for _, want := range []string{"user.update procurement>plant", "user.disable plant>plant", "user.enable plant>procurement"} {
			if !seen[want] {
				t.Errorf("no audit entry %q in %v", want, seen)
			}
		}
	})
}

func jsonBody(v any) *bytes.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// peakHeap samples the heap in use of this process (the console runs in
// it) until stop is closed and returns the largest value seen.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// storm sends n sign-ins at once (login(i), a wrong password, from addr)
// and counts the answers by status.
func storm(c *client, n int, addr string, login func(i int) string) map[int]int {
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", c.e.srv.URL+"/api/auth/login", jsonBody(map[string]string{"login": login(i), "password": "wrong password"}))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", addr)
			resp, err := c.hc.Do(req)
			st := 0
			if err == nil {
				st = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

// A 401 is a password that was checked; a 429 one that was not.
func TestParallelWrongPasswordsAreCountedBeforeHashingAndHashingIsBounded(t *testing.T) {
	e := newEnv(t, func(c *console.Config, _ *console.Deps) {
		c.LoginLimit = console.LoginLimit{PerLogin: 5, PerAddress: 1000, Concurrent: 4}
	})
	c := e.anonymous()
	c.hc.Transport = &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: 200}
	proc := e.signIns[procure.RoleProcurement]

	t.Run("200 parallel guesses for one login check at most 5 passwords", func(t *testing.T) {
		stop := make(chan struct{})
		peak := peakHeap(stop)
		got := storm(c, 200, "10.1.0.1", func(int) string { return proc.Login })
		close(stop)
		mb := float64(<-peak) / (1 << 20)
		t.Logf("answers %v, peak heap %.0f MB", got, mb)
		if got[401] == 0 || got[401] > 5 || got[401]+got[429] != 200 {
			t.Fatalf("answers %v: want at most 5 checked (401), the rest 429", got)
		}
		if mb > 300 {
			t.Fatalf("peak heap %.0f MB, want under 300", mb)
		}
	})
	t.Run("200 parallel guesses for 200 logins hash at most 4 at once", func(t *testing.T) {
		stop := make(chan struct{})
		peak := peakHeap(stop)
		got := storm(c, 200, "10.1.0.2", func(i int) string { return fmt.Sprintf("guess%d", i) })
		close(stop)
		mb := float64(<-peak) / (1 << 20)
		t.Logf("answers %v, peak heap %.0f MB", got, mb)
		if got[401] == 0 || got[429] == 0 || got[401]+got[429] != 200 {
			t.Fatalf("answers %v: want some checked (401) and the rest refused while 4 hash (429)", got)
		}
		if mb > 300 {
			t.Fatalf("peak heap %.0f MB, want under 300 (200 unbounded argon2id checks take 3.8 GB)", mb)
		}
	})
	t.Run("a login longer than 64 characters is refused before it is a key or an audit row", func(t *testing.T) {
		st, _ := c.loginFrom("10.1.0.3", strings.Repeat("a", 65), "wrong password")
		if st != 400 {
			t.Fatalf("%d, want 400", st)
		}
	})
	t.Run("the right password still signs in once the storm is over", func(t *testing.T) {
		if st, _ := c.loginFrom("10.1.0.4", e.signIns[procure.RoleOncall].Login, e.signIns[procure.RoleOncall].Password); st != 200 {
			t.Fatalf("%d", st)
		}
	})
}
