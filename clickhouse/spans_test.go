package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/procure"
)

// Migration 0240 moves the spans of the old table into spans_v2, once even
// when two processes run its copy at the same time (every role migrates at
// start), and leaves no old table behind.
func TestSpansMoveToSpansV2OnceWhenTheCopyRunsTwice(t *testing.T) {
	ctx := context.Background()
	conn, db, _ := chtest.DB(t)
	cfg := Config{Database: db, RetentionDays: 3650}
	target, m0240 := migrateBelow(t, conn, cfg, 240)
	log := slog.New(slog.DiscardHandler)
	// 3,000 spans in the old table, over two months.
	err := conn.Exec(ctx, `INSERT INTO `+db+`.spans (tenant, start_time, trace_id, span_id, name, service_name, attributes)
		SELECT 'acme', toDateTime64('2026-01-20 00:00:00', 9, 'UTC') + toIntervalMinute(number * 20), lower(hex(cityHash64(intDiv(number, 5)))),
		       lower(hex(sipHash64(number))), 'step', 'erp-bridge', map('po.number', toString(number))
		FROM numbers(3000)`)
	if err != nil {
		t.Fatal(err)
	}
	// A second process: the statements up to the copy, run once more
	// before the whole migration.
	stmts := splitStatements(m0240.SQL)
	copyAt := -1
	for i, s := range stmts {
		if strings.HasPrefix(s, "INSERT INTO {db}.spans_v2") {
			copyAt = i
		}
	}
	if copyAt < 0 {
		t.Fatal("migration 0240 has no copy into spans_v2")
	}
	for _, s := range stmts[:copyAt+1] {
		ss, err := target.statements(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if err := conn.Exec(ctx, s); err != nil {
				t.Fatalf("%v\n%s", err, s)
			}
		}
	}
	if err := Migrate(ctx, conn, cfg, log); err != nil {
		t.Fatal(err)
	}
	var n, distinct uint64
	if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(span_id) FROM "+db+".spans_v2").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != 3000 || distinct != 3000 {
		t.Errorf("spans_v2 holds %d spans, %d distinct; want the 3,000 of the old table once", n, distinct)
	}
	var left uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name IN ('spans', 'spans_0240')", db).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d old spans tables left, want none", left)
	}
	var engine, key string
	if err := conn.QueryRow(ctx, "SELECT engine, sorting_key FROM system.tables WHERE database = ? AND name = 'spans_v2'", db).Scan(&engine, &key); err != nil {
		t.Fatal(err)
	}
	if engine != "MergeTree" || key != "tenant, start_time" {
		t.Errorf("spans_v2 is %s ordered by %q, want MergeTree by tenant, start_time", engine, key)
	}
}

// A batch the writer retries after an insert it did not hear back from is
// the same block: stored once. Another batch is stored.
func TestARetriedSpanBatchIsStoredOnce(t *testing.T) {
	ctx := context.Background()
	conn, db, addr := chtest.DB(t)
	cfg := Config{Database: db, RetentionDays: 3650}
	if err := Migrate(ctx, conn, cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	native, err := OpenNative(ctx, Config{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(native.Close)
	s := NewStore(conn, db).WithNative(native)
	batch := func(first int) []procure.Span {
		out := make([]procure.Span, 100)
		for i := range out {
			out[i] = procure.Span{Tenant: "acme", StartTime: time.Date(2026, 3, 1, 0, 0, first+i, 0, time.UTC),
				TraceID: fmt.Sprintf("%032x", first+i/5), SpanID: fmt.Sprintf("%016x", first+i), Name: "step", ServiceName: "erp-bridge",
				Attributes: procure.Attributes{{Key: "po.number", Value: fmt.Sprint(4500000000 + first + i)}}}
		}
		return out
	}
	for _, b := range [][]procure.Span{batch(0), batch(0), batch(100)} {
		if err := s.InsertSpans(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	var n, distinct uint64
	if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(span_id) FROM "+db+".spans_v2").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != 200 || distinct != 200 {
		t.Errorf("%d spans stored, %d distinct; want the 200 of two batches, the retried one once", n, distinct)
	}
}
