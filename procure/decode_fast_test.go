package procure_test

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/simulator"
)

// agree checks that Decode and Check (with the fast path) and the general
// decoder give the same event (Check's without its payload) or the same
// error for b.
func agree(t testing.TB, b []byte) {
	t.Helper()
	fe, ferr := procure.Decode(b)
	ce, cerr := procure.Check(b)
	ge, gerr := procure.DecodeGeneral(b)
	if !reflect.DeepEqual(ferr, gerr) || !reflect.DeepEqual(cerr, gerr) {
		t.Fatalf("errors differ for %q:\nDecode:  %v\nCheck:   %v\ngeneral: %v", b, ferr, cerr, gerr)
	}
	if !reflect.DeepEqual(fe, ge) {
		t.Fatalf("events differ for %q:\nDecode:  %+v\n%+v\ngeneral: %+v\n%+v", b, fe, fe.Payload, ge, ge.Payload)
	}
	if ge != nil {
		envelope := *ge
		envelope.Payload, envelope.Data = nil, nil
		if !reflect.DeepEqual(ce, &envelope) {
			t.Fatalf("Check's event differs for %q:\nCheck:   %+v\ngeneral: %+v", b, ce, &envelope)
		}
	}
}

// simulatorEvents are sixty days of the simulator's traffic, encoded as the
// simulator's producers send it.
func simulatorEvents(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	sink := simulator.SinkFunc(func(_ context.Context, evs []*procure.Event) error {
		for _, e := range evs {
			raw, err := procure.Encode(e)
			if err != nil {
				return err
			}
			out = append(out, raw)
		}
		return nil
	})
	end := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	sim, err := simulator.New(simulator.Config{Seed: 5, Suppliers: 20, OrdersPerDay: 8}, sink,
		simulator.Options{Now: func() time.Time { return end }})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Backfill(context.Background(), 60); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFastDecodeTakesEveryEventOfTheSimulator(t *testing.T) {
	hot := map[procure.Type]bool{procure.POReleased: true, procure.POChanged: true, procure.POAcknowledged: true,
		procure.ASNSubmitted: true, procure.GoodsReceived: true, procure.InvoiceStatusChanged: true,
		procure.QualityDocumentAttached: true, procure.ItemUpdated: true, procure.MessageFailed: true}
	fast, byType := 0, map[procure.Type]int{}
	evs := simulatorEvents(t)
	for _, raw := range evs {
		e, err := procure.Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if _, ok := procure.DecodeFast(raw, true); ok {
			fast++
			byType[e.Type]++
		} else {
			t.Errorf("the fast path gave up on a %s from the simulator: %s", e.Type, raw)
		}
	}
	for ty := range hot {
		if byType[ty] == 0 {
			t.Errorf("no %s from the simulator took the fast path", ty)
		}
	}
	t.Logf("%d of %d simulator events took the fast path: %v", fast, len(evs), byType)
}

// mutations turn a valid event into near neighbours: every shape the fast
// path gives up on and every error it must leave to the general decoder.
var mutations = []struct{ from, to string }{
	{`"id":"`, `"id": "`}, {`"id":"`, `"id":"\u0041`}, {`"id":"`, `"id":null,"x":"`}, {`"id":"`, `"id":"é`},
	{`"type":"`, `"type":null,"t":"`}, {`"tenant":"`, `"tenant":"A`}, {`"tenant":"`, `"tenant":"`},
	{`{"id"`, `{"id":"dup","id"`}, {`"source":"`, `"source":"x`}, {`"plant":"`, `"plant":"\ud800`},
	{`Z"`, `+02:00"`}, {`Z"`, `"`}, {`Z"`, `+24:00"`}, {`Z"`, `+02:60"`}, {`Z"`, `z"`}, {`T`, `t`}, {`T0`, `T`}, {`.`, `,`},
	{`"version":1`, `"version":1.0`}, {`"version":1`, `"version":-0`}, {`"version":1`, `"version":1e0`},
	{`"version":1`, `"version":99999999999999999999`}, {`"version":1`, `"version":-1`}, {`"version":1`, `"version":"1"`},
	{`"quantity":`, `"quantity":-`}, {`"quantity":`, `"quantity":0`}, {`"quantity":`, `"quantity":1e3+`},
	{`"quantity":`, `"quantity":1234567890123456789`}, {`"unit_price":`, `"unit_price":1e400,"x":`},
	{`"unit_price":`, `"unit_price":0.1234567890123456789`}, {`"unit_price":`, `"unit_price":00`}, {`"unit_price":`, `"unit_price":-0.0`},
	{`"unit_price":`, `"unit_price":1.`}, {`"unit_price":`, `"unit_price":.5`}, {`"unit_price":`, `"unit_price":2E-3,"a":`},
	{`"line":`, `"line":0,"l":`}, {`"line":`, `"line":1.5,"l":`}, {`"line":10`, `"line":20`}, {`"line":`, `"line":null,"l":`},
	{`"lines":[`, `"lines":[]`}, {`"lines":[`, `"lines":null,"x":[`}, {`"lines":[{`, `"lines":[{},{`}, {`"lines":[`, `"lines":[1,`},
	{`"schedule":[`, `"schedule":[],"s":[`}, {`"data":{`, `"data":{"x":1,`}, {`"data":{`, `"data":[{`}, {`"data":{`, `"data":null,"d":{`},
	{`"data":`, `"data":{},"data2":`}, {`"document":{`, `"document":{"version":0,`}, {`"kind":"`, `"kind":"x`},
	{`"need_by":"`, `"need_by":"","n":"`}, {`"need_by":"`, `"need_by":"2026-02-30","n":"`}, {`"date":"`, `"date":"","d":"`},
	{`"incoterms":{`, `"incoterms":{},"i":{`}, {`"incoterms":{`, `"incoterms":null,"i":{`}, {`"credit_note":`, `"credit_note":tru,"c":`},
	{`"credit_note":false`, `"credit_note":true`}, {`"credit_note":`, `"credit_note":1,"c":`}, {`"ship_date":"`, `"ship_date":"2026-01-01","s":"`},
	{`"status":"`, `"status":"x`}, {`"sscc":"`, `"sscc":"1`}, {`":`, `" :`}, {`,"`, `, "`}, {`{`, "{\n"}, {`}`, "}\t"},
	{`"description":"`, `"description":"Schraube M8 ß ✓ `}, {`"description":"`, "\"description\":\"\x7f"}, {`"description":"`, "\"description\":\"\xff"},
	{`"item":"`, `"item":"\"`}, {`"description":"`, `"description":"a\"b\\c\/d\n\t\r\b\f`}, {`"description":"`, `"description":"\u00e9`},
	{`"description":"`, `"description":"\x`}, {`"description":"`, `"description":"\`}, {`"id":"`, `"id":"\t`}, {`"error":"`, `"error":"\"\u0000`},
	{`"currency"`, `"curr\u0065ncy"`}, {`"currency"`, `"curr\tncy"`}, {`"item":"`, `"item":"\/`}, {`"ack_id":"`, `"ack_id":1,"a":"`},
}

func TestFastDecodeAgreesWithTheGeneralDecoder(t *testing.T) {
	corpus := simulatorEvents(t)
	for _, name := range []string{"po_released.json"} {
		corpus = append(corpus, procure.ReadFixture(t, name))
	}
	seenType := map[string]bool{}
	n := 0
	for _, raw := range corpus {
		agree(t, raw)
		n++
		// Every mutation at every place it fits, for one event of each type.
		ty := string(raw[bytes.Index(raw, []byte(`"type":"`))+8:][:20])
		if seenType[ty] {
			continue
		}
		seenType[ty] = true
		for _, m := range mutations {
			s := string(raw)
			for i := 0; ; {
				j := strings.Index(s[i:], m.from)
				if j < 0 {
					break
				}
				i += j
				agree(t, []byte(s[:i]+m.to+s[i+len(m.from):]))
				n++
				i += len(m.from)
			}
		}
		for i := 0; i < len(raw); i += 7 {
			agree(t, raw[:i])
			agree(t, append(bytes.Clone(raw), raw[:i]...))
			n += 2
		}
		agree(t, append(bytes.Clone(raw), "  \n"...))
		n++
	}
	t.Logf("%d inputs", n)
}

// FuzzFastDecodeAgrees: the fast path and the general decoder agree on any input.
func FuzzFastDecodeAgrees(f *testing.F) {
	f.Add(procure.ReadFixture(f, "po_released.json"))
	for i, raw := range simulatorEvents(f) {
		if i%50 == 0 {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		agree(t, b)
	})
}
