package kpi

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// Category is the breakdown key of an item category: the material class
// of PO lines (po.released / po.changed data.lines[].material_class).
//
// An entity about one PO line (confirmation, on-time delivery, receipt
// variance) counts in its line's class. An entity about a whole PO (OTIF,
// acknowledgement, touchless), an ASN (through the first PO it ships), an
// invoice or an exception (through their PO) counts in the PO's main
// class: the class of its line of highest ordered value (the lowest line
// number on a tie). So each entity is in exactly one category and the rows
// add up to the total. Lines without a class are in "" (unclassified).
// Supplier documents (digital_documents, digital_suppliers) have no item:
// no category breakdown.
const Category = "category"

// categoryPO is the PO whose main class is the category of an entity of
// a family keyed by ASN, invoice or exception (tenant, key, po), over the
// family's filter: an ASN's first PO, an invoice's PO, an exception's PO.
var categoryPO = map[string]string{
	"asn":       `SELECT tenant, asn AS key, min((po, line)).1 AS po FROM {db}.kpi_asn_lines WHERE {filter} GROUP BY tenant, asn`,
	"invoice":   `SELECT tenant, invoice AS key, max(po) AS po FROM {db}.kpi_invoices WHERE {filter} GROUP BY tenant, invoice`,
	"exception": `SELECT tenant, toString(exception_id) AS key, argMax(po, outbox_id) AS po FROM {db}.exception_history WHERE {filter} GROUP BY tenant, exception_id`,
}

// categorized returns the entity rows of family f (rows: its familySQL
// over filter) with their key (ekey), document and category (see
// Category): the refresher writes the category with each entity row, so
// the rollup can sum by it. The classes are those of the entities' POs'
// lines in kpi_line_orders, read by primary key: the lines of the same
// POs (families keyed by PO: the same filter), or of the POs of the
// family's ASNs, invoices or exceptions.
func categorized(db string, f family, rows, filter string) string {
	if f.key == "docs" {
		return fmt.Sprintf("SELECT tenant, %s AS ekey, kpi, %s AS doc, day, plant, supplier, num, den, x, '' AS category FROM (%s)", f.ekey, f.doc, rows)
	}
	cat := "c.main"
	if f.name == "lines" {
		cat = "arrayFirst(l -> l.1 = toInt32OrZero(substring(e.doc, length(e.ekey) + 2)), c.lines).2"
	}
	po, pos, lookup := "e.ekey", filter, ""
	if q, ok := categoryPO[f.key]; ok {
		q = strings.NewReplacer("{db}", db, "{filter}", filter).Replace(q)
		po, pos = "p.po", "(tenant, po) IN (SELECT tenant, po FROM ("+q+"))"
		lookup = "LEFT JOIN (" + q + ") AS p ON p.tenant = e.tenant AND p.key = e.ekey"
	}
	return fmt.Sprintf(`SELECT e.tenant AS tenant, e.ekey AS ekey, e.kpi AS kpi, e.doc AS doc, e.day AS day, e.plant AS plant, e.supplier AS supplier,
       e.num AS num, e.den AS den, e.x AS x, %[1]s AS category
FROM (SELECT tenant, %[2]s AS ekey, kpi, %[3]s AS doc, day, plant, supplier, num, den, x FROM (%[4]s)) AS e
%[5]s
LEFT JOIN (
    SELECT tenant, po, groupArray((line, class)) AS lines, argMax(class, (value, -line)) AS main
    FROM (SELECT tenant, po, line, max(class).2 AS class, max(value).2 AS value FROM %[6]s.kpi_line_orders WHERE %[7]s GROUP BY tenant, po, line)
    GROUP BY tenant, po
) AS c ON c.tenant = e.tenant AND c.po = %[8]s`, cat, f.ekey, f.doc, rows, lookup, db, pos, po)
}

// categorySQL groups the entity rows of one KPI in a period and scope by
// category (kpi_cells: each row carries its category). Only for a
// breakdown naming a supplier, which the rollup's grain 'category' (per
// day and plant) does not have: a supplier's rows are a few ranges of the
// table's key.
const categorySQL = `SELECT toString(category), sum(num), sum(den), quantilesIf(0.5, 0.9)(x, kpi IN (%[3]s))
FROM %[1]s.kpi_cells FINAL WHERE %[2]s GROUP BY category`

// BreakdownByCategory returns kpi per item category over the period of q,
// with the previous period of the same length, worst first. It reads the
// rollup's grain 'category' (per day, plant and category), and with a
// supplier the entity rows of that supplier (a supplier query is not
// widened to months).
func (q *Querier) BreakdownByCategory(ctx context.Context, qq Query, kpi string) ([]Row, error) {
	d, err := documentKPI(qq, kpi, "which have no item category: break it down by plant or supplier")
	if err != nil {
		return nil, err
	}
	from, to := day(qq.From), day(qq.To)
	pf, pt := previous("day", from, to)
	var cur, prev map[string]agg
	if qq.Supplier == "" {
		c, p, err := q.rollups(ctx, &qq, Category, Category, "AND kpi = ?", []any{kpi}, from, to, pf)
		if err != nil {
			return nil, fmt.Errorf("kpi breakdown by category: %w", err)
		}
		cur, prev = map[string]agg{}, map[string]agg{}
		for k, m := range c {
			cur[k] = m[kpi]
		}
		for k, m := range p {
			prev[k] = m[kpi]
		}
	} else {
		if cur, err = q.byCategory(ctx, qq, d, from, to); err != nil {
			return nil, err
		}
		if prev, err = q.byCategory(ctx, qq, d, pf, pt); err != nil {
			return nil, err
		}
	}
	out := make([]Row, 0, len(cur))
	for k, a := range cur {
		var p *agg
		if b, ok := prev[k]; ok {
			p = &b
		}
		out = append(out, Row{Key: k, Value: makeValue(d, a, p)})
	}
	worstFirst(out, d)
	return out, nil
}

func (q *Querier) byCategory(ctx context.Context, qq Query, d Definition, from, to time.Time) (map[string]agg, error) {
	qq.From, qq.To = from, to
	where, args := cellsWhere(qq, d.ID, "")
	rows, err := q.conn.Query(ctx, fmt.Sprintf(categorySQL, q.db, where, durationKPIs()), args...)
	if err != nil {
		return nil, fmt.Errorf("kpi breakdown by category: %w", err)
	}
	defer rows.Close()
	out := map[string]agg{}
	for rows.Next() {
		var k string
		var a agg
		var qs []float64
		if err := rows.Scan(&k, &a.num, &a.den, &qs); err != nil {
			return nil, err
		}
		if d.Kind == Duration && len(qs) == 2 && !math.IsNaN(qs[0]) {
			a.p50, a.p90 = qs[0], qs[1]
		}
		out[k] = a
	}
	return out, rows.Err()
}
