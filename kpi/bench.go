package kpi

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// GenerateEvents inserts about n synthetic events of tenant "bench" into
// db.events with INSERT … SELECT from numbers(), spread over the two years
// before end: per PO a release (3 lines), an acknowledgement, an ASN, a
// receipt, two invoice statuses, a supplier-side document pair and
// technical deliveries, 15 events in all. The materialized views fill the
// fact tables as for real traffic. It is for benchmarks.
func GenerateEvents(ctx context.Context, conn driver.Conn, db string, n int, end time.Time) error {
	return GeneratePOs(ctx, conn, db, n, end, 0, max(n/15, 1))
}

// GeneratePOs inserts the events of POs [first, last) of the GenerateEvents
// history of about n events: a history without its newest POs, and then
// their events as new traffic (POs released in the last days before end,
// at different stages of their chains).
func GeneratePOs(ctx context.Context, conn driver.Conn, db string, n int, end time.Time, first, last int) error {
	return generatePOs(ctx, conn, db, "events", n, end, first, last)
}

// generatePOs is GeneratePOs into table (a copy of events' structure).
func generatePOs(ctx context.Context, conn driver.Conn, db, table string, n int, end time.Time, first, last int) error {
	pos := max(n/15, 1)
	span := int64(2 * 365 * 24 * 3600)
	e := end.Unix()
	// t(k): the release time of PO k; plants P01..P06, suppliers S0001..S0300.
	common := fmt.Sprintf(`WITH number AS k, toDateTime64(%d - %d + intDiv(k * %d, %d), 3, 'UTC') AS rel,
  concat('P0', toString(1 + k %% 6)) AS plant, concat('S', leftPad(toString(1 + k %% 300), 4, '0')) AS supplier,
  concat('45', leftPad(toString(k), 8, '0')) AS po, toDate(rel) + 14 + k %% 5 AS need_by`, e, span, span, pos)
	ins := "INSERT INTO " + db + "." + table + " (tenant, occurred_at, type, id, source, received_at, plant, supplier, document_kind, document_id, document_version, channel, raw) "
	row := func(at, typ, idSuffix, source, kind, doc, data string) string {
		return fmt.Sprintf(`SELECT 'bench', %[1]s, '%[2]s', concat(po, '-%[3]s'), %[4]s, %[1]s, plant, supplier, '%[5]s', %[6]s, 1, 'kafka',
  concat('{"id":"', po, '-%[3]s","type":"%[2]s","tenant":"bench","plant":"', plant, '","supplier":"', supplier, '","document":{"kind":"%[5]s","id":"', %[6]s, '"},"data":', %[7]s, '}')`,
			at, typ, idSuffix, source, kind, doc, data)
	}
	// Eight item categories (material classes) across the lines, for the
	// breakdown by category.
	lines := `concat('{"lines":[', arrayStringConcat(arrayMap(l -> concat('{"line":', toString(l * 10), ',"quantity":100,"need_by":"', toString(need_by),
  '","material_class":"', ['fasteners', 'castings', 'electronics', 'packaging', 'resins', 'bearings', 'sheet-metal', 'chemicals'][1 + (k + l) % 8],
  '","unit_price":', toString(l), '}'), [1, 2, 3]), ','), ']}')`
	stmts := []string{
		row("rel", "po.released", "r", "'erp'", "po", "po", lines),
		row("rel + toIntervalMinute(60 + k % 3000)", "po.acknowledged", "a", "if(k % 10 = 0, 'erp', 'portal')", "po", "po",
			`'{"lines":[{"line":10,"status":"accepted"},{"line":20,"status":"accepted"},{"line":30,"status":"changed","quantity":90}]}'`),
		row("toDateTime64(need_by, 3, 'UTC') - toIntervalHour(20 + k % 30)", "asn.submitted", "s", "if(k % 3 = 0, 'edi', 'portal')", "asn", "concat('ASN', po)",
			`concat('{"expected_arrival":"', formatDateTime(toDateTime(need_by) + toIntervalHour(6), '%Y-%m-%dT%H:%i:%SZ'), '","lines":[{"po":"', po, '","line":10,"quantity":100},{"po":"', po, '","line":20,"quantity":100},{"po":"', po, '","line":30,"quantity":90}]}')`),
		row("toDateTime64(need_by, 3, 'UTC') + toIntervalHour(8 + k % 40)", "goods.received", "g", "'wms'", "receipt", "concat('GR', po)",
			`concat('{"asn":"ASN', po, '","lines":[{"po":"', po, '","line":10,"received_quantity":', toString(100 - k % 7), '},{"po":"', po, '","line":20,"received_quantity":100},{"po":"', po, '","line":30,"received_quantity":90}]}')`),
		row("toDateTime64(need_by, 3, 'UTC') + toIntervalDay(3)", "invoice.status_changed", "i1", "'ap'", "invoice", "concat('INV', po)", `concat('{"status":"received","po":"', po, '"}')`),
		row("toDateTime64(need_by, 3, 'UTC') + toIntervalDay(4)", "invoice.status_changed", "i2", "'ap'", "invoice", "concat('INV', po)",
			`concat('{"status":"', if(k % 8 = 0, 'blocked', 'matched'), '","po":"', po, '"}')`),
		row("rel + toIntervalDay(2)", "quality.document_attached", "q", "'portal'", "quality", "concat('Q', po)", `'{"doc_type":"coa","item":"M1","lot":"L1"}'`),
	}
	for m := 0; m < 8; m++ {
		stmts = append(stmts, row(fmt.Sprintf("rel + toIntervalMinute(%d)", m*7), "message."+map[bool]string{true: "failed", false: "delivered"}[m == 7], fmt.Sprintf("m%d", m),
			"'middleware'", "message", fmt.Sprintf("concat('MSG', po, '-%d')", m),
			fmt.Sprintf(`'{"message_id":"x","target":"%s","error_class":"%s"}'`, []string{"erp", "portal", "wms", "ap"}[m%4], map[bool]string{true: "timeout", false: ""}[m == 7])))
	}
	for _, s := range stmts {
		q := ins + common + " " + s + fmt.Sprintf(" FROM numbers(%d, %d)", first, max(last-first, 0))
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("generate events: %w\n%s", err, q)
		}
	}
	return nil
}

// DashboardQueries runs the executive dashboard's queries (values with the
// previous period over 90 days and a year, trends by week and month,
// breakdowns by plant and by supplier) iterations times and returns each
// query's durations.
func DashboardQueries(ctx context.Context, q *Querier, tenant string, end time.Time, iterations int) ([]time.Duration, error) {
	to := day(end)
	quarter := Query{Tenant: tenant, From: to.AddDate(0, -3, 0), To: to}
	year := Query{Tenant: tenant, From: to.AddDate(-1, 0, 0), To: to}
	runs := []func() error{
		func() error { _, err := q.Values(ctx, quarter); return err },
		func() error { _, err := q.Values(ctx, year); return err },
		func() error { _, err := q.Trend(ctx, year, "otif", "week"); return err },
		func() error { _, err := q.Trend(ctx, year, "ack_cycle_hours", "month"); return err },
		func() error { _, _, err := q.Breakdown(ctx, quarter, "otd_on_time", "plant"); return err },
		func() error { _, _, err := q.Breakdown(ctx, year, "otif", "supplier"); return err },
	}
	var ds []time.Duration
	for range iterations {
		for _, r := range runs {
			t0 := time.Now()
			if err := r(); err != nil {
				return nil, err
			}
			ds = append(ds, time.Since(t0))
		}
	}
	return ds, nil
}

// Percentile returns the p-quantile (0..1) of ds by nearest rank.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
