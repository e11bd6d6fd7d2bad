package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/procure"
)

const testToken = "s3cret"

// tokenAuth accepts "Bearer s3cret" for tenant acme.
func tokenAuth() Authenticator {
	return AuthenticatorFunc(func(r *http.Request, _ []byte) (string, error) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			return "", errors.New("unknown token")
		}
		return "acme", nil
	})
}

type stack struct {
	url   string
	store *clickhouse.Store
	h     *Handler
}

// newStack serves the handler on loopback over a real Writer and a fresh
// ClickHouse database.
func newStack(t *testing.T, cfg Config) *stack {
	t.Helper()
	return newStackVia(t, cfg, nil)
}

// newStackVia is newStack with the handler's Writer wrapped by via.
func newStackVia(t *testing.T, cfg Config, via func(Writer) Writer) *stack {
	t.Helper()
	conn, db, addr := chtest.DB(t)
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := clickhouse.Migrate(ctx, conn, clickhouse.Config{Database: db, RetentionDays: 30}, log); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	native, err := clickhouse.OpenNative(ctx, clickhouse.Config{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(native.Close)
	store := clickhouse.NewStore(conn, db).WithNative(native)
	w := collector.NewWriter(collector.WriterConfig{FlushInterval: 20 * time.Millisecond}, store, nil, log,
		collector.NewMetrics(prometheus.NewRegistry()), noop.NewTracerProvider().Tracer(""))
	runDone := make(chan error, 1)
	go func() { runDone <- w.Run(ctx, 10*time.Second) }()
	var hw Writer = w
	if via != nil {
		hw = via(w)
	}
	h, err := New(cfg, tokenAuth(), hw, log, NewMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-runDone; err != nil {
			t.Errorf("writer: %v", err)
		}
	})
	return &stack{url: srv.URL + Path, store: store, h: h}
}

type request struct {
	contentType string
	gzip        bool
	claimGzip   bool // Content-Encoding: gzip on a body that is not
	token       string
	body        []byte
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func post(t *testing.T, url string, rq request) response {
	t.Helper()
	body := rq.body
	if rq.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", rq.contentType)
	if rq.gzip || rq.claimGzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

var (
	traceA = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanA  = pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	spanB  = pcommon.SpanID{0x11, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb8}
)

// sampleStart is when the sample spans began: recent, so that the spans
// table's TTL (counted from start_time) never removes them while a test
// reads them back, and with nanoseconds to prove DateTime64(9) round-trips.
var sampleStart = time.Now().UTC().Truncate(time.Hour).Add(-time.Hour + time.Minute + 2*time.Second + 123456789)

// sampleTraces is one resource (service erp-bridge, correlation id on the
// resource) with two spans: a server span that names its own correlation id
// and PO, and an internal child that inherits the resource's correlation id.
func sampleTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "erp-bridge")
	rs.Resource().Attributes().PutStr("correlation.id", "corr-resource")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("supplywatch/erp")
	start := sampleStart

	s := ss.Spans().AppendEmpty()
	s.SetTraceID(traceA)
	s.SetSpanID(spanA)
	s.SetName("POST /orders")
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(1500 * time.Microsecond)))
	s.Status().SetCode(ptrace.StatusCodeError)
	s.Status().SetMessage("supplier portal timeout")
	a := s.Attributes()
	a.PutStr("correlation_id", "corr-span-low")
	a.PutStr("supplywatch.correlation_id", "corr-span")
	a.PutStr("po.number", "4500012345")
	a.PutStr("supplier", "S0042")
	a.PutInt("retry.attempt", 3)
	a.PutDouble("quantity", 12.5)
	a.PutBool("urgent", true)
	arr := a.PutEmptySlice("lines")
	arr.AppendEmpty().SetStr("10")
	arr.AppendEmpty().SetInt(20)
	kv := a.PutEmptyMap("target")
	kv.PutStr("system", "SAP \"S4\"")
	kv.PutBool("edi", false)
	ev := s.Events().AppendEmpty()
	ev.SetName("retry")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	ev.Attributes().PutStr("error.class", "timeout")

	c := ss.Spans().AppendEmpty()
	c.SetTraceID(traceA)
	c.SetSpanID(spanB)
	c.SetParentSpanID(spanA)
	c.SetName("map order")
	c.SetKind(ptrace.SpanKindInternal)
	c.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	c.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	c.Attributes().PutStr("asn.number", "ASN-7")
	c.Attributes().PutStr("invoice.number", "INV-9")
	return td
}

