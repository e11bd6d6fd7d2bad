package console_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/procure"
)

// withConsole serves a second console over the env's stores with cfg and
// deps' optional parts; sessions are shared, so signIn works on it.
func (e *env) withConsole(cfg console.Config, deps console.Deps) *env {
	e.t.Helper()
	deps.Store, deps.Facts, deps.Log = e.store, clickhouse.NewFacts(e.ch, e.chdb), slog.New(slog.DiscardHandler)
	c, err := console.New(cfg, deps)
	if err != nil {
		e.t.Fatal(err)
	}
	r := gin.New()
	c.Register(r)
	e2 := *e
	e2.console, e2.srv = c, httptest.NewServer(r)
	e.t.Cleanup(e2.srv.Close)
	return &e2
}

func (e *env) raise(cands ...procure.ExceptionCandidate) {
	e.t.Helper()
	ctx := context.Background()
	err := postgres.NewStateStore(e.db).InTx(ctx, func(tx procure.StateTx) error {
		for i := range cands {
			cands[i].Tenant, cands[i].At = tenant, e.now.Add(-time.Hour)
			if _, err := tx.Exceptions().RaiseException(ctx, &cands[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

type varAnswer struct {
	Currencies []procure.CurrencyAmount `json:"currencies"`
	Reporting  *console.Converted       `json:"reporting"`
}

func TestValueAtRiskIsPerCurrencyInDecimalsAndConvertedWithTheRateDate(t *testing.T) {
	e := newEnv(t)
	cand := func(subject, supplier, plant string, v float64, cur string) procure.ExceptionCandidate {
		return procure.ExceptionCandidate{Rule: "price-check", Kind: procure.KindValidation, Subject: subject, Title: "Price check", Message: "m",
			Severity: procure.SeverityLow, Team: "procurement", Supplier: supplier, Plant: plant, ValueAtRisk: v, Currency: cur}
	}
	// 0.1 + 0.2 is 0.30000000000000004 in binary floating point.
	e.raise(cand("invoice/U1", "S3", "P02", 0.1, "USD"), cand("invoice/U2", "S3", "P02", 0.2, "USD"), cand("invoice/B1", "S1", "P01", 25148.2, "BRL"))
	e2 := e.withConsole(console.Config{Dashboard: console.DashboardConfig{ReportingCurrency: "EUR", Rates: map[string]string{"USD": "0.9"}, RatesDate: "2026-12-01"}}, console.Deps{})

	var got varAnswer
	e2.signIn(procure.RoleExecutive).mustOK("GET", "/api/value-at-risk", nil, &got)
	want := map[string][2]any{"BRL": {"25148.20", 1}, "EUR": {"12095.00", 4}, "USD": {"0.30", 2}}
	if len(got.Currencies) != len(want) {
		t.Fatalf("currencies %+v", got.Currencies)
	}
	for _, c := range got.Currencies {
		if w := want[c.Currency]; c.Amount != w[0] || c.Exceptions != w[1] {
			t.Errorf("%s: %s over %d, want %v", c.Currency, c.Amount, c.Exceptions, w)
		}
	}
	r := got.Reporting
	if r == nil || r.Currency != "EUR" || r.Amount != "12095.27" || r.RatesDate != "2026-12-01" || r.Rates["USD"] != "0.9" || len(r.Unconverted) != 1 || r.Unconverted[0] != "BRL" {
		t.Errorf("reporting %+v", r)
	}

	// A plant user sums its own plant only.
	got = varAnswer{}
	e2.signIn(procure.RolePlant).mustOK("GET", "/api/value-at-risk", nil, &got)
	for _, c := range got.Currencies {
		if c.Currency == "USD" || (c.Currency == "EUR" && c.Amount != "3895.00") {
			t.Errorf("plant P01 sees %+v", c)
		}
	}
	// Per group, for the Groups page.
	got = varAnswer{}
	e2.signIn(procure.RoleProcurement).mustOK("GET", "/api/value-at-risk?by=group", nil, &got)
	groups := map[string]bool{}
	for _, c := range got.Currencies {
		groups[c.Group] = true
		if c.Group == "" {
			t.Errorf("by=group row without group: %+v", c)
		}
	}
	if len(groups) < 3 || got.Reporting != nil {
		t.Errorf("by group: %+v", got)
	}
	var eb errBody
	if st := e2.signIn(procure.RoleProcurement).do("GET", "/api/value-at-risk?by=plant", nil, &eb); st != 400 || eb.Error.Field != "by" {
		t.Errorf("by=plant: %d %+v", st, eb)
	}
}

func TestDashboardConfigRefusesBadRates(t *testing.T) {
	cfg := console.Config{Dashboard: console.DashboardConfig{ReportingCurrency: "EUR", Rates: map[string]string{"usd": "x"}}}
	cfg.Defaults()
	err := cfg.Validate()
	for _, want := range []string{`"usd" is not an ISO 4217 code`, `rates.usd: "x" is not a positive decimal`, "rates_date"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v, want %s", err, want)
		}
	}
	cfg = console.Config{Dashboard: console.DashboardConfig{Targets: map[string]float64{"otif": 0.97}}}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil || cfg.Dashboard.Targets["otif"] != 0.97 || cfg.Dashboard.Targets["response_sla"] != 0.95 {
		t.Errorf("targets %v: %v", cfg.Dashboard.Targets, err)
	}
}

func TestPlantsAndOperations(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "supplywatch_consumer_lag", Help: "lag"}, []string{"group", "topic"})
	reg.MustRegister(lag)
	lag.WithLabelValues("supplywatch-collector", "supplywatch.events").Set(42)
	e2 := e.withConsole(console.Config{}, console.Deps{PlantZones: map[string]string{"P09": "America/Chicago"}, Metrics: reg})

	var ps struct{ Plants []console.Plant }
	e2.signIn(procure.RoleProcurement).mustOK("GET", "/api/plants", nil, &ps)
	names := map[string]string{}
	for _, p := range ps.Plants {
		names[p.Plant] = p.TimeZone
	}
	if _, ok := names["P01"]; !ok || names["P09"] != "America/Chicago" || len(names) != 3 {
		t.Errorf("procurement plants %+v", ps.Plants)
	}
	ps.Plants = nil
	e2.signIn(procure.RolePlant).mustOK("GET", "/api/plants", nil, &ps)
	if len(ps.Plants) != 1 || ps.Plants[0].Plant != "P01" {
		t.Errorf("plant user's plants %+v", ps.Plants)
	}

	var o procure.Operations
	e2.signIn(procure.RoleOncall).mustOK("GET", "/api/operations?window=48h", nil, &o)
	sources := map[string]uint64{}
	for _, s := range o.Throughput {
		sources[s.Source+"/"+s.Supplier] += s.Events
	}
	if sources["middleware/S1"] != 1 || sources["ap/S1"] != 1 {
		t.Errorf("throughput %+v", o.Throughput)
	}
	if len(o.Rejects) != 1 || o.Rejects[0].Reason != "must be a number" || o.Rejects[0].Field != "data.lines[0].quantity" {
		t.Errorf("rejects (the other tenant's must not show) %+v", o.Rejects)
	}
	if o.Latency == nil || o.Latency.Events == 0 {
		t.Errorf("latency %+v", o.Latency)
	}
	found := false
	for _, m := range o.Metrics {
		found = found || (m.Name == "supplywatch_consumer_lag" && m.Value == 42 && m.Labels["topic"] == "supplywatch.events")
	}
	if !found {
		t.Errorf("metrics %+v", o.Metrics)
	}
	var eb errBody
	if st := e2.signIn(procure.RoleOncall).do("GET", "/api/operations?window=forever", nil, &eb); st != 400 || eb.Error.Field != "window" {
		t.Errorf("bad window: %d %+v", st, eb)
	}
}
