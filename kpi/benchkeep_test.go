package kpi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/supplywatch/supplywatch/chdb"
	"github.com/supplywatch/supplywatch/clickhouse"
)

// EnvBenchKeep names a directory where BenchmarkDashboard keeps the
// generated and built database between runs (SUPPLYWATCH_BENCH_KEEP=/path).
// Generating 50,000,000 events and building their KPIs takes about twenty
// minutes on a quiet machine; with a kept build of the same size and
// fingerprint (formulas, parameters, migrations), a run restores it and
// goes straight to the traffic and the steady refresh. A kept build of the
// same size but another fingerprint skips the generation only.
//
// The benchmark then runs its own embedded server on <dir>/run, a copy of
// <dir>/built (the data directory of the server stopped right after the
// build, with built.json saying what it holds), made afresh before each run.
//
// With SUPPLYWATCH_BENCH_KEEP_TRAFFIC=1 as well, the state after the
// traffic is kept too (<dir>/traffic) and reused: each run is then a
// restore and the steady refresh only, for iterating on the refresh's code
// (not its formulas: a changed fingerprint rebuilds).
const (
	EnvBenchKeep        = "SUPPLYWATCH_BENCH_KEEP"
	EnvBenchKeepTraffic = "SUPPLYWATCH_BENCH_KEEP_TRAFFIC"
)

// keptBench describes a kept snapshot.
type keptBench struct {
	Events      int       `json:"events"`
	End         time.Time `json:"end"`
	Database    string    `json:"database"`
	Fingerprint string    `json:"fingerprint"`
}

// keptServer is the benchmark's own embedded server over a kept directory.
type keptServer struct {
	b      testing.TB
	dir    string // the SUPPLYWATCH_BENCH_KEEP directory
	server *chdb.Server
	conn   driver.Conn
	db     string
}

func (k *keptServer) run() string { return filepath.Join(k.dir, "run") }

// loadKept reads <dir>/<name>.json; nil when there is none.
func loadKept(dir, name string) (*keptBench, error) {
	raw, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m keptBench
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s.json: %w", name, err)
	}
	return &m, nil
}

// restore replaces the run directory by a copy of snapshot name (none:
// an empty one), starts the server on it and connects to database db.
func (k *keptServer) restore(name, db string) {
	k.b.Helper()
	if err := os.RemoveAll(k.run()); err != nil {
		k.b.Fatal(err)
	}
	if name != "" {
		t0 := time.Now()
		if out, err := exec.Command("cp", "-a", filepath.Join(k.dir, name), k.run()).CombinedOutput(); err != nil {
			k.b.Fatalf("bench keep: restore %s: %v\n%s", name, err, out)
		}
		fmt.Fprintf(os.Stderr, "bench keep: restored %s in %s\n", name, time.Since(t0).Round(time.Second))
	}
	k.start(db)
}

func (k *keptServer) start(db string) {
	k.b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := chdb.Config{Dir: k.run(), Logger: logger, StartTimeout: 5 * time.Minute}
	if os.Getenv("SUPPLYWATCH_BENCH_PROFILE") != "" {
		// The embedded server keeps no query log unless told to.
		cfg.ConfigFile = filepath.Join(k.dir, "query_log.xml")
		conf := "<clickhouse><query_log><database>system</database><table>query_log</table>" +
			"<flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>" +
			"<part_log><database>system</database><table>part_log</table>" +
			"<flush_interval_milliseconds>1000</flush_interval_milliseconds></part_log>" +
			"<processors_profile_log><database>system</database><table>processors_profile_log</table>" +
			"<flush_interval_milliseconds>1000</flush_interval_milliseconds></processors_profile_log></clickhouse>\n"
		if err := os.WriteFile(cfg.ConfigFile, []byte(conf), 0o644); err != nil {
			k.b.Fatal(err)
		}
		// The engine keeps no metadata of its system database: after a
		// restart on the same directory (a snapshot, a restore) it cannot
		// create system.query_log over the earlier server's files
		// ("Directory for table data data/system/query_log/ already
		// exists") and the log stays empty.
		for _, t := range []string{"query_log", "part_log", "processors_profile_log"} {
			if err := os.RemoveAll(filepath.Join(k.run(), "data", "system", t)); err != nil {
				k.b.Fatal(err)
			}
		}
	}
	s, err := chdb.Start(ctx, cfg)
	if err != nil {
		k.b.Fatalf("bench keep: start server: %v", err)
	}
	k.server = s
	admin, err := chgo.Open(&chgo.Options{Addr: []string{s.NativeAddr()}, DialTimeout: 5 * time.Second})
	if err != nil {
		k.b.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		k.b.Fatalf("bench keep: %v", err)
	}
	k.conn, err = chgo.Open(&chgo.Options{Addr: []string{s.NativeAddr()}, Auth: chgo.Auth{Database: db}, DialTimeout: 5 * time.Second})
	if err != nil {
		k.b.Fatal(err)
	}
	k.db = db
}

