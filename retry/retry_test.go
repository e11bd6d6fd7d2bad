package retry_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/retry"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/rules/sla"
)

const (
	tenant     = "acme"
	retryTopic = "supplywatch.retry.wms"
)

var t0 = time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)

// env is the rules engine with the default rule pack and a retry worker on
// the machine's Postgres, publishing to a kfake broker; the clock is the
// test's.
type env struct {
	t      *testing.T
	db     *postgres.DB
	kcfg   kafka.Config
	engine *rules.Engine
	store  *postgres.RetryStore
	pub    retry.Publisher
	events *kafka.Publisher
	clock  time.Time
	mu     sync.Mutex
	seq    int
}

func newEnv(t *testing.T, cfg retry.Config) (*env, *retry.Worker) {
	t.Helper()
	e := &env{t: t, db: pgtest.New(t), clock: t0}
	b, err := kafka.StartEmbedded("127.0.0.1:0", "", 1, "events", retryTopic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	e.kcfg = kafka.Config{Brokers: b.Addrs(), Topic: "events", Partitions: 1}
	e.kcfg.Defaults()
	w, err := e.kcfg.NewWriter("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	e.pub = kafka.NewMessageWriter(w)
	if e.events, err = kafka.NewPublisher(&e.kcfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.events.Close() })
	rs, err := rules.LoadDir("../rules/default", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	state := postgres.NewStateStore(e.db)
	e.engine = rules.NewEngine(state, rules.NewEvaluator(rs), sla.New(sla.Config{}, state, log, e.now), log, e.now)
	e.store = postgres.NewRetryStore(e.db)
	wk := e.worker(cfg)
	e.engine.UseRetrier(wk)
	return e, wk
}

func (e *env) worker(cfg retry.Config) *retry.Worker {
	return retry.New(cfg, e.store, e.pub, e.events, "supplywatch.retry.", slog.New(slog.NewTextHandler(io.Discard, nil)), e.now)
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(d)
}

// deliver processes a message.failed (class != "") or message.delivered
// of message msg to the WMS at the current time.
func (e *env) deliver(msg, class string, attempt int) {
	e.t.Helper()
	e.seq++
	typ := procure.MessageDelivered
	d := &procure.Delivery{MessageID: msg, Target: "wms", DocumentType: "asn.submitted", Attempt: attempt, IdempotencyKey: "key-" + msg}
	if class != "" {
		typ = procure.MessageFailed
		d.ErrorClass, d.Error, d.Payload = class, class+" error", `{"asn":"`+msg+`"}`
	}
	ev := &procure.Event{ID: fmt.Sprintf("ev-%d", e.seq), Type: typ, Source: procure.SourceMiddleware, Tenant: tenant,
		OccurredAt: e.now(), Document: procure.DocumentRef{Kind: procure.DocMessage, ID: msg}, Payload: d}
	if _, err := e.engine.Process(context.Background(), []*procure.Event{ev}); err != nil {
		e.t.Fatal(err)
	}
}

// exceptions lists "rule subject state" of the exceptions raised.
func (e *env) exceptions() map[string]string {
	e.t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), `SELECT rule_id || ' ' || subject, state || ': ' || message FROM exceptions`)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			e.t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

func (e *env) runDue(w *retry.Worker, want int) {
	e.t.Helper()
	n, err := w.RunDue(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if n != want {
		e.t.Fatalf("at +%s: %d jobs due, want %d", e.now().Sub(t0), n, want)
	}
}

// records reads every record of a one-partition topic.
func (e *env) records(topic string) []kafkago.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := kafkago.DialLeader(ctx, "tcp", e.kcfg.Brokers[0], topic, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	last, err := conn.ReadLastOffset()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []kafkago.Message
	if last == 0 {
		return out
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: e.kcfg.Brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for int64(len(out)) < last {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			e.t.Fatalf("read %s: %v", topic, err)
		}
		out = append(out, m)
	}
	return out
}

func header(m kafkago.Message, k string) string { return kafka.Header(&m, k) }

func fastPolicy() retry.Config {
	return retry.Config{OutcomeTimeout: 15 * time.Minute, Policies: []retry.Policy{{Name: "wms-timeouts", Targets: []string{"wms"},
		Classes: []string{"timeout"}, MaxAttempts: 3, Backoff: retry.Backoff{Initial: time.Minute, Multiplier: 2, Max: 3 * time.Minute}}}}
}

func TestTimeoutIsRetriedWithBackoffUpToMaxAttemptsThenRaises(t *testing.T) {
	e, w := newEnv(t, fastPolicy())
	e.deliver("MSG1", "timeout", 1)
	if xs := e.exceptions(); len(xs) != 0 {
		t.Fatalf("exception raised while a retry is pending: %v", xs)
	}
	// Backoff 1m, 2m, 3m (capped): nothing is due a second early.
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute} {
		e.advance(wait - time.Second)
		e.runDue(w, 0)
		e.advance(time.Second)
		e.runDue(w, 1)
		if got := len(e.records(retryTopic)); got != i+1 {
			t.Fatalf("after retry %d: %d records on %s", i+1, got, retryTopic)
		}
		e.advance(10 * time.Second)
		e.deliver("MSG1", "timeout", i+2) // the outcome of the retry
		if xs := e.exceptions(); i < 2 && len(xs) != 0 {
			t.Fatalf("exception raised after retry %d of 3: %v", i+1, xs)
		}
	}
	xs := e.exceptions()
	if got := xs["delivery-failed message/MSG1"]; got != "open: asn.submitted to wms failed (timeout: timeout error); 3 automatic retries failed" {
		t.Fatalf("after the last retry failed: %v", xs)
	}
	if _, ok := xs["message-not-redelivered message/MSG1"]; ok {
		t.Fatalf("SLA breached already: %v", xs)
	}
	e.advance(time.Hour)
	e.runDue(w, 0) // nothing more

	// A manual retry delivers it: resolved, and a later failure starts over.
	e.deliver("MSG1", "", 5)
	if got := e.exceptions()["delivery-failed message/MSG1"]; !strings.HasPrefix(got, "resolved") {
		t.Fatalf("after the delivery: %s", got)
	}
	e.deliver("MSG1", "timeout", 6)
	e.advance(time.Minute)
	e.runDue(w, 1)

	recs := e.records(retryTopic)
	if len(recs) != 4 {
		t.Fatalf("%d retries published, want 3 and 1 after the new failure", len(recs))
	}
	for i, m := range recs[:3] {
		if string(m.Key) != "key-MSG1" || header(m, kafka.HeaderIdempotencyKey) != "key-MSG1" || string(m.Value) != `{"asn":"MSG1"}` ||
			header(m, kafka.HeaderRetriedBy) != retry.Actor || header(m, kafka.HeaderAttempt) != fmt.Sprint(i+1) || header(m, kafka.HeaderTenant) != tenant {
			t.Fatalf("retry %d: key %s value %s headers %v", i+1, m.Key, m.Value, m.Headers)
		}
	}
	// The exception shows each retry and its outcome.
	var id int64
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT id FROM exceptions WHERE rule_id = 'delivery-failed'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	rs, err := postgres.NewConsoleStore(e.db).FindRetries(context.Background(), procure.Scope{Tenant: tenant}, id, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 {
		t.Fatalf("%d retries on the exception, want 4", len(rs))
	}
	for _, r := range rs[1:] {
		if r.RequestedBy != "policy" || r.Status != procure.RetryRedeliveryFailed || r.ExceptionID != id || r.Topic != retryTopic {
			t.Fatalf("retry %+v", r)
		}
	}
}

func TestValidationFailureRaisesAtOnce(t *testing.T) {
	e, w := newEnv(t, fastPolicy())
	e.deliver("MSG2", "validation", 1)
	xs := e.exceptions()
	if got := xs["delivery-failed message/MSG2"]; got != "open: asn.submitted to wms failed (validation: validation error); validation errors are not retried automatically" {
		t.Fatalf("exceptions %v", xs)
	}
	e.advance(24 * time.Hour)
	e.runDue(w, 0)
	if n := len(e.records(retryTopic)); n != 0 {
		t.Fatalf("%d retries of a validation failure", n)
	}
}

func TestOldFailuresAreNotRetried(t *testing.T) {
	e, w := newEnv(t, fastPolicy())
	e.advance(25 * time.Hour)
	ev := &procure.Event{ID: "old", Type: procure.MessageFailed, Source: procure.SourceMiddleware, Tenant: tenant, OccurredAt: t0,
		Document: procure.DocumentRef{Kind: procure.DocMessage, ID: "OLD1"},
		Payload:  &procure.Delivery{MessageID: "OLD1", Target: "wms", ErrorClass: "timeout", Error: "timeout", Attempt: 1, Payload: "{}"}}
	if _, err := e.engine.Process(context.Background(), []*procure.Event{ev}); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Hour)
	e.runDue(w, 0)
	if xs := e.exceptions(); !strings.HasSuffix(xs["delivery-failed message/OLD1"], "older than 24h0m0s: not retried automatically") {
		t.Fatalf("exceptions %v", xs)
	}
}

func TestDeliveredCancelsThePendingRetry(t *testing.T) {
	e, w := newEnv(t, fastPolicy())
	e.deliver("MSG3", "timeout", 1)
	e.advance(time.Minute)
	e.runDue(w, 1) // retry 1 out
	e.advance(5 * time.Second)
	e.deliver("MSG3", "timeout", 2) // it failed: retry 2 scheduled in 2m
	e.advance(30 * time.Second)
	e.deliver("MSG3", "", 3) // delivered by the source's own retry
	e.advance(time.Hour)
	e.runDue(w, 0)
	if n := len(e.records(retryTopic)); n != 1 {
		t.Fatalf("%d retries published, want 1", n)
	}
	if xs := e.exceptions(); len(xs) != 0 {
		t.Fatalf("exceptions %v", xs)
	}

	// A delivery after a retry settles that retry as delivered.
	e.deliver("MSG4", "timeout", 1)
	e.advance(time.Minute)
	e.runDue(w, 1)
	e.advance(5 * time.Second)
	e.deliver("MSG4", "", 2)
	var status string
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT status FROM console_retries WHERE message_id = 'MSG4'`).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != procure.RetryDelivered {
		t.Fatalf("retry status %s", status)
	}
}

func TestRetryWithoutOutcomeIsReportedAsAFailure(t *testing.T) {
	e, w := newEnv(t, fastPolicy())
	e.deliver("MSG5", "timeout", 1)
	e.advance(time.Minute)
	e.runDue(w, 1)
	e.advance(15*time.Minute - time.Second)
	e.runDue(w, 0)
	e.advance(time.Second)
	e.runDue(w, 1)
	evs := e.records("events")
	if len(evs) != 1 {
		t.Fatalf("%d events reported", len(evs))
	}
	ev, err := procure.Decode(evs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	d := ev.Payload.(*procure.Delivery)
	if ev.Type != procure.MessageFailed || d.ErrorClass != "timeout" || d.Attempt != 2 || d.Payload != `{"asn":"MSG5"}` {
		t.Fatalf("reported %+v %+v", ev, d)
	}
	// The rules engine hands it back: the next retry is scheduled.
	if _, err := e.engine.Process(context.Background(), []*procure.Event{ev}); err != nil {
		t.Fatal(err)
	}
	e.advance(2 * time.Minute)
	e.runDue(w, 1)
	if n := len(e.records(retryTopic)); n != 2 {
		t.Fatalf("%d retries published, want 2", n)
	}
}

func TestTwoWorkersNeverPublishTheSameAttemptTwice(t *testing.T) {
	cfg := fastPolicy()
	cfg.Batch = 7 // small claims, so that the workers interleave
	e, w1 := newEnv(t, cfg)
	w2 := e.worker(cfg)
	const n = 60
	for i := range n {
		e.deliver(fmt.Sprintf("M%03d", i), "timeout", 1)
	}
	e.advance(time.Minute)
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for k, w := range []*retry.Worker{w1, w2, w1, w2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				c, err := w.RunDue(context.Background())
				if err != nil {
					t.Error(err)
				}
				counts[k] += c
			}
		}()
	}
	wg.Wait()
	recs := e.records(retryTopic)
	seen := map[string]bool{}
	for _, m := range recs {
		if seen[string(m.Key)] {
			t.Fatalf("%s published twice", m.Key)
		}
		seen[string(m.Key)] = true
	}
	if len(seen) != n {
		t.Fatalf("%d messages retried, want %d (claims per worker %v)", len(seen), n, counts)
	}
	var rows int
	e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM console_retries WHERE requested_by = 'policy'`).Scan(&rows)
	if rows != n {
		t.Fatalf("%d retries recorded, want %d", rows, n)
	}
	t.Logf("claims per worker run: %v", counts)
}

