package otlp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// headerAuth is tokenAuth that also judges the headers alone.
type headerAuth struct{ Authenticator }

func (headerAuth) AuthenticateHeader(r *http.Request) error {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		return errors.New("unknown token")
	}
	return nil
}

// Issue 9: a request without a token announcing 16 MiB was read (and the
// buffer allocated from Content-Length) before it was refused. Now it is
// answered 401 at once, with nothing read or charged.
func TestUnauthenticatedRequestIsRefusedBeforeItsBody(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := New(Config{}, headerAuth{tokenAuth()}, stuckWriter{}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	conns := make([]net.Conn, 20)
	for i := range conns {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
		// Headers only: the announced body never comes.
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", Path, ContentTypeProtobuf, 16<<20)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("request %d: no answer before its body: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("request %d: status %d, want 401", i, resp.StatusCode)
		}
	}
	if n := h.InFlightBytes(); n != 0 {
		t.Errorf("%d bytes charged for unauthenticated requests", n)
	}
}

func TestRequestBeyondALimitIs413NamingIt(t *testing.T) {
	s := newStack(t, Config{Limits: Limits{Spans: 50}})
	span := func(td ptrace.Traces) ptrace.Span {
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(traceA)
		sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
		return sp
	}
	attrs := ptrace.NewTraces()
	as := span(attrs).Attributes()
	for i := range 129 {
		as.PutStr(fmt.Sprintf("k%d", i), "v")
	}
	events := ptrace.NewTraces()
	es := span(events).Events()
	for range 200000 { // the 4 MB body of empty span events of issue 9
		es.AppendEmpty()
	}
	links := ptrace.NewTraces()
	ls := span(links).Links()
	for range 129 {
		l := ls.AppendEmpty()
		l.SetTraceID(traceA)
	}
	eventAttrs := ptrace.NewTraces()
	ea := span(eventAttrs).Events().AppendEmpty().Attributes()
	for i := range 129 {
		ea.PutStr(fmt.Sprintf("k%d", i), "v")
	}
	resAttrs := ptrace.NewTraces()
	span(resAttrs)
	for i := range 129 {
		resAttrs.ResourceSpans().At(0).Resource().Attributes().PutStr(fmt.Sprintf("k%d", i), "v")
	}
	for _, tc := range []struct {
		name  string
		td    ptrace.Traces
		limit string
	}{
		{"spans per request", bigTraces(51), "more than 50 spans per request"},
		{"attributes per span", attrs, "more than 128 attributes per span"},
		{"events per span", events, "more than 128 events per span"},
		{"links per span", links, "more than 128 links per span"},
		{"attributes per span event", eventAttrs, "more than 128 attributes per span event"},
		{"attributes per resource", resAttrs, "more than 128 attributes per resource"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ct := range []string{ContentTypeProtobuf, ContentTypeJSON} {
				body := protoBody(t, tc.td)
				if ct == ContentTypeJSON {
					body = jsonBody(t, tc.td)
				}
				resp := post(t, s.url, request{contentType: ct, token: testToken, body: body})
				if resp.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(resp.body), tc.limit) {
					t.Errorf("%s: status %d %q, want 413 naming %q", ct, resp.status, resp.body, tc.limit)
				}
			}
		})
	}
}

// The memory a request is charged stays charged until its spans are
// stored, not until it is answered.
func TestBudgetIsReleasedOnlyWhenStored(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := New(Config{StoreTimeout: 50 * time.Millisecond}, tokenAuth(), stuckWriter{}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp := post(t, srv.URL+Path, request{contentType: ContentTypeProtobuf, token: testToken, body: protoBody(t, sampleTraces())})
	if resp.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.status)
	}
	if h.InFlightBytes() == 0 {
		t.Error("a request answered 503 while its spans wait in the writer released its memory budget")
	}
	s := newStack(t, Config{})
	if resp := post(t, s.url, request{contentType: ContentTypeProtobuf, token: testToken, body: protoBody(t, sampleTraces())}); resp.status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	if n := s.h.InFlightBytes(); n != 0 {
		t.Errorf("%d bytes still charged after the spans were stored", n)
	}
}
