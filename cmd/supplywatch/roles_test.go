package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/chdb"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/internal/promrules"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
)

// asMain makes the test binary act as the supplywatch binary, so the tests
// run the real command line in processes of their own.
const asMain = "SUPPLYWATCH_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	chdb.MaybeRunChild()
	if os.Getenv(asMain) == "1" {
		main()
		os.Exit(0)
	}
	if os.Getenv(asMain) != "" {
		// A process started by a test without asMain=1 must never run the
		// tests again (they would start processes in turn).
		fmt.Fprintln(os.Stderr, "supplywatch test child started without", asMain+"=1")
		os.Exit(2)
	}
	os.Setenv(asMain, "0")
	chtest.Main(m)
}

// proc is a supplywatch process started by a test.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // http.addr
	log  string // its stderr
	done chan struct{}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the binary with args; the process is killed when the test
// ends.
func start(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(append(os.Environ(), asMain+"=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady polls /readyz until it answers 200.
func (p *proc) waitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			t.Fatalf("%s exited before ready:\n%s", p.name, p.tail())
		}
		if resp, err := http.Get("http://" + p.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %s:\n%s", p.name, timeout, p.tail())
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func (p *proc) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatalf("%s metrics: %v", p.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// fakeSlack is Slack's Web API at the network boundary: posts, updates and
// the history the sender searches before posting again.
type fakeSlack struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seq  int
	msgs []slackMsg
}

type slackMsg struct {
	Channel, TS, ThreadTS, Text string
	Metadata                    map[string]any
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	ch := r.Form.Get("channel")
	switch strings.TrimPrefix(r.URL.Path, "/api/") {
	case "chat.postMessage":
		f.seq++
		m := slackMsg{Channel: ch, TS: fmt.Sprintf("1700000000.%06d", f.seq), ThreadTS: r.Form.Get("thread_ts"), Text: r.Form.Get("text")}
		json.Unmarshal([]byte(r.Form.Get("metadata")), &m.Metadata)
		f.msgs = append(f.msgs, m)
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": ch, "ts": m.TS})
	case "chat.update":
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": ch, "ts": r.Form.Get("ts")})
	case "conversations.history", "conversations.replies":
		var out []map[string]any
		for _, m := range f.msgs {
			if m.Channel == ch {
				out = append(out, map[string]any{"ts": m.TS, "thread_ts": m.ThreadTS, "text": m.Text, "metadata": m.Metadata})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "messages": out, "has_more": false})
	default:
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// posts returns the top-level posts and the number of posts per delivery.
func (f *fakeSlack) posts() (top int, perDelivery map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	perDelivery = map[string]int{}
	for _, m := range f.msgs {
		if m.ThreadTS == "" {
			top++
		}
		if p, ok := m.Metadata["event_payload"].(map[string]any); ok {
			perDelivery[fmt.Sprint(p["delivery_id"])]++
		}
	}
	return top, perDelivery
}

// The events happen now, so that no SLA timer is already overdue: the
// only exceptions are those of deliveryFailed.
var now = time.Now().UTC()

func poRelease(i int) string {
	return fmt.Sprintf(`{"id":"po-%06d","type":"po.released","source":"erp","tenant":"acme","occurred_at":%q,"correlation_id":"c-%d","plant":"P01","supplier":"S%04d","document":{"kind":"po","id":"45%08d","version":1},"data":{"order_type":"standard","currency":"EUR","lines":[{"line":10,"item":"M-%d","quantity":%d,"unit":"C62","unit_price":1.5,"need_by":%q}]}}`,
		i, now.Add(-time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), i, i%400, i, i%97, 1+i%50, now.AddDate(0, 2, 0).Format(time.DateOnly))
}

// deliveryFailed raises delivery-failed at once (class validation is not
// retried); the supplier decides the alert group.
func deliveryFailed(i, supplier int) string {
	return fmt.Sprintf(`{"id":"mf-%04d","type":"message.failed","source":"middleware","tenant":"acme","occurred_at":%q,"supplier":"S%02d","document":{"kind":"message","id":"MSG%04d"},"data":{"message_id":"MSG%04d","target":"wms","document_type":"asn.submitted","error_class":"validation","error":"bad ASN","attempt":1}}`,
		i, now.Format(time.RFC3339Nano), supplier, i, i)
}

// TestTwoOfEachRoleStoreRaiseAndPostOnce is the production shape end to
// end: one Kafka (three kfake brokers in a process of their own), one
// ClickHouse, one Postgres, a fake Slack, and two processes of each role
// (serve, collect, rules). Half-way through the traffic one process of each
// role is killed with SIGKILL. Every event is then stored once, every
// exception raised once and every Slack message posted once, and the
// survivors are ready again (their groups' committed offsets caught up).
func TestTwoOfEachRoleStoreRaiseAndPostOnce(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("starts eight processes")
	}
	ctx := context.Background()
	chDB := fmt.Sprintf("t_roles_%d", time.Now().UnixNano())
	chServer, chConn, chAddr := startSupervisedClickHouse(t, chDB)
	defer func() { t.Logf("embedded ClickHouse restarts: %d", chServer.restartCount()) }()
	pgURL := pgtest.URL(t)
	slack := newFakeSlack(t)
	dir := t.TempDir()

	addrFile := filepath.Join(dir, "kafka.addr")
	kp := start(t, "kafka", nil, "kafka", "--brokers", "3", "--partitions", "6", "--addr-file", addrFile)
	var brokers string
	for deadline := time.Now().Add(30 * time.Second); brokers == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(addrFile); err == nil {
			brokers = string(b)
		}
	}
	if brokers == "" {
		t.Fatalf("kafka did not start:\n%s", kp.tail())
	}

	const token = "roles-test-token"
	cfgFile := filepath.Join(dir, "supplywatch.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
skip_migrations: true
clickhouse: {addr: [%q], database: %s}
kafka: {brokers: [%s], topic: supplywatch.events, dead_letter_topic: supplywatch.deadletter, partitions: 6}
postgres: {url: %q}
rules: {dir: ../../rules/default, batch_wait: 5ms}
collector: {drain_timeout: 5s}
writer: {flush_interval: 100ms, max_backoff: 300ms}
ingest:
  rate_per_second: 1000000
  tokens: [{name: roles, tenant: acme, token: %s}]
slack: {token: xoxb-test, signing_secret: test-signing-secret, api_url: %q}
alerts:
  channel_interval: 10ms
  poll: 100ms
  in_flight_lease: 3s
  route: {receiver: C-ALERTS, group_wait: 300ms, group_interval: 1h, repeat_interval: 24h}
log_level: warn
`, dir, chAddr, chDB, quoteList(brokers), pgURL, token, slack.srv.URL+"/api/")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The schema first, as the chart's pre-install Job does.
	mig := exec.Command(os.Args[0], "migrate", "--config", cfgFile)
	mig.Env = append(os.Environ(), asMain+"=1")
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}

	t.Log("schema applied; starting two processes of each role")
	var serve, collect, rules [2]*proc
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, ps := range [][2]*proc{serve, collect, rules} {
			for _, p := range ps {
				if p != nil {
					t.Logf("%s (exited %v):\n%s", p.name, p.exited(), p.tail())
				}
			}
		}
	})
	for i := range 2 {
		for _, r := range []struct {
			ps   *[2]*proc
			name string
			args []string
		}{{&serve, "serve", []string{"serve"}}, {&collect, "collect", []string{"collect"}}, {&rules, "rules", []string{"rules", "run"}}} {
			addr := freeAddr(t)
			p := start(t, fmt.Sprintf("%s-%d", r.name, i), []string{"SUPPLYWATCH_HTTP_ADDR=" + addr}, append(r.args, "--config", cfgFile)...)
			p.addr = addr
			r.ps[i] = p
		}
	}
	for _, ps := range [][2]*proc{serve, collect, rules} {
		for _, p := range ps {
			p.waitReady(t, 120*time.Second)
		}
	}
	t.Log("all roles ready")
	// Traffic: po.released over Kafka and over HTTP (alternating between
	// the serve processes, the other one when a request fails), and
	// message.failed events that raise exceptions in 8 alert groups.
	const nKafka, nHTTP, nFailed, groups = 1000, 1000, 40, 8
	w := &kafkago.Writer{Addr: kafkago.TCP(strings.Split(brokers, ",")...), Topic: "supplywatch.events", Balancer: &kafkago.Hash{},
		BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafkago.RequireAll, MaxAttempts: 20}
	defer w.Close()
	produce := func(values ...string) {
		t.Helper()
		msgs := make([]kafkago.Message, len(values))
		for i, v := range values {
			msgs[i] = kafkago.Message{Key: []byte(fmt.Sprint(i % 17)), Value: []byte(v)}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	next := 0
	post := func(values ...string) {
		t.Helper()
		body := strings.Join(values, "\n")
		var last error
		// A 503 says "send them again": a real client retries it, here
		// for up to a minute (a dependency restarting answers 503 meanwhile).
		deadline := time.Now().Add(time.Minute)
		for attempt := 0; attempt == 0 || time.Now().Before(deadline); attempt++ {
			p := serve[(next+attempt)%2]
			req, _ := http.NewRequest("POST", "http://"+p.addr+"/v1/events", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/x-ndjson")
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					next++
					return
				}
				err = fmt.Errorf("%s: %d %s", p.name, resp.StatusCode, b)
				if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("post: %v", err)
				}
			}
			last = err
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("post: %v", last)
	}
	failed := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, deliveryFailed(i, 1+i%groups))
		}
		return out
	}
	send := func(from, to int) {
		for i := from; i < to; i += 100 {
			var kv, hv []string
			for j := i; j < min(i+100, to); j++ {
				kv = append(kv, poRelease(j))
				hv = append(hv, poRelease(nKafka+j))
			}
			produce(kv...)
			post(hv...)
		}
	}
	send(0, nKafka/2)
	produce(failed(0, nFailed/4)...)
	post(failed(nFailed/4, nFailed/2)...)
	// Kill one of each while work is in flight.
	waitCount(t, chConn, "SELECT count() FROM events", func(n uint64) bool { return n > 0 }, 60*time.Second)
	// The KPI refresher (one rules process at a time) is let finish its
	// first refresh: the embedded engine aborts when a client vanishes in
	// the middle of its INSERT ... SELECT (a ClickHouse server does not),
	// which would end the test for a reason of the test's own.
	waitKPIRefreshed(t, rules[:], 120*time.Second)
	serve[0].kill(t)
	collect[0].kill(t)
	rules[0].kill(t)
	killed := time.Now()
	t.Log("killed one process of each role")
	send(nKafka/2, nKafka)
	produce(failed(nFailed/2, 3*nFailed/4)...)
	post(failed(3*nFailed/4, nFailed)...)

	t.Log("traffic sent")
	total := uint64(nKafka + nHTTP + nFailed)
	if !countReaches(chConn, "SELECT count() FROM events", total, 120*time.Second) {
		explainMissing(t, ctx, chConn, chDB, brokers, "supplywatch-collector")
	}
	t.Logf("all %d events stored %s after the kill", total, time.Since(killed).Round(100*time.Millisecond))
	time.Sleep(time.Second)
	// A rebalance (a collector joining or dying) can have two collectors
	// store one message: kafka-go hands out messages it fetched before the
	// partition moved, and the writer's look-up-then-insert races with the
	// new owner's. The events table is a ReplacingMergeTree on a key that
	// holds the id, so such a copy is the same row and collapses on merge;
	// the raw count before the merge is logged, the merged one must be
	// exact.
	var raw, count, distinct uint64
	if err := chConn.QueryRow(ctx, "SELECT count() FROM "+chDB+".events").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := chConn.Exec(ctx, "OPTIMIZE TABLE "+chDB+".events FINAL"); err != nil {
		t.Fatal(err)
	}
	if err := chConn.QueryRow(ctx, "SELECT count(), uniqExact(id) FROM "+chDB+".events").Scan(&count, &distinct); err != nil {
		t.Fatal(err)
	}
	t.Logf("events: %d rows before the merge (%d copies from rebalances), %d after, %d distinct, %d sent", raw, raw-distinct, count, distinct, total)
	if count != total || distinct != total {
		t.Errorf("events: %d stored, %d distinct, want %d once each", count, distinct, total)
	}

	pg, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	pgCount := func(q string) int {
		var n int
		if err := pg.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	deadline := time.Now().Add(90 * time.Second)
	for pgCount(`SELECT count(*) FROM exceptions WHERE rule_id = 'delivery-failed'`) < nFailed && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if n := pgCount(`SELECT count(*) FROM exceptions WHERE rule_id = 'delivery-failed'`); n != nFailed {
		t.Errorf("delivery-failed exceptions = %d, want %d; rules group: %s", n, nFailed, groupOffsets(ctx, brokers, "supplywatch-rules"))
	} else {
		t.Logf("all %d exceptions raised %s after the kill", nFailed, time.Since(killed).Round(100*time.Millisecond))
	}
	if n := pgCount(`SELECT count(*) FROM exceptions WHERE occurrences <> 1`); n != 0 {
		t.Errorf("%d exceptions raised more than once (occurrences > 1)", n)
	}
	if n := pgCount(`SELECT count(*) FROM (SELECT exception_id FROM exception_activity WHERE actor_kind = 'rule'
		GROUP BY exception_id HAVING count(*) > 1) x`); n != 0 {
		t.Errorf("%d exceptions have more than one rule activity entry", n)
	}

	// Without --demo no process creates a user or a token.
	if n := pgCount(`SELECT (SELECT count(*) FROM console_users) + (SELECT count(*) FROM console_tokens)`); n != 0 {
		t.Errorf("%d users and tokens exist; the roles create none without --demo", n)
	}

	for pgCount(`SELECT count(*) FROM alert_groups WHERE slack_ts <> ''`) < groups && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	// Let the surviving dispatcher finish whatever it would still send.
	for pgCount(`SELECT count(*) FROM alert_deliveries WHERE status = 'pending'`) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if n := pgCount(`SELECT count(*) FROM alert_groups WHERE slack_ts <> ''`); n != groups {
		t.Errorf("alert groups posted = %d, want %d", n, groups)
	}
	top, per := slack.posts()
	if top != groups {
		t.Errorf("top-level Slack posts = %d, want one per group (%d)", top, groups)
	}
	for id, n := range per {
		if n != 1 {
			t.Errorf("delivery %s posted %d times", id, n)
		}
	}
	if n := pgCount(`SELECT count(*) FROM alert_deliveries WHERE status = 'failed'`); n != 0 {
		t.Errorf("%d Slack deliveries failed", n)
	}
	// Each role exports its own families beside the build info.
	for _, c := range []struct {
		p    *proc
		role string
		want []string
	}{
		{serve[1], "serve", []string{"supplywatch_http_requests_total", "supplywatch_writer_batch_rows"}},
		{collect[1], "collect", []string{"supplywatch_writer_batch_rows", "supplywatch_kafka_group_lag"}},
		{rules[1], "rules", []string{"supplywatch_rules_consumer_lag", "supplywatch_alerts_deliveries_total", "supplywatch_kafka_group_lag"}},
	} {
		m := c.p.metrics(t)
		if !strings.Contains(m, `supplywatch_build_info{`) || !strings.Contains(m, `role="`+c.role+`"`) {
			t.Errorf("%s: no supplywatch_build_info with role %s", c.p.name, c.role)
		}
		for _, fam := range c.want {
			if !strings.Contains(m, "# TYPE "+fam+" ") {
				t.Errorf("%s: metric family %s missing", c.p.name, fam)
			}
		}
		if c.role != "rules" && strings.Contains(m, "supplywatch_rules_") {
			t.Errorf("%s exports the rules role's metrics", c.p.name)
		}
	}

	// The survivors are ready: their groups' committed offsets caught up
	// (a partition left behind would fail readiness after stall_after).
	for _, p := range []*proc{serve[1], collect[1], rules[1]} {
		p.waitReady(t, 30*time.Second)
	}

	// Every metric the shipped alert rules on supplywatch itself read is
	// exported by some role.
	checkAlertRuleMetrics(t, serve[1].metrics(t)+collect[1].metrics(t)+rules[1].metrics(t))

	for _, p := range []*proc{serve[1], collect[1], rules[1], kp} {
		if p.exited() {
			t.Errorf("%s exited:\n%s", p.name, p.tail())
		}
	}
	// The survivors stop cleanly on SIGTERM, within the stop timeout.
	for _, p := range []*proc{serve[1], collect[1], rules[1]} {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range []*proc{serve[1], collect[1], rules[1]} {
		select {
		case <-p.done:
			if code := p.cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("%s exit code %d:\n%s", p.name, code, p.tail())
			}
		case <-time.After(40 * time.Second):
			t.Errorf("%s did not stop within 40s", p.name)
		}
	}
}

func quoteList(csv string) string {
	var q []string
	for _, s := range strings.Split(csv, ",") {
		q = append(q, fmt.Sprintf("%q", s))
	}
	return strings.Join(q, ", ")
}

// checkAlertRuleMetrics fails for a metric named in
// deploy/prometheus/supplywatch.rules.yml that no role exports.
func checkAlertRuleMetrics(t *testing.T, exported string) {
	t.Helper()
	f, err := promrules.Load("../../deploy/prometheus/supplywatch.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range f.Rules() {
		for _, m := range promrules.Metrics(r.Expr) {
			n++
			if !strings.Contains(exported, "\n"+m) {
				t.Errorf("alert %s reads %s, which no role exports", r.Alert, m)
			}
		}
	}
	if n == 0 {
		t.Error("supplywatch.rules.yml reads no metric")
	}
}

// waitKPIRefreshed waits until one of ps reports a finished KPI refresh.
func waitKPIRefreshed(t *testing.T, ps []*proc, timeout time.Duration) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^supplywatch_kpi_refresh_last_success_timestamp_seconds ([0-9.e+]+)$`)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, p := range ps {
			if m := re.FindStringSubmatch(p.metrics(t)); m != nil && m[1] != "0" {
				return
			}
		}
	}
	t.Fatalf("no KPI refresh finished within %s", timeout)
}

// waitCount polls query until ok accepts its count.
// countReaches reports whether query's count reaches want within timeout.
func countReaches(conn driver.Conn, query string, want uint64, timeout time.Duration) bool {
	var n uint64
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if conn.QueryRow(context.Background(), query).Scan(&n) == nil && n >= want {
			return true
		}
	}
	return false
}

// explainMissing fails the test naming, per partition, the events on the
// topic that are not stored, against the collector group's committed
// offset: missing events below the committed offset were committed and
// never stored (lost); above it they were not consumed (stalled).
func explainMissing(t *testing.T, ctx context.Context, conn driver.Conn, db, brokers, group string) {
	t.Helper()
	stored := map[string]bool{}
	rows, err := conn.Query(ctx, "SELECT DISTINCT id FROM "+db+".events")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		stored[id] = true
	}
	rows.Close()
	addrs := strings.Split(brokers, ",")
	client := &kafkago.Client{Addr: kafkago.TCP(addrs...), Timeout: 10 * time.Second}
	committed := map[int]int64{}
	if resp, err := client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{"supplywatch.events": {0, 1, 2, 3, 4, 5}}}); err == nil {
		for _, p := range resp.Topics["supplywatch.events"] {
			committed[p.Partition] = p.CommittedOffset
		}
	} else {
		t.Logf("offset fetch: %v", err)
	}
	var report []string
	for p := 0; p < 6; p++ {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: addrs, Topic: "supplywatch.events", Partition: p, MaxWait: 200 * time.Millisecond})
		var missing []int64
		var end int64
		for {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			m, err := r.ReadMessage(rctx)
			cancel()
			if err != nil {
				break
			}
			end = m.Offset + 1
			var env struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(m.Value, &env) == nil && env.ID != "" && !stored[env.ID] {
				missing = append(missing, m.Offset)
			}
		}
		r.Close()
		if len(missing) > 0 {
			report = append(report, fmt.Sprintf("partition %d: %d missing at offsets %d..%d, committed %d, end %d", p, len(missing), missing[0], missing[len(missing)-1], committed[p], end))
		}
	}
	t.Fatalf("events not all stored after 2m (%d distinct stored):\n%s", len(stored), strings.Join(report, "\n"))
}

