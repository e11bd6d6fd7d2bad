package main

import (
	"context"
	"fmt"
	"time"

	"github.com/supplywatch/supplywatch/clickhouse"
)

// chCostEventMerges measures what merge_selector_base on events and
// event_ids (the tables of the events' insert that are not KPI facts;
// migration 0261) changes in the server's CPU per million events: the two
// tables at the default (before_0261) against the schema (20), and every
// table of the insert at 20 (the KPI facts included: measured, not
// changed), with every view, in the writer's batches, merges waited for.
// `-only chcost_event_merges` runs it; make bench does not.
func chCostEventMerges(ctx context.Context, e *benchEnv, n int) error {
	pid, err := serverPID()
	if err != nil {
		return err
	}
	rows, err := mixedEvents(n, time.Now())
	if err != nil {
		return err
	}
	native, err := clickhouse.OpenNative(ctx, clickhouse.Config{Addr: []string{e.ch.NativeAddr()}, User: "default"})
	if err != nil {
		return err
	}
	defer native.Close()
	const batch = 10000
	for _, v := range []struct {
		name, alter string
		all         bool
	}{
		// Migration 0261 set events and event_ids to 20; before it,
		// the server's default (5).
		{"before_0261", "RESET SETTING merge_selector_base", false},
		{"schema", "", false},
		{"every_table_merge_base_20", "MODIFY SETTING merge_selector_base = 20", true},
	} {
		db := "cost_event_merges_" + v.name
		if err := clickhouse.Migrate(ctx, e.conn, clickhouse.Config{Database: db, RetentionDays: 3650}, e.log); err != nil {
			return err
		}
		if v.alter != "" {
			tables := []string{"events", "event_ids"}
			if v.all {
				// Every table a view on events writes to as well (the
				// KPI facts): measured only, not changed by a migration.
				if tables, err = e.strings(ctx, "SELECT name FROM system.tables WHERE database = '"+db+"' AND engine LIKE '%MergeTree' AND name != 'spans_v2' AND name != 'rejected' AND name != 'documents'"); err != nil {
					return err
				}
			}
			for _, t := range tables {
				if err := e.conn.Exec(ctx, "ALTER TABLE "+db+"."+t+" "+v.alter); err != nil {
					return err
				}
			}
		}
		store := clickhouse.NewStore(e.conn, db).WithNative(native)
		if err := e.settle(ctx); err != nil {
			return err
		}
		ev0, err := e.serverEvents(ctx)
		if err != nil {
			return err
		}
		cpu0, err := cpuTime(pid)
		if err != nil {
			return err
		}
		for off := 0; off < len(rows); off += batch {
			if err := store.InsertEvents(ctx, rows[off:min(off+batch, len(rows))]); err != nil {
				return fmt.Errorf("events %s: %w", v.name, err)
			}
		}
		if err := e.settle(ctx); err != nil {
			return err
		}
		cpu1, err := cpuTime(pid)
		if err != nil {
			return err
		}
		ev1, err := e.serverEvents(ctx)
		if err != nil {
			return err
		}
		figure("ch_server_cpu_per_million_events_"+v.name, (cpu1-cpu0).Seconds()*1e6/float64(n), "cpu-s")
		figure("events_"+v.name+"_merges", float64(ev1["Merge"]-ev0["Merge"]), "merges")
		figure("events_"+v.name+"_merged_rows_per_row", float64(ev1["MergedRows"]-ev0["MergedRows"])/float64(n), "rows")
		e.conn.Exec(ctx, "DROP DATABASE "+db+" SYNC")
	}
	return nil
}
