package kpi

import (
	"context"
	"fmt"
	"math"
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

// categorySQL groups the tenant's entities of one KPI in [from, to) by
// category. It reads kpi_cells (the entity rows the rollup is made of, keyed
// by KPI, plant, supplier and day, so the cost of that side follows the
// period and scope), then those entities' POs' lines in kpi_line_orders
// (by primary key; the class and value of each line's newest PO version,
// written by the view that writes its order fields, migration 0251): per
// PO, its lines' classes and its main class. The POs of ASNs, invoices
// and exceptions are looked up for the period's documents only. Arguments:
// those of the cellsWhere condition, tenant (ASNs), tenant (invoices),
// tenant (exceptions), then tenant (PO lines).
const categorySQL = `
WITH cells AS (
    SELECT family, ekey, doc, num, den, x FROM %[1]s.kpi_cells AS en FINAL WHERE %[2]s
),
ents AS (
    SELECT family, ekey, doc, num, den, x,
           multiIf(family IN ('orders', 'otif', 'lines'), ekey,
                   family = 'asns', ap.po,
                   family = 'invoices', ip.po,
                   family = 'exceptions', xp.po, '') AS po,
           if(family = 'lines', toInt32OrZero(substring(doc, length(ekey) + 2)), 0) AS line
    FROM cells AS en
    LEFT JOIN (SELECT asn, min((po, line)).1 AS po FROM %[1]s.kpi_asn_lines
               WHERE tenant = ? AND asn IN (SELECT ekey FROM cells WHERE family = 'asns') GROUP BY asn) AS ap
           ON en.family = 'asns' AND ap.asn = en.ekey
    LEFT JOIN (SELECT invoice, max(po) AS po FROM %[1]s.kpi_invoices
               WHERE tenant = ? AND invoice IN (SELECT ekey FROM cells WHERE family = 'invoices') GROUP BY invoice) AS ip
           ON en.family = 'invoices' AND ip.invoice = en.ekey
    LEFT JOIN (SELECT toString(exception_id) AS id, argMax(po, outbox_id) AS po FROM %[1]s.exception_history
               WHERE tenant = ? AND exception_id IN (SELECT toUInt64OrZero(ekey) FROM cells WHERE family = 'exceptions') GROUP BY exception_id) AS xp
           ON en.family = 'exceptions' AND xp.id = en.ekey
)
SELECT if(e.family = 'lines', arrayFirst(l -> l.1 = e.line, c.lines).2, c.main) AS k,
       sum(e.num), sum(e.den), quantiles(0.5, 0.9)(e.x)
FROM ents AS e
LEFT JOIN (
    SELECT po, groupArray((line, class)) AS lines, argMax(class, (value, -line)) AS main
    FROM (
        SELECT po, line, max(class).2 AS class, max(value).2 AS value
        FROM %[1]s.kpi_line_orders
        WHERE tenant = ? AND po IN (SELECT po FROM ents)
        GROUP BY po, line
    )
    GROUP BY po
) AS c ON c.po = e.po
GROUP BY k`

// BreakdownByCategory returns kpi per item category over the period of q,
// with the previous period of the same length, worst first. It reads the
// entity rows the rollup is made of, by day (a supplier query is not
// widened to months).
func (q *Querier) BreakdownByCategory(ctx context.Context, qq Query, kpi string) ([]Row, error) {
	d, err := documentKPI(qq, kpi, "which have no item category: break it down by plant or supplier")
	if err != nil {
		return nil, err
	}
	from, to := day(qq.From), day(qq.To)
	pf, pt := previous("day", from, to)
	cur, err := q.byCategory(ctx, qq, d, from, to)
	if err != nil {
		return nil, err
	}
	prev, err := q.byCategory(ctx, qq, d, pf, pt)
	if err != nil {
		return nil, err
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
	where, cells := cellsWhere(qq, d.ID, "en.")
	args := append(cells, qq.Tenant, qq.Tenant, qq.Tenant) // the cells, then the ASNs', invoices' and exceptions' POs
	args = append(args, qq.Tenant)                         // the PO lines
	rows, err := q.conn.Query(ctx, fmt.Sprintf(categorySQL, q.db, where), args...)
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