// groupOffsets reports group's committed offset and the end of each
// partition of the events topic (a partition behind is stalled or slow).
func groupOffsets(ctx context.Context, brokers, group string) string {
	client := &kafkago.Client{Addr: kafkago.TCP(strings.Split(brokers, ",")...), Timeout: 10 * time.Second}
	parts := []int{0, 1, 2, 3, 4, 5}
	committed, err := client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{"supplywatch.events": parts}})
	if err != nil {
		return err.Error()
	}
	var reqs []kafkago.OffsetRequest
	for _, p := range parts {
		reqs = append(reqs, kafkago.LastOffsetOf(p))
	}
	ends, err := client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{"supplywatch.events": reqs}})
	if err != nil {
		return err.Error()
	}
	end := map[int]int64{}
	for _, p := range ends.Topics["supplywatch.events"] {
		end[p.Partition] = p.LastOffset
	}
	var out []string
	for _, p := range committed.Topics["supplywatch.events"] {
		out = append(out, fmt.Sprintf("partition %d committed %d of %d", p.Partition, p.CommittedOffset, end[p.Partition]))
	}
	return strings.Join(out, ", ")
}

func waitCount(t *testing.T, conn driver.Conn, query string, ok func(uint64) bool, timeout time.Duration) {
	t.Helper()
	var n uint64
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = conn.QueryRow(context.Background(), query).Scan(&n); err == nil && ok(n) {
			return
		}
	}
	t.Fatalf("%s = %d after %s (last error: %v)", query, n, timeout, err)
}
