package intake

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/procure"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var now = time.Date(2026, 5, 12, 8, 1, 2, 0, time.UTC)

var secrets = map[string]string{
	"OFFICE_SUPPLIES_SECRET": "welcome", "COUPA_SUPPLIER_SECRET": "secret",
	"PROMINATE_SECRET": "coyote", "ACME_HUB_SECRET": "abracadabra",
}

// The partner profiles of the mapping tests cover every sample sender.
func registry(t testing.TB) *partner.Registry {
	t.Helper()
	r, err := partner.LoadFile(filepath.Join("..", "mapping", "testdata", "partners.yaml"), func(k string) (string, bool) { v, ok := secrets[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func samplesDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "testdata", "samples")
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.md")); err != nil {
		t.Fatalf("sample corpus missing at %s: %v", dir, err)
	}
	return dir
}

func newIntake(t testing.TB, deps Deps) *Intake {
	deps.Now = func() time.Time { return now }
	return New(registry(t), Config{}, deps)
}

type goldenResult struct {
	OriginID         string           `json:"origin_id"`
	Format           Format           `json:"format"`
	Status           Status           `json:"status"`
	Partners         []string         `json:"partners,omitempty"`
	Events           []jsontext.Value `json:"events,omitempty"`
	Acks             []string         `json:"acks,omitempty"`
	Rejections       []string         `json:"rejections,omitempty"`
	Warnings         []string         `json:"warnings,omitempty"`
	Acknowledgements []any            `json:"acknowledgements,omitempty"`
}

func render(t *testing.T, r Result) []byte {
	t.Helper()
	g := goldenResult{OriginID: r.OriginID, Format: r.Format, Status: r.Status, Partners: r.Partners}
	for _, e := range r.Events {
		if e.OriginID != r.OriginID || e.Channel != procure.ChannelB2B {
			t.Errorf("event %s: origin %q channel %q", e.Event.ID, e.OriginID, e.Channel)
		}
		g.Events = append(g.Events, e.Raw)
	}
	for _, a := range r.Acks {
		g.Acks = append(g.Acks, a.Kind+" "+string(a.Verdict)+"\n"+string(a.Body))
	}
	for _, p := range r.Rejections {
		g.Rejections = append(g.Rejections, p.Error())
	}
	for _, p := range r.Warnings {
		g.Warnings = append(g.Warnings, p.Error())
	}
	for _, a := range r.Acknowledgements {
		g.Acknowledgements = append(g.Acknowledgements, a)
	}
	b, err := json.Marshal(g, jsontext.Multiline(true), jsontext.WithIndent("  "), json.Deterministic(true))
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// badSamples lists what the MANIFEST says a validating parser must detect in
// each bad- sample: the outcome and substrings of the rejections (or
// warnings, for the one a lenient parser may read) and of the acknowledgement.
var badSamples = map[string]struct {
	status   Status
	problems []string
	ack      []string
}{
	"bad-x12-850-gozer-1.edi": {Rejected, []string{"set 000000010 (850): segment 21 (SE) element 01: count 33 does not match 21 segments"}, []string{"AK5*R*4", "AK9*R*1*1*0"}},
	"bad-x12-856-stupidedi-1.edi": {Rejected, []string{"segment 11 (N1) element 04: line break after '~' inside the segment", "count 25 does not match 22 segments"},
		[]string{"AK3*N1*11**8", "AK4*4**6", "AK5*R*5*4"}},
	"bad-x12-860-stupidedi-1.edi": {Accepted, []string{"ISA is not fixed-width (86 bytes instead of 106)", "group version 003010 is not of the interchange version 00200"}, []string{"AK5*A"}},
	"bad-edifact-desadv-shogg-1.edi": {Rejected, []string{"(UNG) element 05", "count 9 does not match 13 segments", "(UNE) element 01", "(UNZ) element 01"},
		[]string{"UCM+1+DESADV:D:96A:UN+4+29+UNT+1"}},
	"bad-edifact-invoic-staedi-1.edi": {Rejected, []string{"BYZZ", "1020A", "$1.179", "UNS+S repeats the section control"},
		[]string{"UCM+00000000000117+INVOIC:D:97B:UN+4", "UCS+5'", "UCD+12+1:1'"}},
	"bad-edifact-orders-staedi-1.edi": {Rejected, []string{"message 1 (ORDERS): segment 18 (UNT) element 01: count 21 does not match 18 segments"}, []string{"UCM+1+ORDERS:D:96B:UN:EAN008B+4+29+UNT+1"}},
	"bad-edifact-ordrsp-edinet-1.edi": {Rejected, []string{"count 17 does not match 31 segments", "9IM20YSP9", "DAREFNR00001"},
		[]string{"UCI+DAREFNR0000001+9900080000007:500+990000000000X:500+4+28+UNZ+2", "UCM+9IMX20YSP0009+ORDRSP:D:10A:UN:1.1e+4"}},
}

// TestSamples runs every file of the shared corpus through Process: the
// result (events, acknowledgements, rejections) is compared with its golden
// file; each bad- sample must be rejected (or read with warnings) naming the
// defect, with the matching 997/CONTRL.
func TestSamples(t *testing.T) {
	in := newIntake(t, Deps{})
	dir := samplesDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".edi") || strings.HasSuffix(name, ".xml")) {
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			r, err := in.Process(context.Background(), raw, Auto)
			if err != nil {
				t.Fatal(err)
			}
			got := render(t, r)
			if bad, ok := badSamples[name]; ok {
				if r.Status != bad.status {
					t.Errorf("status %s, want %s", r.Status, bad.status)
				}
				var all strings.Builder
				for _, p := range append(r.Rejections, r.Warnings...) {
					all.WriteString(p.Error() + "\n")
				}
				for _, w := range bad.problems {
					if !strings.Contains(all.String(), w) {
						t.Errorf("no problem names %q:\n%s", w, all.String())
					}
				}
				if len(r.Acks) != 1 {
					t.Fatalf("%d acknowledgements", len(r.Acks))
				}
				for _, w := range bad.ack {
					if !bytes.Contains(r.Acks[0].Body, []byte(w)) {
						t.Errorf("acknowledgement lacks %q:\n%s", w, r.Acks[0].Body)
					}
				}
			} else if strings.HasPrefix(name, "bad-") {
				t.Fatalf("bad sample %s has no expectation", name)
			}
			path := filepath.Join("testdata", strings.TrimSuffix(name, filepath.Ext(name))+".golden.json")
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
				t.Errorf("result differs from %s (run go test -update and review):\n%s", path, got)
			}
		})
	}
	if seen != 24 {
		t.Errorf("%d samples read, the MANIFEST lists 24", seen)
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Format
	}{
		{"x12 with a BOM and blank lines", "\ufeff\r\nISA*00*", X12},
		{"edifact with UNA", "UNA:+.? 'UNB+", EDIFACT},
		{"edifact without UNA", "\nUNB+UNOA:3+", EDIFACT},
		{"cxml with declaration", "<?xml version=\"1.0\"?><cXML", CXML},
		{"cxml without declaration", "  <cXML payloadID", CXML},
		{"json is unknown", `{"id":1}`, Auto},
		{"empty is unknown", "", Auto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff([]byte(tt.in)); got != tt.want {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestProcessOrdersStoreBeforePublish(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir(t), "x12-856-ediengine-1.edi"))
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	var stored RawDocument
	in := newIntake(t, Deps{
		RawStore:   RawStoreFunc(func(_ context.Context, d RawDocument) error { calls = append(calls, "store"); stored = d; return nil }),
		Publisher:  PublisherFunc(func(_ context.Context, ev []procure.Received) error { calls = append(calls, "publish"); return nil }),
		DeadLetter: DeadLetterFunc(func(_ context.Context, r []procure.Rejection) error { calls = append(calls, "dead"); return nil }),
	})
	r, err := in.Process(context.Background(), raw, Auto)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(calls, ",") != "store,publish" || stored.OriginID != r.OriginID || stored.Tenant != "acme" || !bytes.Equal(stored.Body, raw) {
		t.Fatalf("calls %v, stored %+v", calls, stored.OriginID)
	}
	if r.Events[0].OriginID != stored.OriginID {
		t.Fatal("event origin does not name the stored document")
	}
}

func TestProcessFailsWhenAStoreFails(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir(t), "bad-x12-850-gozer-1.edi"))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("clickhouse down")
	tests := []struct {
		name string
		deps Deps
	}{
		{"raw store down", Deps{RawStore: RawStoreFunc(func(context.Context, RawDocument) error { return boom })}},
		{"dead letter down", Deps{DeadLetter: DeadLetterFunc(func(context.Context, []procure.Rejection) error { return boom })}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newIntake(t, tt.deps).Process(context.Background(), raw, Auto)
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestDeadLettersNameTheDefect(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir(t), "bad-x12-850-gozer-1.edi"))
	if err != nil {
		t.Fatal(err)
	}
	var got []procure.Rejection
	in := newIntake(t, Deps{DeadLetter: DeadLetterFunc(func(_ context.Context, r []procure.Rejection) error { got = r; return nil })})
	if _, err := in.Process(context.Background(), raw, Auto); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Tenant != "acme" || got[0].Channel != procure.ChannelB2B || !strings.Contains(got[0].Reason, "count 33 does not match 21 segments") {
		t.Fatalf("%+v", got)
	}
}

