package kpi

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
)

// BenchmarkCellReroll measures the cell re-roll's read of kpi_cells in a
// full month of a kept 50M build (SUPPLYWATCH_BENCH_KEEP, after
// BenchmarkDashboard built it; SUPPLYWATCH_BENCH_PROFILE for the query
// log): the cells of the 20,000 orders released first in the month before
// the build's last, selected as the refresh did before (tenant, plant,
// supplier, day: every KPI of a touched cell, a condition kpi_cells' key
// (tenant, kpi, plant, ...) cannot use past the tenant) and as it does now
// (tenant, kpi, plant, supplier, day: its key prefix), and by difference
// as it does since (the difference KPIs' cells from kpi_cell_categories
// plus the orders' entity rows before and after, the other KPIs' from
// kpi_cells; here every entity row of the orders counts as new, and their
// rows before are read as the refresh reads them, FINAL), alternated, with
// the statements' rows read and server CPU from system.query_log.
//
//	SUPPLYWATCH_BENCH_KEEP=/dir SUPPLYWATCH_BENCH_PROFILE=1 SUPPLYWATCH_BENCH_EVENTS=50000000 go test ./kpi -run '^$' -bench CellReroll -benchtime 1x
func BenchmarkCellReroll(b *testing.B) {
	dir := os.Getenv(EnvBenchKeep)
	if dir == "" || os.Getenv("SUPPLYWATCH_BENCH_PROFILE") == "" {
		b.Skip("needs SUPPLYWATCH_BENCH_KEEP (a kept build) and SUPPLYWATCH_BENCH_PROFILE")
	}
	n, _ := strconv.Atoi(os.Getenv("SUPPLYWATCH_BENCH_EVENTS"))
	if n == 0 {
		n = 50_000_000
	}
	m, err := loadKept(dir, "built")
	if err != nil || m == nil || m.Events != n {
		b.Fatalf("no kept build of %d events in %s (%v)", n, dir, err)
	}
	ctx := context.Background()
	k := &keptServer{b: b, dir: dir}
	b.Cleanup(k.stop)
	k.restore("built", m.Database)
	db, conn := k.db, k.conn
	month := monthStart(m.End).AddDate(0, -1, 0)
	ym := month.Format("200601")
	cells, orders := db+".kpi_reroll_cells", db+".kpi_reroll_orders"
	for _, s := range []string{
		"DROP TABLE IF EXISTS " + cells,
		"DROP TABLE IF EXISTS " + orders,
		"CREATE TABLE " + cells + " (tenant String, kpi String, day Date, plant String, supplier String) ENGINE = Memory",
		"CREATE TABLE " + orders + " (tenant String, po String) ENGINE = Memory",
		fmt.Sprintf(`INSERT INTO %[1]s SELECT tenant, po FROM %[2]s.kpi_orders WHERE released_at >= toDateTime64('%[3]s', 3, 'UTC')
GROUP BY tenant, po ORDER BY min(released_at) LIMIT 20000`, orders, db, month.Format(time.DateTime)),
		fmt.Sprintf(`INSERT INTO %[1]s SELECT DISTINCT tenant, kpi, day, plant, supplier FROM %[2]s.kpi_entities
WHERE family IN ('orders', 'lines', 'otif') AND toYYYYMM(day) = %[3]s AND (tenant, ekey) IN (SELECT tenant, po FROM %[4]s)`, cells, db, ym, orders),
	} {
		if err := conn.Exec(ctx, s); err != nil {
			b.Fatalf("%v\n%s", err, s)
		}
	}
	var nCells, nPairs uint64
	if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(tenant, plant, supplier, day) FROM "+cells).Scan(&nCells, &nPairs); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("kpi_reroll_%s_cells: %d (cell, kpi), %d cells\n", ym, nCells, nPairs)
	// (the quantiles finalized: the client reads no aggregate state)
	fromCells := func(cond string) string {
		return fmt.Sprintf(`SELECT count(), sum(n), sum(length(qs)) FROM (
SELECT tenant, kpi, day, plant, supplier, sum(num) AS n, sum(den), quantilesIf(0.5, 0.9)(x, kpi IN (%s)) AS qs
FROM %s.kpi_cells FINAL WHERE toYYYYMM(day) = %s AND %s GROUP BY tenant, kpi, day, plant, supplier)`, durationKPIs(), db, ym, cond)
	}
	pairs := "(tenant, kpi, plant, supplier, day) IN (SELECT tenant, kpi, plant, supplier, day FROM " + cells + ")"
	entities := fmt.Sprintf("FROM %s.kpi_entities%%s WHERE family IN ('orders', 'lines', 'otif') AND toYYYYMM(day) = %s AND kpi IN (%s) AND (tenant, ekey) IN (SELECT tenant, po FROM %s)", db, ym, differenceKPIs(), orders)
	variants := map[string][]string{
		"before": {fromCells("(tenant, plant, supplier, day) IN (SELECT tenant, plant, supplier, day FROM " + cells + ")")},
		"now":    {fromCells(pairs)},
		"difference": {
			fromCells(pairs + " AND kpi NOT IN (" + differenceKPIs() + ")"),
			fmt.Sprintf(`SELECT count(), sum(n) FROM (
SELECT tenant, kpi, day, plant, supplier, category, sum(num) AS n, sum(den) AS d FROM (
    SELECT toString(tenant) AS tenant, toString(kpi) AS kpi, day, toString(plant) AS plant, toString(supplier) AS supplier, toString(category) AS category, num, den
    FROM %[1]s.kpi_cell_categories FINAL WHERE toYYYYMM(day) = %[2]s AND %[3]s AND kpi IN (%[4]s)
    UNION ALL
    SELECT toString(tenant), toString(kpi), day, toString(plant), toString(supplier), toString(category), num, den %[5]s
    UNION ALL
    SELECT toString(tenant), toString(kpi), day, toString(plant), toString(supplier), toString(category), -num, -den %[6]s
) GROUP BY tenant, kpi, day, plant, supplier, category HAVING d > 0)`, db, ym, pairs, differenceKPIs(), fmt.Sprintf(entities, ""), fmt.Sprintf(entities, " FINAL")),
		},
	}
	for i := range 9 {
		name := []string{"before", "now", "difference"}[i%3]
		var rows, ms uint64
		var cpu float64
		for j, q := range variants[name] {
			id := fmt.Sprintf("reroll-%s-%d-%d-%d", name, i, j, time.Now().UnixNano())
			if err := conn.Exec(chgo.Context(ctx, chgo.WithQueryID(id)), q); err != nil {
				b.Fatalf("%v\n%s", err, q)
			}
			if err := conn.Exec(ctx, "SYSTEM FLUSH LOGS"); err != nil {
				b.Fatal(err)
			}
			var r, m uint64
			var c float64
			if err := conn.QueryRow(ctx, `SELECT read_rows, query_duration_ms,
    (ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) / 1e6
FROM system.query_log WHERE query_id = ? AND type = 'QueryFinish'`, id).Scan(&r, &m, &c); err != nil {
				b.Fatal(err)
			}
			rows, ms, cpu = rows+r, ms+m, cpu+c
		}
		fmt.Printf("kpi_reroll_%s_%s: %d rows read, %.2f cpu-s, %d ms\n", ym, name, rows, cpu, ms)
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average: %s", la)
	}
}
