package kpi

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// BenchmarkDashboard prints the KPI figures over SUPPLYWATCH_BENCH_EVENTS
// generated events (default 50,000,000), as `name: value unit`:
//
//	SUPPLYWATCH_BENCH_EVENTS=5000000 go test ./kpi -run '^$' -bench Dashboard -benchtime 1x -timeout 90m
//
// the first full build of the rollup (wall time and the ClickHouse server's
// CPU: the embedded server's child process, in total and per step), then a
// steady refresh after five minutes of traffic at 1,000 events/s (300,000
// events: the chains of the newest POs, held back from the history,
// inserted in time order in the collector's batches of 200 events, paced;
// SUPPLYWATCH_BENCH_TRAFFIC_RATE=0 sends them unpaced), and the executive
// dashboard's query latency when quiet, during the build and during the
// refresh, with the console page's calls in total and its drill-down. The
// build logs its progress on stderr.
func BenchmarkDashboard(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("SUPPLYWATCH_BENCH_EVENTS"))
	if n == 0 {
		n = 50_000_000
	}
	label := fmt.Sprintf("kpi_%d", n)
	if n%1_000_000 == 0 {
		label = fmt.Sprintf("kpi_%dm", n/1_000_000)
	}
	fig := func(name string, v float64, unit string) { fmt.Printf("%s_%s: %.1f %s\n", label, name, v, unit) }
	ctx := context.Background()
	end := day(time.Now().UTC())
	var conn driver.Conn
	var db string
	// With SUPPLYWATCH_BENCH_KEEP (benchkeep_test.go): the generated
	// history, the build and (SUPPLYWATCH_BENCH_KEEP_TRAFFIC) the traffic
	// of an earlier run, when they match.
	var kept *keptServer
	generated, built, replayed := false, false, false
	if dir := os.Getenv(EnvBenchKeep); dir == "" {
		conn, db = migrated(b)
	} else {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		kept = &keptServer{b: b, dir: dir}
		b.Cleanup(kept.stop)
		for _, snap := range []string{"traffic", "built", ""} {
			if snap == "traffic" && os.Getenv(EnvBenchKeepTraffic) == "" {
				continue
			}
			m, err := loadKept(dir, snap)
			if err != nil {
				b.Fatal(err)
			}
			if snap != "" && (m == nil || m.Events != n) {
				continue
			}
			if snap == "" {
				m = &keptBench{Events: n, End: end, Database: "bench"}
			}
			kept.restore(snap, m.Database)
			fp := kept.migrate(ctx)
			if snap == "traffic" && fp != m.Fingerprint {
				kept.stop()
				continue
			}
			generated, built, replayed = snap != "", snap != "" && fp == m.Fingerprint, snap == "traffic"
			end = m.End
			break
		}
		conn, db = kept.conn, kept.db
		fmt.Fprintf(os.Stderr, "bench keep: reusing generated=%v built=%v traffic=%v (end %s)\n", generated, built, replayed, end.Format(time.DateOnly))
	}
	if err := SyncCalendars(ctx, conn, db, nil, end.AddDate(-3, 0, 0), end.AddDate(1, 0, 0)); err != nil {
		b.Fatal(err)
	}
	server, pid := serverCPU(b), serverPID(b)

	const traffic = 300_000 // 5 minutes at 1,000 events/s
	pos := max(n/15, 1)
	held := traffic / 15
	if !generated {
		t0 := time.Now()
		if err := GeneratePOs(ctx, conn, db, n, end, 0, pos-held); err != nil {
			b.Fatal(err)
		}
		fig("generate", time.Since(t0).Seconds(), "s")
		var stored uint64
		conn.QueryRow(ctx, "SELECT count() FROM "+db+".events").Scan(&stored)
		fig("events", float64(stored), "events")

		// The history went in as a few huge inserts; real traffic would not
		// put millions of rows in the seconds before the build that the next
		// refresh reads again (Refresher.overlap).
		time.Sleep(16 * time.Second)
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: benchLogLevel()}))
	r := NewRefresher(conn, db, Config{}, log, nil)
	// SUPPLYWATCH_BENCH_WHOLE_CELLS=1: the refresh re-rolls every touched
	// cell from its rows in kpi_cells, not by difference (the comparison).
	r.wholeCells = os.Getenv("SUPPLYWATCH_BENCH_WHOLE_CELLS") != ""
	q := NewQuerier(conn, db, Config{}, func() time.Time { return end })
	// The server's CPU per step of a refresh: the pieces by kind (finding
	// the touched keys, each entity family, the months' cell re-roll).
	steps := map[string]time.Duration{}
	r.observe = func(piece string) func() {
		kind := piece
		if f := strings.Split(piece, "/"); f[0] == "entities" {
			kind = f[0] + "_" + f[1]
		} else {
			kind = f[0]
		}
		c0 := server()
		return func() { steps[kind] += server() - c0 }
	}
	var measured time.Duration // the server's CPU of the last measure
	measure := func(name string, asOf time.Time) Report {
		clear(steps)
		reads := readWhile(ctx, q, end)
		th0 := serverThreads(pid)
		cpu0 := server()
		t0 := time.Now()
		rctx := ctx
		if os.Getenv("SUPPLYWATCH_BENCH_PROCESSORS") != "" {
			rctx = withSettings(rctx, chgo.Settings{"log_processors_profiles": 1})
		}
		// SUPPLYWATCH_BENCH_REFRESH_SETTINGS=name=value,… (benchmark
		// only): server settings for every statement of the refresh, to
		// weigh them on the same kept data.
		if v := os.Getenv("SUPPLYWATCH_BENCH_REFRESH_SETTINGS"); v != "" {
			set := chgo.Settings{}
			for _, kv := range strings.Split(v, ",") {
				k, val, _ := strings.Cut(kv, "=")
				if n, err := strconv.Atoi(val); err == nil {
					set[k] = n
				} else {
					set[k] = val
				}
			}
			rctx = withSettings(rctx, set)
		}
		rep, err := r.Refresh(rctx, asOf)
		took := time.Since(t0)
		cpu := server() - cpu0
		if th0 != nil {
			printThreadDeltas(th0, serverThreads(pid), cpu)
		}
		measured = cpu
		ds := reads()
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		fig(name, took.Seconds(), "s")
		fig(name+"_server_cpu", cpu.Seconds(), "cpu-s")
		kinds := make([]string, 0, len(steps))
		var inSteps time.Duration
		for k, d := range steps {
			kinds = append(kinds, k)
			inSteps += d
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fig(name+"_server_cpu_"+k, steps[k].Seconds(), "cpu-s")
		}
		// State, scratch tables, and the dashboard reads running meanwhile.
		fig(name+"_server_cpu_other", (cpu - inSteps).Seconds(), "cpu-s")
		fig(name+"_pieces", float64(rep.Pieces), "pieces")
		fig(name+"_months", float64(len(rep.Months)), "months")
		if len(ds) > 0 {
			fig(name+"_dashboard_p95", float64(Percentile(ds, 0.95).Microseconds())/1000, "ms")
		}
		return rep
	}
	if !built {
		measure("full_build", end)
		if kept != nil {
			kept.snapshot("built", keptBench{Events: n, End: end, Database: db, Fingerprint: builtFingerprint(ctx, conn, db)})
			conn, r.conn, q.conn = kept.conn, kept.conn, kept.conn
			server, pid = serverCPU(b), serverPID(b)
		}
	} else {
		fig("full_build_reused", 1, "")
	}

	// Five minutes of traffic: the held-back POs' events in time order,
	// in the collector's flushes (every 200 ms: 200 events at 1,000
	// events/s, more when an insert is slow, at most its batch_size of
	// 10,000), paced at SUPPLYWATCH_BENCH_TRAFFIC_RATE events/s (default
	// 1,000; 0: batches of 200 unpaced, a compressed replay).
	// SUPPLYWATCH_BENCH_EVENTS_MERGE_BASE=default (benchmark only): the
	// traffic goes into events and event_ids without migration 0261's
	// merge_selector_base (reset to the server's default), to tell its
	// merges' share of the steady refresh.
	if v := os.Getenv("SUPPLYWATCH_BENCH_EVENTS_MERGE_BASE"); v != "" && !replayed {
		for _, t := range []string{"events", "event_ids"} {
			stmt := "ALTER TABLE " + db + "." + t + " MODIFY SETTING merge_selector_base = " + v
			if v == "default" {
				stmt = "ALTER TABLE " + db + "." + t + " RESET SETTING merge_selector_base"
			}
			if err := conn.Exec(ctx, stmt); err != nil {
				b.Fatal(err)
			}
		}
		fmt.Fprintf(os.Stderr, "bench: events and event_ids merge_selector_base = %s for the traffic\n", v)
	}
	rate := 1000.0
	if v, ok := os.LookupEnv("SUPPLYWATCH_BENCH_TRAFFIC_RATE"); ok {
		rate, _ = strconv.ParseFloat(v, 64)
	}
	if !replayed {
		tr, err := ReplayTraffic(ctx, conn, db, n, end, pos-held, pos, 200, 10000, rate)
		if err != nil {
			b.Fatal(err)
		}
		fig("traffic_events", float64(tr.Events), "events")
		fig("traffic_batches", float64(tr.Batches), "inserts")
		fig("traffic_insert", tr.Took.Seconds(), "s")
		fig("traffic_rate", tr.Rate, "events/s")
		if kept != nil && os.Getenv(EnvBenchKeepTraffic) != "" {
			kept.snapshot("traffic", keptBench{Events: n, End: end, Database: db, Fingerprint: builtFingerprint(ctx, conn, db)})
			conn, r.conn, q.conn = kept.conn, kept.conn, kept.conn
			server, pid = serverCPU(b), serverPID(b)
		}
	} else {
		fig("traffic_reused", 1, "")
	}
	// The traffic's last inserts leave merges behind (at 50M a merge of
	// kpi_deliveries' 1.8 million rows, 3 to 4.5 cpu-s), and a server
	// restarted on a snapshot runs again those its stop interrupted:
	// ingest's cost, not the refresh's. They finish first (at most three
	// minutes), so the refresh's figures hold its own work and the merges
	// of what it writes.
	settle := time.Now()
	for quiet := 0; quiet < 2 && time.Since(settle) < 3*time.Minute; {
		var running uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM system.merges").Scan(&running); err != nil {
			b.Fatal(err)
		}
		if running == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(time.Second)
	}
	fig("steady_refresh_settle", time.Since(settle).Seconds(), "s")
	t1 := time.Now()
	ev0 := serverEvents(ctx, conn)
	rep := measure("steady_refresh", end.Add(5*time.Minute))
	fig("steady_refresh_touched", float64(rep.Touched), "keys")
	if ev0 != nil {
		printEventDeltas(ev0, serverEvents(ctx, conn))
	}
	if p := profileRefresh(ctx, conn, t1, time.Now()); p != nil {
		// The server's CPU above includes the dashboard's reads running
		// meanwhile; the refresh's own is the rest (issue 16's target is
		// the refresh's cost).
		total := measured.Seconds()
		fig("steady_refresh_server_cpu_reads", p.reads, "cpu-s")
		fig("steady_refresh_server_cpu_own", total-p.reads, "cpu-s")
		fig("steady_refresh_server_cpu_statements", p.statements, "cpu-s")
		fig("steady_refresh_server_cpu_merges", p.merges, "cpu-s")
	}

	if os.Getenv("SUPPLYWATCH_BENCH_REFRESH_ONLY") != "" {
		// Iterating on the refresh (A/B on kept traffic): no dashboard
		// figures afterwards.
		return
	}
	ds, err := DashboardQueries(ctx, q, "bench", end, 10)
	if err != nil {
		b.Fatal(err)
	}
	fig("dashboard_query_p50", float64(Percentile(ds, 0.5).Microseconds())/1000, "ms")
	fig("dashboard_query_p95", float64(Percentile(ds, 0.95).Microseconds())/1000, "ms")
	// The console's /dashboard page: its KPI calls one after another (target
	// 300 ms in total), and its drill-down to the documents behind a figure.
	pages, drills, err := DashboardPageLoads(ctx, q, "bench", end, 12)
	if err != nil {
		b.Fatal(err)
	}
	fig("console_dashboard_page_total_p95", float64(Percentile(pages, 0.95).Microseconds())/1000, "ms")
	fig("console_dashboard_drilldown_p95", float64(Percentile(drills, 0.95).Microseconds())/1000, "ms")
	cats, err := CategoryLoads(ctx, q, "bench", end, 8)
	if err != nil {
		b.Fatal(err)
	}
	fig("console_dashboard_category_p95", float64(Percentile(cats, 0.95).Microseconds())/1000, "ms")
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(la))
		v, _ := strconv.ParseFloat(f[0], 64)
		fig("load_average_1m", v, "")
	}
}

