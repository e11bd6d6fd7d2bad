package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/retry"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func retryPolicies() retry.Summary {
	var c retry.Config
	c.Defaults()
	return c.Summary()
}

const tenant = "acme"

// captured records what the console published.
type captured struct {
	mu   sync.Mutex
	msgs []kafka.Message
}

func (p *captured) Publish(_ context.Context, msgs ...kafka.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
	return nil
}

func (p *captured) all() []kafka.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]kafka.Message(nil), p.msgs...)
}

type reloader struct{ n int }

func (r *reloader) Reload() error { r.n++; return nil }

// env is a console on a real Postgres and the embedded ClickHouse, with the
// fixture below loaded.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	console *console.Console
	db      *postgres.DB
	store   *postgres.ConsoleStore
	ch      driver.Conn
	chdb    string
	facts   *clickhouse.Store
	pub     *captured
	now     time.Time
	ids     map[string]int64 // exception ids by fixture name
	signIns map[string]console.SignIn
	cancel  context.CancelFunc
}

// newEnv boots the console; opts change its configuration and
// dependencies.
func newEnv(t testing.TB, opts ...func(*console.Config, *console.Deps)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, db: pgtest.New(t), pub: &captured{}, ids: map[string]int64{}, signIns: map[string]console.SignIn{}}
	e.now = time.Now().UTC().Truncate(time.Second)
	e.store = postgres.NewConsoleStore(e.db)
	var database string
	var addr string
	e.ch, database, addr = chtest.DB(t)
	e.chdb = database
	cfg := clickhouse.Config{Database: database}
	cfg.Defaults()
	if err := clickhouse.Migrate(ctx, e.ch, cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("clickhouse migrate: %v", err)
	}
	native, err := clickhouse.OpenNative(ctx, clickhouse.Config{Addr: []string{addr}})
	if err != nil {
		t.Fatalf("clickhouse native pool: %v", err)
	}
	t.Cleanup(native.Close)
	e.facts = clickhouse.NewStore(e.ch, database).WithNative(native)
	e.seed(ctx)
	ccfg := console.Config{LivePoll: 50 * time.Millisecond, RouteNew: true}
	deps := console.Deps{
		Store: e.store, Facts: clickhouse.NewFacts(e.ch, database), Publisher: e.pub, Rules: &reloader{},
		RetryPolicies: retryPolicies(),
		Log:           slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	// The one retry service, as app wires it (options may change its
	// targets; its topics follow the console's configuration).
	svc := &retry.Service{Exceptions: e.store, Facts: deps.Facts, Retries: e.store, Audit: e.store, Publisher: e.pub,
		Targets: retry.DefaultTargets, Log: deps.Log}
	deps.Retries = svc
	for _, o := range opts {
		o(&ccfg, &deps)
	}
	pcfg := ccfg
	pcfg.Defaults()
	svc.TopicPrefix, svc.Publisher, svc.Facts = pcfg.RetryTopicPrefix, deps.Publisher, deps.Facts
	c, err := console.New(ccfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	e.console = c
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	c.Register(r)
	e.srv = httptest.NewServer(r)
	rctx, cancel := context.WithCancel(ctx)
	e.cancel = cancel
	done := make(chan struct{})
	go func() { defer close(done); c.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done; e.srv.Close() })
	sis, err := console.EnsureDemoUsers(ctx, e.store, tenant, []string{"P01"}, "test-seed")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sis {
		e.signIns[s.Role] = s
	}
	return e
}

