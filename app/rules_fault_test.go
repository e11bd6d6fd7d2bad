package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/app"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
)

// rulesDir is the default rule pack plus extra files (name -> YAML).
func rulesDir(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob("../rules/default/*.yaml")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.yaml") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644)
	}
	for name, y := range extra {
		os.WriteFile(filepath.Join(dir, name), []byte(y), 0o644)
	}
	return dir
}

// startRules starts a process of the rules role on e with Postgres at pgURL.
func (e *env) startRules(t *testing.T, ctx context.Context, pgURL, dir string, tune func(*app.Config)) (*app.App, func()) {
	t.Helper()
	cfg, err := app.LoadConfig(e.configFile(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ClickHouse.Addr, cfg.ClickHouse.Database = []string{e.chAddr}, e.db
	cfg.Kafka.Brokers, cfg.Kafka.Topic, cfg.Kafka.DeadLetterTopic = []string{e.brokers}, e.topic, "deadletter"
	cfg.Postgres.URL = pgURL
	cfg.Rules.Dir = dir
	cfg.Retry.Disabled = true
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Writer.FlushInterval = 50 * time.Millisecond
	if tune != nil {
		tune(&cfg)
	}
	ctx, cancel := context.WithCancel(ctx)
	a, err := app.Start(ctx, cfg, app.RoleRules, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return a, func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// produceKeyed writes values to the events topic under one key: one
// partition, in order.
func (e *env) produceKeyed(t *testing.T, key string, values ...string) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(strings.Split(e.brokers, ",")...), Topic: e.topic, Balancer: &kafkago.Hash{}, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	msgs := make([]kafkago.Message, len(values))
	for i, v := range values {
		msgs[i] = kafkago.Message{Key: []byte(key), Value: []byte(v)}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func pgText(t *testing.T, url, query string) string {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var s string
	if err := c.QueryRow(context.Background(), query).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s
}

func pgCount(t *testing.T, url, query string) int {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func waitPG(t *testing.T, url, query string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	got := -1
	for time.Now().Before(deadline) {
		if got = pgCount(t, url, query); got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s = %d, want %d", query, got, want)
}

// A poison event does not wedge its partition: an event that does not
// decode (a NUL in document.id) and an event a rule cannot be evaluated on
// go to the dead letter (table and topic, stage "rules", with the reason),
// and the events after them on the same partition are applied.
func TestRulesProcessorDeadLettersPoisonAndKeepsGoing(t *testing.T) {
	e := newEnv(t)
	pgURL := pgtest.URL(t)
	dir := rulesDir(t, map[string]string{"poison.yaml": `rules:
  - id: poison-probe
    title: Fails at run time on one PO
    severity: low
    subject: document
    on: [po.released]
    when: document.id startsWith "POISON" && event.units[7] == "x"
  - id: poison-graced
    title: Fails at run time on one PO, an hour after it
    severity: low
    subject: document
    on: [po.released]
    grace: 1h
    when: document.id startsWith "GRACED" && event.units[7] == "x"
`})
	_, stop := e.startRules(t, context.Background(), pgURL, dir, nil)
	defer stop()

	nul := strings.Replace(event(1, "acme"), `"id":"4500000001"`, `"id":"45\u000000001"`, 1)
	bad := strings.Replace(event(2, "acme"), `"id":"4500000002"`, `"id":"POISON2"`, 1)
	// A PO line number Postgres cannot hold in exceptions.line (integer):
	// the PO is stored, but the ack that raises an exception on the line
	// fails its whole transaction (22003), so the batch is applied one
	// event at a time and the ack alone goes to the dead letter.
	bigLine := strings.Replace(event(777, "acme"), `"line":10`, `"line":3000000000`, 1)
	ack := `{"id":"e-ack-777","type":"po.acknowledged","source":"portal","tenant":"acme","occurred_at":"2026-05-12T09:00:00.000Z","plant":"P01","supplier":"S0377",` +
		`"document":{"kind":"po","id":"4500000777"},"data":{"ack_id":"A777","po_version":1,"lines":[{"line":3000000000,"status":"changed","quantity":1}]}}`
	// A graced rule evaluates an hour (of event time) later: its failure
	// then is dead-lettered with the event it was evaluating.
	graced := strings.Replace(event(888, "acme"), `"id":"4500000888"`, `"id":"GRACED888"`, 1)
	later := strings.Replace(event(889, "acme"), `"occurred_at":"2026-05-12T08:14:49.000Z"`, `"occurred_at":"2026-05-12T11:00:00.000Z"`, 1)
	if later == event(889, "acme") {
		t.Fatal("the later event's time was not replaced")
	}
	var good []string
	for i := 3; i < 23; i++ {
		good = append(good, event(i, "acme"))
	}
	e.produceKeyed(t, "k", append([]string{nul, bad, bigLine, ack, graced}, append(good, later)...)...)

	waitPG(t, pgURL, "SELECT count(*) FROM processed_events", len(good)+3, 60*time.Second)
	e.waitFor(t, "SELECT count() FROM "+e.db+".rejected FINAL WHERE stage = 'rules'", 4, 30*time.Second)
	var graceReason, graceEvent string
	if err := e.conn.QueryRow(context.Background(), "SELECT reason, event_id FROM "+e.db+".rejected FINAL WHERE stage = 'rules' AND input_id LIKE 'rules/deferred/%'").Scan(&graceReason, &graceEvent); err != nil {
		t.Fatalf("the failed deferred evaluation's dead letter: %v", err)
	}
	if graceEvent != "e-000888" || !strings.Contains(graceReason, "poison-graced") || !strings.Contains(graceReason, "deferred evaluation") {
		t.Fatalf("deferred dead letter: event %q reason %q", graceEvent, graceReason)
	}
	var reasons []string
	rows, err := e.conn.Query(context.Background(), "SELECT field, reason, event_id FROM "+e.db+".rejected FINAL WHERE stage = 'rules' AND input_id NOT LIKE 'rules/deferred/%' ORDER BY kafka_offset")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var field, reason, id string
		rows.Scan(&field, &reason, &id)
		reasons = append(reasons, fmt.Sprintf("%s|%s|%s", field, reason, id))
	}
	rows.Close()
	if len(reasons) != 3 || !strings.HasPrefix(reasons[0], "document.id|decode: ") || !strings.Contains(reasons[0], "NUL") ||
		!strings.Contains(reasons[1], "|expression: ") || !strings.Contains(reasons[1], "poison-probe") || !strings.HasSuffix(reasons[1], "|e-000002") ||
		!strings.Contains(reasons[2], "|encoding: ") || !strings.HasSuffix(reasons[2], "|e-ack-777") {
		t.Fatalf("dead letters: %q", reasons)
	}
	if n := pgCount(t, pgURL, "SELECT count(*) FROM documents WHERE kind = 'po' AND id = 'POISON2'"); n != 0 {
		t.Fatalf("the poison PO's state was stored (%d rows)", n)
	}

	// The dead-letter topic has both, with the stage.
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{e.brokers}, Topic: "deadletter", GroupID: "t-dl", StartOffset: kafkago.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 4; i++ {
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatalf("dead-letter topic: %v", err)
		}
		if kafka.Header(&m, kafka.HeaderStage) != "rules" {
			t.Fatalf("dead-letter message %s has stage %q", m.Key, kafka.Header(&m, kafka.HeaderStage))
		}
	}
}

// readyz returns the status of /readyz and its rules check.
func readyz(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Checks["rules"]
}

// Postgres unavailable for 60 s while events arrive (a loopback proxy in
// front of the machine's Postgres is cut and restored; the machine's
// Postgres is not touched): the rules processor holds its batch and
// retries, /readyz fails on the rules check once it has made no progress
// for stall_after, and after Postgres comes back every event is applied and
// every exception is raised exactly once.
func TestRulesRolePostgresOutageLosesNothingAndRaisesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	direct := pgtest.URL(t)
	pu, _ := url.Parse(direct)
	proxy := newTCPProxy(t, pu.Host)
	a, stop := e.startRules(t, context.Background(), proxy.proxyURL(direct), rulesDir(t, nil), func(c *app.Config) {
		c.Rules.StallAfter = 3 * time.Second
		c.Rules.MaxBackoff = time.Second
		c.Rules.AttemptTimeout = 5 * time.Second
		c.Postgres.URL += "&connect_timeout=2"
	})
	defer stop()
	// Each PO raises currency-not-mapped once.
	po := func(i int) string {
		return strings.Replace(event(i, "acme"), `"currency":"EUR"`, `"currency":"ZZZ"`, 1)
	}
	var before, during []string
	for i := range 20 {
		before = append(before, po(i))
	}
	for i := 20; i < 50; i++ {
		during = append(during, po(i))
	}
	e.produce(t, before...)
	waitPG(t, direct, "SELECT count(*) FROM processed_events", 20, 60*time.Second)
	if code, check := readyz(t, a.HTTPAddr()); code != http.StatusOK || check != "ok" {
		t.Fatalf("readyz before the outage: %d %q", code, check)
	}

	proxy.Cut()
	cut := time.Now()
	e.produce(t, during...)
	notReady := false
	for time.Since(cut) < 60*time.Second {
		if code, check := readyz(t, a.HTTPAddr()); code == http.StatusServiceUnavailable && strings.Contains(check, "no progress") {
			notReady = true
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !notReady {
		t.Fatal("readyz never failed on the rules check during 60 s without Postgres")
	}
	if n := pgCount(t, direct, "SELECT count(*) FROM processed_events"); n != 20 {
		t.Fatalf("%d events processed while Postgres was unreachable through the proxy", n)
	}
	proxy.Restore()
	restored := time.Now()
	waitPG(t, direct, "SELECT count(*) FROM processed_events", 50, 60*time.Second)
	caughtUp := time.Since(restored)
	waitPG(t, direct, "SELECT count(*) FROM exceptions WHERE rule_id = 'currency-not-mapped'", 50, 10*time.Second)
	if n := pgCount(t, direct, "SELECT count(*) FROM exceptions WHERE occurrences <> 1"); n != 0 {
		t.Fatalf("%d exceptions raised more than once", n)
	}
	// One opened event per exception. Other exceptions than the 50 may be
	// raised meanwhile (the default SLAs' timers on these POs come due by
	// the wall clock), so the count is per exception, not a total.
	if n := pgCount(t, direct, `SELECT count(*) FROM exception_outbox o JOIN exceptions x ON x.id = o.exception_id
		WHERE o.kind = 'exception.opened' AND x.rule_id = 'currency-not-mapped'`); n != 50 {
		t.Fatalf("%d exception.opened outbox events of currency-not-mapped, want 50 (one per exception)", n)
	}
	if n := pgCount(t, direct, `SELECT count(*) FROM exceptions x
		WHERE (SELECT count(*) FROM exception_outbox o WHERE o.exception_id = x.id AND o.kind = 'exception.opened') <> 1`); n != 0 {
		t.Fatalf("%d exceptions without exactly one exception.opened outbox event", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, check := readyz(t, a.HTTPAddr())
		if code == http.StatusOK && check == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after the outage: %d %q", code, check)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("caught up %d events %s after Postgres came back; exceptions by rule: %s", len(during), caughtUp.Round(time.Millisecond),
		pgText(t, direct, "SELECT coalesce(string_agg(rule_id || ' ' || n, ', ' ORDER BY rule_id), '') FROM (SELECT rule_id, count(*) AS n FROM exceptions GROUP BY rule_id) r"))
}
