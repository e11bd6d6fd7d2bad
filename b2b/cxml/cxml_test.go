package cxml_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/b2b/cxml"
)

const samples = "../testdata/samples"

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samples, name))
	if err != nil {
		t.Fatalf("sample corpus missing (b2b/testdata/samples): %v", err)
	}
	return data
}

func TestSamples(t *testing.T) {
	tests := []struct {
		file, kind, payload, from, secret string
		check                             func(t *testing.T, d *cxml.Document)
	}{
		{file: "cxml-confirmationrequest-officeluv-1.xml", kind: "ConfirmationRequest", payload: "1346769469000.process.162998590@officedepot.com", from: "AN01000000147", secret: "welcome",
			check: func(t *testing.T, d *cxml.Document) {
				c := d.Request.ConfirmationRequest
				if c.Header.Type != "detail" || len(c.Items) != 3 || c.Items[0].Statuses[0].Type != "accept" || c.OrderReference.OrderID != "400-2591453-0" {
					t.Errorf("confirmation %+v", c.Header)
				}
			}},
		{file: "cxml-invoicedetailrequest-officeluv-1.xml", kind: "InvoiceDetailRequest", payload: "1240598937@devtrunk.coupahost.com", from: "supplierid", secret: "secret",
			check: func(t *testing.T, d *cxml.Document) {
				i := d.Request.InvoiceDetailRequest
				if i.Header.InvoiceID != "3492" || i.Summary.Tax.Money.Value != "8" || i.Orders[0].OrderReference.DocumentReference.PayloadID != "123" {
					t.Errorf("invoice %+v", i.Header)
				}
			}},
		{file: "cxml-orderrequest-cxmlphp-1.xml", kind: "OrderRequest", payload: "1625586002.193314.7293@dev", from: "inbound@prominate-platform.com", secret: "coyote",
			check: func(t *testing.T, d *cxml.Document) {
				o := d.Request.OrderRequest
				if o.Header.Type != "new" || o.Header.OrderID != "DO1234" || len(o.Items) != 2 || o.Items[1].Detail.UnitPrice.Money.Value != "3.20" {
					t.Errorf("order %+v", o.Header)
				}
			}},
		{file: "cxml-orderrequest-cxmlphp-2.xml", kind: "OrderRequest", payload: "1737963337.319.1846511.7249@eu-hub", from: "AN00000123", secret: "Secret!123",
			check: func(t *testing.T, d *cxml.Document) {
				o := d.Request.OrderRequest
				if o.Items[0].ItemID.BuyerPartID != "QA-ACME-AUTOTEST" || o.Header.RequestedDeliveryDate.IsZero() {
					t.Errorf("order %+v", o.Items[0].ItemID)
				}
			}},
		{file: "cxml-shipnoticerequest-cxmlphp-1.xml", kind: "ShipNoticeRequest", payload: "0c30050@supplierorg.com", from: "AN00000123", secret: "abracadabra",
			check: func(t *testing.T, d *cxml.Document) {
				s := d.Request.ShipNoticeRequest
				if s.Header.ShipmentID != "S2-123" || s.ShipControl[0].Carriers[0].Value != "FDE" || s.Portions[0].OrderReference.OrderID != "DO1234" {
					t.Errorf("ship notice %+v", s.Header)
				}
			}},
		{file: "cxml-statusupdaterequest-cxmlphp-1.xml", kind: "StatusUpdateRequest", payload: "0c30050@supplierorg.com", from: "AN00000123", secret: "abracadabra",
			check: func(t *testing.T, d *cxml.Document) {
				s := d.Request.StatusUpdateRequest
				if s.Status.Code != "200" || s.DocumentReference.PayloadID != "0c300508b7863dcclb_14999" {
					t.Errorf("status %+v", s.Status)
				}
			}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		name := strings.TrimSuffix(tt.file, ".xml")
		t.Run(name, func(t *testing.T) {
			d, err := cxml.Parse(readSample(t, tt.file), cxml.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind() != tt.kind || d.PayloadID != tt.payload || d.Header.From.Credentials[0].Identity != tt.from {
				t.Errorf("kind/payload/from = %s/%s/%s", d.Kind(), d.PayloadID, d.Header.From.Credentials[0].Identity)
			}
			c := d.Header.Sender.Credentials[0]
			if err := d.Header.VerifySender(cxml.Expected{Domain: c.Domain, Identity: c.Identity, Secret: []byte(tt.secret)}); err != nil {
				t.Errorf("verify: %v", err)
			}
			tt.check(t, d)
			out, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out, []byte(tt.secret)) {
				t.Fatalf("the shared secret leaks into the JSON rendering")
			}
			if s := fmt.Sprintf("%v %+v %#v", d.Header, d.Header, d.Header); strings.Contains(s, tt.secret) {
				t.Fatalf("the shared secret leaks into fmt: %s", s)
			}
			golden(t, filepath.Join("testdata", name+".golden.json"), append(out, '\n'))
		})
	}
	files, err := filepath.Glob(filepath.Join(samples, "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cXML samples in %s: %v", samples, err)
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("sample %s is not covered by TestSamples", filepath.Base(f))
		}
	}
}

