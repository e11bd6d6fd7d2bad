package kpi

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/procure"
)

// Querier reads KPI values, trends, breakdowns, documents and operational
// figures. Values, trends and breakdowns read kpi_rollup (fast over years);
// documents read the entity rows the refresher wrote (kpi_cells).
type Querier struct {
	conn driver.Conn
	db   string
	cfg  Config
	now  func() time.Time
}

// NewQuerier returns a Querier over database db; now is the clock (time.Now
// when nil).
func NewQuerier(conn driver.Conn, db string, cfg Config, now func() time.Time) *Querier {
	cfg.Defaults()
	if now == nil {
		now = time.Now
	}
	return &Querier{conn: conn, db: db, cfg: cfg, now: now}
}

// Query selects KPI rows: a tenant, a period of days [From, To) and
// optionally a plant and a supplier. A query naming a supplier reads the
// month grain: its period is widened to whole months (Grain says so).
type Query struct {
	Tenant   string
	From, To time.Time
	Plant    string
	Supplier string
}

func (q *Query) validate() error {
	switch {
	case q.Tenant == "":
		return procure.Errorf(procure.EINVALID, "tenant is required")
	case q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To):
		return procure.Errorf(procure.EINVALID, "from must be a date before to")
	case q.To.Sub(q.From) > 20*366*24*time.Hour:
		return procure.Errorf(procure.EINVALID, "period longer than 20 years")
	}
	return nil
}

// grain returns the rollup grain of q and its period aligned to it.
func (q *Query) grain(supplierLevel bool) (grain string, from, to time.Time) {
	if q.Supplier != "" || supplierLevel {
		from = monthStart(q.From)
		to = monthStart(q.To)
		if to.Before(q.To) {
			to = to.AddDate(0, 1, 0)
		}
		return "month", from, to
	}
	return "day", day(q.From), day(q.To)
}

// previous returns the period of the same length just before [from, to):
// whole months stay whole months.
func previous(grain string, from, to time.Time) (time.Time, time.Time) {
	if grain == "month" {
		months := (to.Year()-from.Year())*12 + int(to.Month()-from.Month())
		return from.AddDate(0, -months, 0), from
	}
	return from.Add(-to.Sub(from)), from
}

func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// Value is one KPI over a period, with the previous period of the same
// length for comparison.
type Value struct {
	KPI   string  `json:"kpi"`
	Title string  `json:"title"`
	Unit  string  `json:"unit"`
	Value float64 `json:"value"` // the ratio, or the median of a duration
	Num   float64 `json:"num"`
	Den   float64 `json:"den"`
	Mean  float64 `json:"mean,omitempty"`
	P50   float64 `json:"p50,omitempty"`
	P90   float64 `json:"p90,omitempty"`
	// Previous is the value of the previous period; Change is Value −
	// Previous (percentage points for ratios); Better tells whether the
	// change is good. They are absent when the previous period has no data.
	Previous *float64 `json:"previous,omitempty"`
	Change   *float64 `json:"change,omitempty"`
	Better   *bool    `json:"better,omitempty"`
	// CompleteThrough is the time up to which the facts behind the KPI
	// are in its value (null while the first build runs); live KPIs
	// (digital_suppliers) are complete up to the answer.
	CompleteThrough *time.Time `json:"complete_through,omitempty"`
}