func TestRejections(t *testing.T) {
	dir := samplesDir(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		raw  []byte
		hint Format
		want string
		ack  string
	}{
		{"unknown format", []byte("hello"), Auto, `input is not X12 (ISA), EDIFACT (UNA/UNB) or cXML (<?xml): it starts with "hello"`, ""},
		{"unknown x12 sender", bytes.Replace(read("x12-850-nodex12-1.edi"), []byte("*12*4405197800     *"), []byte("*12*4405197899     *"), 1), Auto,
			"sender 12:4405197899 is not a known partner", ""},
		{"wrong cxml shared secret", bytes.Replace(read("cxml-orderrequest-cxmlphp-1.xml"), []byte("coyote"), []byte("roadrunner"), 1), Auto,
			"shared secret does not match", `<Status code="401"`},
		{"malformed cxml", []byte(`<?xml version="1.0"?><cXML payloadID="x"><Header>`), Auto, "malformed XML", `<Status code="400"`},
		// An application problem: rejected internally, the 997 stays about
		// syntax (the set is syntactically valid).
		{"unmapped ship-to", bytes.Replace(read("x12-850-nodex12-1.edi"), []byte("*9*0003947268292"), []byte("*9*0003947268299"), 1), Auto,
			`ship-to location "9:0003947268299" is not mapped for partner widget-buyer`, "AK5*A"},
		{"x12 named as edifact", read("x12-850-nodex12-1.edi"), EDIFACT, "UNB", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := newIntake(t, Deps{}).Process(context.Background(), tt.raw, tt.hint)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != Rejected || len(r.Events) != 0 {
				t.Fatalf("status %s, %d events", r.Status, len(r.Events))
			}
			var all strings.Builder
			for _, p := range r.Rejections {
				all.WriteString(p.Error() + "\n")
			}
			if !strings.Contains(all.String(), tt.want) {
				t.Fatalf("rejections lack %q:\n%s", tt.want, all.String())
			}
			if tt.ack != "" && (len(r.Acks) != 1 || !bytes.Contains(r.Acks[0].Body, []byte(tt.ack))) {
				t.Fatalf("ack lacks %q: %v", tt.ack, r.Acks)
			}
		})
	}
}

func TestResentInterchangeGivesTheSameEventIDs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir(t), "x12-855-nodex12-1.edi"))
	if err != nil {
		t.Fatal(err)
	}
	in := newIntake(t, Deps{})
	a, err := in.Process(context.Background(), raw, Auto)
	if err != nil {
		t.Fatal(err)
	}
	// Re-sent with CRLF line ends: other bytes, same interchange.
	b, err := in.Process(context.Background(), bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n")), Auto)
	if err != nil {
		t.Fatal(err)
	}
	if a.OriginID == b.OriginID || a.Events[0].Event.ID != b.Events[0].Event.ID {
		t.Fatalf("origins %s %s, ids %s %s", a.OriginID, b.OriginID, a.Events[0].Event.ID, b.Events[0].Event.ID)
	}
}
