package rules_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/rules/sla"
	"go.uber.org/goleak"
)

func summary(xs []procure.Exception) []string {
	var out []string
	for _, x := range xs {
		out = append(out, rules.Describe(x))
	}
	slices.Sort(out)
	return out
}

// The processor consumes through Kafka into Postgres, is restarted mid-stream
// and sees every event twice; the exceptions are exactly those of the same
// events applied once in memory.
func TestProcessorRestartAndRedeliveryYieldTheSameExceptions(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	// The kafka-go writer's transport keeps its connection pool after Close.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/segmentio/kafka-go.(*conn).run"),
		goleak.IgnoreAnyFunction("github.com/segmentio/kafka-go.(*connPool).discover"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rs, err := rules.LoadDir("default", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	events := benchEvents(301)

	// Expected: the events once, in memory.
	mem := rules.NewMemStore()
	men := rules.NewEngine(mem, rules.NewEvaluator(rs), sla.New(sla.Config{}, mem, log, nil), log, nil)
	if _, err := men.Process(ctx, events); err != nil {
		t.Fatal(err)
	}
	want := summary(mem.Exceptions())
	if len(want) == 0 {
		t.Fatal("scenario raises nothing")
	}

	broker, err := kafka.StartEmbedded("127.0.0.1:0", "", 3, "events")
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	cfg := kafka.Config{Brokers: broker.Addrs(), Topic: "events", Partitions: 3}
	cfg.Defaults()
	w, err := cfg.NewWriter("events")
	if err != nil {
		t.Fatal(err)
	}
	publish := func(evs []*procure.Event) {
		var msgs []kafkago.Message
		for _, e := range evs {
			b, err := procure.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, kafkago.Message{Key: []byte(e.DocumentKey()), Value: b})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	publish(events)
	publish(events[:150]) // redelivered

	store := postgres.NewStateStore(db)
	xs := postgres.NewExceptionStore(db, nil)
	run := func(until func() bool) {
		r, err := cfg.NewReader("events", "rules-test", log)
		if err != nil {
			t.Fatal(err)
		}
		en := rules.NewEngine(store, rules.NewEvaluator(rs), sla.New(sla.Config{}, store, log, nil), log, nil)
		p := rules.NewProcessor(r, en, rules.ProcessorConfig{BatchSize: 40}, log)
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(pctx) }()
		deadline := time.Now().Add(30 * time.Second)
		for !until() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		r.Close()
	}
	processed := func() int {
		var n int
		db.Pool.QueryRow(ctx, "SELECT count(*) FROM processed_events").Scan(&n)
		return n
	}
	run(func() bool { return processed() >= 100 }) // stopped mid-stream
	publish(events[100:200])                       // redelivered again after the restart
	run(func() bool { return processed() >= len(events) })
	w.Close()

	got, err := xs.FindExceptions(ctx, procure.ExceptionFilter{Tenant: "acme", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var gs []procure.Exception
	for _, x := range got {
		gs = append(gs, *x)
	}
	if g := summary(gs); !slices.Equal(g, want) {
		t.Fatalf("exceptions through Kafka and Postgres:\n%v\nwant (in memory):\n%v", g, want)
	}
}

func TestReloadRefusesABadFileAndKeepsTheRulesInForce(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile(filepath.Join("default", "orders.yaml"))
	os.WriteFile(filepath.Join(dir, "orders.yaml"), good, 0o644)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev := rules.NewEvaluator(nil)
	r := rules.NewReloader(dir, ev, log, nil)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	before := ev.Rules()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("rules:\n  - id: x\n    title: X\n    severity: low\n    subject: line\n    on: [po.released]\n    when: line.nope\n"), 0o644)
	if err := r.Reload(); err == nil {
		t.Fatal("bad file accepted")
	}
	if ev.Rules() != before {
		t.Fatal("rules in force changed after a refused reload")
	}

	// A file change reloads by itself.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	time.Sleep(100 * time.Millisecond)
	os.Remove(filepath.Join(dir, "bad.yaml"))
	os.WriteFile(filepath.Join(dir, "extra.yaml"), []byte("rules:\n  - id: extra\n    title: X\n    severity: low\n    subject: line\n    on: [po.released]\n    when: line.quantity > 1000\n"), 0o644)
	deadline := time.Now().Add(5 * time.Second)
	for ev.Rules() == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if ev.Rules() == before || !slices.ContainsFunc(ev.Rules().Rules, func(r *rules.Rule) bool { return r.ID == "extra" }) {
		t.Fatal("file change did not reload")
	}
}