// Values returns every KPI of the catalog (and digital_suppliers) over the
// period of q, with the previous period.
type Values struct {
	Grain  string    `json:"grain"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Values []Value   `json:"values"`
	// Freshness says how current the rolled-up values are.
	Freshness Freshness `json:"freshness"`
}

// Freshness says up to when the rollup is complete.
type Freshness struct {
	// CompleteThrough: facts stored before it are in the rollup; null
	// until the first full build is done.
	CompleteThrough *time.Time `json:"complete_through"`
	// AgeSeconds is now − CompleteThrough.
	AgeSeconds *float64 `json:"age_seconds"`
	// Building is true while a full build runs (after the first start, a
	// migration or a change of formulas); BuildProgress is its share of
	// pieces done.
	Building      bool    `json:"building"`
	BuildProgress float64 `json:"build_progress,omitempty"`
}

// Freshness reads the refresher's state.
func (q *Querier) Freshness(ctx context.Context) (Freshness, error) {
	st, err := loadState(ctx, q.conn, q.db)
	if err != nil {
		return Freshness{}, err
	}
	var f Freshness
	if st == nil {
		f.Building = true
		return f, nil
	}
	if !st.CompleteThrough.IsZero() {
		t := st.CompleteThrough
		age := max(q.now().Sub(t).Seconds(), 0)
		f.CompleteThrough, f.AgeSeconds = &t, &age
	}
	if b := st.Build; b != nil {
		f.Building = true
		if len(b.Pieces) > 0 {
			f.BuildProgress = float64(len(b.Done)) / float64(len(b.Pieces))
		}
	}
	return f, nil
}

type agg struct{ num, den, p50, p90 float64 }

func (a agg) value(d Definition) float64 {
	if d.Kind == Duration {
		return a.p50
	}
	if a.den == 0 {
		return 0
	}
	return a.num / a.den
}

func (q *Querier) filters(qq *Query, grain string) (string, []any) {
	where := "tenant = ? AND grain = ?"
	args := []any{qq.Tenant, grain}
	if qq.Plant != "" {
		where += " AND plant = ?"
		args = append(args, qq.Plant)
	}
	if qq.Supplier != "" {
		where += " AND supplier = ?"
		args = append(args, qq.Supplier)
	}
	return where, args
}

// rollup reads Σnum, Σden and the quantiles grouped by key (an SQL
// expression) in [from, to).
func (q *Querier) rollup(ctx context.Context, qq *Query, grain, key, extra string, extraArgs []any, from, to time.Time) (map[string]map[string]agg, error) {
	cur, _, err := q.rollups(ctx, qq, grain, key, extra, extraArgs, from, to, from)
	return cur, err
}

// rollups reads what rollup does for the period [from, to) and for the
// one before it, [pf, from), in one scan of kpi_rollup (the dashboard's
// reads are a few queries each, not twice as many). prev holds the keys
// with rows in the previous period only.
func (q *Querier) rollups(ctx context.Context, qq *Query, grain, key, extra string, extraArgs []any, from, to, pf time.Time) (cur, prev map[string]map[string]agg, err error) {
	where, whereArgs := q.filters(qq, grain)
	cut := from.Format(time.DateOnly)
	args := []any{cut, cut, cut, cut, cut, cut, cut, cut}
	args = append(args, whereArgs...)
	args = append(args, pf.Format(time.DateOnly), to.Format(time.DateOnly))
	args = append(args, extraArgs...)
	sql := fmt.Sprintf(`SELECT toString(%s) AS k, toString(kpi),
       sumIf(num, day >= toDate(?)), sumIf(den, day >= toDate(?)), quantilesIfMergeIf(0.5, 0.9)(q, day >= toDate(?)), countIf(day >= toDate(?)),
       sumIf(num, day < toDate(?)), sumIf(den, day < toDate(?)), quantilesIfMergeIf(0.5, 0.9)(q, day < toDate(?)), countIf(day < toDate(?))
FROM %s.kpi_rollup WHERE %s AND day >= toDate(?) AND day < toDate(?) %s GROUP BY k, kpi`, key, q.db, where, extra)
	rows, err := q.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("kpi rollup: %w", err)
	}
	defer rows.Close()
	cur, prev = map[string]map[string]agg{}, map[string]map[string]agg{}
	add := func(m map[string]map[string]agg, k, kpi string, a agg, qs []float64) {
		if len(qs) == 2 && !math.IsNaN(qs[0]) {
			a.p50, a.p90 = qs[0], qs[1]
		}
		if m[k] == nil {
			m[k] = map[string]agg{}
		}
		m[k][kpi] = a
	}
	for rows.Next() {
		var k, kpi string
		var c, p agg
		var cq, pq []float64
		var cn, pn uint64
		if err := rows.Scan(&k, &kpi, &c.num, &c.den, &cq, &cn, &p.num, &p.den, &pq, &pn); err != nil {
			return nil, nil, err
		}
		if cn > 0 {
			add(cur, k, kpi, c, cq)
		}
		if pn > 0 {
			add(prev, k, kpi, p, pq)
		}
	}
	return cur, prev, rows.Err()
}

func makeValue(d Definition, cur agg, prev *agg) Value {
	v := Value{KPI: d.ID, Title: d.Title, Unit: d.Unit, Value: cur.value(d), Num: cur.num, Den: cur.den}
	if d.Kind == Duration {
		v.P50, v.P90 = cur.p50, cur.p90
		if cur.den > 0 {
			v.Mean = cur.num / cur.den
		}
	}
	if prev != nil && prev.den > 0 && cur.den > 0 {
		p := prev.value(d)
		c := v.Value - p
		b := c == 0 || (c > 0) == d.HigherIsBetter
		v.Previous, v.Change, v.Better = &p, &c, &b
	}
	return v
}

// Values returns the KPI values of the period and of the previous one.
func (q *Querier) Values(ctx context.Context, qq Query) (*Values, error) {
	if err := qq.validate(); err != nil {
		return nil, err
	}
	grain, from, to := qq.grain(false)
	pf, pt := previous(grain, from, to)
	if !pt.Equal(from) {
		return nil, fmt.Errorf("kpi values: previous period %v..%v does not end at %v", pf, pt, from)
	}
	cur, prev, err := q.rollups(ctx, &qq, grain, "''", "", nil, from, to, pf)
	if err != nil {
		return nil, err
	}
	fr, err := q.Freshness(ctx)
	if err != nil {
		return nil, err
	}
	out := &Values{Grain: grain, From: from, To: to, Freshness: fr}
	for _, d := range Catalog {
		c := cur[""][d.ID]
		var p *agg
		if a, ok := prev[""][d.ID]; ok {
			p = &a
		}
		v := makeValue(d, c, p)
		v.CompleteThrough = fr.CompleteThrough
		out.Values = append(out.Values, v)
	}
	ds, err := q.digitalSuppliers(ctx, &qq, from, to)
	if err != nil {
		return nil, err
	}
	dp, err := q.digitalSuppliers(ctx, &qq, pf, pt)
	if err != nil {
		return nil, err
	}
	d, _ := Lookup(DigitalSuppliers)
	live := makeValue(d, ds, &dp)
	now := q.now().UTC()
	live.CompleteThrough = &now
	out.Values = append(out.Values, live)
	return out, nil
}

// digitalSuppliers counts suppliers with documents in [from, to) and those
// whose every document came from a digital source.
func (q *Querier) digitalSuppliers(ctx context.Context, qq *Query, from, to time.Time) (agg, error) {
	where := "tenant = ? AND day >= toDate(?) AND day < toDate(?)"
	args := []any{qq.Tenant, from.Format(time.DateOnly), to.Format(time.DateOnly)}
	if qq.Plant != "" {
		where += " AND plant = ?"
		args = append(args, qq.Plant)
	}
	if qq.Supplier != "" {
		where += " AND supplier = ?"
		args = append(args, qq.Supplier)
	}
	var a agg
	var num, den uint64
	err := q.conn.QueryRow(ctx, fmt.Sprintf(`SELECT countIf(digital = total), count() FROM (
  SELECT supplier, sumIf(docs, source IN (%s)) AS digital, sum(docs) AS total
  FROM %s.kpi_supplier_docs WHERE %s GROUP BY supplier)`, quoteList(q.cfg.DigitalSources), q.db, where), args...).Scan(&num, &den)
	a.num, a.den = float64(num), float64(den)
	return a, err
}

// Point is one bucket of a trend.
type Point struct {
	Start time.Time `json:"start"`
	Value
}

// Trend returns kpi per bucket (day, week or month) over the period.
func (q *Querier) Trend(ctx context.Context, qq Query, kpi, bucket string) ([]Point, error) {
	if err := qq.validate(); err != nil {
		return nil, err
	}
	d, ok := Lookup(kpi)
	if !ok || kpi == DigitalSuppliers {
		return nil, procure.Errorf(procure.EINVALID, "unknown kpi %q", kpi)
	}
	key := map[string]string{"day": "day", "week": "toMonday(day)", "month": "toStartOfMonth(day)"}[bucket]
	if key == "" {
		return nil, procure.Errorf(procure.EINVALID, "bucket must be day, week or month")
	}
	grain, from, to := qq.grain(false)
	if grain == "month" && bucket != "month" {
		return nil, procure.Errorf(procure.EINVALID, "a supplier trend has month buckets")
	}
	m, err := q.rollup(ctx, &qq, grain, key, "AND kpi = ?", []any{kpi}, from, to)
	if err != nil {
		return nil, err
	}
	var out []Point
	for k, byKPI := range m {
		t, err := time.Parse(time.DateOnly, k)
		if err != nil {
			return nil, err
		}
		out = append(out, Point{Start: t, Value: makeValue(d, byKPI[kpi], nil)})
	}
	sortBy(out, func(p Point) string { return p.Start.Format(time.DateOnly) })
	return out, nil
}

// Row is one plant or supplier of a breakdown.
type Row struct {
	Key string `json:"key"`
	Value
}

// Breakdown returns kpi per plant (by "plant") or per supplier (by
// "supplier", month grain), with the previous period, worst first.
func (q *Querier) Breakdown(ctx context.Context, qq Query, kpi, by string) ([]Row, string, error) {
	if err := qq.validate(); err != nil {
		return nil, "", err
	}
	d, ok := Lookup(kpi)
	if !ok || kpi == DigitalSuppliers {
		return nil, "", procure.Errorf(procure.EINVALID, "unknown kpi %q", kpi)
	}
	if by != "plant" && by != "supplier" {
		return nil, "", procure.Errorf(procure.EINVALID, "by must be plant or supplier")
	}
	grain, from, to := qq.grain(by == "supplier")
	pf, pt := previous(grain, from, to)
	if !pt.Equal(from) {
		return nil, "", fmt.Errorf("kpi breakdown: previous period %v..%v does not end at %v", pf, pt, from)
	}
	cur, prev, err := q.rollups(ctx, &qq, grain, by, "AND kpi = ?", []any{kpi}, from, to, pf)
	if err != nil {
		return nil, "", err
	}
	var out []Row
	for k, m := range cur {
		var p *agg
		if a, ok := prev[k][kpi]; ok {
			p = &a
		}
		out = append(out, Row{Key: k, Value: makeValue(d, m[kpi], p)})
	}
	worstFirst(out, d)
	return out, grain, nil
}

// Document is one entity row of a KPI with the exceptions of its PO.
type Document struct {
	Doc        string          `json:"doc"`
	Day        time.Time       `json:"day"`
	Plant      string          `json:"plant"`
	Supplier   string          `json:"supplier"`
	Num        float64         `json:"num"`
	Den        float64         `json:"den"`
	X          float64         `json:"x,omitempty"`
	Exceptions []ExceptionLink `json:"exceptions,omitempty"`
}

// ExceptionLink names an exception of a document (its latest state).
type ExceptionLink struct {
	ID    int64  `json:"id"`
	Rule  string `json:"rule"`
	State string `json:"state"`
}

// Documents returns the entities behind kpi in the period and scope
// (failing ones first), as the refresher last computed them (kpi_cells:
// the rows of one KPI, period and scope are ranges of its primary key, so
// the cost follows the period, not the history), with the exceptions of
// their POs.
func (q *Querier) Documents(ctx context.Context, qq Query, kpi string, limit int) ([]Document, error) {
	if err := qq.validate(); err != nil {
		return nil, err
	}
	if _, ok := Lookup(kpi); !ok || kpi == DigitalSuppliers {
		return nil, procure.Errorf(procure.EINVALID, "unknown kpi %q", kpi)
	}
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	where, args := cellsWhere(qq, kpi, "")
	rows, err := q.conn.Query(ctx, fmt.Sprintf(`SELECT toString(family), ekey, doc, day, toString(plant), toString(supplier), num, den, x
FROM %s.kpi_cells FINAL WHERE %s
ORDER BY num / den ASC, doc LIMIT %d`, q.db, where, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("kpi documents: %w", err)
	}
	var out []Document
	// The exceptions of a row are those of its PO; an exception row's are
	// itself. An ASN's or an invoice's PO is looked up in its facts.
	pos := map[string][]int{}
	byException := map[uint64][]int{}
	asns, invoices := map[string][]int{}, map[string][]int{}
	for rows.Next() {
		var d Document
		var family, ekey string
		if err := rows.Scan(&family, &ekey, &d.Doc, &d.Day, &d.Plant, &d.Supplier, &d.Num, &d.Den, &d.X); err != nil {
			rows.Close()
			return nil, err
		}
		i := len(out)
		out = append(out, d)
		switch family {
		case "exceptions":
			if id, err := strconv.ParseUint(ekey, 10, 64); err == nil {
				byException[id] = append(byException[id], i)
			}
		case "asns":
			asns[ekey] = append(asns[ekey], i)
		case "invoices":
			invoices[ekey] = append(invoices[ekey], i)
		default: // orders, lines, otif: ekey is the PO
			pos[ekey] = append(pos[ekey], i)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	for _, m := range []struct {
		docs  map[string][]int
		query string
	}{
		{asns, `SELECT DISTINCT asn, po FROM %s.kpi_asn_lines WHERE tenant = ? AND asn IN ? AND po != ''`},
		{invoices, `SELECT invoice, max(po) AS p FROM %s.kpi_invoices WHERE tenant = ? AND invoice IN ? GROUP BY invoice HAVING p != ''`},
	} {
		if len(m.docs) == 0 {
			continue
		}
		rows, err := q.conn.Query(ctx, fmt.Sprintf(m.query, q.db), qq.Tenant, slices.Collect(maps.Keys(m.docs)))
		if err != nil {
			return nil, fmt.Errorf("kpi documents: POs of the documents: %w", err)
		}
		for rows.Next() {
			var doc, po string
			if err := rows.Scan(&doc, &po); err != nil {
				rows.Close()
				return nil, err
			}
			pos[po] = append(pos[po], m.docs[doc]...)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(pos) == 0 && len(byException) == 0 {
		return out, nil
	}
	// The exceptions of the listed documents' POs, and the listed
	// exceptions, only (their latest state).
	rows, err = q.conn.Query(ctx, fmt.Sprintf(`SELECT po, exception_id, argMax(toString(rule), outbox_id), argMax(toString(state), outbox_id)
FROM %s.exception_history WHERE tenant = ? AND (po IN ? OR exception_id IN ?)
GROUP BY po, exception_id ORDER BY po, exception_id`, q.db),
		qq.Tenant, append(slices.Collect(maps.Keys(pos)), ""), append(slices.Collect(maps.Keys(byException)), 0))
	if err != nil {
		return nil, fmt.Errorf("kpi documents: exceptions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var po string
		var x ExceptionLink
		var id uint64
		if err := rows.Scan(&po, &id, &x.Rule, &x.State); err != nil {
			return nil, err
		}
		x.ID = int64(id)
		seen := map[int]bool{}
		for _, i := range append(slices.Clone(byException[id]), pos[po]...) {
			if !seen[i] && (po != "" || len(byException[id]) > 0) {
				seen[i] = true
				out[i].Exceptions = append(out[i].Exceptions, x)
			}
		}
	}
	return out, rows.Err()
}

func worstFirst(rs []Row, d Definition) {
	sortBy(rs, func(r Row) string {
		v := r.Value.Value
		if d.HigherIsBetter {
			v = -v
		}
		// descending badness: negate so larger badness sorts first
		return fmt.Sprintf("%020.6f|%s", 1e9-v, r.Key)
	})
}

func sortBy[T any](xs []T, key func(T) string) {
	ks := make([]string, len(xs))
	for i, x := range xs {
		ks[i] = key(x)
	}
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
