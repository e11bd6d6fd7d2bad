package procure

import (
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeValidPurchaseOrder(t *testing.T) {
	e, err := Decode(readFixture(t, "po_released.json"))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	po, ok := e.Payload.(*PurchaseOrder)
	if !ok {
		t.Fatalf("payload is %T, want *PurchaseOrder", e.Payload)
	}
	if e.DocumentKey() != "acme/po/4500012345" {
		t.Errorf("DocumentKey = %q", e.DocumentKey())
	}
	if got := po.Lines[0].Schedule[1].Date.String(); got != "2026-05-30" {
		t.Errorf("schedule date = %q", got)
	}
	if e.OccurredAt.UnixMilli() != 1778572862123 {
		t.Errorf("occurred_at = %v", e.OccurredAt)
	}
}

func TestDecodeRejectsWithFieldAndReason(t *testing.T) {
	valid := string(readFixture(t, "po_released.json"))
	tests := []struct {
		name      string
		input     string
		field     string
		reasonHas string
	}{
		{"unknown envelope field", strings.Replace(valid, `"tenant":"acme"`, `"tenant":"acme","colour":"red"`, 1), "colour", "unknown field"},
		{"unknown payload field", strings.Replace(valid, `"item":"M-100"`, `"item":"M-100","colour":1`, 1), "data.lines[0].colour", "unknown field"},
		{"missing id", strings.Replace(valid, `"id":"evt-0001",`, ``, 1), "id", "is required"},
		{"missing tenant", strings.Replace(valid, `"tenant":"acme",`, ``, 1), "tenant", "is required"},
		{"unknown type", strings.Replace(valid, `"po.released"`, `"po.teleported"`, 1), "type", "unknown event type"},
		{"unknown source", strings.Replace(valid, `"source":"erp"`, `"source":"fax"`, 1), "source", "unknown source"},
		{"bad timestamp", strings.Replace(valid, `2026-05-12T08:01:02.123Z`, `12/05/2026 08:01`, 1), "occurred_at", "timestamp"},
		{"timestamp without zone", strings.Replace(valid, `2026-05-12T08:01:02.123Z`, `2026-05-12T08:01:02`, 1), "occurred_at", ""},
		{"quantity as string", strings.Replace(valid, `"quantity":500`, `"quantity":"500"`, 1), "data.lines[0].quantity", "number"},
		{"negative quantity", strings.Replace(valid, `"quantity":500`, `"quantity":-5`, 1), "data.lines[0].quantity", "greater than 0"},
		{"bad need-by date", strings.Replace(valid, `"need_by":"2026-05-30"`, `"need_by":"30.05.2026"`, 1), "data.lines[0].need_by", "YYYY-MM-DD"},
		{"missing item", strings.Replace(valid, `"item":"M-100",`, ``, 1), "data.lines[0].item", "is required"},
		{"bad schedule quantity", strings.Replace(valid, `"seq":2,"quantity":250`, `"seq":2,"quantity":0`, 1), "data.lines[0].schedule[1].quantity", "greater than 0"},
		{"document kind mismatch", strings.Replace(valid, `"kind":"po"`, `"kind":"asn"`, 1), "document.kind", "about \"po\""},
		{"bad trace id", strings.Replace(valid, `4bf92f3577b34da6a3ce929d0e0e4736`, `xyz`, 1), "trace_id", "32 lowercase hex"},
		{"missing data", strings.Replace(valid, `"data":{`, `"dota":{`, 1), "dota", "unknown field"},
		{"truncated JSON", valid[:40], "", "invalid JSON"},
		{"not an object", `[1,2]`, "", "array"},
		{"NUL in document id", strings.Replace(valid, `"id":"4500012345"`, `"id":"4500\u0000012345"`, 1), "document.id", "NUL character"},
		{"NUL in a line's item", strings.Replace(valid, `"item":"M-100"`, `"item":"M-100\u0000"`, 1), "data.lines[0].item", "NUL character"},
		{"NUL in a member name", strings.Replace(valid, `"tenant":"acme"`, `"tenant":"acme","t\u0000":"x"`, 1), `t\u0000`, "NUL character"},
		{"invalid UTF-8 in plant", strings.Replace(valid, `"plant":"P01"`, "\"plant\":\"P\xc3\"", 1), "plant", "invalid UTF-8"},
		{"unpaired surrogate in item", strings.Replace(valid, `"item":"M-100"`, `"item":"M-\ud800"`, 1), "data.lines[0].item", "surrogate"},
		{"missing supplier", strings.Replace(valid, `"supplier":"S0042",`, ``, 1), "supplier", "required for po.released"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.input))
			fe, ok := err.(*FieldError)
			if !ok {
				t.Fatalf("err = %v (%T), want *FieldError", err, err)
			}
			if fe.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", fe.Field, tt.field, fe)
			}
			if !strings.Contains(fe.Reason, tt.reasonHas) {
				t.Errorf("reason = %q, want it to contain %q", fe.Reason, tt.reasonHas)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	e, err := Decode(readFixture(t, "po_released.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := Decode(b)
	if err != nil {
		t.Fatalf("re-decode: %v\n%s", err, b)
	}
	if e2.Payload.(*PurchaseOrder).Lines[0].NeedBy != e.Payload.(*PurchaseOrder).Lines[0].NeedBy {
		t.Error("need_by changed in round trip")
	}
}

func TestValidSSCC(t *testing.T) {
	for s, want := range map[string]bool{
		"106141411234567897": true,
		"106141411234567890": false,
		"10614141123456789":  false,
		"10614141123456789X": false,
	} {
		if got := ValidSSCC(s); got != want {
			t.Errorf("ValidSSCC(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(readFixture(f, "po_released.json"))
	f.Add([]byte(`{"id":"x","type":"asn.submitted","data":{"lines":[{}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err == nil && e.Payload == nil {
			t.Fatal("decoded event without payload")
		}
		if err != nil {
			if _, ok := err.(*FieldError); !ok {
				t.Fatalf("error %T is not a *FieldError: %v", err, err)
			}
		}
	})
}

func TestParseDateAcceptsWhatTimeParseAccepts(t *testing.T) {
	for _, s := range []string{"2026-05-30", "2026-02-30", "2024-02-29", "2025-02-29", "2026-13-01", "2026-00-10", "2026-01-00",
		"2026-1-01", "20260101", "2026-01-01T00:00:00Z", "+026-01-01", "2026-01-3a", "", "0000-01-01", "9999-12-31", "2026-04-31"} {
		want, werr := time.Parse(time.DateOnly, s)
		got, gerr := ParseDate(s)
		if (werr == nil) != (gerr == nil) || werr == nil && !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v; time.Parse gives %v, %v", s, got, gerr, want, werr)
		}
	}
}

// A syntax error inside a payload read whole (an unknown type's) is named
// alike by a fresh decoder from the pool and by a used one (makeRoom).
func TestDecodeNamesTheSameFieldWithAFreshOrAUsedDecoder(t *testing.T) {
	valid := string(readFixture(t, "po_released.json"))
	b := []byte(strings.Replace(strings.Replace(valid, `"po.released"`, `"po.rFleased"`, 1),
		`"seq":2,"quantity":250`, `"seq":2,&quantity":250`, 1))
	decoders = sync.Pool{New: func() any { return new(eventDecoder) }}
	_, fresh := decode(b, false, true)
	_, used := decode(b, false, true)
	if !reflect.DeepEqual(fresh, used) {
		t.Fatalf("a fresh decoder says %v, a used one %v", fresh, used)
	}
	if fe, ok := fresh.(*FieldError); !ok || fe.Field != "data.lines[0].schedule[1]" {
		t.Fatalf("err = %v, want one about data.lines[0].schedule[1]", fresh)
	}
}
