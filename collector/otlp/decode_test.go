package otlp

import (
	"strconv"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/supplywatch/supplywatch/procure"
)

// BenchmarkDecode decodes one request of 512 spans as the SDK's exporter
// encodes them in the ingest benchmark (protobuf-go, 8 string attributes, 3
// resource attributes).
func BenchmarkDecode(b *testing.B) {
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	now := uint64(time.Now().UnixNano())
	var spans []*tracepb.Span
	for i := range 512 {
		po := strconv.Itoa(4500000000 + i)
		spans = append(spans, &tracepb.Span{
			TraceId:           []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i >> 8), byte(i)},
			SpanId:            []byte{1, 2, 3, 4, 5, 6, byte(i >> 8), byte(i)},
			ParentSpanId:      []byte{9, 2, 3, 4, 5, 6, byte(i >> 8), byte(i)},
			Name:              "map IDoc",
			Kind:              tracepb.Span_SPAN_KIND_CLIENT,
			StartTimeUnixNano: now,
			EndTimeUnixNano:   now + 1e6,
			Attributes: []*commonpb.KeyValue{
				str("supplywatch.correlation_id", "corr-0-"+strconv.Itoa(i)), str("po.number", po),
				str("supplier", "S0042"), str("plant", "P03"), str("source.system", "sap-s4"),
				str("target.system", "ariba"), str("document.type", "po"), str("message.id", "msg-"+po),
			},
			Status: &tracepb.Status{},
		})
	}
	body, err := proto.Marshal(&collectorpb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			str("service.name", "sap-s4-bridge"), str("service.instance.id", "bridge-0"), str("deployment.environment", "bench"),
		}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "supplywatch/otlpbench"}, Spans: spans}},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := decodeRequest("acme", body)
		if err != nil || len(d.spans) != 512 {
			b.Fatalf("decoded %d spans: %v", len(d.spans), err)
		}
	}
}

func TestRepeatedAttributeKeyKeepsItsPlaceAndLastValue(t *testing.T) {
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	long := []*commonpb.KeyValue{str("plant", "P01")}
	for i := range 30 {
		long = append(long, str("k"+strconv.Itoa(i), "v"))
	}
	long = append(long, str("plant", "P02"))
	for _, tc := range []struct {
		name  string
		attrs []*commonpb.KeyValue
		want  int // attributes after dedup
	}{
		{"short list is searched", []*commonpb.KeyValue{str("plant", "P01"), str("supplier", "S1"), str("plant", "P02")}, 2},
		{"long list is indexed", long, 31},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := proto.Marshal(&collectorpb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
				ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
					TraceId: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8},
					Attributes: tc.attrs,
				}}}},
			}}})
			if err != nil {
				t.Fatal(err)
			}
			d, err := decodeRequest("acme", body)
			if err != nil || len(d.spans) != 1 {
				t.Fatalf("decoded %d spans: %v", len(d.spans), err)
			}
			as := d.spans[0].Attributes
			if len(as) != tc.want || as[0] != (procure.Attribute{Key: "plant", Value: "P02"}) {
				t.Errorf("got %d attributes, the first %+v; want %d, the first plant=P02", len(as), as[0], tc.want)
			}
		})
	}
}