func (k *keptServer) stop() {
	k.b.Helper()
	if k.server == nil {
		return
	}
	k.conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := k.server.Stop(ctx)
	k.server = nil
	if err != nil {
		k.b.Fatalf("bench keep: stop server: %v", err)
	}
}

// snapshot stops the server, copies the run directory to snapshot name
// with its description m, and starts the server again.
func (k *keptServer) snapshot(name string, m keptBench) {
	k.b.Helper()
	k.stop()
	t0 := time.Now()
	dst := filepath.Join(k.dir, name)
	os.Remove(filepath.Join(k.dir, name+".json"))
	if err := os.RemoveAll(dst); err != nil {
		k.b.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", k.run(), dst).CombinedOutput(); err != nil {
		k.b.Fatalf("bench keep: snapshot %s: %v\n%s", name, err, out)
	}
	raw, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(k.dir, name+".json"), raw, 0o644); err != nil {
		k.b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "bench keep: kept %s in %s\n", name, time.Since(t0).Round(time.Second))
	k.start(k.db)
}

// migrate applies the schema and returns the refresher's fingerprint.
func (k *keptServer) migrate(ctx context.Context) string {
	k.b.Helper()
	if err := clickhouse.Migrate(ctx, k.conn, clickhouse.Config{Database: k.db, RetentionDays: 3650}, discard); err != nil {
		k.b.Fatalf("migrate: %v", err)
	}
	fp, err := NewRefresher(k.conn, k.db, Config{}, discard, nil).fingerprint(ctx)
	if err != nil {
		k.b.Fatal(err)
	}
	return fp
}

// serverEvents returns counters of system.events that say where a
// refresh's server CPU went (merges against statements), for
// SUPPLYWATCH_BENCH_PROFILE; nil without it.
func serverEvents(ctx context.Context, conn driver.Conn) map[string]uint64 {
	if os.Getenv("SUPPLYWATCH_BENCH_PROFILE") == "" {
		return nil
	}
	rows, err := conn.Query(ctx, `SELECT event, value FROM system.events
WHERE event IN ('Merge', 'MergedRows', 'MergedUncompressedBytes', 'MergeTotalMilliseconds', 'InsertedRows', 'SelectedRows', 'UserTimeMicroseconds', 'SystemTimeMicroseconds')`)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return nil
	}
	defer rows.Close()
	m := map[string]uint64{}
	for rows.Next() {
		var k string
		var v uint64
		if rows.Scan(&k, &v) == nil {
			m[k] = v
		}
	}
	return m
}

// printEventDeltas prints after − before of serverEvents.
func printEventDeltas(before, after map[string]uint64) {
	for _, k := range []string{"Merge", "MergedRows", "MergedUncompressedBytes", "MergeTotalMilliseconds", "InsertedRows", "SelectedRows", "UserTimeMicroseconds", "SystemTimeMicroseconds"} {
		if _, ok := before[k]; ok {
			fmt.Printf("profile: system.events %s +%d\n", k, after[k]-before[k])
		}
	}
}