func TestVerifySender(t *testing.T) {
	d, err := cxml.Parse(readSample(t, "cxml-orderrequest-cxmlphp-1.xml"), cxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want cxml.Expected
		ok   bool
	}{
		{name: "accepts the right secret, domain in any case", want: cxml.Expected{Domain: "networkid", Identity: "inbound@prominate-platform.com", Secret: []byte("coyote")}, ok: true},
		{name: "refuses a wrong secret", want: cxml.Expected{Domain: "NetworkId", Identity: "inbound@prominate-platform.com", Secret: []byte("coyotE")}},
		{name: "refuses an empty secret", want: cxml.Expected{Domain: "NetworkId", Identity: "inbound@prominate-platform.com"}},
		{name: "refuses an unknown identity", want: cxml.Expected{Domain: "NetworkId", Identity: "other", Secret: []byte("coyote")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Header.VerifySender(tt.want)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if err != nil && (!errors.Is(err, cxml.ErrUnauthorized) || strings.Contains(err.Error(), "coyote")) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"2021-02-23T09:15:50-0600", "2021-02-23T15:15:50Z"},
		{"2021-02-23T09:15:50-06:00", "2021-02-23T15:15:50Z"},
		{"2021-02-23T09:15:50.123-06:00", "2021-02-23T15:15:50.123Z"},
		{"2021-02-23T09:15:50.5-0600", "2021-02-23T15:15:50.5Z"},
		{"2021-02-23T09:15:50Z", "2021-02-23T09:15:50Z"},
		{"2021-02-23T09:15:50", "2021-02-23T09:15:50Z"},
		{"2021-02-23", "2021-02-23T00:00:00Z"},
		{"23.02.2021", ""},
	}
	for _, tt := range tests {
		name := "reads " + tt.in
		if tt.want == "" {
			name = "rejects " + tt.in
		}
		t.Run(name, func(t *testing.T) {
			got, err := cxml.ParseTime(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("no error for %q", tt.in)
				}
				return
			}
			if err != nil || got.UTC().Format(time.RFC3339Nano) != tt.want {
				t.Fatalf("got %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

const minimal = `<cXML payloadID="p1" timestamp="2021-02-23T09:15:50-0600"><Header>` +
	`<From><Credential domain="DUNS"><Identity>1</Identity></Credential></From>` +
	`<To><Credential domain="DUNS"><Identity>2</Identity></Credential></To>` +
	`<Sender><Credential domain="DUNS"><Identity>1</Identity><SharedSecret>s</SharedSecret></Credential></Sender></Header>` +
	`<Request><StatusUpdateRequest><DocumentReference payloadID="x"/><Status code="200" text="OK">NAME</Status></StatusUpdateRequest></Request></cXML>`

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "reads ISO-8859-1", in: `<?xml version="1.0" encoding="ISO-8859-1"?>` + strings.Replace(minimal, "NAME", "M\xfcnchen", 1), want: "München"},
		{name: "reads Windows-1252", in: `<?xml version="1.0" encoding="windows-1252"?>` + strings.Replace(minimal, "NAME", "\x80 5", 1), want: "€ 5"},
		{name: "reads UTF-16 with a BOM", in: utf16le(`<?xml version="1.0" encoding="UTF-16"?>` + strings.Replace(minimal, "NAME", "Ünits", 1)), want: "Ünits"},
		{name: "ignores the DOCTYPE", in: `<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.050/cXML.dtd">` + minimal, want: "NAME"},
		{name: "rejects an external entity", in: `<!DOCTYPE cXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + strings.Replace(minimal, "NAME", "&x;", 1), want: "error: cxml payload p1 (line 1): malformed XML: invalid character entity &x;"},
		{name: "rejects an unsupported encoding", in: `<?xml version="1.0" encoding="EBCDIC"?>` + minimal, want: `error: cxml payload p1 (line 1): xml: opening charset "EBCDIC": encoding "EBCDIC" is not supported`},
		{name: "rejects a bad timestamp", in: strings.Replace(minimal, "2021-02-23T09:15:50-0600", "yesterday", 1), want: `timestamp "yesterday" is not ISO 8601`},
		{name: "rejects a missing request", in: strings.Replace(strings.Replace(minimal, "<Request>", "<Response>", 1), "</Request>", "</Response>", 1), want: "error: cxml payload p1 Request: missing: only request documents are read"},
		{name: "rejects an oversized document", in: minimal + strings.Repeat(" ", 2000), want: "exceeds the limit of 2000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := cxml.Parse([]byte(tt.in), cxml.Limits{MaxBytes: 2000})
			got := ""
			if err != nil {
				got = "error: " + err.Error()
				var ce *cxml.Error
				if !errors.As(err, &ce) {
					t.Errorf("error is %T, not *cxml.Error", err)
				}
			} else {
				got = d.Request.StatusUpdateRequest.Status.Body
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func utf16le(s string) string {
	var b []byte
	b = append(b, 0xFF, 0xFE)
	for _, r := range s {
		if r > 0xFFFF {
			panic("test helper handles the BMP only")
		}
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", path, got)
	}
}

func FuzzCXML(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(samples, "*.xml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := cxml.Parse(data, cxml.Limits{MaxBytes: 1 << 20})
		if err != nil {
			_ = err.Error()
			return
		}
		_ = d.Kind()
	})
}
