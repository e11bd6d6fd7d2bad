package mapping

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/supplywatch/supplywatch/b2b/cxml"
	"github.com/supplywatch/supplywatch/b2b/edifact"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/b2b/x12"
	"github.com/supplywatch/supplywatch/procure"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// receivedAt is the fixed receive time of the tests.
var receivedAt = time.Date(2026, 5, 12, 8, 1, 2, 0, time.UTC)

// TestSecrets are the shared secrets of the test profiles.
var testSecrets = map[string]string{
	"OFFICE_SUPPLIES_SECRET": "welcome", "COUPA_SUPPLIER_SECRET": "secret",
	"PROMINATE_SECRET": "coyote", "ACME_HUB_SECRET": "abracadabra",
}

func registry(t testing.TB) *partner.Registry {
	t.Helper()
	r, err := partner.LoadFile("testdata/partners.yaml", func(k string) (string, bool) { v, ok := testSecrets[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// samplesDir is the shared corpus, relative to this package directory.
func samplesDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "testdata", "samples")
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.md")); err != nil {
		t.Fatalf("sample corpus missing at %s: %v", dir, err)
	}
	return dir
}

// mapFile tokenizes and maps one document the way intake does, without
// envelope-level policy (acks, partner auth).
func mapFile(t testing.TB, reg *partner.Registry, data []byte) Output {
	t.Helper()
	var out Output
	opt := Options{ReceivedAt: receivedAt}
	trimmed := bytes.TrimLeft(data, "\ufeff \r\n\t")
	switch {
	case bytes.HasPrefix(trimmed, []byte("ISA")):
		doc, err := x12.Parse(data, x12.Limits{})
		var errs x12.Errors
		if err != nil {
			errs, _ = err.(x12.Errors)
		}
		for i := range doc.Interchanges {
			ic := &doc.Interchanges[i]
			p := reg.ForX12(ic.SenderQualifier, ic.Sender)
			if p == nil {
				t.Fatalf("no partner for X12 sender %s:%s", ic.SenderQualifier, ic.Sender)
			}
			out.merge(X12(p, ic, errs, opt))
		}
	case bytes.HasPrefix(trimmed, []byte("UNA")) || bytes.HasPrefix(trimmed, []byte("UNB")):
		doc, err := edifact.Parse(data, edifact.Limits{})
		var errs edifact.Errors
		if err != nil {
			errs, _ = err.(edifact.Errors)
		}
		for i := range doc.Interchanges {
			ic := &doc.Interchanges[i]
			p := reg.ForEDIFACT(ic.SenderQualifier, ic.Sender)
			if p == nil {
				t.Fatalf("no partner for EDIFACT sender %s:%s", ic.SenderQualifier, ic.Sender)
			}
			out.merge(EDIFACT(p, ic, errs, opt))
		}
	default:
		doc, err := cxml.Parse(data, cxml.Limits{})
		if err != nil {
			t.Fatalf("cxml: %v", err)
		}
		var creds []partner.Credential
		for _, c := range doc.Header.From.Credentials {
			creds = append(creds, partner.Credential{Domain: c.Domain, Identity: c.Identity})
		}
		p := reg.ForCXML(creds)
		if p == nil {
			t.Fatalf("no partner for cXML From %v", creds)
		}
		out.merge(CXML(p, doc, opt))
	}
	return out
}

// golden is the JSON form of an Output.
type golden struct {
	Events           []jsontext.Value `json:"events"`
	Rejections       []string         `json:"rejections,omitempty"`
	Warnings         []string         `json:"warnings,omitempty"`
	Acknowledgements []FunctionalAck  `json:"acknowledgements,omitempty"`
}

func render(t *testing.T, out Output) []byte {
	t.Helper()
	g := golden{Events: []jsontext.Value{}}
	for _, ev := range out.Events {
		b, err := procure.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := procure.Decode(b); err != nil {
			t.Fatalf("event %s does not decode: %v\n%s", ev.ID, err, b)
		}
		g.Events = append(g.Events, b)
	}
	for _, r := range out.Rejections {
		g.Rejections = append(g.Rejections, r.Error())
	}
	for _, w := range out.Warnings {
		g.Warnings = append(g.Warnings, w.Error())
	}
	g.Acknowledgements = out.Acknowledgements
	b, err := json.Marshal(g, jsontext.Multiline(true), jsontext.WithIndent("  "), json.Deterministic(true))
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test -update and review the diff):\n%s", name, path, got)
	}
}