// builtFingerprint is the fingerprint of the last completed build.
func builtFingerprint(ctx context.Context, conn driver.Conn, db string) string {
	st, err := loadState(ctx, conn, db)
	if err != nil || st == nil || st.Build != nil {
		return ""
	}
	return st.Fingerprint
}

// refreshProfile is the steady refresh's server CPU by origin, from the
// query and part logs (seconds).
type refreshProfile struct {
	// reads: the dashboard's reads meanwhile (log_comment benchReads);
	// statements: the refresher's (log_comment LogComment…); merges: the
	// background merges that ended meanwhile.
	reads, statements, merges float64
}

// profileRefresh prints the statements the server ran between from and
// to whose CPU exceeded 50 ms, heaviest first (system.query_log), the
// refresher's statements by piece and the dashboard's reads, and the
// merges meanwhile by table: the per-statement profile of a refresh
// (SUPPLYWATCH_BENCH_PROFILE=1, with SUPPLYWATCH_BENCH_KEEP: the
// benchmark's own server then keeps a query log). It returns nil without
// a query log.
func profileRefresh(ctx context.Context, conn driver.Conn, from, to time.Time) *refreshProfile {
	if os.Getenv("SUPPLYWATCH_BENCH_PROFILE") == "" {
		return nil
	}
	if err := conn.Exec(ctx, "SYSTEM FLUSH LOGS"); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return nil
	}
	// The bounds go to the server in whole seconds: to, cut down, would
	// leave out the refresh's last statements (a month's re-roll at 50M
	// takes about a second). Nothing but this profile runs in between.
	to = to.Truncate(time.Second).Add(time.Second)
	rows, err := conn.Query(ctx, `SELECT
    (ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) / 1e6 AS cpu,
    read_rows, read_bytes, written_rows, memory_usage, query_duration_ms,
    substring(replaceRegexpAll(query, '\\s+', ' '), 1, 400)
FROM system.query_log
WHERE type = 'QueryFinish' AND event_time_microseconds BETWEEN ? AND ? AND is_initial_query
  AND (ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) > 50000
ORDER BY cpu DESC LIMIT 40`, from, to)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return nil
	}
	defer rows.Close()
	var total float64
	for rows.Next() {
		var cpu float64
		var readRows, readBytes, written, mem uint64
		var ms uint64
		var q string
		if err := rows.Scan(&cpu, &readRows, &readBytes, &written, &mem, &ms, &q); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return nil
		}
		total += cpu
		fmt.Printf("profile: %6.2f cpu-s %10d rows %7.1f MB read %8d written %6.0f MB mem %6d ms | %s\n",
			cpu, readRows, float64(readBytes)/1e6, written, float64(mem)/1e6, ms, strings.TrimSpace(q))
	}
	fmt.Printf("profile: %6.2f cpu-s in the statements above\n", total)
	// Every statement (of any CPU), by origin: the refresher's pieces
	// (log_comment "kpi refresh <piece>", the piece's kind), the
	// refresher's other statements, the dashboard's reads, the rest.
	var p refreshProfile
	orows, err := conn.Query(ctx, `SELECT multiIf(log_comment = ?, 'dashboard reads',
        startsWith(log_comment, ?), arrayStringConcat(arraySlice(splitByChar('/', log_comment), 1, 2), '/'),
        'other') AS origin,
    count(), sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) / 1e6, sum(read_rows), sum(written_rows)
FROM system.query_log
WHERE type IN ('QueryFinish', 'ExceptionWhileProcessing') AND event_time_microseconds BETWEEN ? AND ? AND is_initial_query
GROUP BY origin ORDER BY 3 DESC`, benchReads, LogComment, from, to)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return nil
	}
	defer orows.Close()
	for orows.Next() {
		var origin string
		var n, readRows, written uint64
		var cpu float64
		if err := orows.Scan(&origin, &n, &cpu, &readRows, &written); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return nil
		}
		switch {
		case origin == "dashboard reads":
			p.reads += cpu
		case strings.HasPrefix(origin, LogComment):
			p.statements += cpu
		}
		fmt.Printf("profile: by origin %-32s %5d statements %6.2f cpu-s %10d rows read %9d written\n", origin, n, cpu, readRows, written)
	}
	// The refresher's statements by kind (piece and normalized statement):
	// what each step costs, and how many statements (each has a fixed cost).
	krows, err := conn.Query(ctx, `SELECT log_comment, count(), sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) / 1e6 AS cpu,
    sum(read_rows), sum(written_rows), sum(query_duration_ms), any(substring(replaceRegexpAll(query, '\\s+', ' '), 1, 150))
FROM system.query_log
WHERE type = 'QueryFinish' AND event_time_microseconds BETWEEN ? AND ? AND is_initial_query AND startsWith(log_comment, ?)
GROUP BY log_comment, normalizedQueryHash(query) ORDER BY cpu DESC`, from, to, LogComment)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return nil
	}
	var nStmts uint64
	for krows.Next() {
		var lc, q string
		var n, readRows, written, ms uint64
		var cpu float64
		if err := krows.Scan(&lc, &n, &cpu, &readRows, &written, &ms, &q); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return nil
		}
		nStmts += n
		fmt.Printf("profile: kind %-24s %3d x %6.3f cpu-s %10d read %8d written %6d ms | %s\n", strings.TrimPrefix(lc, LogComment+" "), n, cpu, readRows, written, ms, q)
	}
	krows.Close()
	fmt.Printf("profile: %d refresher statements\n", nStmts)
	// With SUPPLYWATCH_BENCH_PROCESSORS=1 (the refresh's statements ran
	// with log_processors_profiles): where the heaviest statements' time
	// goes, by processor.
	if os.Getenv("SUPPLYWATCH_BENCH_PROCESSORS") != "" {
		prows, err := conn.Query(ctx, `WITH top AS (
    SELECT query_id, log_comment, (ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) / 1e6 AS cpu
    FROM system.query_log
    WHERE type = 'QueryFinish' AND event_time_microseconds BETWEEN ? AND ? AND startsWith(log_comment, ?)
    ORDER BY cpu DESC LIMIT 8)
SELECT t.log_comment, t.cpu, p.name, count(), sum(p.elapsed_us) / 1e6 AS s, sum(p.input_rows), sum(p.output_rows)
FROM system.processors_profile_log AS p INNER JOIN top AS t ON p.initial_query_id = t.query_id
GROUP BY t.query_id, t.log_comment, t.cpu, p.name HAVING s > 0.01 ORDER BY t.cpu DESC, s DESC`, from, to, LogComment)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile: processors:", err)
		} else {
			for prows.Next() {
				var lc, name string
				var cpu, sec float64
				var n, in, out uint64
				if err := prows.Scan(&lc, &cpu, &name, &n, &sec, &in, &out); err != nil {
					fmt.Fprintln(os.Stderr, "profile:", err)
					break
				}
				fmt.Printf("profile: processors %-22s %5.2f cpu-s | %-40s %3d x %6.3f s %10d in %10d out\n", strings.TrimPrefix(lc, LogComment+" "), cpu, name, n, sec, in, out)
			}
			prows.Close()
		}
	}
	// The merges meanwhile, by table (system.part_log): the traffic's
	// (events, the facts) against the refresh's own (kpi_*).
	mrows, err := conn.Query(ctx, `SELECT table, count(), sum(rows), sum(duration_ms),
    sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) / 1e6
FROM system.part_log WHERE event_type = 'MergeParts' AND event_time_microseconds BETWEEN ? AND ?
GROUP BY table ORDER BY 5 DESC`, from, to)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile: part_log:", err)
		return &p
	}
	defer mrows.Close()
	for mrows.Next() {
		var table string
		var n, rws, ms uint64
		var cpu float64
		if err := mrows.Scan(&table, &n, &rws, &ms, &cpu); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return &p
		}
		p.merges += cpu
		fmt.Printf("profile: merges of %-24s %3d merges %10d rows %7d ms %6.2f cpu-s\n", table, n, rws, ms, cpu)
	}
	return &p
}
