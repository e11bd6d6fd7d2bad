package kpi

import (
	"context"
	"time"
)

// DashboardPageLoads replays what the console's executive dashboard asks
// when it opens (/dashboard: the values of the last 90 days with the
// previous period, the selected KPI's weekly trend, its breakdowns by
// plant and by supplier) and, separately, its drill-down (the 200 worst
// documents behind the figure, loaded only when the user asks), iterations
// times. It returns the total
// time of each page load (the calls one after another, as if the browser
// did not run them in parallel) and of each drill-down.
func DashboardPageLoads(ctx context.Context, q *Querier, tenant string, end time.Time, iterations int) (pages, drills []time.Duration, err error) {
	to := day(end).AddDate(0, 0, 1)
	qq := Query{Tenant: tenant, From: to.AddDate(0, 0, -90), To: to}
	kpis := []string{"otif", "otd_on_time", "ack_cycle_hours", "first_pass_match"}
	for i := range iterations {
		kpi := kpis[i%len(kpis)]
		t0 := time.Now()
		if _, err := q.Values(ctx, qq); err != nil {
			return nil, nil, err
		}
		if _, err := q.Trend(ctx, qq, kpi, "week"); err != nil {
			return nil, nil, err
		}
		for _, by := range []string{"plant", "supplier"} {
			if _, _, err := q.Breakdown(ctx, qq, kpi, by); err != nil {
				return nil, nil, err
			}
		}
		pages = append(pages, time.Since(t0))
		t0 = time.Now()
		if _, err := q.Documents(ctx, qq, kpi, 200); err != nil {
			return nil, nil, err
		}
		drills = append(drills, time.Since(t0))
	}
	return pages, drills, nil
}

// CategoryLoads times the breakdown by item category of the dashboard's
// period (loaded when the user picks it), iterations times.
func CategoryLoads(ctx context.Context, q *Querier, tenant string, end time.Time, iterations int) ([]time.Duration, error) {
	to := day(end).AddDate(0, 0, 1)
	qq := Query{Tenant: tenant, From: to.AddDate(0, 0, -90), To: to}
	kpis := []string{"otif", "confirmation_rate", "asn_timeliness", "first_pass_match"}
	var out []time.Duration
	for i := range iterations {
		t0 := time.Now()
		if _, err := q.BreakdownByCategory(ctx, qq, kpis[i%len(kpis)]); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}