// benchReads is the log_comment of the dashboard reads that readWhile
// runs, by which the profile tells their server CPU from the refresh's.
const benchReads = "kpi bench dashboard reads"

// readWhile runs the dashboard's queries once a second (a dashboard user
// paging through, not a tight loop whose own load would swamp the server's
// CPU figure) until the returned function is called, which returns their
// durations.
func readWhile(ctx context.Context, q *Querier, end time.Time) func() []time.Duration {
	ctx, cancel := context.WithCancel(withSettings(ctx, chgo.Settings{"log_comment": benchReads}))
	var mu sync.Mutex
	var all []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			ds, err := DashboardQueries(ctx, q, "bench", end, 1)
			if err != nil {
				return
			}
			mu.Lock()
			all = append(all, ds...)
			mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return func() []time.Duration {
		cancel()
		<-done
		return all
	}
}

// serverCPU returns a reader of the CPU time (user + system) of the
// embedded ClickHouse server: the child process the test binary started.
func serverCPU(b *testing.B) func() time.Duration {
	b.Helper()
	p := fmt.Sprintf("/proc/%d/stat", serverPID(b))
	return func() time.Duration {
		raw, err := os.ReadFile(p)
		if err != nil {
			b.Fatalf("server cpu: %v", err)
		}
		return statCPU(raw)
	}
}