func protoBody(t testing.TB, td ptrace.Traces) []byte {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonBody(t testing.TB, td ptrace.Traces) []byte {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// storedSpan is a span as read back, its attributes as the maps ClickHouse
// returns for them.
type storedSpan struct {
	procure.Span
	Attributes, ResourceAttributes map[string]string
	EventAttributes                []map[string]string
}

// stored reads the spans of a trace back, by span id.
func stored(t *testing.T, s *stack, traceID string) map[string]storedSpan {
	t.Helper()
	rows, err := s.store.Conn().Query(context.Background(), `SELECT tenant, start_time, trace_id, span_id, parent_span_id,
		name, kind, service_name, scope_name, duration_ns, status_code, status_message, correlation_id, document_id,
		attributes, resource_attributes, events_time, events_name, events_attributes
		FROM `+s.store.Database()+`.spans_v2 WHERE trace_id = ?`, traceID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedSpan{}
	for rows.Next() {
		var x storedSpan
		if err := rows.Scan(&x.Tenant, &x.StartTime, &x.TraceID, &x.SpanID, &x.ParentSpanID, &x.Name, &x.Kind, &x.ServiceName,
			&x.ScopeName, &x.DurationNanos, &x.StatusCode, &x.StatusMessage, &x.CorrelationID, &x.DocumentID,
			&x.Attributes, &x.ResourceAttributes, &x.EventTimes, &x.EventNames, &x.EventAttributes); err != nil {
			t.Fatal(err)
		}
		out[x.SpanID] = x
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkSample(t *testing.T, got map[string]storedSpan) {
	t.Helper()
	if len(got) != 2 {
		t.Fatalf("stored %d spans, want 2", len(got))
	}
	a, b := got[hex.EncodeToString(spanA[:])], got[hex.EncodeToString(spanB[:])]
	start := sampleStart
	checks := []struct{ what, got, want string }{
		{"tenant", a.Tenant, "acme"},
		{"start", a.StartTime.UTC().Format(time.RFC3339Nano), start.Format(time.RFC3339Nano)},
		{"duration", fmt.Sprint(a.DurationNanos), "1500000"},
		{"name", a.Name, "POST /orders"},
		{"kind", a.Kind, "Server"},
		{"service", a.ServiceName, "erp-bridge"},
		{"scope", a.ScopeName, "supplywatch/erp"},
		{"status", a.StatusCode, "Error"},
		{"status message", a.StatusMessage, "supplier portal timeout"},
		{"correlation id (span, preferred key)", a.CorrelationID, "corr-span"},
		{"document id", a.DocumentID, "4500012345"},
		{"string attribute", a.Attributes["supplier"], "S0042"},
		{"int attribute", a.Attributes["retry.attempt"], "3"},
		{"double attribute", a.Attributes["quantity"], "12.5"},
		{"bool attribute", a.Attributes["urgent"], "true"},
		{"array attribute", a.Attributes["lines"], `["10",20]`},
		{"kvlist attribute", a.Attributes["target"], `{"system":"SAP \"S4\"","edi":false}`},
		{"resource attribute", a.ResourceAttributes["service.name"], "erp-bridge"},
		{"event", fmt.Sprint(a.EventNames, len(a.EventTimes), a.EventAttributes), "[retry] 1 [map[error.class:timeout]]"},
		{"event time", a.EventTimes[0].UTC().Format(time.RFC3339Nano), start.Add(time.Millisecond).Format(time.RFC3339Nano)},
		{"root has no parent", a.ParentSpanID, ""},
		{"child parent", b.ParentSpanID, hex.EncodeToString(spanA[:])},
		{"child kind", b.Kind, "Internal"},
		{"child status", b.StatusCode, "Unset"},
		{"child correlation id (resource)", b.CorrelationID, "corr-resource"},
		{"child document id (asn before invoice)", b.DocumentID, "ASN-7"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestExportIsStored(t *testing.T) {
	s := newStack(t, Config{})
	td := sampleTraces()
	for _, tc := range []struct {
		name string
		rq   request
	}{
		{"protobuf is stored", request{contentType: ContentTypeProtobuf, body: protoBody(t, td)}},
		{"json is stored", request{contentType: ContentTypeJSON, body: jsonBody(t, td)}},
		{"gzip protobuf is stored", request{contentType: ContentTypeProtobuf, gzip: true, body: protoBody(t, td)}},
		{"gzip json with charset is stored", request{contentType: "application/json; charset=utf-8", gzip: true, body: jsonBody(t, td)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rq.token = testToken
			resp := post(t, s.url, tc.rq)
			if resp.status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			wantCT := ContentTypeProtobuf
			if strings.HasPrefix(tc.rq.contentType, ContentTypeJSON) {
				wantCT = ContentTypeJSON
			}
			if ct := resp.header.Get("Content-Type"); ct != wantCT {
				t.Errorf("response Content-Type %q, want %q", ct, wantCT)
			}
			er := ptraceotlp.NewExportResponse()
			var err error
			if wantCT == ContentTypeJSON {
				err = er.UnmarshalJSON(resp.body)
			} else {
				err = er.UnmarshalProto(resp.body)
			}
			if err != nil || er.PartialSuccess().RejectedSpans() != 0 {
				t.Errorf("response %q: err %v, rejected %d", resp.body, err, er.PartialSuccess().RejectedSpans())
			}
			// Each export of the same spans collapses to the same two rows.
			checkSample(t, stored(t, s, hex.EncodeToString(traceA[:])))
		})
	}
}

// badIDs is a ResourceSpans with three spans whose ids are invalid, as raw
// protobuf (pdata cannot make ids of the wrong length).
func badIDs() []byte {
	span := func(traceID, spanID []byte, name string) []byte {
		var b []byte
		b = protowire.AppendTag(b, fSpanTraceID, protowire.BytesType)
		b = protowire.AppendBytes(b, traceID)
		b = protowire.AppendTag(b, fSpanSpanID, protowire.BytesType)
		b = protowire.AppendBytes(b, spanID)
		b = protowire.AppendTag(b, fSpanName, protowire.BytesType)
		return protowire.AppendString(b, name)
	}
	var ss []byte
	for _, sp := range [][]byte{
		span(make([]byte, 16), spanA[:], "zero trace"),
		span(traceA[:], spanA[:4], "short span"),
		span(traceA[:8], spanA[:], "short trace"),
	} {
		ss = protowire.AppendTag(ss, fScopeSpansSpans, protowire.BytesType)
		ss = protowire.AppendBytes(ss, sp)
	}
	var rs []byte
	rs = protowire.AppendTag(rs, fResourceSpansScopeSpans, protowire.BytesType)
	rs = protowire.AppendBytes(rs, ss)
	var req []byte
	req = protowire.AppendTag(req, fRequestResourceSpans, protowire.BytesType)
	return protowire.AppendBytes(req, rs)
}

func TestInvalidIDsArePartialSuccess(t *testing.T) {
	s := newStack(t, Config{})
	// Repeated fields concatenate: the valid request followed by the bad
	// resource is one request with both.
	body := append(protoBody(t, sampleTraces()), badIDs()...)
	resp := post(t, s.url, request{contentType: ContentTypeProtobuf, token: testToken, body: body})
	if resp.status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	er := ptraceotlp.NewExportResponse()
	if err := er.UnmarshalProto(resp.body); err != nil {
		t.Fatal(err)
	}
	if got := er.PartialSuccess().RejectedSpans(); got != 3 {
		t.Errorf("rejected_spans %d, want 3", got)
	}
	if msg := er.PartialSuccess().ErrorMessage(); !strings.Contains(msg, "trace_id is all zero") {
		t.Errorf("error_message %q does not say why", msg)
	}
	checkSample(t, stored(t, s, hex.EncodeToString(traceA[:])))

	t.Run("json with a zero trace id is partial success", func(t *testing.T) {
		td := sampleTraces()
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetTraceID(pcommon.TraceID{})
		resp := post(t, s.url, request{contentType: ContentTypeJSON, token: testToken, body: jsonBody(t, td)})
		if resp.status != http.StatusOK {
			t.Fatalf("status %d: %s", resp.status, resp.body)
		}
		if !bytes.Contains(resp.body, []byte(`"rejectedSpans":"1"`)) {
			t.Errorf("response %s: want rejectedSpans 1", resp.body)
		}
	})
}

func TestRequestIsRefused(t *testing.T) {
	s := newStack(t, Config{MaxBodyBytes: 64 << 10, MaxDecodedBytes: 128 << 10})
	valid := protoBody(t, sampleTraces())
	big := protoBody(t, bigTraces(2000)) // > 128 KiB decoded, < 64 KiB gzipped
	for _, tc := range []struct {
		name    string
		rq      request
		status  int
		message string
	}{
		{"missing token is 401", request{contentType: ContentTypeProtobuf, body: valid}, 401, "unknown token"},
		{"wrong token is 401", request{contentType: ContentTypeProtobuf, token: "nope", body: valid}, 401, "unknown token"},
		{"truncated protobuf is 400", request{contentType: ContentTypeProtobuf, token: testToken, body: valid[:len(valid)-3]}, 400, "invalid OTLP protobuf"},
		{"malformed json is 400", request{contentType: ContentTypeJSON, token: testToken, body: []byte(`{"resourceSpans":[{`)}, 400, "invalid OTLP JSON"},
		{"json with a bad trace id is 400", request{contentType: ContentTypeJSON, token: testToken, body: []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"00f067aa0ba902b7"}]}]}]}`)}, 400, "invalid OTLP JSON"},
		{"corrupt gzip is 400", request{contentType: ContentTypeProtobuf, token: testToken, claimGzip: true, body: []byte("not gzip")}, 400, "gzip"},
		{"body over the limit is 413", request{contentType: ContentTypeProtobuf, token: testToken, body: make([]byte, 65<<10)}, 413, "limit"},
		{"gzip bomb over the decoded limit is 413", request{contentType: ContentTypeProtobuf, token: testToken, gzip: true, body: big}, 413, "decompressed"},
		{"unknown content type is 415", request{contentType: "text/plain", token: testToken, body: valid}, 415, "Content-Type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, s.url, tc.rq)
			if resp.status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tc.status, resp.body)
			}
			if !bytes.Contains(resp.body, []byte(tc.message)) {
				t.Errorf("body %q does not contain %q", resp.body, tc.message)
			}
			if resp.status == 401 && resp.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// bigTraces is n spans with a few attributes each.
func bigTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := range n {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(traceA)
		s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, byte(i >> 8), byte(i)})
		s.SetName("span")
		s.Attributes().PutStr("supplier", strings.Repeat("S", 100))
	}
	return td
}

// stuckWriter accepts items and never stores them.
type stuckWriter struct{}

func (stuckWriter) Submit(context.Context, collector.Item) error { return nil }

// fullWriter has no room.
type fullWriter struct{}

func (fullWriter) Submit(ctx context.Context, _ collector.Item) error {
	<-ctx.Done()
	return ctx.Err()
}

type limited struct{}

func (limited) Error() string             { return "token acme: more than 10 spans/s" }
func (limited) RetryAfter() time.Duration { return 2 * time.Second }

func TestOverloadIsRetryable(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	valid := protoBody(t, sampleTraces())
	for _, tc := range []struct {
		name       string
		auth       Authenticator
		w          Writer
		status     int
		retryAfter string
	}{
		{"writer that never stores is 503", tokenAuth(), stuckWriter{}, 503, "5"},
		{"writer without room is 503", tokenAuth(), fullWriter{}, 503, "5"},
		{"rate-limited sender is 429", AuthenticatorFunc(func(*http.Request, []byte) (string, error) { return "", limited{} }), stuckWriter{}, 429, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(Config{SubmitTimeout: 50 * time.Millisecond, StoreTimeout: 50 * time.Millisecond}, tc.auth, tc.w, log, nil)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			resp := post(t, srv.URL+Path, request{contentType: ContentTypeProtobuf, token: testToken, body: valid})
			if resp.status != tc.status || resp.header.Get("Retry-After") != tc.retryAfter {
				t.Fatalf("status %d Retry-After %q, want %d %q: %s", resp.status, resp.header.Get("Retry-After"), tc.status, tc.retryAfter, resp.body)
			}
		})
	}
}

// TestSDKExportIsStored sends spans with the OpenTelemetry SDK's own
// OTLP/HTTP exporter, in each encoding it offers.
func TestSDKExportIsStored(t *testing.T) {
	s := newStack(t, Config{})
	for _, tc := range []struct {
		name string
		opts []otlptracehttp.Option
	}{
		{"sdk protobuf is stored", nil},
		{"sdk gzip is stored", []otlptracehttp.Option{otlptracehttp.WithCompression(otlptracehttp.GzipCompression)}},
		{"sdk json is stored", []otlptracehttp.Option{otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			opts := append([]otlptracehttp.Option{
				otlptracehttp.WithEndpointURL(s.url),
				otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + testToken}),
			}, tc.opts...)
			exp, err := otlptracehttp.New(ctx, opts...)
			if err != nil {
				t.Fatal(err)
			}
			res := sdkresource.NewSchemaless(attribute.String("service.name", "portal"))
			tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(exp))
			_, span := tp.Tracer("supplywatch/portal").Start(ctx, "ack PO", trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(attribute.String("correlation_id", "c-77"), attribute.String("document.id", "4500099"), attribute.Int("line", 10)))
			span.AddEvent("sent", trace.WithAttributes(attribute.String("target", "erp")))
			sc := span.SpanContext()
			span.End()
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatalf("export: %v", err)
			}
			got := stored(t, s, sc.TraceID().String())
			x, ok := got[sc.SpanID().String()]
			if !ok {
				t.Fatalf("span %s not stored (got %d)", sc.SpanID(), len(got))
			}
			if x.ServiceName != "portal" || x.Kind != "Client" || x.CorrelationID != "c-77" || x.DocumentID != "4500099" ||
				x.Attributes["line"] != "10" || x.ScopeName != "supplywatch/portal" || len(x.EventNames) != 1 || x.EventAttributes[0]["target"] != "erp" {
				t.Errorf("stored %+v", x)
			}
		})
	}
}

func TestMethodOtherThanPostIs405(t *testing.T) {
	h, err := New(Config{}, tokenAuth(), stuckWriter{}, slog.New(slog.NewTextHandler(os.Stderr, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Fatalf("status %d Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

// lateWriter hands items to the Writer only after a delay, as a Writer
// busy with a slow insert would take them.
type lateWriter struct {
	w     Writer
	delay time.Duration
}

func (l lateWriter) Submit(_ context.Context, it collector.Item) error {
	go func() {
		time.Sleep(l.delay)
		l.w.Submit(context.Background(), it)
	}()
	return nil
}

// The handler reuses request buffers, which the decoded spans point into,
// once the spans are stored. A request answered 503 before that leaves its
// spans to the Writer, so the next request must not get its buffers.
func TestSpansAnsweredBeforeStoredAreStoredIntact(t *testing.T) {
	s := newStackVia(t, Config{StoreTimeout: 50 * time.Millisecond}, func(w Writer) Writer { return lateWriter{w, 300 * time.Millisecond} })
	a := protoBody(t, sampleTraces())
	// The same size, so that it would fit A's buffer: other ids and names.
	traceZ := bytes.Repeat([]byte{0x5a}, 16)
	b := bytes.ReplaceAll(bytes.ReplaceAll(a, traceA[:], traceZ), []byte("POST /orders"), []byte("GET /invoice"))
	for _, body := range [][]byte{a, b} {
		if resp := post(t, s.url, request{contentType: ContentTypeProtobuf, token: testToken, body: body}); resp.status != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503 (stored later): %s", resp.status, resp.body)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(stored(t, s, hex.EncodeToString(traceA[:]))) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	checkSample(t, stored(t, s, hex.EncodeToString(traceA[:])))
}
