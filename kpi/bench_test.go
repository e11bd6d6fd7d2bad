package kpi

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkDashboard prints the executive dashboard figures over
// SUPPLYWATCH_BENCH_EVENTS generated events (default 50,000,000):
//
//	go test ./kpi -run '^$' -bench Dashboard -benchtime 1x -timeout 90m
func BenchmarkDashboard(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("SUPPLYWATCH_BENCH_EVENTS"))
	if n == 0 {
		n = 50_000_000
	}
	t := b
	conn, db := migrated(t)
	ctx := context.Background()
	end := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	if err := SyncCalendars(ctx, conn, db, nil, end.AddDate(-3, 0, 0), end.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := GenerateEvents(ctx, conn, db, n, end); err != nil {
		t.Fatal(err)
	}
	gen := time.Since(t0)
	var stored uint64
	conn.QueryRow(ctx, "SELECT count() FROM "+db+".events").Scan(&stored)
	t0 = time.Now()
	if _, err := NewRefresher(conn, db, Config{}, discard, nil).RefreshAll(ctx, end); err != nil {
		t.Fatal(err)
	}
	refresh := time.Since(t0)
	ds, err := DashboardQueries(ctx, NewQuerier(conn, db, Config{}, func() time.Time { return end }), "bench", end, 10)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("kpi_bench_events: %d events\n", stored)
	fmt.Printf("kpi_bench_generate: %.1f s\n", gen.Seconds())
	fmt.Printf("kpi_rollup_refresh_all: %.1f s\n", refresh.Seconds())
	fmt.Printf("kpi_dashboard_query_p50: %.1f ms\n", float64(Percentile(ds, 0.5).Microseconds())/1000)
	fmt.Printf("kpi_dashboard_query_p95: %.1f ms\n", float64(Percentile(ds, 0.95).Microseconds())/1000)
}
