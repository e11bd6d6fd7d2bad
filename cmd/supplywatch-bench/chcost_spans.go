package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/clickhouse"
)

// spanCostVariant is one configuration of the spans' server-CPU run: the
// schema's spans table changed by edit (its CREATE statement in, the one
// to run out; nil: as it is) and alter (an ALTER TABLE of it, such as
// MODIFY SETTING), written in batches of batch spans.
type spanCostVariant struct {
	name  string
	batch int
	edit  func(create, db string) string
	alter string
}

// lz4 replaces the spans table's ZSTD(1) codecs by LZ4.
func lz4(create, _ string) string { return strings.ReplaceAll(create, "ZSTD(1)", "LZ4") }

// table is a spans table of its own DDL in place of the schema's.
func table(ddl string) func(string, string) string {
	return func(_, db string) string { return strings.ReplaceAll(ddl, "{db}", db) }
}

// verbose prints the server's profile events of each spans variant's
// inserts to stderr.
var verbose = os.Getenv("SUPPLYWATCH_BENCH_VERBOSE") != ""

// stopMerges stops the merges of each spans variant while it is inserted,
// so that the inserts' CPU is their own (the figure _in_inserts) and the
// merges are one merge of every part afterwards, not the merges a table
// runs as parts arrive.
var stopMerges = os.Getenv("SUPPLYWATCH_BENCH_STOP_MERGES") != ""

var spanCostVariants = []spanCostVariant{
	{name: "schema", batch: 6144},
	{name: "schema_batch_2048", batch: 2048},
	{name: "schema_batch_3072", batch: 3072},
	{name: "schema_batch_20000", batch: 20000},
	{name: "before_0240", batch: 6144, edit: table("CREATE TABLE {db}.spans_v2 (" + spanColumnsDDL + spanIndexesDDL + ") ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(start_time) ORDER BY (tenant, service_name, toDate(start_time), trace_id, span_id)")},
	{name: "lz4", batch: 6144, edit: lz4},
	// Migration 0260 set merge_selector_base = 20; before it, the
	// server's default (5).
	{name: "before_0260", batch: 6144, alter: "RESET SETTING merge_selector_base"},
	{name: "before_0260_batch_3072", batch: 3072, alter: "RESET SETTING merge_selector_base"},
	{name: "no_statistics", batch: 6144, alter: "MODIFY SETTING auto_statistics_types = ''"},
	{name: "schema_again", batch: 6144},
}

// chCostSpans measures the server's CPU per million spans written in
// batches of the sizes the writer makes, into the schema's spans table and
// variants of it (codecs, merge settings), with the inserts, parts and
// merges the server counted (system.events). Each run is a fresh database;
// it waits until no merge is running before and after.
func chCostSpans(ctx context.Context, e *benchEnv, nSpans int, only string) error {
	pid, err := serverPID()
	if err != nil {
		return err
	}
	native, err := clickhouse.OpenNative(ctx, clickhouse.Config{Addr: []string{e.ch.NativeAddr()}, User: "default"})
	if err != nil {
		return err
	}
	defer native.Close()
	if rows, err := e.strings(ctx, "SELECT name || ' = ' || value FROM system.merge_tree_settings WHERE name LIKE 'merge_selector%' OR name LIKE 'min_parts_to_merge%' OR name LIKE '%statistics%' OR name LIKE 'min_%_for_wide_part' OR name LIKE 'min_%_for_full_part_storage'"); err == nil {
		fmt.Fprintf(os.Stderr, "merge tree settings:\n  %s\n", strings.Join(rows, "\n  "))
	}
	spans := benchSpans(nSpans, time.Now())
	for _, v := range spanCostVariants {
		if only != "" && !slices.Contains(strings.Split(only, ","), v.name) {
			continue
		}
		db := "cost_spans_" + v.name
		if err := clickhouse.Migrate(ctx, e.conn, clickhouse.Config{Database: db, RetentionDays: 3650}, e.log); err != nil {
			return err
		}
		if v.edit != nil {
			var create string
			if err := e.conn.QueryRow(ctx, "SELECT create_table_query FROM system.tables WHERE database = ? AND name = 'spans_v2'", db).Scan(&create); err != nil {
				return err
			}
			if err := e.conn.Exec(ctx, "DROP TABLE "+db+".spans_v2 SYNC"); err != nil {
				return err
			}
			if err := e.conn.Exec(ctx, v.edit(create, db)); err != nil {
				return fmt.Errorf("spans variant %s: %w", v.name, err)
			}
		}
		if v.alter != "" {
			if err := e.conn.Exec(ctx, "ALTER TABLE "+db+".spans_v2 "+v.alter); err != nil {
				fmt.Fprintf(os.Stderr, "spans variant %s: %v (skipped)\n", v.name, err)
				continue
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
		// The inserts with merges stopped, then the merges, so that each
		// has its own CPU figure.
		if stopMerges {
			if err := e.conn.Exec(ctx, "SYSTEM STOP MERGES "+db+".spans_v2"); err != nil {
				return err
			}
		}
		for off := 0; off < len(spans); off += v.batch {
			if err := store.InsertSpans(ctx, spans[off:min(off+v.batch, len(spans))]); err != nil {
				return fmt.Errorf("spans variant %s: %w", v.name, err)
			}
		}
		cpuIns, err := cpuTime(pid)
		if err != nil {
			return err
		}
		evIns, err := e.serverEvents(ctx)
		if err != nil {
			return err
		}
		if err := e.conn.Exec(ctx, "SYSTEM START MERGES "+db+".spans_v2"); err != nil {
			return err
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
		if verbose {
			printServerWork("spans_"+v.name+"_inserts", ev0, evIns, uint64(len(spans)))
		}
		figure("ch_server_cpu_per_million_spans_"+v.name+"_in_inserts", (cpuIns-cpu0).Seconds()*1e6/float64(len(spans)), "cpu-s")
		var bytes uint64
		e.conn.QueryRow(ctx, "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = ? AND table = 'spans_v2' AND active", db).Scan(&bytes)
		figure("ch_server_cpu_per_million_spans_"+v.name, (cpu1-cpu0).Seconds()*1e6/float64(len(spans)), "cpu-s")
		figure("spans_"+v.name+"_merges", float64(ev1["Merge"]-ev0["Merge"]), "merges")
		figure("spans_"+v.name+"_merged_rows_per_row", float64(ev1["MergedRows"]-ev0["MergedRows"])/float64(len(spans)), "rows")
		figure("spans_"+v.name+"_bytes_per_span", float64(bytes)/float64(len(spans)), "bytes")
		e.conn.Exec(ctx, "DROP DATABASE "+db+" SYNC")
	}
	return nil
}
