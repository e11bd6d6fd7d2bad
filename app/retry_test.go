package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/app"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/retry"
)

// The rules role runs the retry worker on the rules' consumer path: a
// message.failed on the events topic is retried to the target's retry
// topic with its idempotency key, and a message.delivered settles it.
func TestRulesRoleRetriesFailedDeliveriesAutomatically(t *testing.T) {
	e := newEnv(t)
	cfg, err := app.LoadConfig(e.configFile(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ClickHouse.Addr, cfg.ClickHouse.Database = []string{e.chAddr}, e.db
	cfg.Kafka.Brokers, cfg.Kafka.Topic, cfg.Kafka.DeadLetterTopic = []string{e.brokers}, e.topic, "deadletter"
	cfg.Postgres.URL = pgtest.URL(t)
	cfg.Rules.Dir = "../rules/default"
	cfg.Retry = retry.Config{Poll: 50 * time.Millisecond, Policies: []retry.Policy{{Name: "fast", Classes: []string{"timeout"}, MaxAttempts: 2,
		Backoff: retry.Backoff{Initial: 100 * time.Millisecond, Multiplier: 1, Max: 100 * time.Millisecond}}}}
	cfg.Retry.Defaults()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, cfg, app.RoleRules, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	now := time.Now().UTC().Format(time.RFC3339Nano)
	delivery := func(id, typ, extra string) string {
		return fmt.Sprintf(`{"id":"%s","type":"%s","source":"middleware","tenant":"acme","occurred_at":"%s","document":{"kind":"message","id":"MSG-R1"},`+
			`"data":{"message_id":"MSG-R1","target":"wms","document_type":"asn.submitted","attempt":1,"idempotency_key":"IK-R1"%s}}`, id, typ, now, extra)
	}
	e.produce(t, delivery("f1", "message.failed", `,"error_class":"timeout","error":"no answer in 30s","payload":"{\"asn\":\"A1\"}"`))

	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{e.brokers}, Topic: "supplywatch.retry.wms", GroupID: "test-retry-reader", StartOffset: kafkago.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	rctx, rcancel := context.WithTimeout(ctx, 60*time.Second)
	defer rcancel()
	m, err := r.ReadMessage(rctx)
	if err != nil {
		t.Fatalf("no automatic retry on supplywatch.retry.wms: %v", err)
	}
	if string(m.Key) != "IK-R1" || string(m.Value) != `{"asn":"A1"}` {
		t.Fatalf("retry key %s value %s", m.Key, m.Value)
	}

	e.produce(t, delivery("d1", "message.delivered", ""))
	pool, err := pgx.Connect(ctx, cfg.Postgres.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close(context.Background())
	deadline := time.Now().Add(30 * time.Second)
	var state, status string
	for time.Now().Before(deadline) {
		pool.QueryRow(ctx, `SELECT j.state, r.status FROM retry_jobs j JOIN console_retries r ON r.id = j.last_retry_id WHERE j.message_id = 'MSG-R1'`).Scan(&state, &status)
		if state == procure.JobDelivered {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if state != procure.JobDelivered || status != "delivered" {
		t.Fatalf("job %q, retry %q after the delivery", state, status)
	}
}