// serverPID is the process id of the embedded ClickHouse server: the
// child process the test binary started.
func serverPID(b *testing.B) int {
	b.Helper()
	self := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
		if ppid, _ := strconv.Atoi(f[1]); ppid == self {
			pid, _ := strconv.Atoi(strings.Split(p, "/")[2])
			return pid
		}
	}
	b.Fatal("server cpu: no embedded ClickHouse child process (SUPPLYWATCH_TEST_CLICKHOUSE points elsewhere?)")
	return 0
}

// statCPU is the user + system time of a /proc stat line.
func statCPU(raw []byte) time.Duration {
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// threadCPU is the CPU time of each thread of process pid, by thread id,
// with the thread's name (ClickHouse names its threads by role:
// QueryPipelineEx, MergeMutate, SystemLogFlush, BgSchPool, …).
type threadCPU map[string]struct {
	name string
	cpu  time.Duration
}

// serverThreads reads the CPU time of every thread of process pid; nil
// without SUPPLYWATCH_BENCH_PROFILE.
func serverThreads(pid int) threadCPU {
	if os.Getenv("SUPPLYWATCH_BENCH_PROFILE") == "" {
		return nil
	}
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/[0-9]*/stat", pid))
	m := threadCPU{}
	for _, p := range stats {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		name := string(raw[bytes.IndexByte(raw, '(')+1 : bytes.LastIndexByte(raw, ')')])
		m[p] = struct {
			name string
			cpu  time.Duration
		}{name, statCPU(raw)}
	}
	return m
}

// printThreadDeltas prints the CPU the server's threads spent between
// two serverThreads readings, by thread name, and what threads that
// ended meanwhile spent (total, the process's CPU meanwhile, minus the
// threads alive at the end).
func printThreadDeltas(before, after threadCPU, total time.Duration) {
	by := map[string]time.Duration{}
	var sum time.Duration
	for tid, t := range after {
		d := t.cpu - before[tid].cpu
		by[t.name] += d
		sum += d
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return by[names[i]] > by[names[j]] })
	for _, n := range names {
		if by[n] > 0 {
			fmt.Printf("profile: threads %-16s %6.2f cpu-s\n", n, by[n].Seconds())
		}
	}
	fmt.Printf("profile: threads (ended meanwhile) %6.2f cpu-s\n", (total - sum).Seconds())
}

// benchLogLevel is Debug (each piece's time) with SUPPLYWATCH_BENCH_DEBUG set.
func benchLogLevel() slog.Level {
	if os.Getenv("SUPPLYWATCH_BENCH_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
