package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/chdb/chtest"
	"github.com/supplywatch/supplywatch/procure"
)

// Migration 0241 makes one view of kpi_orders' two and one of kpi_lines'
// three: the same events give the same facts as under the views it
// replaces, and each table takes one part per insert.
func TestOneViewPerKPITableGivesTheFactsOfTheViewsItReplaces(t *testing.T) {
	ctx := context.Background()
	conn, db, _ := chtest.DB(t)
	before := Config{Database: db + "_before", RetentionDays: 3650}
	migrateBelow(t, conn, before, 241)
	after := Config{Database: db, RetentionDays: 3650}
	if err := Migrate(ctx, conn, after, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+before.Database) })
	evs := kpiChainEvents()
	// Two inserts: the second brings a later acknowledgement and receipt.
	for _, cfg := range []Config{before, after} {
		s := NewStore(conn, cfg.Database)
		if err := s.InsertEvents(ctx, evs[:len(evs)-2]); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertEvents(ctx, evs[len(evs)-2:]); err != nil {
			t.Fatal(err)
		}
	}
	queries := map[string]string{
		"kpi_orders": `SELECT tenant, po, max(plant), max(supplier), min(released_at), min(first_ack_at), min(cancelled_at), sum(decisions),
			max(inv_blocked), max(inv_disputed), min(paid_at) FROM {db}.kpi_orders GROUP BY tenant, po ORDER BY tenant, po`,
		"kpi_lines": `SELECT tenant, po, line, max(plant), max(supplier), min(ack_at), argMaxMerge(ack_status), argMaxMerge(ack_qty), argMaxMerge(ack_date),
			min(asn_at), min(asn_arrival), sum(shipped_qty), min(receipt_at), sum(received_qty), sum(rejected_qty)
			FROM {db}.kpi_lines GROUP BY tenant, po, line ORDER BY tenant, po, line`,
	}
	for table, q := range queries {
		want := factRows(t, conn, strings.ReplaceAll(q, "{db}", before.Database))
		got := factRows(t, conn, strings.ReplaceAll(q, "{db}", after.Database))
		if len(want) < 2 {
			t.Fatalf("%s: %d rows under the old views; the events should make more", table, len(want))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s differs from the old views'.\ngot:\n%s\nwant:\n%s", table, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	var views string
	if err := conn.QueryRow(ctx, `SELECT arrayStringConcat(arraySort(groupArray(name)), ' ') FROM system.tables
		WHERE database = ? AND engine = 'MaterializedView' AND (as_select LIKE '%kpi_orders%' OR as_select LIKE '%kpi_lines %' OR create_table_query LIKE '% TO %.kpi_lines %' OR create_table_query LIKE '% TO %.kpi_orders %')`, after.Database).Scan(&views); err != nil {
		t.Fatal(err)
	}
	if views != "kpi_lines_mv kpi_orders_mv" {
		t.Errorf("views into kpi_orders and kpi_lines: %q, want kpi_lines_mv kpi_orders_mv", views)
	}
}

func factRows(t *testing.T, conn driver.Conn, q string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT toString(tuple(*)) FROM ("+q+")")
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// kpiChainEvents are the events of two POs' chains, every type the KPI
// views of kpi_orders and kpi_lines read, with what makes them differ:
// changed and rejected acknowledgement lines, a second acknowledgement, a
// partial receipt with rejections, an ASN for both POs, a receipt without
// ASN, invoices blocked, disputed, paid and without PO, and an event no
// view reads. The last two are a later acknowledgement and a receipt.
func kpiChainEvents() []procure.Received {
	at := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	var out []procure.Received
	ev := func(id string, typ procure.Type, kind procure.DocumentKind, doc string, hours int, data string) {
		e := procure.Event{ID: id, Type: typ, Source: "erp", Tenant: "acme", OccurredAt: at.Add(time.Duration(hours) * time.Hour),
			Plant: "P01", Supplier: "S0001", Document: procure.DocumentRef{Kind: kind, ID: doc, Version: 1}}
		raw := fmt.Sprintf(`{"id":%q,"type":%q,"data":%s}`, id, typ, data)
		out = append(out, procure.Received{Event: &e, Raw: []byte(raw), Channel: procure.ChannelKafka, ReceivedAt: e.OccurredAt})
	}
	ev("r1", "po.released", "po", "4500000001", 0, `{"lines":[{"line":10,"quantity":100,"need_by":"2026-05-20"},{"line":20,"quantity":5,"need_by":"2026-05-22"}]}`)
	ev("r2", "po.released", "po", "4500000002", 1, `{"lines":[{"line":10,"quantity":7,"need_by":"2026-05-25"}]}`)
	ev("c1", "po.changed", "po", "4500000001", 2, `{"lines":[{"line":10,"quantity":90,"need_by":"2026-05-21"}]}`)
	ev("q1", "po.change_requested", "po", "4500000001", 3, `{"request_id":"CR1","requested_by":"supplier","lines":[{"line":10,"quantity":80}]}`)
	ev("d1", "po.change_decided", "po", "4500000001", 4, `{"request_id":"CR1","decision":"rejected"}`)
	ev("d2", "po.change_decided", "po", "4500000001", 5, `{"request_id":"CR2","decision":"approved"}`)
	ev("a1", "po.acknowledged", "po", "4500000001", 6, `{"lines":[{"line":10,"status":"accepted"},{"line":20,"status":"changed","quantity":4,"promised_date":"2026-05-24"}]}`)
	ev("a2", "po.acknowledged", "po", "4500000002", 7, `{"lines":[{"line":10,"status":"rejected","reason":"capacity"}]}`)
	ev("x2", "po.cancelled", "po", "4500000002", 8, `{"reason":"rejected by supplier"}`)
	ev("s1", "asn.submitted", "asn", "ASN1", 200, `{"ship_date":"2026-05-12T08:00:00Z","expected_arrival":"2026-05-13T10:00:00Z","lines":[{"po":"4500000001","line":10,"quantity":60,"unit":"C62"},{"po":"4500000001","line":20,"quantity":4,"unit":"C62"},{"po":"4500000002","line":10,"quantity":1,"unit":"C62"}]}`)
	ev("g1", "goods.received", "receipt", "GR1", 220, `{"asn":"ASN1","lines":[{"po":"4500000001","line":10,"received_quantity":58,"rejected_quantity":2,"unit":"C62"},{"po":"4500000001","line":20,"received_quantity":4,"unit":"C62"}]}`)
	ev("i1", "invoice.status_changed", "invoice", "INV1", 300, `{"status":"blocked","block_reason":"price_variance","po":"4500000001"}`)
	ev("i2", "invoice.status_changed", "invoice", "INV1", 310, `{"status":"disputed","po":"4500000001"}`)
	ev("i3", "invoice.status_changed", "invoice", "INV1", 320, `{"status":"paid","po":"4500000001"}`)
	ev("i4", "invoice.status_changed", "invoice", "INV9", 330, `{"status":"paid"}`)
	ev("m1", "message.delivered", "message", "MSG1", 9, `{"message_id":"m","target":"erp"}`)
	ev("a3", "po.acknowledged", "po", "4500000001", 30, `{"lines":[{"line":10,"status":"changed","quantity":85,"promised_date":"2026-05-23"}]}`)
	ev("g2", "goods.received", "receipt", "GR2", 240, `{"lines":[{"po":"4500000001","line":10,"received_quantity":30,"unit":"C62"}]}`)
	return out
}
