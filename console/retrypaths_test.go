package console_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/retry"
)

// TestRetryThroughConsoleSlackAndWorkerRecordsTheSameShape re-sends the
// fixture's failed delivery three ways, as app wires them: the console API
// (preview, confirm), Slack's Retry button hook (alerts.StoreActor →
// Console.RetryAs) and the automatic worker (a due job, RunDue), all
// through retry.Service on real Postgres and a kfake broker. Each yields a
// retry row, a retry.publish audit entry and a Kafka record with the same
// fields; only the actor differs (and the worker adds the attempt header).
func TestRetryThroughConsoleSlackAndWorkerRecordsTheSameShape(t *testing.T) {
	const topic = "supplywatch.retry.wms"
	b, err := kafka.StartEmbedded("127.0.0.1:0", "", 1, "events", topic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	kcfg := kafka.Config{Brokers: b.Addrs(), Topic: "events", Partitions: 1}
	kcfg.Defaults()
	w, err := kcfg.NewWriter("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	pub := kafka.NewMessageWriter(w)
	e := newEnv(t, func(_ *console.Config, d *console.Deps) { d.Publisher = pub })
	ctx := context.Background()
	id := e.ids["delivery"]
	oncall := e.signIns[procure.RoleOncall].Login

	// settle marks the latest retry delivered, so that the next path is
	// not refused as a high duplicate risk.
	settle := func() {
		t.Helper()
		rs, err := e.store.FindRetries(ctx, procure.Scope{Tenant: tenant}, 0, 10)
		if err != nil || len(rs) == 0 {
			t.Fatalf("retries %v %v", rs, err)
		}
		if err := e.store.UpdateRetry(ctx, rs[0].ID, procure.RetryDelivered, "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	// 1. The console API.
	o := e.signIn(procure.RoleOncall)
	var pv struct {
		Plans   []procure.RetryPlan `json:"plans"`
		Confirm string              `json:"confirm"`
	}
	o.mustOK("POST", "/api/retries/preview", map[string]any{"exception_ids": []int64{id}}, &pv)
	o.mustOK("POST", "/api/retries", map[string]any{"exception_ids": []int64{id}, "confirm": pv.Confirm}, nil)
	settle()

	// 2. Slack's Retry button: the hook app gives the alert dispatcher.
	actor := alerts.NewStoreActor(postgres.NewExceptionStore(e.db, nil), func(ctx context.Context, u alerts.User, x *procure.Exception) error {
		_, err := e.console.RetryAs(ctx, u.Tenant, u.Login, x.ID, "slack")
		return err
	})
	if err := actor.Retry(ctx, alerts.User{Login: oncall, Tenant: tenant, Role: procure.RoleOncall}, id); err != nil {
		t.Fatalf("slack retry: %v", err)
	}
	settle()

	// 3. The automatic worker, on a due job for the same failure.
	pl := pv.Plans[0]
	// The plan's JSON does not carry the payload: the job has the failure's.
	fd, err := clickhouse.NewFacts(e.ch, e.chdb).FailedDelivery(ctx, tenant, pl.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	jobs := postgres.NewRetryStore(e.db)
	events, err := kafka.NewPublisher(&kcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { events.Close() })
	wk := retry.New(retry.Config{}, jobs, pub, events, "supplywatch.retry.", slog.New(slog.DiscardHandler), nil)
	wk.UseAudit(e.store)
	job := &procure.RetryJob{Tenant: tenant, MessageID: pl.MessageID, Target: pl.Target, Topic: pl.Topic, IdempotencyKey: pl.IdempotencyKey,
		DocumentType: pl.DocumentType, ErrorClass: pl.ErrorClass, FailedEventID: pl.EventID, Payload: fd.Delivery.Payload,
		Policy: "transient", MaxAttempts: 3, State: procure.JobScheduled, DueAt: time.Now().Add(-time.Minute)}
	if err := postgres.NewStateStore(e.db).InTx(ctx, func(tx procure.StateTx) error { return jobs.SaveJob(ctx, tx, job) }); err != nil {
		t.Fatal(err)
	}
	if n, err := wk.RunDue(ctx); err != nil || n != 1 {
		t.Fatalf("worker: %d jobs, %v", n, err)
	}

	actors := []string{oncall, oncall, retry.Actor}
	kinds := []string{"user", "slack", retry.Actor}

	rs, err := e.store.FindRetries(ctx, procure.Scope{Tenant: tenant}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rs, func(a, b *procure.Retry) int { return int(a.ID - b.ID) })
	if len(rs) != 3 {
		t.Fatalf("%d retries, want 3: %+v", len(rs), rs)
	}
	for i, r := range rs {
		if r.Tenant != tenant || r.ExceptionID != id || r.MessageID != "MSG1" || r.Target != "wms" || r.Topic != topic ||
			r.IdempotencyKey != "IK-ASN1-1" || r.RequestedBy != actors[i] || r.Error != "" || r.RequestedAt.IsZero() {
			t.Errorf("retry %d: %+v", i, r)
		}
	}

	audit, err := e.store.FindAudit(ctx, tenant, 100)
	if err != nil {
		t.Fatal(err)
	}
	var pubs []*procure.AuditEntry
	for _, a := range audit {
		if a.Action == "retry.publish" {
			pubs = append(pubs, a)
		}
	}
	slices.SortFunc(pubs, func(a, b *procure.AuditEntry) int { return a.At.Compare(b.At) })
	if len(pubs) != 3 {
		t.Fatalf("%d retry.publish audit entries, want 3", len(pubs))
	}
	for i, a := range pubs {
		var d map[string]any
		if err := json.Unmarshal(a.Detail, &d); err != nil {
			t.Fatalf("audit %d detail %s: %v", i, a.Detail, err)
		}
		if a.Tenant != tenant || a.Target != "exceptions" || a.Actor != actors[i] || a.ActorKind != kinds[i] || d["retries"] != 1.0 || d["ids"] == nil {
			t.Errorf("audit %d: %+v detail %v", i, a, d)
		}
	}

	msgs := records(t, kcfg.Brokers[0], topic)
	if len(msgs) != 3 {
		t.Fatalf("%d records on %s, want 3", len(msgs), topic)
	}
	for i, m := range msgs {
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		want := map[string]string{kafka.HeaderIdempotencyKey: "IK-ASN1-1", kafka.HeaderRetryOf: pl.EventID, kafka.HeaderRetriedBy: actors[i], kafka.HeaderTenant: tenant}
		if i == 2 {
			want[kafka.HeaderAttempt] = "1"
		}
		if string(m.Key) != "IK-ASN1-1" || !maps.Equal(h, want) || string(m.Value) != string(msgs[0].Value) || len(m.Value) == 0 {
			t.Errorf("record %d: key %s headers %v value %s", i, m.Key, h, m.Value)
		}
	}
}

// records reads every record of a one-partition topic.
func records(t *testing.T, broker, topic string) []kafkago.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := kafkago.DialLeader(ctx, "tcp", broker, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	last, err := conn.ReadLastOffset()
	if err != nil {
		t.Fatal(err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{broker}, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var out []kafkago.Message
	for int64(len(out)) < last {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
		out = append(out, m)
	}
	return out
}