func (e *env) mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// seed loads documents and exceptions in Postgres, and events, spans and
// dead letters in ClickHouse.
func (e *env) seed(ctx context.Context) {
	t, now := e.t, e.now
	day := 24 * time.Hour
	orders := []*procure.Order{
		{Tenant: tenant, ID: "4500000001", Released: true, Version: 2, Status: "open", Supplier: "S1", Plant: "P01", Currency: "EUR",
			ReleasedAt: now.Add(-5 * day), AckedAt: now.Add(-4 * day), AckedVersion: 2, ASNs: []string{"ASN1"}, Invoices: []string{"INV1"},
			Lines: []procure.OrderLine{
				{Number: 10, Ordered: true, Item: "BOLT-M8", Quantity: 1000, Unit: "C62", UnitPrice: 0.12, NeedBy: now.Add(day),
					Ack:     procure.LineAck{Acked: true, Status: "accepted", Quantity: 1000, PromisedDate: now.Add(day), At: now.Add(-4 * day)},
					Shipped: 1000, FirstASNAt: now.Add(-day), Shipments: []procure.Shipment{{ASN: "ASN1", Quantity: 1000, Unit: "C62", Lot: "L1", At: now.Add(-day), Arrival: now.Add(2 * day)}}},
				{Number: 20, Ordered: true, Item: "NUT-M8", Quantity: 500, Unit: "C62", UnitPrice: 0.05, NeedBy: now.Add(3 * day),
					Ack: procure.LineAck{Acked: true, Status: "accepted", Quantity: 500, PromisedDate: now.Add(3 * day), At: now.Add(-4 * day)}},
			}},
		{Tenant: tenant, ID: "4500000002", Released: true, Version: 1, Status: "open", Supplier: "S2", Plant: "P02", Currency: "EUR",
			ReleasedAt: now.Add(-3 * day), Lines: []procure.OrderLine{{Number: 10, Ordered: true, Item: "GEAR-7", Quantity: 20, Unit: "C62", UnitPrice: 410, NeedBy: now.Add(day)}}},
		{Tenant: tenant, ID: "4500000003", Released: true, Version: 1, Status: "open", Supplier: "S2", Plant: "P01", Currency: "EUR",
			ReleasedAt: now.Add(-2 * day), Lines: []procure.OrderLine{{Number: 10, Ordered: true, Item: "SHAFT-2", Quantity: 50, Unit: "C62", UnitPrice: 75, NeedBy: now.Add(12 * time.Hour)}}},
	}
	states := map[procure.StateKey][]byte{}
	for _, o := range orders {
		states[procure.StateKey{Tenant: tenant, Kind: procure.StateOrder, ID: o.ID}] = e.mustJSON(o)
	}
	states[procure.StateKey{Tenant: tenant, Kind: procure.StateInvoice, ID: "INV1"}] = e.mustJSON(&procure.InvoiceState{ID: "INV1", PO: "4500000001",
		Status: "blocked", BlockReason: "price_variance", Amount: 145, Currency: "EUR", StatusAt: now.Add(-12 * time.Hour),
		Lines: []procure.InvoiceLineView{{Line: 10, Quantity: 1000, UnitPrice: 0.145, POKnown: true, POUnitPrice: 0.12, POQuantity: 1000}}})
	states[procure.StateKey{Tenant: tenant, Kind: procure.StateInvoice, ID: "INV2"}] = e.mustJSON(&procure.InvoiceState{ID: "INV2", PO: "4500000002",
		Status: "blocked", BlockReason: "quantity_variance", Amount: 8200, Currency: "EUR", StatusAt: now.Add(-6 * time.Hour)})
	states[procure.StateKey{Tenant: tenant, Kind: procure.StateASN, ID: "ASN1"}] = e.mustJSON(&procure.ASNState{ID: "ASN1", Orders: []string{"4500000001"},
		SubmittedAt: now.Add(-day), ExpectedArrival: now.Add(2 * day)})
	states[procure.StateKey{Tenant: tenant, Kind: procure.StateLot, ID: "BOLT-M8/L1"}] = e.mustJSON(&procure.LotState{Item: "BOLT-M8", Lot: "L1",
		Holds: []procure.Hold{{ID: "H1", Reason: "dimensions out of spec", PlacedAt: now.Add(-2 * time.Hour)}}})

	cands := []struct {
		name string
		c    procure.ExceptionCandidate
	}{
		{"asn-over", procure.ExceptionCandidate{Rule: "asn-quantity-exceeds-open", Kind: procure.KindValidation, Subject: "po/4500000001/10",
			Title: "ASN quantity exceeds open quantity", Message: "ASN ASN1 ships 1000 of line 10, 0 open", Severity: procure.SeverityCritical,
			Team: "procurement", Supplier: "S1", Plant: "P01", PO: "4500000001", Line: 10, NeedBy: now.Add(day), ValueAtRisk: 120, Currency: "EUR"}},
		{"ack-missing-2", procure.ExceptionCandidate{Rule: "po-not-acknowledged", Kind: procure.KindSLA, Subject: "po/4500000002",
			Title: "PO not acknowledged", Message: "PO 4500000002 released 3 days ago, not acknowledged", Severity: procure.SeverityHigh,
			Team: "procurement", Supplier: "S2", Plant: "P02", PO: "4500000002", NeedBy: now.Add(day), ValueAtRisk: 8200, Currency: "EUR"}},
		{"ack-missing-3", procure.ExceptionCandidate{Rule: "po-not-acknowledged", Kind: procure.KindSLA, Subject: "po/4500000003",
			Title: "PO not acknowledged", Message: "PO 4500000003 released 2 days ago, not acknowledged", Severity: procure.SeverityHigh,
			Team: "procurement", Supplier: "S2", Plant: "P01", PO: "4500000003", NeedBy: now.Add(12 * time.Hour), ValueAtRisk: 3750, Currency: "EUR"}},
		{"price", procure.ExceptionCandidate{Rule: "invoice-price-variance", Kind: procure.KindValidation, Subject: "invoice/INV1",
			Title: "Invoice price variance", Message: "Invoice INV1 (PO 4500000001): unit price differs from the order by more than 1%", Severity: procure.SeverityMedium,
			Team: "accounts-payable", Supplier: "S1", Plant: "P01", PO: "4500000001", ValueAtRisk: 25, Currency: "EUR"}},
		{"delivery", procure.ExceptionCandidate{Rule: "message-not-redelivered", Kind: procure.KindSLA, Subject: "message/MSG1",
			Title: "Delivery between systems failed and not redelivered", Message: "asn.submitted to wms failed (validation: unknown plant) and was not redelivered",
			Severity: procure.SeverityHigh, Team: "integration", Supplier: "S1", Plant: "P01", PO: "4500000001"}},
	}
	sst := postgres.NewStateStore(e.db)
	err := sst.InTx(ctx, func(tx procure.StateTx) error {
		if err := tx.SaveStates(ctx, states); err != nil {
			return err
		}
		for _, c := range cands {
			c.c.Tenant, c.c.At = tenant, now.Add(-time.Hour)
			x, err := tx.Exceptions().RaiseException(ctx, &c.c)
			if err != nil {
				return err
			}
			e.ids[c.name] = x.ID
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed postgres: %v", err)
	}

	ev := func(id string, typ procure.Type, src procure.Source, at time.Time, corr, plant, supplier string, kind procure.DocumentKind, doc string, data any) procure.Received {
		b, _ := json.Marshal(data)
		x := &procure.Event{ID: id, Type: typ, Source: src, Tenant: tenant, OccurredAt: at, CorrelationID: corr, TraceID: "0af7651916cd43dd8448eb211c80319c",
			Plant: plant, Supplier: supplier, Document: procure.DocumentRef{Kind: kind, ID: doc}, Data: b}
		raw, err := procure.Encode(x)
		if err != nil {
			t.Fatalf("encode %s: %v", id, err)
		}
		return procure.Received{Event: x, Raw: raw, Channel: "kafka", ReceivedAt: at.Add(time.Second)}
	}
	evs := []procure.Received{
		ev("E1", procure.POReleased, procure.SourceERP, now.Add(-5*day), "C1", "P01", "S1", procure.DocPO, "4500000001", map[string]any{"order_type": "standard", "currency": "EUR", "lines": []any{}}),
		ev("E2", procure.POAcknowledged, procure.SourcePortal, now.Add(-4*day), "C1", "P01", "S1", procure.DocPO, "4500000001", map[string]any{"lines": []any{}}),
		ev("E3", procure.ASNSubmitted, procure.SourcePortal, now.Add(-day), "C1", "P01", "S1", procure.DocASN, "ASN1", map[string]any{"lines": []any{}}),
		ev("E4", procure.MessageFailed, procure.SourceMiddleware, now.Add(-day+time.Minute), "C1", "P01", "S1", procure.DocMessage, "MSG1",
			procure.Delivery{MessageID: "MSG1", Target: "wms", DocumentType: "asn.submitted", ErrorClass: "validation", Error: "unknown plant", HTTPStatus: 422,
				Attempt: 3, IdempotencyKey: "IK-ASN1-1", Payload: `{"asn":"ASN1","plant":"P01","lines":[{"po":"4500000001","line":10,"quantity":1000}]}`}),
		ev("E5", procure.InvoiceStatusChanged, procure.SourceAP, now.Add(-12*time.Hour), "C1", "P01", "S1", procure.DocInvoice, "INV1", map[string]any{"status": "blocked", "block_reason": "price_variance"}),
		ev("E6", procure.POReleased, procure.SourceERP, now.Add(-3*day), "C2", "P02", "S2", procure.DocPO, "4500000002", map[string]any{"order_type": "standard", "currency": "EUR", "lines": []any{}}),
	}
	if err := e.facts.InsertEvents(ctx, evs); err != nil {
		t.Fatalf("seed events: %v", err)
	}
	spans := []procure.Span{
		{Tenant: tenant, StartTime: now.Add(-day + 30*time.Second), TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331",
			Name: "POST /wms/asn", Kind: "client", ServiceName: "middleware", DurationNanos: 412e6, StatusCode: "error", StatusMessage: "422 unknown plant", CorrelationID: "C1", DocumentID: "ASN1"},
	}
	if err := e.facts.InsertSpans(ctx, spans); err != nil {
		t.Fatalf("seed spans: %v", err)
	}
	rej := []procure.Rejection{
		{ReceivedAt: now.Add(-2 * time.Hour), InputID: "kafka/supplywatch.events/0/17", Channel: "kafka", Tenant: tenant, Source: "portal", EventID: "BAD1",
			EventType: "asn.submitted", Field: "data.lines[0].quantity", Reason: "must be a number", Raw: []byte(`{"id":"BAD1","type":"asn.submitted"}`), Topic: "supplywatch.events", Offset: 17},
		{ReceivedAt: now.Add(-time.Hour), InputID: "kafka/supplywatch.events/1/3", Channel: "kafka", Tenant: "other", Reason: "other tenant", Raw: []byte(`{}`)},
	}
	if err := e.facts.InsertRejections(ctx, rej); err != nil {
		t.Fatalf("seed rejections: %v", err)
	}
}

// client is an HTTP client of the console: signed in with a session (and
// its CSRF token), with a bearer token, or anonymous.
type client struct {
	e     *env
	hc    *http.Client
	csrf  string
	token string
}

func (e *env) anonymous() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (e *env) signIn(role string) *client {
	e.t.Helper()
	s := e.signIns[role]
	c := e.anonymous()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if st := c.do("POST", "/api/auth/login", map[string]string{"login": s.Login, "password": s.Password}, &me); st != 200 {
		e.t.Fatalf("sign in as %s: %d", role, st)
	}
	c.csrf = me.CSRF
	return c
}

func (e *env) withToken(secret string) *client {
	c := e.anonymous()
	c.token = secret
	return c
}

// supplierToken makes a supplier token.
func (e *env) supplierToken(supplier string) *client {
	e.t.Helper()
	secret, err := console.NewToken(context.Background(), e.store, &procure.Token{Tenant: tenant, Name: "portal-" + supplier, Supplier: supplier, CreatedBy: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.withToken(secret)
}

// do sends a JSON request and decodes the answer into out (when not nil);
// it returns the status.
func (c *client) do(method, path string, body any, out any, headers ...string) int {
	c.e.t.Helper()
	st, b := c.raw(method, path, body, headers...)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.e.t.Fatalf("%s %s: %d %s: %v", method, path, st, b, err)
		}
	}
	return st
}

func (c *client) raw(method, path string, body any, headers ...string) (int, []byte) {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *client) mustOK(method, path string, body any, out any) {
	c.e.t.Helper()
	st, b := c.raw(method, path, body)
	if st/100 != 2 {
		c.e.t.Fatalf("%s %s: %d %s", method, path, st, b)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.e.t.Fatal(err)
		}
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

func idPath(format string, id int64) string { return fmt.Sprintf(format, id) }

func postgresState(e *env) *postgres.StateStore { return postgres.NewStateStore(e.db) }
