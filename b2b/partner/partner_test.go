package partner

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

func env(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const good = `
partners:
  - id: acme-widgets
    tenant: acme
    supplier: S0042
    plant: P01
    currency: USD
    time_zone: America/Chicago
    x12:
      interchange: [{qualifier: ZZ, id: SENDER}]
      versions: ["004010"]
    edifact:
      interchange: [{qualifier: "14", id: "5400110000009"}]
    cxml:
      credentials: [{domain: NetworkId, identity: AN00000123}]
      shared_secret_env: ACME_SECRET
    codes:
      units:
        x12: {ZZ: KGM}
        edifact: {PL: XPX}
      incoterms:
        DDU: {code: DDU, edition: "2000"}
      ship_to: {"92:0001": P02, "0003947268292": P03}
      parties: {"92:000009": S0099}
`

func TestLoadAcceptsAValidFile(t *testing.T) {
	r, err := Load("partners.yaml", []byte(good), env(map[string]string{"ACME_SECRET": "coyote"}))
	if err != nil {
		t.Fatal(err)
	}
	p := r.ForX12("ZZ", "SENDER   ")
	if p == nil || p.ID != "acme-widgets" {
		t.Fatalf("ForX12 = %v", p)
	}
	if r.ForEDIFACT("14", "5400110000009") != p || r.ForCXML([]Credential{{Domain: "networkid", Identity: "AN00000123"}}) != p {
		t.Fatal("EDIFACT/cXML lookup failed")
	}
	if r.ForX12("ZZ", "OTHER") != nil {
		t.Fatal("unknown sender found a partner without a fallback")
	}
	if !p.CXML.Secret().Equal([]byte("coyote")) {
		t.Fatal("secret not resolved")
	}
	if s := p.CXML.Secret().String(); s != "[redacted]" {
		t.Fatalf("secret prints as %q", s)
	}
	if p.Location().String() != "America/Chicago" {
		t.Fatal(p.Location())
	}
}

func TestCodeMapping(t *testing.T) {
	r, err := Load("partners.yaml", []byte(good), env(map[string]string{"ACME_SECRET": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	p := r.ByID("acme-widgets")
	tests := []struct {
		name     string
		std      Standard
		code     string
		want     string
		unmapped bool
	}{
		{"x12 PL is a pallet", X12, "PL", "XPX", false},
		{"edifact PL is a pail: overridden to pallet by the partner", EDIFACT, "PL", "XPX", false},
		{"cxml PL is a pail: not mapped", CXML, "PL", "", true},
		{"x12 EA is one piece", X12, "EA", "C62", false},
		{"partner override wins", X12, "ZZ", "KGM", false},
		{"unknown x12 code is rejected", X12, "QQ", "", true},
		{"rec 20 code maps to itself in edifact", EDIFACT, "KGM", "KGM", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.MapUnit(tt.std, tt.code, "lines[0].unit")
			if tt.unmapped {
				var ue *UnmappedError
				if !errors.As(err, &ue) || !errors.Is(err, ErrUnmapped) {
					t.Fatalf("err = %v, want unmapped", err)
				}
				if !strings.Contains(err.Error(), "acme-widgets") || !strings.Contains(err.Error(), "lines[0].unit") {
					t.Fatalf("error %q does not name partner and field", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if c, err := p.MapCurrency("", "currency"); err != nil || c != "USD" {
		t.Fatalf("default currency %q %v", c, err)
	}
	if _, err := p.MapCurrency("XXX", "currency"); err == nil {
		t.Fatal("XXX mapped")
	}
	if it, err := p.MapIncoterm("DDU", "", "incoterms"); err != nil || it.Edition != "2000" {
		t.Fatalf("DDU: %v %v", it, err)
	}
	if it, err := p.MapIncoterm("FCA", "", "incoterms"); err != nil || it.Edition != "2020" {
		t.Fatalf("FCA: %v %v", it, err)
	}
	if _, err := p.MapIncoterm("DDU", "2020", "incoterms"); err != nil {
		t.Fatal("partner mapping should win over the stated edition")
	}
	if _, err := p.MapIncoterm("DAT", "2020", "incoterms"); err == nil {
		t.Fatal("DAT is not a 2020 term")
	}
	if pl, err := p.MapPlant("92", "0001", "ship_to"); err != nil || pl != "P02" {
		t.Fatalf("plant %q %v", pl, err)
	}
	if pl, err := p.MapPlant("", "", "ship_to"); err != nil || pl != "P01" {
		t.Fatalf("default plant %q %v", pl, err)
	}
	if _, err := p.MapPlant("92", "9999", "ship_to"); err == nil {
		t.Fatal("unknown ship-to mapped")
	}
	if s := p.SupplierFor("92", "000009"); s != "S0099" {
		t.Fatal(s)
	}
}

func TestDefaultUnitsAreKnown(t *testing.T) {
	for _, std := range standards {
		for from, to := range DefaultUnits(std) {
			if !procure.KnownUnit(to) {
				t.Errorf("%s %s maps to unknown unit %s", std, from, to)
			}
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	base := "partners:\n  - id: p1\n    tenant: acme\n    supplier: S1\n"
	tests := []struct {
		name, yaml, want string
		line             int
	}{
		{"unknown field", base + "    colour: red\n    x12: {interchange: [{id: A}]}\n", "field colour not found", 5},
		{"no identifiers", base, "no identifiers", 2},
		{"bad tenant", "partners:\n  - id: p1\n    tenant: ACME\n    supplier: S1\n    x12: {interchange: [{id: A}]}\n", "tenant \"ACME\"", 3},
		{"unit target unknown", base + "    x12: {interchange: [{id: A}]}\n    codes:\n      units:\n        x12: {PL: PL}\n", "not a UN/ECE Rec 20 code", 8},
		{"secret env missing", base + "    cxml:\n      credentials: [{domain: D, identity: I}]\n      shared_secret_env: NOPE\n", "NOPE is not set", 7},
		{"duplicate sender", base + "    x12: {interchange: [{id: A}]}\n  - id: p2\n    tenant: acme\n    supplier: S2\n    x12: {interchange: [{id: A}]}\n", "already partner p1", 9},
		{"incoterm of wrong edition", base + "    x12: {interchange: [{id: A}]}\n    codes:\n      incoterms: {DAT: {code: DAT, edition: \"2020\"}}\n", "not an Incoterm of edition 2020", 7},
		{"fallback undefined", "fallback: nobody\n" + base + "    x12: {interchange: [{id: A}]}\n", "fallback partner nobody", 1},
		{"ack SLA over 30 days", base + "    functional_ack_sla: 800h\n    x12: {interchange: [{id: A}]}\n", "functional_ack_sla 800h0m0s must be between 0 and 720h", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("p.yaml", []byte(tt.yaml), env(nil))
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want *LoadError", err)
			}
			if !strings.Contains(le.Reason, tt.want) || le.Line != tt.line || le.File != "p.yaml" {
				t.Fatalf("err = %q (line %d), want %q at line %d", err, le.Line, tt.want, tt.line)
			}
		})
	}
}

func TestAckSLAsFromProfiles(t *testing.T) {
	reg, err := Load("p.yaml", []byte("partners:\n  - id: fast\n    tenant: acme\n    supplier: S1\n    functional_ack_sla: 4h\n    x12: {interchange: [{id: A}]}\n"+
		"  - id: plain\n    tenant: acme\n    supplier: S2\n    x12: {interchange: [{id: B}]}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.AckSLAs(); len(got) != 1 || got["fast"] != 4*time.Hour {
		t.Fatalf("AckSLAs = %v", got)
	}
}
