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
			d, err := decode(enc, "acme", body)
			if err != nil {
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
