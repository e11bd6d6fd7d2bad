package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/procure"
)

// axeViolation is one rule axe-core found broken on a page.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// TestEveryRolesPagesInChromium signs in as each role, opens every page
// the role has, keeps a screenshot of each in test-artifacts/console-roles
// and checks each with axe-core (WCAG 2 A/AA rules): a serious or critical
// violation fails the test. Pages must load without an error state.
func TestEveryRolesPagesInChromium(t *testing.T) {
	if !console.WebBuilt() {
		t.Fatal("e2e: the web bundle is not built: cd console/web && npm ci && npm run build")
	}
	axe, err := os.ReadFile(filepath.Join("web", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("e2e: axe-core is needed (cd console/web && npm ci): %v", err)
	}
	var kq *kpi.Querier
	e := newEnv(t, func(_ *console.Config, d *console.Deps) {
		d.Drill = kpiDrill(func() *kpi.Querier { return kq })
		d.PlantZones = map[string]string{"P01": "America/Chicago"}
	})
	ctx := context.Background()
	// The KPI API beside the console, as the service wires it, over rolled-up fixture facts.
	kcfg := kpi.Config{}
	kcfg.Defaults()
	kq = kpi.NewQuerier(e.ch, e.chdb, kcfg, nil)
	if _, err := kpi.NewRefresher(e.ch, e.chdb, kcfg, slog.New(slog.DiscardHandler), nil).RefreshAll(ctx, time.Now()); err != nil {
		t.Fatalf("kpi refresh: %v", err)
	}
	r := gin.New()
	kpi.NewHandler(kq, kpi.HandlerOptions{Tenant: console.TenantOf}).Register(r, e.console.Guard(console.TenantWide...))
	e.console.Register(r)
	srv := httptest.NewServer(r)
	defer srv.Close()
	base := srv.URL

	artifacts := artifactDir(t, "console-roles")
	actx := browser(t)

	x := e.ids["ack-missing-3"] // plant P01, supplier S2
	pages := map[string][]string{
		procure.RoleExecutive:   {"/dashboard", "/dashboard?kpi=invoice_exception_rate&bucket=day&cat=1", "/dashboard?kpi=otif&plant=P01", "/kpis"},
		procure.RoleProcurement: {"/dashboard", "/queue", "/queue?kpi=invoice_exception_rate&from=" + e.now.AddDate(0, 0, -30).Format(time.DateOnly) + "&to=" + e.now.AddDate(0, 0, 2).Format(time.DateOnly), fmt.Sprintf("/exceptions/%d", x), "/groups", "/plants", "/plants/P01", "/suppliers/S2", "/retries", "/routing", "/kpis"},
		procure.RolePlant:       {"/queue", fmt.Sprintf("/exceptions/%d", x), "/plants/P01", "/groups", "/kpis"},
		procure.RoleOncall:      {"/queue", "/retries", "/deadletter", "/ops", "/dashboard", "/kpis"},
		procure.RoleAdmin:       {"/users", "/tokens", "/audit", "/ops", "/dashboard"},
	}
	landing := map[string]string{procure.RoleExecutive: "/dashboard", procure.RoleProcurement: "/queue", procure.RolePlant: "/queue", procure.RoleOncall: "/queue", procure.RoleAdmin: "/queue"}
	for _, role := range []string{procure.RoleExecutive, procure.RoleProcurement, procure.RolePlant, procure.RoleOncall, procure.RoleAdmin} {
		t.Run(role, func(t *testing.T) {
			bctx, cancel := chromedp.NewContext(actx) // a fresh tab and cookie jar per role
			defer cancel()
			if err := chromedp.Do(bctx); err != nil {
				t.Fatalf("start chromium: %v", err)
			}
			ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
			defer cancel()
			shot := func(name string) {
				buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("screenshot %s: %v", name, err)
				}
				os.WriteFile(filepath.Join(artifacts, role+"-"+name+".png"), buf, 0o644)
			}
			poll := func(expr string) error {
				_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second)))
				return err
			}
			s := e.signIns[role]
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#login`)),
				chromedp.SendKeys(chromedp.CSS(`#login`), s.Login), chromedp.SendKeys(chromedp.CSS(`#password`), s.Password),
				chromedp.Click(chromedp.CSS(`form.signin button[type=submit]`))); err != nil {
				t.Fatalf("sign in: %v", err)
			}
			if err := poll(fmt.Sprintf(`location.pathname === %q && !!document.querySelector('main h1')`, landing[role])); err != nil {
				shot("landing-FAILED")
				t.Fatalf("landing page is not %s: %v", landing[role], err)
			}
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](string(axe))); err != nil {
				t.Fatalf("load axe-core: %v", err)
			}
			for _, p := range pages[role] {
				name := strings.Trim(strings.NewReplacer("/", "-", "?", "-", "&", "-", "=", "-").Replace(p), "-")
				// Navigate inside the app (as a user clicking), so axe stays loaded.
				if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](fmt.Sprintf(`history.pushState(null, "", %q); dispatchEvent(new PopStateEvent("popstate"))`, p))); err != nil {
					t.Fatal(err)
				}
				loaded := fmt.Sprintf(`document.querySelector('main')?.dataset.path === %q && !!document.querySelector('main h1') && !document.querySelector('.loading') && !document.querySelector('main').innerText.includes('Loading')`, p)
				if err := poll(loaded); err != nil {
					shot(name + "-FAILED")
					t.Errorf("%s did not finish loading: %v", p, err)
					continue
				}
				time.Sleep(150 * time.Millisecond) // charts draw after their data
				shot(name)
				state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('main h1')?.innerText ?? '') + ' | ' + [...document.querySelectorAll('main .error, #toast.error')].map(e => e.innerText).join(' ')`))
				if strings.Contains(state, "could not be loaded") || strings.Contains(state, "Not for your role") || strings.Contains(state, "Not found") || strings.Contains(state, "| ") && len(strings.TrimSpace(strings.SplitN(state, "|", 2)[1])) > 0 {
					t.Errorf("%s shows an error: %s", p, state)
				}
				if role == procure.RoleExecutive && strings.Contains(p, "invoice_exception_rate") {
					// The figures of the fixture: INV1 blocked, one invoice; €12,095 at risk in EUR only.
					got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-kpi=invoice_exception_rate]').innerText + ' | ' + document.querySelector('section.risk').innerText + ' | ' + document.querySelectorAll('.chart canvas').length`))
					for _, want := range []string{"100.0%", "target 5.0%", "missed", "€12,095.00", "in 4 exceptions"} {
						if !strings.Contains(got, want) {
							t.Errorf("%s lacks %q: %s", p, want, got)
						}
					}
					// By category (asked for with cat=1): INV1's order has no material class.
					if err := poll(`[...document.querySelectorAll('section.kpidetail td')].some(td => td.innerText === 'unclassified')`); err != nil {
						t.Errorf("%s: no category breakdown: %v", p, err)
					}
					if strings.HasSuffix(got, "| 0") {
						t.Errorf("%s draws no trend chart", p)
					}
					// The drill-down, on demand: the blocked invoice behind the figure.
					if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`document.querySelector('#show-docs').click()`)); err != nil {
						t.Fatal(err)
					}
					if err := poll(`[...document.querySelectorAll('section.kpidetail td')].some(td => td.innerText.includes('INV1'))`); err != nil {
						shot(name + "-documents-FAILED")
						t.Errorf("%s: the documents behind the figure do not show INV1: %v", p, err)
					}
					shot(name + "-documents")
				}
				if role == procure.RoleAdmin && p == "/tokens" {
					// An admin mints an API token for themselves: the secret once, the row under their login.
					if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#user-name`), "ci-export"),
						chromedp.Click(chromedp.CSS(`form[aria-label="New API token"] button[type=submit]`))); err != nil {
						t.Fatal(err)
					}
					if err := poll(`(document.querySelector('#secret-value')?.innerText ?? '').startsWith('swt_')`); err != nil {
						shot(name + "-create-FAILED")
						t.Errorf("%s: creating an API token shows no secret: %v", p, err)
					}
					got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('main tr')].find(tr => tr.innerText.includes('ci-export'))?.innerText ?? ''`))
					if !strings.Contains(got, s.Login) {
						t.Errorf("%s: the new token's row %q does not name %s", p, got, s.Login)
					}
					shot(name + "-created")
				}
				if strings.HasPrefix(p, "/exceptions/") {
					// A plant's exception shows its times in the plant's zone, and says so.
					got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main .pagehead').innerText`))
					if !strings.Contains(got, "times in America/Chicago (plant P01)") {
						t.Errorf("%s: header %q does not name the plant's time zone", p, got)
					}
				}
				if role == procure.RoleProcurement && strings.Contains(p, "kpi=") {
					// The drill-down from the figure: the blocked invoice's exception only.
					got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('.drill')?.innerText ?? 'no drill note') + ' | ' + [...document.querySelectorAll('table.queue tbody tr')].map(tr => tr.dataset.id).join(',')`))
					if want := fmt.Sprintf("| %d", e.ids["price"]); !strings.Contains(got, "1 document that missed invoice exception rate") || !strings.HasSuffix(got, want) {
						t.Errorf("%s: %q, want the drill note and exception %d only", p, got, e.ids["price"])
					}
				}
				res, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
				if err != nil {
					t.Fatalf("axe on %s: %v", p, err)
				}
				var vs []axeViolation
				if err := json.Unmarshal([]byte(res), &vs); err != nil {
					t.Fatal(err)
				}
				for _, v := range vs {
					if v.Impact != "serious" && v.Impact != "critical" {
						continue
					}
					var where []string
					for i, n := range v.Nodes {
						if i == 3 {
							where = append(where, fmt.Sprintf("… %d more", len(v.Nodes)-3))
							break
						}
						where = append(where, fmt.Sprint(n.Target))
					}
					t.Errorf("%s: axe %s (%s): %s at %s", p, v.ID, v.Impact, v.Help, strings.Join(where, ", "))
				}
			}
		})
	}
	t.Logf("screenshots in %s", artifacts)
}
