package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/procure"
)

// chromium returns Debian's chromium; the end-to-end test fails without it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("SUPPLYWATCH_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("e2e: chromium is needed (apt-get install -y chromium, or set SUPPLYWATCH_CHROMIUM)")
	return ""
}

// browser starts headless chromium for a test (stopped at its end) and
// returns the allocator context to open tabs in.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1440, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	return actx
}

// artifactDir makes test-artifacts/name for screenshots.
func artifactDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join("..", "test-artifacts", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestEndToEndInChromium walks a procurement manager's day in a real
// browser and keeps a screenshot of every step in test-artifacts/.
func TestEndToEndInChromium(t *testing.T) {
	if !console.WebBuilt() {
		t.Fatal("e2e: the web bundle is not built: cd console/web && npm ci && npm run build")
	}
	actx := browser(t)
	e := newEnv(t)
	artifacts := artifactDir(t, "console-e2e")
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // start the browser without a deadline
		t.Fatalf("e2e: start chromium: %v", err)
	}
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	type action = chromedp.Action[chromedp.Void]
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	poll := func(expr string) action {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
			return err
		})
	}
	eval := func(expr string) action {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](expr)(ctx, tg)
			return err
		})
	}
	n := 0
	step := func(name string, actions ...action) {
		t.Helper()
		n++
		file := filepath.Join(artifacts, fmt.Sprintf("%02d-%s.png", n, name))
		if err := chromedp.Do(ctx, actions...); err != nil {
			if buf, err2 := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err2 == nil {
				os.WriteFile(strings.TrimSuffix(file, ".png")+"-FAILED.png", buf, 0o644)
			}
			t.Fatalf("step %s: %v", name, err)
		}
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(file, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ""`, sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	s := e.signIns[procure.RoleProcurement]
	base := e.srv.URL

	// A link from Slack or a digest: signed out, it asks for the sign-in
	// and then opens the exception it named.
	deep := fmt.Sprintf("/exceptions/%d", e.ids["ack-missing-3"])
	step("sign-in",
		chromedp.Navigate(base+deep),
		chromedp.WaitVisible(css(`#login`)),
		poll(fmt.Sprintf(`location.pathname === '/signin' && new URLSearchParams(location.search).get('next') === %q`, deep)),
		chromedp.SendKeys(css(`#login`), s.Login),
		chromedp.SendKeys(css(`#password`), s.Password),
	)
	step("deep-link-after-sign-in",
		chromedp.Click(css(`form.signin button[type=submit]`)),
		poll(fmt.Sprintf(`location.pathname === %q && !!document.querySelector('ol.chain') && document.querySelector('main h1').innerText.includes('PO not acknowledged')`, deep)),
	)
	step("queue",
		chromedp.Click(`//nav//a[text()="Queue"]`),
		chromedp.WaitVisible(css(`table.queue tbody tr[data-id]`)),
	)
	if q := text(`table.queue tbody`); !strings.Contains(q, "ASN quantity exceeds open quantity") || !strings.Contains(q, "Invoice price variance") {
		t.Fatalf("queue shows %q", q)
	}
	step("queue-filtered-severity-medium",
		chromedp.SetValue(css(`#f-severity`), "medium"),
		eval(`document.querySelector('#f-severity').dispatchEvent(new Event('change'))`),
		poll(`location.search.includes('severity=medium') && document.querySelectorAll('table.queue tbody tr[data-id]').length === 1`),
	)
	if q := text(`table.queue tbody`); !strings.Contains(q, "Invoice price variance") || strings.Contains(q, "ASN quantity") {
		t.Fatalf("filtered queue shows %q", q)
	}
	step("exception-detail-and-timeline",
		chromedp.KeyEvent("j"), chromedp.KeyEvent("k"), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(css(`ol.chain`)),
		chromedp.WaitVisible(css(`table.tl`)),
	)
	tl := text(`section.timeline`)
	for _, want := range []string{"po.released", "asn.submitted", "message.failed", "invoice.status_changed", "POST /wms/asn"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline lacks %s: %q", want, tl)
		}
	}
	step("assigned",
		chromedp.SendKeys(css(`#assignee`), "me"),
		chromedp.Click(`//button[text()="Assign"]`),
		poll(`[...document.querySelectorAll('dl.facts dd')].some(d => d.textContent === 'demo-procurement')`),
	)
	step("resolved",
		chromedp.SendKeys(css(`#reason`), "supplier issued a credit note"),
		chromedp.Click(`//button[text()="Resolve"]`),
		poll(`!!document.querySelector('.pagehead .badge.resolved')`),
	)
	if a := text(`ol.activity`); !strings.Contains(a, "supplier issued a credit note") {
		t.Errorf("activity lacks the resolution: %q", a)
	}
	step("retries-confirmation",
		chromedp.Navigate(base+"/retries"),
		poll(`document.querySelector('main h1')?.innerText === 'Failed deliveries'`),
		chromedp.Click(css(`table.queue input[type=checkbox]`)),
		chromedp.Click(`//button[contains(., "Retry 1 selected")]`),
		chromedp.WaitVisible(css(`dialog.confirm`)),
	)
	if d := text(`dialog.confirm`); !strings.Contains(d, "supplywatch.retry.wms") || !strings.Contains(d, "IK-ASN1-1") || !strings.Contains(d, "low") {
		t.Errorf("retry confirmation shows %q", d)
	}
	step("retried",
		chromedp.Click(`//dialog//button[contains(., "Re-send 1")]`),
		chromedp.WaitNotPresent(css(`dialog.confirm`)),
		poll(`document.body.textContent.includes('published')`),
	)
	if msgs := e.pub.all(); len(msgs) != 1 || msgs[0].Topic != "supplywatch.retry.wms" {
		t.Errorf("published %+v", msgs)
	}
	if r := text(`main`); !strings.Contains(r, "Automatic retry policies") || !strings.Contains(r, "30s × 2 up to 30m0s") {
		t.Errorf("retries page lacks the policies: %q", r)
	}
	step("plant-board",
		chromedp.Navigate(base+"/plants/P01"),
		chromedp.WaitVisible(css(`.days .day`)),
		poll(`document.querySelector('main').innerText.includes('Inbound')`),
	)
	b := text(`main`)
	for _, want := range []string{"lot on quality hold", "SHAFT-2", "will hit production"} {
		if !strings.Contains(b, want) {
			t.Errorf("plant board lacks %q", want)
		}
	}
	step("groups", chromedp.Navigate(base+"/groups"), poll(`document.querySelector('main h1')?.innerText === 'Systemic incidents'`))
	step("supplier", chromedp.Navigate(base+"/suppliers/S2"), poll(`!!document.querySelector('main .kpis')`))
	step("routing", eval(`document.querySelector('nav a[href="/routing"]').click()`), poll(`document.querySelector('main h1')?.innerText === 'Routing' && location.pathname === '/routing'`))

	// An admin disables a user on the users page.
	a := e.signIns[procure.RoleAdmin]
	step("admin-sign-in",
		chromedp.Click(`//button[text()="Sign out"]`),
		chromedp.WaitVisible(css(`#login`)),
		chromedp.SendKeys(css(`#login`), a.Login),
		chromedp.SendKeys(css(`#password`), a.Password),
		chromedp.Click(css(`form.signin button[type=submit]`)),
		poll(`[...document.querySelectorAll('nav a')].some(l => l.textContent === 'Users')`),
	)
	step("users-disable-dialog",
		chromedp.Navigate(base+"/users"),
		poll(`document.querySelector('main h1')?.innerText === 'Users'`),
		chromedp.Click(`//tr[contains(., "demo-executive")]//button[text()="Disable"]`),
		chromedp.WaitVisible(css(`dialog.ask`)),
	)
	step("users-disabled",
		chromedp.Click(`//dialog//button[text()="Disable"]`),
		poll(`[...document.querySelectorAll('main tr')].some(r => r.innerText.includes('demo-executive') && r.innerText.includes('disabled'))`),
	)
	if st := e.anonymous().do("POST", "/api/auth/login", map[string]string{"login": "demo-executive", "password": e.signIns[procure.RoleExecutive].Password}, nil); st != 401 {
		t.Errorf("disabled user signs in: %d", st)
	}
	t.Logf("screenshots in %s", artifacts)
}