// deliverTo processes a timeout of message msg to target from source.
func (e *env) deliverTo(msg, target string, source procure.Source) {
	e.t.Helper()
	e.seq++
	d := &procure.Delivery{MessageID: msg, Target: target, DocumentType: "asn.submitted", Attempt: 1, IdempotencyKey: "key-" + msg,
		ErrorClass: "timeout", Error: "timeout error", Payload: `{"asn":"` + msg + `"}`}
	ev := &procure.Event{ID: fmt.Sprintf("ev-%d", e.seq), Type: procure.MessageFailed, Source: source, Tenant: tenant,
		OccurredAt: e.now(), Document: procure.DocumentRef{Kind: procure.DocMessage, ID: msg}, Payload: d}
	if _, err := e.engine.Process(context.Background(), []*procure.Event{ev}); err != nil {
		e.t.Fatal(err)
	}
}

// A sender chooses the target and payload of a message.failed: only
// targets of retry.targets are re-sent, and only failures from a source
// the tenant's ingest tokens may send.
func TestOnlyAllowedTargetsAndSourcesAreRetried(t *testing.T) {
	cfg := fastPolicy()
	cfg.Policies[0].Targets = nil
	cfg.Targets = []string{"wms"}
	e, w := newEnv(t, cfg)
	w.UseIngestSources(func(string) ([]string, bool) { return []string{"middleware"}, false })
	e.deliverTo("M-OK", "wms", procure.SourceMiddleware)
	e.deliverTo("M-TARGET", "attacker", procure.SourceMiddleware)
	e.deliverTo("M-SOURCE", "wms", procure.SourcePortal)
	e.advance(time.Minute)
	e.runDue(w, 1)
	if got := len(e.records(retryTopic)); got != 1 {
		t.Fatalf("%d retries published, want only M-OK's", got)
	}
	xs := e.exceptions()
	if got := xs["delivery-failed message/M-TARGET"]; !strings.Contains(got, `target "attacker" is not in retry.targets`) {
		t.Errorf("M-TARGET: %q (all: %v)", got, xs)
	}
	if got := xs["delivery-failed message/M-SOURCE"]; !strings.Contains(got, `may send source "portal"`) {
		t.Errorf("M-SOURCE: %q (all: %v)", got, xs)
	}
}
