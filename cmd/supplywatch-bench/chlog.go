package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// serverEvents is a snapshot of the server's cumulative profile events
// (system.events): what it did, counted, from inserts and parts written to
// merges, whoever asked.
type serverEvents map[string]uint64

func (e *benchEnv) serverEvents(ctx context.Context) (serverEvents, error) {
	rows, err := e.conn.Query(ctx, "SELECT event, value FROM system.events")
	if err != nil {
		return nil, fmt.Errorf("system.events: %w", err)
	}
	defer rows.Close()
	out := serverEvents{}
	for rows.Next() {
		var k string
		var v uint64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// printServerWork prints, from two snapshots around a run of rows rows,
// the inserts, parts and merges the server counted, as figures under
// prefix, and every profile event that moved to stderr (for a closer look).
func printServerWork(prefix string, before, after serverEvents, rows uint64) {
	d := func(k string) float64 { return float64(after[k] - before[k]) }
	figure(prefix+"_inserts", d("InsertQuery"), "inserts")
	if n := d("InsertQuery"); n > 0 {
		figure(prefix+"_rows_per_insert", d("InsertedRows")/n, "rows")
	}
	figure(prefix+"_parts_written", d("MergeTreeDataWriterBlocks"), "parts")
	figure(prefix+"_merges", d("Merge"), "merges")
	figure(prefix+"_merged_rows_per_row", d("MergedRows")/float64(rows), "rows")
	figure(prefix+"_merge_wall_seconds", d("MergeTotalMilliseconds")/1000, "s")
	var moved []string
	for k, v := range after {
		if v > before[k] {
			moved = append(moved, fmt.Sprintf("  %s %d", k, v-before[k]))
		}
	}
	slices.Sort(moved)
	fmt.Fprintf(os.Stderr, "%s: server profile events that moved:\n%s\n", prefix, strings.Join(moved, "\n"))
}

// idleServerCPU is the server's CPU per second over d while this process
// sends it nothing: its background work.
func idleServerCPU(pid int, d time.Duration) (float64, error) {
	c0, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	c1, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	return (c1 - c0).Seconds() / d.Seconds(), nil
}
