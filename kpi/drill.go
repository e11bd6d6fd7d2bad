package kpi

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// DrillSet is the set of documents behind a KPI figure, as the exception
// queue names them: PO, ASN or invoice numbers, or exception ids for the
// exception KPIs. It is exact: every entity row the figure was summed from
// (kpi_cells, the rows of the rollup), or only those that missed.
type DrillSet struct {
	Documents    []string
	ExceptionIDs []int64
	// Entities is how many entity rows are behind the figure (the lines of
	// one PO are several entities and one document).
	Entities int
}

// documentKPI validates qq and returns the definition of kpi, refusing
// the KPIs of supplier documents per day (why says what they lack).
func documentKPI(qq Query, kpi, why string) (Definition, error) {
	if err := qq.validate(); err != nil {
		return Definition{}, err
	}
	d, ok := Lookup(kpi)
	if !ok {
		return d, procure.Errorf(procure.EINVALID, "unknown kpi %q", kpi)
	}
	if d.Entity == "supplier_day" || d.Entity == "supplier" {
		return d, procure.Errorf(procure.EINVALID, "kpi %s counts supplier documents per day, %s", kpi, why)
	}
	return d, nil
}

// cellsWhere selects the kpi_cells rows (columns prefixed by prefix) of
// kpi in the period and scope of qq: a range of the table's key.
func cellsWhere(qq Query, kpi, prefix string) (string, []any) {
	where := fmt.Sprintf("%[1]stenant = ? AND %[1]skpi = ? AND %[1]sday >= toDate(?) AND %[1]sday < toDate(?)", prefix)
	args := []any{qq.Tenant, kpi, day(qq.From).Format(time.DateOnly), day(qq.To).Format(time.DateOnly)}
	if qq.Plant != "" {
		where += " AND " + prefix + "plant = ?"
		args = append(args, qq.Plant)
	}
	if qq.Supplier != "" {
		where += " AND " + prefix + "supplier = ?"
		args = append(args, qq.Supplier)
	}
	return where, args
}

// missedSQL says which entity rows missed a KPI: a share that should be high
// and is not whole, a share that should be low and is not zero; every row
// of a duration (there is no per-document threshold).
func missedSQL(d Definition) string {
	switch {
	case d.Kind == Duration:
		return ""
	case d.HigherIsBetter:
		return " AND num < den"
	default:
		return " AND num > 0"
	}
}

// DrillSet returns the documents behind kpi over the period and scope of
// qq (only those that missed it with missed), at most limit of them; more
// is an invalid request naming the count, never a silently cut set.
func (q *Querier) DrillSet(ctx context.Context, qq Query, kpi string, missed bool, limit int) (*DrillSet, error) {
	d, err := documentKPI(qq, kpi, "not documents the exception queue knows")
	if err != nil {
		return nil, err
	}
	where, args := cellsWhere(qq, kpi, "")
	if missed {
		where += missedSQL(d)
	}
	// ekey is the entity's document: the PO of a line, else the document
	// itself (PO, ASN, invoice, exception id).
	rows, err := q.conn.Query(ctx, fmt.Sprintf(`SELECT toString(family) AS f, ekey, count() AS n
FROM %s.kpi_cells FINAL WHERE %s GROUP BY f, ekey ORDER BY f, ekey LIMIT %d`, q.db, where, limit+1), args...)
	if err != nil {
		return nil, fmt.Errorf("kpi drill set: %w", err)
	}
	defer rows.Close()
	out := &DrillSet{}
	n := 0
	for rows.Next() {
		var family, key string
		var entities uint64
		if err := rows.Scan(&family, &key, &entities); err != nil {
			return nil, err
		}
		if n++; n > limit {
			return nil, procure.Errorf(procure.EINVALID, "more than %d documents are behind %s in this period and scope: narrow the period, plant or supplier", limit, kpi)
		}
		out.Entities += int(entities)
		if family == "exceptions" {
			id, err := strconv.ParseInt(key, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("kpi drill set: exception id %q: %w", key, err)
			}
			out.ExceptionIDs = append(out.ExceptionIDs, id)
			continue
		}
		out.Documents = append(out.Documents, key)
	}
	return out, rows.Err()
}
