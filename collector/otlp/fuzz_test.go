package otlp

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// FuzzConvert feeds arbitrary bodies to the decode+convert path in both
// encodings: it must never panic, every span it returns must have well-formed
// ids, and when pdata also accepts a protobuf body, both must see the same
// spans (returned plus refused).
func FuzzConvert(f *testing.F) {
	f.Add(protoBody(f, sampleTraces()))
	f.Add(append(protoBody(f, sampleTraces()), badIDs()...))
	f.Add(jsonBody(f, sampleTraces()))
	f.Add(protoBody(f, bigTraces(3)))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, enc := range []encoding{encProtobuf, encJSON} {
			d := new(decoder)
			if err := decode(d, enc, "acme", body); err != nil {
				continue
			}
			for _, s := range d.spans {
				if len(s.TraceID) != 32 || len(s.SpanID) != 16 || (s.ParentSpanID != "" && len(s.ParentSpanID) != 16) || s.Tenant != "acme" {
					t.Fatalf("span with bad ids or tenant: %+v", s)
				}
			}
			if enc != encProtobuf {
				continue
			}
			req := ptraceotlp.NewExportRequest()
			if req.UnmarshalProto(body) != nil {
				continue
			}
			if n := req.Traces().SpanCount(); n != len(d.spans)+d.refused {
				t.Fatalf("pdata sees %d spans, decoder %d stored + %d refused", n, len(d.spans), d.refused)
			}
		}
	})
}

// FuzzStringKeyValue checks the KeyValue fast path against the general
// decoder: whatever it accepts, it must read as keyValueAny does.
func FuzzStringKeyValue(f *testing.F) {
	// protobuf-go order (key, value) and pdata order (value, key).
	f.Add([]byte("\x0a\x09po.number\x12\x0c\x0a\x0a4500000001"))
	f.Add([]byte("\x12\x0c\x0a\x0a4500000001\x0a\x09po.number"))
	f.Add([]byte("\x0a\x00\x12\x02\x0a\x00"))
	f.Add([]byte("\x0a\x01k\x12\x02\x18\x07"))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, value, ok := stringKeyValue(b)
		if !ok {
			return
		}
		var d decoder
		k, v, err := d.keyValueAny(b)
		if err != nil || k != key || v != value {
			t.Fatalf("fast path read %q=%q, keyValueAny %q=%q (%v)", key, value, k, v, err)
		}
	})
}
