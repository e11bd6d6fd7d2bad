package kpi

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
)

// entityColumns are the columns every entity query yields: one row per KPI
// and business entity (PO, PO line, ASN, invoice, exception, or a day of
// supplier documents), with the entity's numerator, denominator and, for
// the duration KPIs, its value x.
const entityColumns = "kpi, tenant, day, plant, supplier, doc, num, den, x"

// businessSeconds returns the expression of the business seconds of plant
// calendar spans joined as alias a at instant col: cum_before of the span
// starting at or before col plus the part of that span before col.
func businessSeconds(a, col string) string {
	return fmt.Sprintf("(%[1]s.cum_before + least(greatest(dateDiff('second', %[1]s.start, %[2]s), 0), dateDiff('second', %[1]s.start, %[1]s.end)))", a, col)
}

// entitySQL returns the query of every KPI entity row as of asOf (the
// instant that decides what is overdue). It is the single definition of the
// formulas in docs/kpi.md: the Refresher materializes it per family and key
// range (familySQL); the tests compare the rollup with it whole.
func entitySQL(db string, p Params, asOf time.Time) string {
	parts := make([]string, len(families))
	for i, f := range families {
		parts[i] = familySQL(db, p, asOf, f, "1")
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

// familySQL returns the entity rows of family f whose keys pass filter (an
// SQL condition on the family's key columns, see family.key; "1" for all).
func familySQL(db string, p Params, asOf time.Time, f family, filter string) string {
	return familySQLFrom(db, p, asOf, f, filter, "")
}

// familySQLFrom is familySQL reading the PO lines of the lines and otif
// families ({lines}) from lines, a table expression holding linesSQL's
// rows of the filter's POs (the refresher computes them once for both
// families); "" computes them (linesSQL over filter).
func familySQLFrom(db string, p Params, asOf time.Time, f family, filter, lines string) string {
	if lines == "" {
		lines = linesSQL("{filter}")
	}
	asof := fmt.Sprintf("toDateTime64('%s', 3, 'UTC')", asOf.UTC().Format("2006-01-02 15:04:05.000"))
	r := strings.NewReplacer(
		"{db}", db,
		"{asof}", asof,
		"{filter}", filter,
		"{qty_tol}", ff(p.QuantityTolerance),
		"{date_tol}", strconv.Itoa(p.DateToleranceDays),
		"{early}", strconv.Itoa(p.EarlyDays),
		"{late}", strconv.Itoa(p.LateDays),
		"{asn_lead}", strconv.FormatInt(int64(p.ASNLeadTime/time.Second), 10),
		"{sla_t1}", strconv.FormatInt(int64(p.ResponseSLATier1/time.Second), 10),
		"{sla_other}", strconv.FormatInt(int64(p.ResponseSLA/time.Second), 10),
		"{digital}", quoteList(p.DigitalSources),
		"{bs_rel}", businessSeconds("br", "o.rel_dt"),
		"{bs_ack}", businessSeconds("ba", "o.ack_dt"),
		"{bs_now}", businessSeconds("bn", "o.now_dt"),
	)
	return r.Replace(strings.ReplaceAll(f.sql, "{lines}", lines))
}

// bigQuery returns ctx with the settings of the queries that read whole
// fact tables (the refresh, the drill-down, the missing-ASN list): the
// per-table aggregations of linesSQL run in the tables' key order, which
// streams instead of holding every line in memory, and what does not fit
// in memory spills to disk rather than failing the query.
func bigQuery(ctx context.Context) context.Context {
	return withSettings(ctx, chgo.Settings{
		"optimize_aggregation_in_order":      1,
		"max_bytes_before_external_group_by": 2 << 30,
		"max_bytes_before_external_sort":     2 << 30,
	})
}

type settingsKey struct{}

// withSettings returns ctx whose statements run with s on top of the
// settings ctx already carries from withSettings (the client replaces, not
// merges, the settings of a context).
func withSettings(ctx context.Context, s chgo.Settings) context.Context {
	m := chgo.Settings{}
	if base, ok := ctx.Value(settingsKey{}).(chgo.Settings); ok {
		maps.Copy(m, base)
	}
	maps.Copy(m, s)
	return chgo.Context(context.WithValue(ctx, settingsKey{}, m), chgo.WithSettings(m))
}

// withStatementTimeout returns ctx whose statements the server stops after
// d (max_execution_time): the refresher's pieces run under it.
func withStatementTimeout(ctx context.Context, d time.Duration) context.Context {
	return withSettings(ctx, chgo.Settings{"max_execution_time": int(max(d/time.Second, 1))})
}

// linesSQL is one row per PO line, from its two fact tables: what was
// ordered (kpi_line_orders) and what happened to it (kpi_lines:
// acknowledgements, ASNs, receipts). where, if not empty, filters both (a
// condition on tenant, po or line). Each side is merged first; the outer
// GROUP BY takes each column from the side that has it (the other side's
// value is the neutral one: NULL, zero, ” or the zero tuple).
func linesSQL(where string) string {
	if where != "" {
		where = "WHERE " + where
	}
	return strings.ReplaceAll(`(
    SELECT tenant, po, line, max(plant) AS plant, max(supplier) AS supplier, min(released_at) AS released_at,
           tupleElement(max(ordered_v), 2) AS ordered, tupleElement(max(need_by_v), 2) AS need_by,
           max(ack_status) AS ack_status, max(ack_qty) AS ack_qty, max(ack_date) AS ack_date, min(ack_at) AS ack_at,
           min(asn_at) AS asn_at, min(asn_arrival) AS asn_arrival, sum(shipped) AS shipped,
           min(receipt_at) AS receipt_at, sum(received) AS received, sum(rejected) AS rejected
    FROM (
        SELECT tenant, po, line, max(plant) AS plant, max(supplier) AS supplier, min(released_at) AS released_at,
               max(ordered) AS ordered_v, max(need_by) AS need_by_v,
               '' AS ack_status, toFloat64(0) AS ack_qty, toDate(0) AS ack_date, CAST(NULL, 'Nullable(DateTime64(3, \'UTC\'))') AS ack_at,
               CAST(NULL, 'Nullable(DateTime64(3, \'UTC\'))') AS asn_at, CAST(NULL, 'Nullable(DateTime64(3, \'UTC\'))') AS asn_arrival,
               toFloat64(0) AS shipped, CAST(NULL, 'Nullable(DateTime64(3, \'UTC\'))') AS receipt_at, toFloat64(0) AS received, toFloat64(0) AS rejected
        FROM {db}.kpi_line_orders {where} GROUP BY tenant, po, line
        UNION ALL
        SELECT tenant, po, line, max(plant), max(supplier), CAST(NULL, 'Nullable(DateTime64(3, \'UTC\'))'),
               (toUInt32(0), toFloat64(0)), (toUInt32(0), toDate(0)),
               argMaxMerge(ack_status), argMaxMerge(ack_qty), argMaxMerge(ack_date), min(ack_at),
               min(asn_at), min(asn_arrival), sum(shipped_qty), min(receipt_at), sum(received_qty), sum(rejected_qty)
        FROM {db}.kpi_lines {where} GROUP BY tenant, po, line
    )
    GROUP BY tenant, po, line
)`, "{where}", where)
}

func ff(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
	}
	if len(q) == 0 {
		return "''"
	}
	return strings.Join(q, ", ")
}

// family is one kind of KPI entity: its query (each ending in rows of
// entityColumns, the rows with den = 0 left out), the kind of key that
// restricts it, and how the Refresher names an entity's key.
type family struct {
	name string
	// key is the kind of key the {filter} of sql restricts: po (tenant,
	// po), asn (tenant, asn), invoice (tenant, invoice), exception
	// (tenant, exception_id), docs (tenant, day, plant, supplier).
	key string
	// ekey is the expression of an entity row's key (over entityColumns).
	ekey string
	// doc is the expression of the entity's document (unique per kpi and
	// key); digital_documents rows have none in entityColumns.
	doc string
	sql string
}

// families are the entity families, in the order of the drill-down query.
var families = []family{
	{name: "orders", key: "po", ekey: "doc", doc: "doc", sql: ordersFamily},
	{name: "lines", key: "po", ekey: "substring(doc, 1, length(doc) - position(reverse(doc), '/'))", doc: "doc", sql: linesFamily},
	{name: "otif", key: "po", ekey: "doc", doc: "doc", sql: otifFamily},
	{name: "asns", key: "asn", ekey: "doc", doc: "doc", sql: asnsFamily},
	{name: "invoices", key: "invoice", ekey: "doc", doc: "doc", sql: invoicesFamily},
	{name: "exceptions", key: "exception", ekey: "doc", doc: "doc", sql: exceptionsFamily},
	{name: "docs", key: "docs", ekey: "concat(toString(day), '/', plant, '/', supplier)", doc: "concat(toString(day), '/', plant, '/', supplier)", sql: docsFamily},
}

// orders: acknowledgement cycle time, response SLA, touchless.
const ordersFamily = `
SELECT k.1 AS kpi, tenant, k.2 AS day, plant, supplier, doc, k.3 AS num, k.4 AS den, k.5 AS x
FROM (
    SELECT o.tenant AS tenant, o.plant AS plant, o.supplier AS supplier, o.po AS doc,
           toDate(o.released_at) AS rday,
           o.ack_at IS NOT NULL AS acked,
           ({bs_ack} - {bs_rel}) / 3600.0 AS ack_hours,
           ({bs_now} - {bs_rel}) AS open_bsec,
           if(s.tier = 1, {sla_t1}, {sla_other}) AS sla_sec,
           o.decisions = 0 AND o.inv_blocked = 0 AND o.inv_disputed = 0 AND h.had = 0 AS untouched,
           [
             ('ack_cycle_hours', rday, toFloat64(ack_hours), toFloat64(acked), toFloat64(ack_hours)),
             ('response_sla', rday, toFloat64(acked AND ack_hours * 3600 <= sla_sec),
                 toFloat64(acked OR (o.cancelled_at IS NULL AND open_bsec > sla_sec)), 0.),
             ('touchless', rday, toFloat64(untouched), toFloat64(o.paid_at IS NOT NULL), 0.)
           ] AS ks
    FROM (
        SELECT tenant, po, max(plant) AS plant, max(supplier) AS supplier, min(released_at) AS released_at,
               min(first_ack_at) AS ack_at, min(cancelled_at) AS cancelled_at, sum(decisions) AS decisions,
               max(inv_blocked) AS inv_blocked, max(inv_disputed) AS inv_disputed, min(paid_at) AS paid_at,
               toDateTime(assumeNotNull(released_at)) AS rel_dt, toDateTime(ifNull(ack_at, {asof})) AS ack_dt,
               toDateTime({asof}) AS now_dt,
               if(plant IN (SELECT plant FROM {db}.kpi_business_spans), plant, '') AS cal
        FROM {db}.kpi_orders WHERE {filter} GROUP BY tenant, po HAVING released_at IS NOT NULL AND released_at <= {asof}
    ) AS o
    ASOF LEFT JOIN {db}.kpi_business_spans AS br ON br.plant = o.cal AND o.rel_dt >= br.start
    ASOF LEFT JOIN {db}.kpi_business_spans AS ba ON ba.plant = o.cal AND o.ack_dt >= ba.start
    ASOF LEFT JOIN {db}.kpi_business_spans AS bn ON bn.plant = o.cal AND o.now_dt >= bn.start
    LEFT JOIN (SELECT tenant, supplier, argMax(tier, updated_at) AS tier FROM {db}.kpi_suppliers GROUP BY tenant, supplier) AS s
           ON s.tenant = o.tenant AND s.supplier = o.supplier
    LEFT JOIN (SELECT tenant, po, toUInt8(1) AS had FROM {db}.exception_history WHERE po != '' AND {filter} GROUP BY tenant, po) AS h
           ON h.tenant = o.tenant AND h.po = o.po
) ARRAY JOIN ks AS k
WHERE k.4 > 0`

// PO lines: confirmation, on-time delivery classes, receipt variance.
const linesFamily = `
SELECT k.1 AS kpi, tenant, k.2 AS day, plant, supplier, doc, k.3 AS num, k.4 AS den, k.5 AS x
FROM (
    SELECT l.tenant AS tenant, l.plant AS plant, l.supplier AS supplier, concat(l.po, '/', toString(l.line)) AS doc,
           toDate(l.released_at) AS rday, l.need_by AS due,
           l.ack_status IN ('accepted', 'changed', 'backordered') AS confirmed,
           if(l.ack_qty > 0, l.ack_qty, l.ordered) AS cqty,
           if(l.ack_date > toDate('1970-01-01'), l.ack_date, l.need_by) AS cdate,
           l.receipt_at IS NOT NULL AS received,
           toDate(l.receipt_at) AS rdate,
           -- A line with no need-by date (and no schedule) has no due date
           -- to be on time against.
           multiIf(due <= toDate('1970-01-01'), '',
                   received AND l.received > l.ordered * (1 + {qty_tol}), 'over_delivered',
                   received AND rdate < due - {early}, 'early',
                   received AND rdate > due + {late}, 'late',
                   received, 'on_time',
                   due + {late} < toDate({asof}) AND l.asn_at IS NULL, 'overdue',
                   due + {late} < toDate({asof}), 'late', '') AS class,
           [
             ('confirmation_rate', rday, toFloat64(confirmed), 1., 0.),
             ('confirmation_accuracy', due, toFloat64(abs(l.shipped - cqty) <= {qty_tol} * cqty
                  AND abs(dateDiff('day', cdate, toDate(assumeNotNull(l.asn_arrival)))) <= {date_tol}), toFloat64(confirmed AND l.shipped > 0), 0.),
             ('otd_on_time', due, toFloat64(class = 'on_time'), toFloat64(class != ''), 0.),
             ('otd_early', due, toFloat64(class = 'early'), toFloat64(class != ''), 0.),
             ('otd_late', due, toFloat64(class = 'late'), toFloat64(class != ''), 0.),
             ('otd_over_delivered', due, toFloat64(class = 'over_delivered'), toFloat64(class != ''), 0.),
             ('otd_overdue', due, toFloat64(class = 'overdue'), toFloat64(class != ''), 0.),
             ('receipt_variance', rdate, toFloat64(if(received, abs(l.received - l.shipped), 0)), toFloat64(if(received, l.shipped, 0)), 0.)
           ] AS ks
    FROM (
        SELECT * FROM {lines} WHERE released_at IS NOT NULL AND released_at <= {asof}
    ) AS l
    LEFT JOIN (SELECT tenant, po, min(cancelled_at) AS cancelled_at FROM {db}.kpi_orders WHERE {filter} GROUP BY tenant, po) AS c
           ON c.tenant = l.tenant AND c.po = l.po
    WHERE c.cancelled_at IS NULL
) ARRAY JOIN ks AS k
WHERE k.4 > 0`

// Orders on time in full: every line classified, every line on time and
// received net of rejections at least (1 - tolerance) of the order.
const otifFamily = `
SELECT 'otif' AS kpi, tenant, max(due) AS day, max(lplant) AS plant, max(lsupplier) AS supplier, po AS doc,
       toFloat64(min(otif_line)) AS num, toFloat64(1) AS den, toFloat64(0) AS x
FROM (
    SELECT l.tenant AS tenant, l.po AS po, l.plant AS lplant, l.supplier AS lsupplier, l.need_by AS due,
           toDate(l.receipt_at) AS rdate,
           multiIf(l.receipt_at IS NOT NULL AND l.received > l.ordered * (1 + {qty_tol}), 'over_delivered',
                   l.receipt_at IS NOT NULL AND rdate < due - {early}, 'early',
                   l.receipt_at IS NOT NULL AND rdate > due + {late}, 'late',
                   l.receipt_at IS NOT NULL, 'on_time',
                   due + {late} < toDate({asof}), 'late', '') AS class,
           class = 'on_time' AND l.received - l.rejected >= l.ordered * (1 - {qty_tol}) AS otif_line
    FROM (
        SELECT * FROM {lines} WHERE released_at IS NOT NULL AND released_at <= {asof}
    ) AS l
    LEFT JOIN (SELECT tenant, po, min(cancelled_at) AS cancelled_at FROM {db}.kpi_orders WHERE {filter} GROUP BY tenant, po) AS c
           ON c.tenant = l.tenant AND c.po = l.po
    WHERE c.cancelled_at IS NULL
)
GROUP BY tenant, po
HAVING countIf(class = '') = 0`

// ASNs: timeliness (submitted at least the lead time before arrival) and
// accuracy (every line received as shipped, within tolerance).
const asnsFamily = `
SELECT k.1 AS kpi, tenant, k.2 AS day, plant, supplier, doc, k.3 AS num, k.4 AS den, k.5 AS x
FROM (
    SELECT a.tenant AS tenant, a.plant AS plant, a.supplier AS supplier, a.asn AS doc, toDate(a.submitted_at) AS sday,
           coalesce(a.received_at, a.expected_arrival) AS arrival,
           [
             ('asn_timeliness', sday, toFloat64(dateDiff('second', a.submitted_at, assumeNotNull(arrival)) >= {asn_lead}), toFloat64(arrival IS NOT NULL), 0.),
             ('asn_accuracy', sday, toFloat64(al.had AND al.bad = 0), toFloat64(a.received_at IS NOT NULL), 0.)
           ] AS ks
    FROM (
        SELECT tenant, asn, max(plant) AS plant, max(supplier) AS supplier, min(submitted_at) AS submitted_at,
               min(expected_arrival) AS expected_arrival, max(cancelled) AS cancelled, min(received_at) AS received_at
        FROM {db}.kpi_asns WHERE {filter} GROUP BY tenant, asn
        HAVING submitted_at IS NOT NULL AND cancelled = 0 AND submitted_at <= {asof}
    ) AS a
    LEFT JOIN (
        SELECT tenant, asn, toUInt8(1) AS had, countIf(NOT (shipped = 1 AND received = 1 AND abs(received_qty - shipped_qty) <= {qty_tol} * shipped_qty)) AS bad
        FROM (SELECT tenant, asn, po, line, sum(shipped_qty) AS shipped_qty, sum(received_qty) AS received_qty,
                     max(shipped) AS shipped, max(received) AS received
              FROM {db}.kpi_asn_lines WHERE {filter} GROUP BY tenant, asn, po, line)
        GROUP BY tenant, asn
    ) AS al ON al.tenant = a.tenant AND al.asn = a.asn
) ARRAY JOIN ks AS k
WHERE k.4 > 0`

// Invoices: exception rate and first-pass match.
const invoicesFamily = `
SELECT k.1 AS kpi, tenant, k.2 AS day, plant, supplier, doc, k.3 AS num, k.4 AS den, k.5 AS x
FROM (
    SELECT tenant, plant, supplier, invoice AS doc, toDate(first_at) AS iday,
           [
             ('invoice_exception_rate', iday, toFloat64(blocked OR disputed), 1., 0.),
             ('first_pass_match', iday, toFloat64(matched AND NOT blocked AND NOT disputed), 1., 0.)
           ] AS ks
    FROM (
        SELECT tenant, invoice, max(plant) AS plant, max(supplier) AS supplier, min(first_at) AS first_at,
               max(blocked) AS blocked, max(disputed) AS disputed, max(matched) AS matched
        FROM {db}.kpi_invoices WHERE {filter} GROUP BY tenant, invoice HAVING first_at IS NOT NULL AND first_at <= {asof}
    )
) ARRAY JOIN ks AS k`

// Exceptions: wall-clock hours from first seen to the first
// acknowledgement and to the first resolution.
const exceptionsFamily = `
SELECT k.1 AS kpi, tenant, k.2 AS day, plant, supplier, doc, k.3 AS num, k.4 AS den, k.5 AS x
FROM (
    SELECT tenant, plant, supplier, toString(exception_id) AS doc, toDate(opened) AS oday,
           dateDiff('millisecond', opened, ack_at) / 3600000.0 AS ack_h,
           dateDiff('millisecond', opened, resolved_at) / 3600000.0 AS res_h,
           [
             ('exception_ack_hours', oday, ack_h, toFloat64(ack_at > toDateTime64(0, 3, 'UTC')), ack_h),
             ('exception_resolve_hours', oday, res_h, toFloat64(resolved_at > toDateTime64(0, 3, 'UTC')), res_h)
           ] AS ks
    FROM (
        SELECT tenant, exception_id, any(plant) AS plant, any(supplier) AS supplier, min(first_seen) AS opened,
               minIf(at, kind = 'exception.acknowledged') AS ack_at,
               minIf(at, state IN ('resolved', 'ignored')) AS resolved_at
        FROM {db}.exception_history WHERE at <= {asof} AND {filter} GROUP BY tenant, exception_id
    )
) ARRAY JOIN ks AS k
WHERE k.4 > 0`

// Supplier documents on digital workflows (by source), per day and
// supplier.
const docsFamily = `
SELECT 'digital_documents' AS kpi, tenant, d AS day, p AS plant, s AS supplier, '' AS doc,
       toFloat64(digital) AS num, toFloat64(total) AS den, toFloat64(0) AS x
FROM (
    SELECT tenant, day AS d, toString(plant) AS p, toString(supplier) AS s,
           sumIf(docs, source IN ({digital})) AS digital, sum(docs) AS total
    FROM {db}.kpi_supplier_docs WHERE day <= toDate({asof}) AND {filter}
    GROUP BY tenant, day, plant, supplier
)`
