package clickhouse

import (
	"context"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/ClickHouse/ch-go/chpool"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/procure"
)

// A batch of events larger than a block goes through the native pool as
// one INSERT of several blocks: the server writes one part per table, as
// for a single block, and the rows and KPI facts are those of the same
// batch inserted through clickhouse-go in one block.
func TestAnEventBatchOfSeveralBlocksIsOneInsertWithTheSameRows(t *testing.T) {
	ctx := context.Background()
	conn, db, addr := chtest.DB(t)
	blocked := Config{Database: db, RetentionDays: 3650}
	single := Config{Database: db + "_single", RetentionDays: 3650}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+single.Database) })
	for _, cfg := range []Config{blocked, single} {
		if err := Migrate(ctx, conn, cfg, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
	}
	native, err := OpenNative(ctx, Config{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(native.Close)
	defer func(n int) { eventBlockRows = n }(eventBlockRows)
	eventBlockRows = 3
	evs := kpiChainEvents() // 19 events: seven blocks of at most three
	if err := NewStore(conn, blocked.Database).WithNative(native).InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := NewStore(conn, single.Database).InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	// Before any merge: one part in every table the insert wrote to.
	var parts []string
	rows, err := conn.Query(ctx, "SELECT table, toString(count()) FROM system.parts WHERE database = ? AND active AND table != 'schema_migrations' GROUP BY table HAVING count() != 1 ORDER BY table", blocked.Database)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table, n string
		if err := rows.Scan(&table, &n); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, table+": "+n)
	}
	rows.Close()
	if len(parts) > 0 {
		t.Errorf("tables with other than one part after one insert of several blocks: %s", strings.Join(parts, ", "))
	}
	queries := map[string]string{
		"events": `SELECT tenant, occurred_at, type, id, source, received_at, correlation_id, trace_id, plant, supplier,
			document_kind, document_id, document_version, channel, origin_id, raw FROM {db}.events ORDER BY id`,
		"event_ids": `SELECT * FROM {db}.event_ids ORDER BY id`,
		"kpi_orders": `SELECT tenant, po, max(plant), max(supplier), min(released_at), min(first_ack_at), min(cancelled_at), sum(decisions),
			max(inv_blocked), max(inv_disputed), min(paid_at) FROM {db}.kpi_orders GROUP BY tenant, po ORDER BY tenant, po`,
		"kpi_lines": `SELECT tenant, po, line, max(plant), max(supplier), min(ack_at), argMaxMerge(ack_status), argMaxMerge(ack_qty), argMaxMerge(ack_date),
			min(asn_at), min(asn_arrival), sum(shipped_qty), min(receipt_at), sum(received_qty), sum(rejected_qty)
			FROM {db}.kpi_lines GROUP BY tenant, po, line ORDER BY tenant, po, line`,
		"row counts": `SELECT table, sum(rows) FROM system.parts WHERE database = '{db}' AND active GROUP BY table ORDER BY table`,
	}
	for name, q := range queries {
		want := factRows(t, conn, strings.ReplaceAll(q, "{db}", single.Database))
		got := factRows(t, conn, strings.ReplaceAll(q, "{db}", blocked.Database))
		if len(want) < 2 {
			t.Fatalf("%s: %d rows from the single block; the events should make more", name, len(want))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s differs from the single block's.\ngot:\n%s\nwant:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// The writer's duplicate check finds the same stored events through the
// native pool as through clickhouse-go: an id stored under another tenant
// is another event.
func TestExistingEventsAreTheSameThroughEitherDriver(t *testing.T) {
	ctx := context.Background()
	conn, db, native := migratedWithNative(t)
	evs := kpiChainEvents()
	if err := NewStore(conn, db).InsertEvents(ctx, evs[:10]); err != nil {
		t.Fatal(err)
	}
	var keys []procure.EventKey
	for _, e := range evs {
		keys = append(keys, e.Event.Key(), procure.EventKey{Tenant: "other", ID: e.Event.ID})
	}
	want := map[procure.EventKey]bool{}
	for _, e := range evs[:10] {
		want[e.Event.Key()] = true
	}
	for name, s := range map[string]*Store{"clickhouse-go": NewStore(conn, db), "native": NewStore(conn, db).WithNative(native)} {
		got, err := s.ExistingEvents(ctx, keys)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: found %v, want the ten stored under acme %v", name, got, want)
		}
	}
}

// Every events insert pushes its block through the views in parallel
// (eventInsertSettings), through the native pool and through
// clickhouse-go alike: a view created for the test records the setting
// the server ran each insert's views with.
func TestEventInsertsRunTheirViewsInParallel(t *testing.T) {
	ctx := context.Background()
	conn, db, native := migratedWithNative(t)
	if err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW "+db+".probe_settings ENGINE = MergeTree ORDER BY tuple() AS SELECT id, toString(getSetting('parallel_view_processing')) AS parallel FROM "+db+".events"); err != nil {
		t.Fatal(err)
	}
	evs := kpiChainEvents()
	if err := NewStore(conn, db).WithNative(native).InsertEvents(ctx, evs[:10]); err != nil {
		t.Fatal(err)
	}
	if err := NewStore(conn, db).InsertEvents(ctx, evs[10:]); err != nil {
		t.Fatal(err)
	}
	var total, parallel uint64
	if err := conn.QueryRow(ctx, "SELECT count(), countIf(parallel IN ('1', 'true')) FROM "+db+".probe_settings").Scan(&total, &parallel); err != nil {
		t.Fatal(err)
	}
	if total != uint64(len(evs)) || parallel != total {
		t.Errorf("%d events seen by the view, %d of them inserted with parallel_view_processing on; want all %d", total, parallel, len(evs))
	}
}

// migratedWithNative is a fresh database of the full schema, its
// clickhouse-go connection and a native pool to its server.
func migratedWithNative(t *testing.T) (driver.Conn, string, *chpool.Pool) {
	t.Helper()
	ctx := context.Background()
	conn, db, addr := chtest.DB(t)
	if err := Migrate(ctx, conn, Config{Database: db, RetentionDays: 3650}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	native, err := OpenNative(ctx, Config{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(native.Close)
	return conn, db, native
}
