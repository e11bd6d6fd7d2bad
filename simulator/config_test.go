package simulator

import (
	"strings"
	"testing"

	"github.com/caarlos0/env/v11"
	"github.com/goccy/go-yaml"
)

func TestConfigDefaultsAreValid(t *testing.T) {
	var c Config
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Tenant != "acme" || c.Suppliers != 400 || c.Rates != DefaultRates() {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigPartialRatesAreKept(t *testing.T) {
	c := Config{Rates: Rates{AckLate: 0.5}}
	c.Defaults()
	if c.Rates != (Rates{AckLate: 0.5}) {
		t.Fatalf("rates %+v", c.Rates)
	}
	off := Config{NoFailures: true}
	off.Defaults()
	if off.Rates != (Rates{}) {
		t.Fatalf("no_failures rates %+v", off.Rates)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for name, tc := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"rate above one":    {func(c *Config) { c.Rates.ASNMissing = 1.5 }, "rates.asn_missing_rate"},
		"negative rate":     {func(c *Config) { c.Rates.InvoiceBlock = -0.1 }, "rates.invoice_block_rate"},
		"bad tenant":        {func(c *Config) { c.Tenant = "ACME Corp" }, "tenant"},
		"too few suppliers": {func(c *Config) { c.Suppliers = 2 }, "suppliers"},
		"no orders":         {func(c *Config) { c.OrdersPerDay = -1 }, "orders_per_day"},
		"one attempt":       {func(c *Config) { c.MaxAttempts = 1 }, "max_attempts"},
	} {
		t.Run(name, func(t *testing.T) {
			var c Config
			c.Defaults()
			tc.mut(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %s", err, tc.want)
			}
		})
	}
}

func TestConfigLoadsFromYAMLAndEnvironment(t *testing.T) {
	var c Config
	src := "seed: 9\ntenant: beta\nrates:\n  ack_late_rate: 0.3\n  invoice_block_rate: 0.2\n"
	if err := yaml.UnmarshalWithOptions([]byte(src), &c, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIM_ORDERS_PER_DAY", "250")
	t.Setenv("SIM_ASN_MISSING_RATE", "0.07")
	if err := env.ParseWithOptions(&c, env.Options{Prefix: "SIM_"}); err != nil {
		t.Fatal(err)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Rates{AckLate: 0.3, InvoiceBlock: 0.2, ASNMissing: 0.07}
	if c.Seed != 9 || c.Tenant != "beta" || c.OrdersPerDay != 250 || c.Rates != want {
		t.Fatalf("loaded %+v", c)
	}
	if err := yaml.UnmarshalWithOptions([]byte("rates:\n  ack_lat_rate: 0.3\n"), &Config{}, yaml.Strict()); err == nil {
		t.Fatal("a misspelt rate was accepted")
	}
}