// TestSamplesMapToGoldenEvents maps every good document of the shared corpus.
// The bad ones are covered by the intake tests (rejection and acknowledgement).
func TestSamplesMapToGoldenEvents(t *testing.T) {
	reg := registry(t)
	dir := samplesDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, "bad-") || !(strings.HasSuffix(name, ".edi") || strings.HasSuffix(name, ".xml")) {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(name, filepath.Ext(name)), render(t, mapFile(t, reg, data)))
		})
	}
	if n < 17 {
		t.Fatalf("only %d good samples found in %s", n, dir)
	}
}

// TestDocumentsMapToGoldenEvents maps the synthetic documents under
// testdata/docs: the sets and messages the shared corpus lacks (860, 865,
// 861, S-O-I-P 856, ORDERS, ORDCHG, ORDRSP, DESADV, RECADV, cXML
// update/delete/reject/backordered, invoice status).
func TestDocumentsMapToGoldenEvents(t *testing.T) {
	reg := registry(t)
	entries, err := os.ReadDir("testdata/docs")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/docs", name))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "docs-"+strings.TrimSuffix(name, filepath.Ext(name)), render(t, mapFile(t, reg, data)))
		})
	}
}

func TestEventIDsAreDeterministic(t *testing.T) {
	reg := registry(t)
	data, err := os.ReadFile(filepath.Join(samplesDir(t), "x12-850-nodex12-1.edi"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := mapFile(t, reg, data), mapFile(t, reg, bytes.Clone(data))
	if len(a.Events) != 1 || a.Events[0].ID != b.Events[0].ID {
		t.Fatalf("ids differ: %v vs %v", a.Events, b.Events)
	}
	other := bytes.Replace(data, []byte("*000003438*"), []byte("*000003439*"), 1)
	other = bytes.Replace(other, []byte("IEA*1*000003438"), []byte("IEA*1*000003439"), 1)
	c := mapFile(t, reg, other)
	if len(c.Events) != 1 || c.Events[0].ID == a.Events[0].ID {
		t.Fatalf("another interchange control number gave the same id %v", c.Events)
	}
}

func TestUnmappedUnitIsKeptWithAWarning(t *testing.T) {
	reg := registry(t)
	data, err := os.ReadFile(filepath.Join(samplesDir(t), "x12-850-nodex12-1.edi"))
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("PO1*2*220*EA*"), []byte("PO1*2*220*QQ*"), 1)
	out := mapFile(t, reg, data)
	if len(out.Events) != 1 || len(out.Rejections) != 0 {
		t.Fatalf("events %d, rejections %v", len(out.Events), out.Rejections)
	}
	l := out.Events[0].Payload.(*procure.PurchaseOrder).Lines[1]
	if l.Unit != "QQ" || l.UnitOriginal != "QQ" {
		t.Errorf("line 2 unit %q (original %q), want QQ kept as written", l.Unit, l.UnitOriginal)
	}
	var w *Problem
	for _, p := range out.Warnings {
		if p.Field == "lines[1].unit" {
			w = p
		}
	}
	want := `partner widget-buyer interchange 000003438 group 1421 set 000000010 (850): segment 16 (PO1) element 03: unit "QQ" is not mapped for partner widget-buyer: kept as written (unit and unit_original QQ) (field lines[1].unit)`
	if w == nil || w.Error() != want || !w.Unmapped || !w.Application || w.Value != "QQ" {
		t.Fatalf("warning %v\nwant      %s", w, want)
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		in   string
		mark byte
		want float64
		ok   bool
	}{
		{"12.5", '.', 12.5, true}, {"19,9", ',', 19.9, true}, {"19,9", '.', 19.9, true},
		{"-3", '.', -3, true}, {"1020A", '.', 0, false}, {"$1.179", '.', 0, false}, {"1e3", '.', 0, false}, {"", '.', 0, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, ok := parseNumber(tt.in, tt.mark)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("got %v %v", got, ok)
			}
		})
	}
}
