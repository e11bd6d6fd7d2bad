package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/procure"
)

// TestRulesPageShowsSegmentsInChromium: the Rules page lists each rule
// with the suppliers it covers and the segments; the Routing page shows
// a routing rule's segment.
func TestRulesPageShowsSegmentsInChromium(t *testing.T) {
	if !console.WebBuilt() {
		t.Fatal("e2e: the web bundle is not built: cd console/web && npm ci && npm run build")
	}
	e, _ := newSegmentEnv(t)
	s := e.signIns[procure.RoleProcurement]
	e.signIn(procure.RoleProcurement).mustOK("POST", "/api/routing/rules", map[string]any{"position": 10, "segment": "!pilot", "team": "expediting"}, nil)

	ctx, cancel := chromedp.NewContext(browser(t))
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("e2e: start chromium: %v", err)
	}
	ctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
			return err
		})
	}
	cell := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+"`"+sel+"`"+`)?.innerText ?? ""`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/rules"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SendKeys(chromedp.CSS(`#login`), s.Login),
		chromedp.SendKeys(chromedp.CSS(`#password`), s.Password),
		chromedp.Click(chromedp.CSS(`form.signin button[type=submit]`)),
		poll(`location.pathname === '/rules' && !!document.querySelector('tr[data-rule="ack-qty-pilot"]')`),
	); err != nil {
		t.Fatalf("rules page: %v", err)
	}
	for sel, want := range map[string]string{
		`tr[data-rule="ack-qty-pilot"] td.segment`: "segment pilot",
		`tr[data-rule="ack-late-rest"] td.segment`: "all but segment pilot",
		`tr[data-rule="ack-qty-all"] td.segment`:   "all suppliers",
		`tr[data-segment="strategic"]`:             "strategic\tsupplier.tier == 1\t—",
	} {
		if got := cell(sel); got != want {
			t.Errorf("%s: %q, want %q", sel, got, want)
		}
	}
	if got := cell(`tr[data-segment="beta-only"]`); got != "" {
		t.Errorf("another tenant's segment is shown: %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(`//nav//a[text()="Routing"]`),
		poll(`location.pathname === '/routing' && [...document.querySelectorAll('main tbody tr')].some(r => r.innerText.includes('all but segment pilot') && r.innerText.includes('expediting'))`),
	); err != nil {
		t.Fatalf("routing page shows no segment: %v", err)
	}
}
