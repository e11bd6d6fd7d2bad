// Package slabench measures the SLA scheduler with a large number of open
// timers in PostgreSQL: the peak RSS of the process that runs the
// scheduler and the breach-to-exception lag, from a timer's due time to the
// commit of the transaction that raised its exception (Scheduler.OnFire).
//
// It creates a database of its own on the server it is given, fills it
// server-side (INSERT … SELECT generate_series, so the client holds none of
// the rows), runs one sla.Scheduler on the wall clock as the rules process
// does, and drops the database at the end. Peak RSS is VmHWM of this
// process, reset when the scheduler starts (/proc/self/clear_refs), so what
// the process did before does not count; PostgreSQL's own memory is not
// counted. It leaves printing figures to cmd/supplywatch-bench.
package slabench

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/rules/sla"
)

// Config sizes a run. The zero value, after Defaults, is the issue's
// figure: 1,000,000 open timers, 5,000 of them due during a 20 s window.
type Config struct {
	// URL is the PostgreSQL server (any database on it; the run creates
	// and drops its own).
	URL string
	// Timers is the number of running timers; Due of them come due during
	// Window, spread evenly, the rest stay open (due in the next 30 days).
	Timers int
	Due    int
	Window time.Duration
	// Scheduler configures the scheduler measured (defaults of sla.Config).
	Scheduler sla.Config
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Timers == 0 {
		c.Timers = 1_000_000
	}
	if c.Due == 0 {
		c.Due = 5_000
	}
	if c.Window == 0 {
		c.Window = 20 * time.Second
	}
}

// Result is what a run measured.
type Result struct {
	Timers, Fired int
	// Insert is the time to insert the timers and analyze the table.
	Insert time.Duration
	// Lag percentiles from due time to the exception's commit.
	LagP50, LagP99, LagMax time.Duration
	// PeakRSS is VmHWM (bytes) while the scheduler ran; RSSReset says
	// whether it could be reset at the start (else it is the process's).
	PeakRSS  int64
	RSSReset bool
}

// RunTimerBench runs the benchmark with the defaults on the server at
// pgURL and prints its figures to w as "name: value unit" lines.
func RunTimerBench(ctx context.Context, pgURL string, w io.Writer) error {
	cfg := Config{URL: pgURL}
	cfg.Defaults()
	r, err := Run(ctx, cfg)
	if err != nil {
		return err
	}
	return r.Print(w)
}

// Print writes the figures as "name: value unit" lines.
func (r Result) Print(w io.Writer) error {
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
	}
	rss := "sla scheduler peak RSS"
	if !r.RSSReset {
		rss += " (whole process)"
	}
	_, err := fmt.Fprintf(w, "sla open timers: %d timers\nsla timers insert: %.1f s\nsla timers fired: %d timers\n"+
		"sla breach-to-exception lag p50: %s ms\nsla breach-to-exception lag p99: %s ms\nsla breach-to-exception lag max: %s ms\n%s: %.0f MB\n",
		r.Timers, r.Insert.Seconds(), r.Fired, ms(r.LagP50), ms(r.LagP99), ms(r.LagMax), rss, float64(r.PeakRSS)/(1<<20))
	return err
}

// Run creates a database on cfg.URL's server, fills it with cfg.Timers
// running timers, runs a scheduler until the Due ones have fired (or the
// window has passed by 30 s) and drops the database.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg.Defaults()
	if cfg.Due > cfg.Timers {
		return Result{}, errors.New("slabench: more due timers than timers")
	}
	dbURL, drop, err := createDatabase(ctx, cfg.URL)
	if err != nil {
		return Result{}, err
	}
	defer drop()
	log := slog.New(slog.DiscardHandler)
	db, err := postgres.Open(ctx, postgres.Config{URL: dbURL, MaxConns: 4})
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	if err := db.Migrate(ctx, log); err != nil {
		return Result{}, err
	}

	res := Result{Timers: cfg.Timers}
	start := time.Now()
	open := cfg.Timers - cfg.Due
	// The open timers: due from an hour from now over 30 days.
	if err := insertTimers(ctx, db, 0, open, time.Now().Add(time.Hour), 30*24*time.Hour); err != nil {
		return res, err
	}
	if _, err := db.Pool.Exec(ctx, "VACUUM ANALYZE sla_timers"); err != nil {
		return res, fmt.Errorf("slabench: analyze: %w", err)
	}
	res.Insert = time.Since(start)

	// The due timers: spread over the window, which starts in a second.
	first := time.Now().Add(time.Second)
	if err := insertTimers(ctx, db, open, cfg.Due, first, cfg.Window); err != nil {
		return res, err
	}

	store := postgres.NewStateStore(db)
	sched := sla.New(cfg.Scheduler, store, log, nil)
	var mu sync.Mutex
	lags := make([]time.Duration, 0, cfg.Due)
	allFired := make(chan struct{})
	sched.OnFire = func(due []time.Time, firedAt time.Time) {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range due {
			lags = append(lags, firedAt.Sub(d))
		}
		if len(lags) >= cfg.Due && len(lags)-len(due) < cfg.Due {
			close(allFired)
		}
	}
	debug.FreeOSMemory()
	res.RSSReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sched.Run(rctx) }()
	select {
	case <-allFired:
	case <-time.After(time.Until(first.Add(cfg.Window + 30*time.Second))):
	case <-ctx.Done():
	}
	cancel()
	if err := <-done; err != nil {
		return res, err
	}
	if res.PeakRSS, err = peakRSS(); err != nil {
		return res, err
	}
	mu.Lock()
	defer mu.Unlock()
	res.Fired = len(lags)
	if res.Fired < cfg.Due {
		return res, fmt.Errorf("slabench: %d of %d due timers fired within 30 s after the window", res.Fired, cfg.Due)
	}
	slices.Sort(lags)
	pct := func(p float64) time.Duration { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	res.LagP50, res.LagP99, res.LagMax = pct(0.50), pct(0.99), lags[len(lags)-1]
	return res, ctx.Err()
}

