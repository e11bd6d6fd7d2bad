package console_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/procure"
)

// TestKPIAPIStaysInTheTenant: the KPI API, wired as the service wires it
// (tenant-wide roles only, the tenant taken from the signed-in principal),
// answers a plant user and supplier tokens 403, and another tenant's
// executive none of this tenant's documents, even when the request names
// this tenant. This tenant's executive sees them, so the check can fail.
func TestKPIAPIStaysInTheTenant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	kcfg := kpi.Config{}
	kcfg.Defaults()
	if _, err := kpi.NewRefresher(e.ch, e.chdb, kcfg, slog.New(slog.DiscardHandler), nil).RefreshAll(ctx, time.Now()); err != nil {
		t.Fatalf("kpi refresh: %v", err)
	}
	r := gin.New()
	kpi.NewHandler(kpi.NewQuerier(e.ch, e.chdb, kcfg, nil), kpi.HandlerOptions{Tenant: console.TenantOf}).Register(r, e.console.Guard(console.TenantWide...))
	e.console.Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	e.srv = srv // every client of e now talks to the server with the KPI API

	from := time.Now().UTC().AddDate(0, 0, -60).Format(time.DateOnly)
	to := time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
	span := "from=" + from + "&to=" + to
	docs := "/api/kpi/documents?kpi=invoice_exception_rate&" + span
	routes := []string{
		"/api/kpi/catalog",
		"/api/kpi/values?" + span,
		"/api/kpi/trend?kpi=otif&bucket=day&" + span,
		"/api/kpi/breakdown?kpi=otif&by=plant&" + span,
		docs,
		"/api/kpi/ops",
	}

	own := e.signIn(procure.RoleExecutive)
	if st, b := own.raw("GET", docs, nil); st != 200 || !contains(b, "INV1") {
		t.Fatalf("this tenant's executive: %d %.300s (want 200 with INV1)", st, b)
	}

	refused := map[string]*client{
		"plant user":            e.signIn(procure.RolePlant),
		"supplier token":        e.supplierToken("S1"),
		"other tenant's plant":  e.addUser("other", "other-plant-kpi", procure.RolePlant, "P01"),
		"anonymous (no cookie)": e.anonymous(),
	}
	for name, c := range refused {
		for _, p := range routes {
			st, b := c.raw("GET", p, nil)
			want := 403
			if name == "anonymous (no cookie)" {
				want = 401
			}
			if st != want {
				t.Errorf("GET %s as %s: %d, want %d: %.200s", p, name, st, want, b)
			}
		}
	}

	for _, role := range console.TenantWide {
		c := e.addUser("other", "other-kpi-"+role, role)
		for _, p := range append(routes, docs+"&tenant="+tenant, "/api/kpi/values?tenant="+tenant+"&"+span) {
			st, b := c.raw("GET", p, nil)
			if st != 200 {
				t.Errorf("GET %s as other tenant's %s: %d: %.200s", p, role, st, b)
				continue
			}
			for _, m := range []string{"INV1", "INV2", "4500000001", "4500000002", "S1", "P01"} {
				if contains(b, m) {
					t.Errorf("GET %s as other tenant's %s shows %q: %.300s", p, role, m, b)
				}
			}
		}
	}
}
