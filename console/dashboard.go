package console

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"sort"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/procure"
)

// DashboardConfig is what the executive dashboard compares and converts
// with (YAML console.dashboard).
type DashboardConfig struct {
	// Targets are the KPI targets by KPI id (docs/kpi.md): ratios as
	// fractions (0.95), durations in hours. Unset KPIs keep the defaults.
	Targets map[string]float64 `yaml:"targets"`
	// ReportingCurrency is what amounts of other currencies are converted
	// to, with Rates (units of the reporting currency for one unit of the
	// currency, as decimal strings) as of RatesDate (YYYY-MM-DD). Without
	// rates, amounts are shown per currency only.
	ReportingCurrency string            `yaml:"reporting_currency" env:"REPORTING_CURRENCY"`
	Rates             map[string]string `yaml:"rates"`
	RatesDate         string            `yaml:"rates_date" env:"RATES_DATE"`
}

// DefaultTargets are the KPI targets when the configuration names none:
// common procurement benchmarks, to be replaced by the company's own.
var DefaultTargets = map[string]float64{
	"ack_cycle_hours": 24, "response_sla": 0.95, "confirmation_rate": 0.98, "confirmation_accuracy": 0.95,
	"asn_timeliness": 0.90, "asn_accuracy": 0.98, "otd_on_time": 0.95, "otif": 0.92, "receipt_variance": 0.02,
	"invoice_exception_rate": 0.05, "first_pass_match": 0.90, "touchless": 0.60, "digital_documents": 0.80,
	"digital_suppliers": 0.70, "exception_ack_hours": 4, "exception_resolve_hours": 48,
}

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

func (c *DashboardConfig) defaults() {
	t := make(map[string]float64, len(DefaultTargets))
	for k, v := range DefaultTargets {
		t[k] = v
	}
	for k, v := range c.Targets {
		t[k] = v
	}
	c.Targets = t
}

func (c *DashboardConfig) validate() error {
	var errs []error
	for k, v := range c.Targets {
		if v < 0 {
			errs = append(errs, fmt.Errorf("console.dashboard.targets.%s: must not be negative", k))
		}
	}
	if len(c.Rates) > 0 {
		if !currencyCode.MatchString(c.ReportingCurrency) {
			errs = append(errs, fmt.Errorf("console.dashboard.reporting_currency: %q is not an ISO 4217 code (needed with rates)", c.ReportingCurrency))
		}
		if _, err := time.Parse(time.DateOnly, c.RatesDate); err != nil {
			errs = append(errs, fmt.Errorf("console.dashboard.rates_date: %q is not a date YYYY-MM-DD (needed with rates)", c.RatesDate))
		}
	}
	for cur, r := range c.Rates {
		if !currencyCode.MatchString(cur) {
			errs = append(errs, fmt.Errorf("console.dashboard.rates: %q is not an ISO 4217 code", cur))
		}
		if v, ok := new(big.Rat).SetString(r); !ok || v.Sign() <= 0 {
			errs = append(errs, fmt.Errorf("console.dashboard.rates.%s: %q is not a positive decimal", cur, r))
		}
	}
	return errors.Join(errs...)
}

// valueAtRiskStore sums the value at risk of active exceptions per
// currency within a scope (postgres.ConsoleStore).
type valueAtRiskStore interface {
	ValueAtRisk(ctx context.Context, sc procure.Scope, f procure.ValueAtRiskFilter) ([]procure.CurrencyAmount, error)
}

// dashboardConfig answers the targets and exchange rates in force.
func (h *dashboardHandlers) dashboardConfig(g *gin.Context) {
	d := h.cfg
	h.respond(g, http.StatusOK, gin.H{"targets": d.Targets, "reporting_currency": nullString(d.ReportingCurrency),
		"rates": d.Rates, "rates_date": nullString(d.RatesDate)})
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// valueAtRisk answers the value at risk of active exceptions per currency
// and, where every currency has a configured rate, in the reporting
// currency with the rates' date.
func (h *dashboardHandlers) valueAtRisk(g *gin.Context) {
	st, ok := h.vat, h.vat != nil
	if !ok {
		h.fail(g, errors.New("the store cannot sum value at risk"))
		return
	}
	f := procure.ValueAtRiskFilter{Plant: g.Query("plant"), Supplier: g.Query("supplier"), Group: g.Query("group")}
	switch g.Query("by") {
	case "", "currency":
	case "group":
		f.ByGroup = true
	default:
		h.fail(g, invalid("by", "must be currency or group"))
		return
	}
	sums, err := st.ValueAtRisk(g.Request.Context(), principalOf(g).Scope(), f)
	if err != nil {
		h.fail(g, err)
		return
	}
	if sums == nil {
		sums = []procure.CurrencyAmount{}
	}
	out := gin.H{"currencies": sums}
	if !f.ByGroup {
		out["reporting"] = h.convert(sums)
	}
	h.respond(g, http.StatusOK, out)
}

// Converted is a total in the reporting currency.
type Converted struct {
	Currency  string `json:"currency"`
	Amount    string `json:"amount"`
	RatesDate string `json:"rates_date"`
	// Rates are the rates used; Unconverted the currencies without a rate
	// (their amounts are not in Amount).
	Rates       map[string]string `json:"rates"`
	Unconverted []string          `json:"unconverted"`
}

// convert sums amounts in the reporting currency with exact decimal
// arithmetic, rounded to cents once at the end; nil without a reporting
// currency.
func (h *dashboardHandlers) convert(sums []procure.CurrencyAmount) *Converted {
	d := h.cfg
	if d.ReportingCurrency == "" {
		return nil
	}
	out := &Converted{Currency: d.ReportingCurrency, RatesDate: d.RatesDate, Rates: map[string]string{}, Unconverted: []string{}}
	total := new(big.Rat)
	for _, s := range sums {
		amt, ok := new(big.Rat).SetString(s.Amount)
		if !ok {
			out.Unconverted = append(out.Unconverted, s.Currency)
			continue
		}
		if s.Currency == d.ReportingCurrency {
			total.Add(total, amt)
			continue
		}
		r, ok := d.Rates[s.Currency]
		rate, ok2 := new(big.Rat).SetString(r)
		if !ok || !ok2 {
			out.Unconverted = append(out.Unconverted, s.Currency)
			continue
		}
		out.Rates[s.Currency] = r
		total.Add(total, amt.Mul(amt, rate))
	}
	sort.Strings(out.Unconverted)
	out.Amount = total.FloatString(2)
	return out
}
