package kpi

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/procure"
)

// SyncCalendars writes the business-hour spans of every plant calendar of
// cals (and of its default, as plant "") from from to to into
// kpi_business_spans, replacing what was there. Business hours in the KPIs
// are then those of the SLA engine: same zones, working hours and holidays.
func SyncCalendars(ctx context.Context, conn driver.Conn, db string, cals *procure.Calendars, from, to time.Time) error {
	return SyncCalendarsOn(ctx, conn, nil, db, cals, from, to)
}

// SyncCalendarsOn is SyncCalendars on the tables of cluster cl (nil: one
// server).
func SyncCalendarsOn(ctx context.Context, conn driver.Conn, cl Cluster, db string, cals *procure.Calendars, from, to time.Time) error {
	byPlant := map[string]*procure.Calendar{}
	def := procure.DefaultCalendar()
	if cals != nil {
		for p, c := range cals.ByPlant {
			byPlant[p] = c
		}
		if cals.Default != nil {
			def = cals.Default
		}
	}
	byPlant[""] = def
	var err error
	if cl != nil {
		err = cl.DDL(ctx, "TRUNCATE TABLE {db}.kpi_business_spans")
	} else {
		err = conn.Exec(ctx, "TRUNCATE TABLE "+db+".kpi_business_spans")
	}
	if err != nil {
		return fmt.Errorf("truncate business spans: %w", err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".kpi_business_spans (plant, start, end, cum_before)")
	if err != nil {
		return fmt.Errorf("insert business spans: %w", err)
	}
	defer batch.Abort()
	for plant, cal := range byPlant {
		var cum int64
		for _, sp := range Spans(cal, from, to) {
			if err := batch.Append(plant, sp[0], sp[1], cum); err != nil {
				return err
			}
			cum += int64(sp[1].Sub(sp[0]) / time.Second)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert business spans: %w", err)
	}
	return nil
}

// Spans returns the working periods of cal between from and to, in UTC, in
// order. A 24x7 calendar is one span per day.
func Spans(cal *procure.Calendar, from, to time.Time) [][2]time.Time {
	var out [][2]time.Time
	if cal.Is24x7() {
		for d := from.UTC().Truncate(24 * time.Hour); d.Before(to); d = d.Add(24 * time.Hour) {
			out = append(out, [2]time.Time{d, d.Add(24 * time.Hour)})
		}
		return out
	}
	lf := from.In(cal.Location)
	y, m, d := lf.Date()
	for i := 0; ; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, cal.Location)
		if day.After(to) {
			return out
		}
		if cal.Holidays[day.Format(time.DateOnly)] {
			continue
		}
		dy, dm, dd := day.Date()
		for _, sp := range cal.Hours[day.Weekday()] {
			s := time.Date(dy, dm, dd, sp.From/60, sp.From%60, 0, 0, cal.Location).UTC()
			e := time.Date(dy, dm, dd, sp.To/60, sp.To%60, 0, 0, cal.Location).UTC()
			out = append(out, [2]time.Time{s, e})
		}
	}
}
