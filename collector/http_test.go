package collector_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/kafka"
	"go.opentelemetry.io/otel/trace/noop"
)

func TestMain(m *testing.M) { chtest.Main(m) }

type ingestEnv struct {
	srv   *httptest.Server
	store *clickhouse.Store
	kcfg  kafka.Config
}

func newIngestEnv(t *testing.T, cfg collector.IngestConfig) *ingestEnv {
	t.Helper()
	conn, db, addr := chtest.DB(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := clickhouse.Migrate(ctx, conn, clickhouse.Config{Database: db, RetentionDays: 30}, log); err != nil {
		t.Fatal(err)
	}
	// The collector's store: events go through the native pool, as in the
	// service.
	native, err := clickhouse.OpenNative(ctx, clickhouse.Config{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(native.Close)
	store := clickhouse.NewStore(conn, db).WithNative(native)
	b, err := kafka.StartEmbedded("127.0.0.1:0", "", 2, "events", "deadletter")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	kcfg := kafka.Config{Brokers: b.Addrs(), Topic: "events", DeadLetterTopic: "deadletter"}
	kcfg.Defaults()
	pub, err := kafka.NewPublisher(&kcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	m := collector.NewMetrics(prometheus.NewRegistry())
	w := collector.NewWriter(collector.WriterConfig{FlushInterval: 20 * time.Millisecond}, store, pub, log, m, noop.NewTracerProvider().Tracer(""))
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(wctx, 5*time.Second); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	in, err := collector.NewIngest(cfg, store, pub, w, log, m)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	in.Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &ingestEnv{srv: srv, store: store, kcfg: kcfg}
}

func ev(id, tenant string) string {
	return fmt.Sprintf(`{"id":"%s","type":"po.cancelled","source":"erp","tenant":"%s","occurred_at":"2026-05-12T08:01:02Z","document":{"kind":"po","id":"4500001"},"data":{"reason":"duplicate order"}}`, id, tenant)
}

func (e *ingestEnv) post(t *testing.T, token string, body []byte, headers ...string) (*http.Response, collector.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/events", bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out collector.Response
	json.Unmarshal(raw, &out)
	return resp, out, string(raw)
}

var tokens = []collector.Token{
	{Name: "erp", Tenant: "acme", Token: "erp-secret-token"},
	{Name: "portal", Tenant: "acme", Sources: []string{"portal"}, Token: "portal-token", HMACSecret: "hmac-key", RequireSignature: true},
	{Name: "slow", Tenant: "acme", Token: "slow-token", RatePerSecond: 1, Burst: 2},
}

func TestHTTPIngestAnswersPerEvent(t *testing.T) {
	e := newIngestEnv(t, collector.IngestConfig{Tokens: tokens})
	body := "[" + strings.Join([]string{ev("a1", "acme"), ev("a2", "acme"), ev("a1", "acme"), ev("x1", "globex"), `{"id":"b1"}`}, ",") + "]"
	resp, out, raw := e.post(t, "erp-secret-token", []byte(body))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	want := []string{"accepted", "accepted", "duplicate", "rejected", "rejected"}
	for i, r := range out.Results {
		if r.Status != want[i] {
			t.Errorf("result %d = %+v, want %s", i, r, want[i])
		}
	}
	if out.Results[3].Field != "tenant" || out.Results[4].Field != "type" {
		t.Errorf("rejections name the wrong fields: %+v %+v", out.Results[3], out.Results[4])
	}
	// Rejections are stored before the answer.
	var n uint64
	e.store.Conn().QueryRow(context.Background(), "SELECT count() FROM "+e.store.Database()+".rejected").Scan(&n)
	if n != 2 {
		t.Errorf("rejected rows = %d, want 2", n)
	}
}

func TestHTTPIngestTakesNDJSONAndGzip(t *testing.T) {
	e := newIngestEnv(t, collector.IngestConfig{Tokens: tokens})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintf(zw, "%s\n\n%s\n", ev("n1", "acme"), ev("n2", "acme"))
	zw.Close()
	resp, out, raw := e.post(t, "erp-secret-token", buf.Bytes(), "Content-Encoding", "gzip")
	if resp.StatusCode != 200 || out.Accepted != 2 {
		t.Fatalf("status %d, %s", resp.StatusCode, raw)
	}
}

func TestHTTPIngestRefuses(t *testing.T) {
	e := newIngestEnv(t, collector.IngestConfig{Tokens: tokens, MaxBodyBytes: 4096, MaxDecodedBytes: 1 << 20})
	portalEv := []byte("[" + strings.Replace(ev("p1", "acme"), `"source":"erp"`, `"source":"portal"`, 1) + "]")
	now := time.Now()
	tests := []struct {
		name    string
		token   string
		body    []byte
		headers []string
		status  int
		has     string
	}{
		{"no token", "", []byte("[]"), nil, 401, "missing bearer token"},
		{"unknown token", "guess", []byte("[]"), nil, 401, "unknown token"},
		{"unsigned when signature required", "portal-token", portalEv, nil, 401, "signature required"},
		{"tampered body", "portal-token", portalEv, []string{collector.HeaderTimestamp, fmt.Sprint(now.Unix()), collector.HeaderSignature, collector.Sign("hmac-key", now, []byte("[]"))}, 401, "does not match"},
		{"stale signature", "portal-token", portalEv, []string{collector.HeaderTimestamp, fmt.Sprint(now.Add(-10 * time.Minute).Unix()), collector.HeaderSignature, collector.Sign("hmac-key", now.Add(-10*time.Minute), portalEv)}, 401, "replay window"},
		{"valid signature", "portal-token", portalEv, []string{collector.HeaderTimestamp, fmt.Sprint(now.Unix()), collector.HeaderSignature, collector.Sign("hmac-key", now, portalEv)}, 200, `"accepted":1`},
		{"body too large", "erp-secret-token", bytes.Repeat([]byte(" "), 5000), nil, 413, "limit"},
		{"not JSON", "erp-secret-token", []byte("[{,"), nil, 400, "invalid JSON"},
		{"gzip bomb", "erp-secret-token", gzipOf(bytes.Repeat([]byte("["), 2<<20)), []string{"Content-Encoding", "gzip"}, 413, "decompressed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, raw := e.post(t, tt.token, tt.body, tt.headers...)
			if resp.StatusCode != tt.status || !strings.Contains(raw, tt.has) {
				t.Errorf("status %d %s, want %d containing %q", resp.StatusCode, raw, tt.status, tt.has)
			}
			if tt.status >= 400 {
				// Every refusal is the one error shape of the APIs (a
				// 401 with the code of its status; a 413 is "invalid").
				var b httperr.Body
				dec := json.NewDecoder(strings.NewReader(raw))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
					t.Errorf("refusal %s is not the error shape: %v", raw, err)
				}
				if tt.status == http.StatusUnauthorized && httperr.Status(b.Error.Code) != tt.status {
					t.Errorf("a 401 with code %s", b.Error.Code)
				}
			}
		})
	}
}

func TestHTTPIngestRateLimits(t *testing.T) {
	e := newIngestEnv(t, collector.IngestConfig{Tokens: tokens})
	body := []byte("[" + ev("r1", "acme") + "," + ev("r2", "acme") + "]")
	if resp, _, raw := e.post(t, "slow-token", body); resp.StatusCode != 200 {
		t.Fatalf("first request: %d %s", resp.StatusCode, raw)
	}
	resp, _, raw := e.post(t, "slow-token", body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second request: %d %s (Retry-After %q), want 429 with Retry-After", resp.StatusCode, raw, resp.Header.Get("Retry-After"))
	}
	// Every event is charged: a batch over the burst is refused, not
	// charged as the burst.
	big := []byte("[" + ev("r3", "acme") + "," + ev("r4", "acme") + "," + ev("r5", "acme") + "]")
	if resp, _, raw := e.post(t, "slow-token", big); resp.StatusCode != 413 || !strings.Contains(raw, "at most 2 events per request") {
		t.Errorf("3 events for a burst of 2: %d %s, want 413 naming the burst", resp.StatusCode, raw)
	}
}

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}
