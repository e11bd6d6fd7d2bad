package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
)

// The benchmarks load their data once (1,000,000 exceptions in Postgres;
// 10,000,000 events and 1,000,000 spans in ClickHouse), then time API calls
// through HTTP and print p50 and p95 as "name: value unit" lines:
//
//	go test ./console -run '^$' -bench . -benchtime 1x

func percentiles(d []time.Duration) (p50, p95 float64) {
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	return ms(d[len(d)*50/100]), ms(d[len(d)*95/100])
}

func benchServer(b *testing.B, c *console.Console) *httptest.Server {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	c.Register(r)
	srv := httptest.NewServer(r)
	b.Cleanup(srv.Close)
	return srv
}

func timeGets(b *testing.B, srv *httptest.Server, token string, paths []string, rounds int) []time.Duration {
	b.Helper()
	var out []time.Duration
	for i := range rounds * len(paths) {
		p := paths[i%len(paths)]
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
		if i >= len(paths) { // the first round warms caches
			out = append(out, time.Since(start))
		}
	}
	return out
}

func BenchmarkExceptionList(b *testing.B) {
	ctx := context.Background()
	db := pgtest.New(b)
	start := time.Now()
	// 1,000,000 exceptions of one tenant: 20 plants, 2,000 suppliers, 30
	// rules, 10 teams; 40% active.
	_, err := db.Pool.Exec(ctx, `INSERT INTO exceptions (tenant, fingerprint, group_key, rule_id, kind, subject, title, message, severity,
		team, supplier, plant, po, line, need_by, quantity, value_at_risk, currency, priority, state, assignee, occurrences, first_seen, last_seen)
		SELECT 'acme', 'acme|r' || (i % 30) || '|po/' || i, 'acme|r' || (i % 30) || '|S' || (i % 2000), 'r' || (i % 30), 'validation',
		  'po/' || (4500000000 + i), 'Rule ' || (i % 30), 'PO ' || (4500000000 + i) || ' has a problem', (ARRAY['critical','high','medium','low'])[1 + i % 4],
		  't' || (i % 10), 'S' || (i % 2000), 'P' || lpad((i % 20)::text, 2, '0'), (4500000000 + i)::text, 10,
		  now() + (i % 30) * interval '1 day', 100, (i % 1000) * 37.5, 'EUR', 1 + (i * 7 % 4),
		  (ARRAY['open','open','open','acknowledged','resolved','resolved','resolved','resolved','resolved','ignored'])[1 + i % 10],
		  CASE WHEN i % 3 = 0 THEN 'u' || (i % 50) ELSE '' END, 1,
		  now() - (i % 8760) * interval '1 hour', now() - (i % 8000) * interval '1 hour'
		FROM generate_series(1, 1000000) AS i`)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `VACUUM ANALYZE exceptions`); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded 1,000,000 exceptions in %s", time.Since(start).Round(time.Second))
	store := postgres.NewConsoleStore(db)
	c, err := console.New(console.Config{}, console.Deps{Store: store, Facts: noFacts{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	srv := benchServer(b, c)
	tokens := map[string]string{}
	for _, u := range []console.NewUser{{Tenant: "acme", Login: "buyer", Role: procure.RoleProcurement}, {Tenant: "acme", Login: "plant07", Role: procure.RolePlant, Plants: []string{"P07"}}} {
		user, err := console.AddUser(ctx, store, u)
		if err != nil {
			b.Fatal(err)
		}
		tokens[u.Login], err = console.NewToken(ctx, store, &procure.Token{Tenant: "acme", Name: u.Login, UserID: user.ID})
		if err != nil {
			b.Fatal(err)
		}
	}
	// A second page: the cursor after the first 50 of the default queue.
	var first struct {
		NextCursor string `json:"next_cursor"`
	}
	cl := &client{e: &env{t: b, srv: srv}, hc: http.DefaultClient, token: tokens["buyer"]}
	cl.mustOK("GET", "/api/exceptions?limit=50", nil, &first)
	queries := []string{
		"/api/exceptions?limit=50",
		"/api/exceptions?limit=50&cursor=" + first.NextCursor,
		"/api/exceptions?limit=50&plant=P03",
		"/api/exceptions?limit=50&severity=critical,high",
		"/api/exceptions?limit=50&supplier=S1234",
		"/api/exceptions?limit=50&rule=r7&plant=P07",
		"/api/exceptions?limit=50&team=t3",
		"/api/exceptions?limit=50&assignee=u12",
		"/api/exceptions?limit=50&age=30d",
		"/api/exceptions?limit=50&q=4500123456",
	}
	var all []time.Duration
	for b.Loop() {
		all = append(all, timeGets(b, srv, tokens["buyer"], queries, 30)...)
		all = append(all, timeGets(b, srv, tokens["plant07"], queries[:3], 20)...)
	}
	p50, p95 := percentiles(all)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p95, "p95-ms")
	fmt.Printf("console exception list (1,000,000 exceptions, %d calls) p50: %.2f ms\n", len(all), p50)
	fmt.Printf("console exception list (1,000,000 exceptions, %d calls) p95: %.2f ms\n", len(all), p95)
}

func BenchmarkTimeline(b *testing.B) {
	ctx := context.Background()
	conn, database, _ := chtest.DB(b)
	cfg := clickhouse.Config{Database: database}
	cfg.Defaults()
	if err := clickhouse.Migrate(ctx, conn, cfg, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	// 10,000,000 events: 1,000,000 orders with 10 events each over ~10
	// months (each order's events within 3 days), a correlation id per
	// order; 1,000,000 spans.
	err := conn.Exec(ctx, `INSERT INTO `+database+`.events (tenant, occurred_at, type, id, source, received_at, correlation_id, trace_id,
		plant, supplier, document_kind, document_id, document_version, channel, origin_id, raw)
		SELECT 'acme', t, ty, concat('E', toString(number)), 'erp', t, concat('C', toString(doc)), lower(hex(cityHash64(doc))),
		  concat('P', leftPad(toString(doc % 20), 2, '0')), concat('S', toString(doc % 2000)),
		  if(k = 2, 'asn', if(k = 4, 'invoice', 'po')),
		  if(k = 2, concat('ASN', toString(doc)), if(k = 4, concat('INV', toString(doc)), toString(4500000000 + doc))), 1, 'kafka', '',
		  concat('{"id":"E', toString(number), '","type":"', ty, '","data":{"po":"', toString(4500000000 + doc), '","line":10,"quantity":', toString(k * 10), ',"note":"', repeat('x', 120), '"}}')
		FROM (SELECT number, number % 1000000 AS doc, intDiv(number, 1000000) AS k,
		        toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(doc * 26 + k * 25000) AS t,
		        ['po.released','po.acknowledged','asn.submitted','goods.received','invoice.status_changed','po.changed','quality.document_attached','message.failed','message.delivered','po.change_requested'][k + 1] AS ty
		      FROM numbers(10000000))`)
	if err != nil {
		b.Fatal(err)
	}
	err = conn.Exec(ctx, `INSERT INTO `+database+`.spans_v2 (tenant, start_time, trace_id, span_id, parent_span_id, trace_state, name, kind,
		service_name, scope_name, duration_ns, status_code, status_message, correlation_id, document_id, attributes, resource_attributes,
		events_time, events_name, events_attributes)
		SELECT 'acme', toDateTime64('2026-01-01 00:00:00', 9, 'UTC') + toIntervalSecond(number * 26 + 60), lower(hex(cityHash64(number))),
		  lower(hex(sipHash64(number))), '', '', 'POST /erp/po', 'client', 'middleware', 'mw', 12000000, 'ok', '', concat('C', toString(number)),
		  toString(4500000000 + number), map(), map(), [], [], []
		FROM numbers(1000000)`)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded 10,000,000 events and 1,000,000 spans in %s", time.Since(start).Round(time.Second))
	facts := clickhouse.NewFacts(conn, database)

	// The exceptions whose timelines are read, in Postgres.
	db := pgtest.New(b)
	_, err = db.Pool.Exec(ctx, `INSERT INTO exceptions (tenant, fingerprint, group_key, rule_id, kind, subject, title, message, severity,
		supplier, plant, po, priority, state, first_seen, last_seen)
		SELECT 'acme', 'f' || i, 'g', 'r', 'validation', 'po/' || (4500000000 + i * 997 % 1000000), 't', 'm', 'high', 'S1', 'P01',
		  (4500000000 + i * 997 % 1000000)::text, 2, 'open', timestamptz '2026-01-01' + (i * 997 % 1000000) * interval '26 seconds' + interval '2 days',
		  timestamptz '2026-01-01' + (i * 997 % 1000000) * interval '26 seconds' + interval '2 days'
		FROM generate_series(1, 1000) AS i`)
	if err != nil {
		b.Fatal(err)
	}
	store := postgres.NewConsoleStore(db)
	c, err := console.New(console.Config{}, console.Deps{Store: store, Facts: facts, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	srv := benchServer(b, c)
	u, err := console.AddUser(ctx, store, console.NewUser{Tenant: "acme", Login: "oncall", Role: procure.RoleOncall})
	if err != nil {
		b.Fatal(err)
	}
	token, err := console.NewToken(ctx, store, &procure.Token{Tenant: "acme", Name: "bench", UserID: u.ID})
	if err != nil {
		b.Fatal(err)
	}
	var paths []string
	for id := 1; id <= 200; id++ {
		paths = append(paths, fmt.Sprintf("/api/exceptions/%d/timeline", id))
	}
	for i := range 50 {
		paths = append(paths, fmt.Sprintf("/api/timeline?correlation_id=C%d", i*19997))
	}
	var all []time.Duration
	for b.Loop() {
		all = append(all, timeGets(b, srv, token, paths, 2)...)
	}
	p50, p95 := percentiles(all)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p95, "p95-ms")
	fmt.Printf("console timeline (10,000,000 events, 1,000,000 spans, %d calls) p50: %.2f ms\n", len(all), p50)
	fmt.Printf("console timeline (10,000,000 events, 1,000,000 spans, %d calls) p95: %.2f ms\n", len(all), p95)
}

// noFacts stands in for ClickHouse where a benchmark reads none.
type noFacts struct{ console.Facts }

func (noFacts) CorrelatedDocuments(context.Context, string, string) ([]string, error) {
	return nil, nil
}