// insertTimers inserts n running timers numbered from offset, due evenly
// from first over span, with the body the rules engine would have written
// (procure.Timer JSON) for po-not-acknowledged.
func insertTimers(ctx context.Context, db *postgres.DB, offset, n int, first time.Time, span time.Duration) error {
	// In chunks, two at a time (the server's CPU builds the rows).
	const chunk, workers = 100_000, 2
	step := float64(span.Microseconds()) / float64(max(n, 1))
	chunks := make(chan int)
	errs := make(chan error, workers)
	for range workers {
		go func() {
			var err error
			for from := range chunks {
				if err == nil {
					err = insertChunk(ctx, db, offset, from, min(n, from+chunk), first, step)
				}
			}
			errs <- err
		}()
	}
	for from := 0; from < n; from += chunk {
		chunks <- from
	}
	close(chunks)
	var err error
	for range workers {
		err = cmp.Or(err, <-errs)
	}
	return err
}

func insertChunk(ctx context.Context, db *postgres.DB, offset, from, to int, first time.Time, step float64) error {
	const iso = `to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
	due, started := fmt.Sprintf(iso, "due"), fmt.Sprintf(iso, "(due - interval '3 days')")
	const zero = `'0001-01-01T00:00:00Z'`
	_, err := db.Pool.Exec(ctx, `INSERT INTO sla_timers (tenant, sla_id, subject, doc_key, state, next_fire_at, due_at, body)
			SELECT 'bench', 'po-not-acknowledged', subject, subject, 'running', due, due, jsonb_build_object(
			  'tenant', 'bench', 'sla', 'po-not-acknowledged', 'subject', subject, 'doc_key', subject, 'state', 'running',
			  'calendar', 'P01', 'started_at', `+started+`, 'due_at', `+due+`, 'duration', 100800000000000, 'remaining', 0,
			  'paused_at', `+zero+`, 'stopped_at', `+zero+`, 'next_fire_at', `+due+`, 'fired_at', `+zero+`, 'version', 1,
			  'raise', jsonb_build_object('tenant', 'bench', 'rule', 'po-not-acknowledged', 'kind', 'sla', 'subject', subject,
			    'title', 'PO not acknowledged in time', 'message', 'PO ' || po || ' (v1) not acknowledged by supplier S' || (i % 400),
			    'severity', 'high', 'team', 'procurement', 'supplier', 'S' || (i % 400), 'plant', 'P01', 'po', po,
			    'need_by', `+zero+`, 'at', `+zero+`))
			FROM (SELECT i, (4500000000 + i)::text AS po, 'po/' || (4500000000 + i) AS subject,
			        $1::timestamptz + ((i - $2) * $3::float8) * interval '1 microsecond' AS due
			      FROM generate_series($4::bigint, $5::bigint) AS i) AS s`,
		first, offset, step, offset+from, offset+to-1)
	if err != nil {
		return fmt.Errorf("slabench: insert timers: %w", err)
	}
	return nil
}

// createDatabase creates an empty database on the server of base and
// returns its URL and a function that drops it.
func createDatabase(ctx context.Context, base string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("slabench: connect %s: %w", redact(base), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	b := make([]byte, 4)
	rand.Read(b)
	name := "swbench_timers_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("slabench: create database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("slabench: %s is not a URL: %w", redact(base), err)
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	}
	return u.String(), drop, nil
}

func redact(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return "(postgres url)"
}

// peakRSS returns VmHWM of this process in bytes.
func peakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("slabench: peak RSS: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("slabench: no VmHWM in /proc/self/status")
}
