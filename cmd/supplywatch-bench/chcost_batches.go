package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/procure"
)

// chCostEventBatches measures what the size of an events insert and the
// server's insert settings change in its CPU per million events
// (docs/storage.md "Larger event inserts"): the same rows, every view,
// merges waited for, each variant in a fresh database of the schema, the
// variants alternated over rounds so that a shared machine's load falls
// on all alike. A batch larger than the store's block is one INSERT of
// several blocks. The _lookup variants run the writer's duplicate check
// (ExistingEvents) before each insert, _random_ids with ids in no order.
// `-only chcost_event_batches` runs it (make bench does not);
// SUPPLYWATCH_BENCH_BATCH_VARIANTS picks variants by name
// (comma-separated), SUPPLYWATCH_BENCH_ROUNDS the rounds (default 2).
func chCostEventBatches(ctx context.Context, e *benchEnv, n int) error {
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
	set := func(kv ...string) []ch.Setting {
		var out []ch.Setting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, ch.SettingInt(kv[i], must(strconv.Atoi(kv[i+1]))))
		}
		return out
	}
	variants := []struct {
		name     string
		batch    int
		settings []ch.Setting
		lookup   bool // the writer's duplicate check before each insert
		random   bool // ids in no order (the schema's ids are the PO's number and a suffix)
		// The collector benchmark's events (all po.released of three
		// lines, -only collector) instead of the order chains.
		benchEvents bool
	}{
		{"b10000", 10000, nil, false, false, false},
		{"b50000", 50000, nil, false, false, false},
		{"b50000_bench_events", 50000, nil, false, false, true},
		{"b100000", 100000, nil, false, false, false},
		{"b50000_no_optimize_on_insert", 50000, set("optimize_on_insert", "0"), false, false, false},
		{"b50000_parallel_views", 50000, set("parallel_view_processing", "1"), false, false, false},
		{"b50000_no_skip_index_on_insert", 50000, set("materialize_skip_indexes_on_insert", "0"), false, false, false},
		{"b50000_no_statistics_on_insert", 50000, set("materialize_statistics_on_insert", "0"), false, false, false},
		{"b50000_one_thread", 50000, set("max_insert_threads", "1", "max_threads", "1"), false, false, false},
		{"b10000_lookup", 10000, nil, true, false, false},
		{"b50000_lookup", 50000, nil, true, false, false},
		{"b10000_lookup_random_ids", 10000, nil, true, true, false},
		{"b50000_lookup_random_ids", 50000, nil, true, true, false},
	}
	pick := map[string]bool{}
	for _, v := range strings.Split(os.Getenv("SUPPLYWATCH_BENCH_BATCH_VARIANTS"), ",") {
		if v != "" {
			pick[v] = true
		}
	}
	rounds := 2
	if r, err := strconv.Atoi(os.Getenv("SUPPLYWATCH_BENCH_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	for round := 1; round <= rounds; round++ {
		for _, v := range variants {
			if len(pick) > 0 && !pick[v.name] {
				continue
			}
			db := fmt.Sprintf("cost_batches_%s_%d", v.name, round)
			if err := clickhouse.Migrate(ctx, e.conn, clickhouse.Config{Database: db, RetentionDays: 3650}, e.log); err != nil {
				return err
			}
			store := clickhouse.NewStore(e.conn, db).WithNative(native).WithEventInsertSettings(v.settings...)
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
			rows := rows
			if v.benchEvents {
				rows = make([]procure.Received, len(rows))
				for i := range rows {
					raw := benchEvent("cost", i, time.Now())
					ev, err := procure.Decode(raw)
					if err != nil {
						return fmt.Errorf("bench event: %w", err)
					}
					rows[i] = procure.Received{Event: ev, Raw: raw, Channel: procure.ChannelKafka, ReceivedAt: time.Now()}
				}
			}
			if v.random {
				rows = randomIDs(rows)
			}
			start := time.Now()
			for off := 0; off < len(rows); off += v.batch {
				batch := rows[off:min(off+v.batch, len(rows))]
				if v.lookup {
					keys := make([]procure.EventKey, len(batch))
					for i := range batch {
						keys[i] = batch[i].Event.Key()
					}
					if _, err := store.ExistingEvents(ctx, keys); err != nil {
						return fmt.Errorf("events %s: %w", v.name, err)
					}
				}
				if err := store.InsertEvents(ctx, batch); err != nil {
					return fmt.Errorf("events %s: %w", v.name, err)
				}
			}
			wall := time.Since(start)
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
			var stored uint64
			if stored, err = e.count(ctx, "SELECT count() FROM "+db+".events"); err != nil {
				return err
			}
			if stored != uint64(n) {
				return fmt.Errorf("%s: %d events stored of %d", v.name, stored, n)
			}
			d := func(k string) float64 { return float64(ev1[k] - ev0[k]) }
			name := fmt.Sprintf("events_%s_r%d", v.name, round)
			figure("ch_server_cpu_per_million_"+name, (cpu1-cpu0).Seconds()*1e6/float64(n), "cpu-s")
			figure(name+"_insert_wall_seconds", wall.Seconds(), "s")
			figure(name+"_inserts", d("InsertQuery"), "inserts")
			figure(name+"_parts_written", d("MergeTreeDataWriterBlocks"), "parts")
			figure(name+"_merged_rows_per_row", d("MergedRows")/float64(n), "rows")
			if l, err := os.ReadFile("/proc/loadavg"); err == nil {
				fmt.Fprintf(os.Stderr, "%s: load %s", name, l)
			}
			e.conn.Exec(ctx, "DROP DATABASE "+db+" SYNC")
		}
	}
	return nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// randomIDs is rows with ids in no order, as UUIDs would be.
func randomIDs(rows []procure.Received) []procure.Received {
	out := make([]procure.Received, len(rows))
	for i, r := range rows {
		e := *r.Event
		e.ID = fmt.Sprintf("%016x-%d", uint64(i)*0x9e3779b97f4a7c15, i)
		r.Event = &e
		out[i] = r
	}
	return out
}
