package kpi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Refresher keeps kpi_rollup current, in bounded pieces:
//
//   - a full build (the first run, or after the formulas, the parameters or
//     the applied migrations changed) computes the entity rows of every
//     family one key range at a time into kpi_entities, recording each
//     finished piece, so an interrupted build resumes where it stopped;
//   - an incremental refresh finds the entities that new facts touched
//     (events and exception history stored since the last watermark, and
//     the entities whose as-of-dependent figures the passing time changed),
//     recomputes those entities only, and rolls up the months whose
//     entities changed.
//
// Each month of kpi_rollup is computed from its kpi_entities partition into
// a stage table of the refresh and swapped in with REPLACE PARTITION, so
// readers never see a half-written month. Every piece runs under its own
// statement timeout; a piece failing for a transient reason is retried a
// bounded number of times, and a piece that still fails is reported while
// the others land: its month stays pending for the next refresh and the
// KPIs' completeness time stops moving, which the stale alert reports.
//
// Only one Refresher should run per database (the analytics role); two
// would do the same work twice but not corrupt it (every write is an
// idempotent replace).
type Refresher struct {
	conn    driver.Conn
	db      string
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	metrics *Metrics
	trigger chan struct{}
	// overlap is how far before the watermark an incremental refresh
	// looks for new facts: an insert that started before the last refresh
	// read the clock may become visible after it. Re-reading recomputes
	// some entities twice, which changes nothing.
	overlap time.Duration
	// fault, when set (tests), runs before each attempt of a piece and
	// fails the attempt with its error.
	fault func(piece string, attempt int) error
	// cluster is the sharded cluster the tables are on (nil: one server).
	cluster Cluster
	// observe, when set (benchmarks), is called before each attempt of a
	// piece; the function it returns after the attempt.
	observe func(piece string) func()
	// wholeCells, when set (benchmarks, for the comparison), re-rolls
	// every touched cell from its rows, as before the difference.
	wholeCells bool
}

// Cluster is a sharded ClickHouse (clickhouse.Cluster): kpi_entities and
// kpi_rollup are Distributed tables over shard-local tables, which the
// refresher truncates, stages and swaps through it. Queries and inserts go
// through the Distributed tables as on one server.
type Cluster interface {
	// Name is the cluster's name in remote_servers.
	Name() string
	// LocalTable is the shard-local table under the Distributed table name.
	LocalTable(name string) string
	// DDL runs a schema statement written for one server ("{db}.table")
	// on every server of the cluster, on the shard-local tables.
	DDL(ctx context.Context, stmt string) error
	// OnShards runs fn once per shard, connected to a server of it, once
	// that server is caught up with the shard-local tables named.
	OnShards(ctx context.Context, tables []string, fn func(ctx context.Context, conn driver.Conn) error) error
}

// WithCluster makes the Refresher work on the tables of cluster c and
// returns it.
func (r *Refresher) WithCluster(c Cluster) *Refresher {
	r.cluster = c
	return r
}

// ddl runs a schema statement written for one server ("{db}.table").
func (r *Refresher) ddl(ctx context.Context, stmt string) error {
	if r.cluster != nil {
		return r.cluster.DDL(ctx, stmt)
	}
	return r.conn.Exec(ctx, strings.ReplaceAll(stmt, "{db}", r.db))
}

// systemTable is system.<name> of the server, or of every server of the
// cluster.
func (r *Refresher) systemTable(name string) string {
	if r.cluster != nil {
		return "clusterAllReplicas('" + r.cluster.Name() + "', system." + name + ")"
	}
	return "system." + name
}

// localTable is the table holding a server's rows of table.
func (r *Refresher) localTable(table string) string {
	if r.cluster != nil {
		return r.cluster.LocalTable(table)
	}
	return table
}

// NewRefresher returns a Refresher over database db. now is the clock
// (time.Now when nil): the as-of instant deciding what is overdue.
func NewRefresher(conn driver.Conn, db string, cfg Config, log *slog.Logger, now func() time.Time) *Refresher {
	cfg.Defaults()
	if now == nil {
		now = time.Now
	}
	return &Refresher{conn: conn, db: db, cfg: cfg, log: log, now: now, trigger: make(chan struct{}, 1), overlap: 15 * time.Second}
}

// WithMetrics makes the Refresher report to m and returns it.
func (r *Refresher) WithMetrics(m *Metrics) *Refresher {
	r.metrics = m
	return r
}

// Trigger asks a running Refresher to refresh now (after a backfill or a
// bulk load) instead of at its next tick. It never blocks.
func (r *Refresher) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Report says what a refresh did.
type Report struct {
	// Full is true for a full build.
	Full bool
	// Touched counts the entity keys an incremental refresh recomputed.
	Touched uint64
	// Months are the months (YYYYMM) rolled up.
	Months []string
	// Pieces, Retries and Failed count the pieces run, the extra attempts
	// and the pieces that failed after their attempts.
	Pieces, Retries, Failed int
	// Failures name each failed piece and its error.
	Failures []string
	// CompleteThrough is the time up to which stored facts are in the
	// rollup after this refresh (unchanged when a piece failed).
	CompleteThrough time.Time
}

func (rep *Report) err() error {
	if rep.Failed == 0 {
		return nil
	}
	return fmt.Errorf("kpi refresh: %d pieces failed: %s", rep.Failed, strings.Join(rep.Failures, "; "))
}

// refreshState is the refresher's progress, kept in kpi_refresh_state.
type refreshState struct {
	Fingerprint string `json:"fingerprint"`
	// Watermark: facts stored before it are in kpi_entities.
	Watermark time.Time `json:"watermark"`
	// AsOf is the as-of instant of the last completed refresh.
	AsOf time.Time `json:"as_of"`
	// CompleteThrough: facts stored before it are in kpi_rollup.
	CompleteThrough time.Time `json:"complete_through"`
	// Pending are months whose rollup failed: the next refresh redoes them.
	Pending []string `json:"pending,omitempty"`
	// Build is a full build in progress.
	Build *buildState `json:"build,omitempty"`
}

type buildState struct {
	Fingerprint string    `json:"fingerprint"`
	Version     uint64    `json:"version"`
	AsOf        time.Time `json:"as_of"`
	Started     time.Time `json:"started"`
	Pieces      []piece   `json:"pieces"`
	Done        []string  `json:"done"`
}

// piece is one bounded statement of a build: the entities of one family in
// one key range.
type piece struct {
	Family string `json:"family"`
	Name   string `json:"name"`
	Filter string `json:"filter"`
}

const stateName = "refresher"

func (r *Refresher) loadState(ctx context.Context) (*refreshState, error) {
	return loadState(ctx, r.conn, r.db)
}

func loadState(ctx context.Context, conn driver.Conn, db string) (*refreshState, error) {
	var s string
	err := conn.QueryRow(ctx, "SELECT argMax(state, at) FROM "+db+".kpi_refresh_state WHERE name = ?", stateName).Scan(&s)
	if err != nil {
		return nil, fmt.Errorf("kpi refresh: read state: %w", err)
	}
	if s == "" {
		return nil, nil
	}
	var st refreshState
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return nil, fmt.Errorf("kpi refresh: state: %w", err)
	}
	return &st, nil
}

func (r *Refresher) saveState(ctx context.Context, st *refreshState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := r.conn.Exec(ctx, "INSERT INTO "+r.db+".kpi_refresh_state (name, at, state) VALUES (?, now64(3), ?)", stateName, string(b)); err != nil {
		return fmt.Errorf("kpi refresh: save state: %w", err)
	}
	return nil
}

// fingerprint names what the entity rows depend on besides the facts: the
// formulas, the parameters and the applied migrations (one that backfills
// fact tables writes no events). A change means a full build.
func (r *Refresher) fingerprint(ctx context.Context) (string, error) {
	var n, maxV uint64
	if err := r.conn.QueryRow(ctx, "SELECT count(), toUInt64(max(version)) FROM (SELECT DISTINCT version FROM "+r.db+".schema_migrations)").Scan(&n, &maxV); err != nil {
		return "", fmt.Errorf("kpi refresh: migrations: %w", err)
	}
	h := sha256.New()
	for _, f := range families {
		fmt.Fprintln(h, f.name, f.sql)
	}
	fmt.Fprintln(h, linesSQL(""))
	for _, f := range families {
		fmt.Fprintln(h, categorized("", f, "", ""))
	}
	fmt.Fprintf(h, "%+v\nmigrations %d %d\n", r.cfg.Params, n, maxV)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func (r *Refresher) serverNow(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := r.conn.QueryRow(ctx, "SELECT now64(3)").Scan(&t); err != nil {
		return t, fmt.Errorf("kpi refresh: server clock: %w", err)
	}
	return t.UTC(), nil
}

// RefreshAll rebuilds every entity and every month from the facts, as of
// asOf, in pieces.
func (r *Refresher) RefreshAll(ctx context.Context, asOf time.Time) (Report, error) {
	ctx = withLogComment(ctx, "")
	st, err := r.loadState(ctx)
	if err != nil {
		return Report{}, err
	}
	if st == nil {
		st = &refreshState{}
	}
	st.Build = nil
	return r.build(ctx, st, asOf)
}

// Refresh brings the rollup up to date as of asOf: a full build if none
// was completed for the current formulas (or one is in progress, which it
// resumes), else an incremental refresh.
func (r *Refresher) Refresh(ctx context.Context, asOf time.Time) (Report, error) {
	ctx = withLogComment(ctx, "")
	st, err := r.loadState(ctx)
	if err != nil {
		return Report{}, err
	}
	fp, err := r.fingerprint(ctx)
	if err != nil {
		return Report{}, err
	}
	switch {
	case st == nil:
		return r.build(ctx, &refreshState{}, asOf)
	case st.Build != nil && st.Build.Fingerprint == fp:
		return r.build(ctx, st, st.Build.AsOf)
	case st.Build != nil || st.Fingerprint != fp:
		st.Build = nil
		return r.build(ctx, st, asOf)
	}
	return r.incremental(ctx, st, asOf)
}

// build runs (or resumes) a full build.
func (r *Refresher) build(ctx context.Context, st *refreshState, asOf time.Time) (Report, error) {
	rep := Report{Full: true}
	began := time.Now()
	if st.Build == nil {
		fp, err := r.fingerprint(ctx)
		if err != nil {
			return rep, err
		}
		started, err := r.serverNow(ctx)
		if err != nil {
			return rep, err
		}
		pieces, err := r.buildPieces(ctx)
		if err != nil {
			return rep, err
		}
		for _, t := range []string{"kpi_entities", "kpi_cells", "kpi_cell_rollup", "kpi_cell_categories"} {
			if err := r.ddl(ctx, "TRUNCATE TABLE {db}."+t); err != nil {
				return rep, fmt.Errorf("kpi build: clear %s: %w", t, err)
			}
		}
		st.Build = &buildState{Fingerprint: fp, Version: uint64(started.UnixMilli()), AsOf: asOf, Started: started, Pieces: pieces}
		if err := r.saveState(ctx, st); err != nil {
			return rep, err
		}
		r.log.Info("kpi build started", "pieces", len(pieces), "as_of", asOf)
	} else {
		r.log.Info("kpi build resumed", "pieces", len(st.Build.Pieces), "done", len(st.Build.Done))
	}
	b := st.Build
	fams := map[string]family{}
	for _, f := range families {
		fams[f.name] = f
	}
	for i := 0; i < len(b.Pieces); i++ {
		p := b.Pieces[i]
		if slices.Contains(b.Done, p.Name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		f, ok := fams[p.Family]
		if !ok {
			return rep, fmt.Errorf("kpi build: unknown family %q in state", p.Family)
		}
		// A piece too big for the statement timeout is split in two,
		// and the halves are done next.
		split := func() bool {
			halves, ok := r.split(ctx, f, p)
			if ok {
				b.Pieces = slices.Insert(slices.Delete(b.Pieces, i, i+1), i, halves...)
				i--
				r.log.Info("kpi build piece split", "piece", p.Name, "into", len(halves))
			}
			return ok
		}
		err := r.pieceSplit(ctx, &rep, "entities/"+p.Name, func(ctx context.Context) error {
			return r.writeEntities(ctx, f, p.Filter, "", "", b.AsOf, b.Version)
		}, split)
		if errors.Is(err, errSplit) {
			if err := r.saveState(ctx, st); err != nil {
				return rep, err
			}
			continue
		}
		if err != nil {
			continue
		}
		b.Done = append(b.Done, p.Name)
		if err := r.saveState(ctx, st); err != nil {
			return rep, err
		}
		r.metrics.buildProgress(float64(len(b.Done)) / float64(len(b.Pieces)))
		r.log.Info("kpi build progress", "piece", p.Name, "done", len(b.Done), "of", len(b.Pieces), "n", i+1, "took", time.Since(began).Round(time.Second))
	}
	if rep.Failed > 0 {
		// The finished pieces stay done: the next refresh resumes with
		// the failed ones.
		return rep, rep.err()
	}
	months, err := r.allMonths(ctx)
	if err != nil {
		return rep, err
	}
	failed := r.rollupMonths(ctx, &rep, months, "", "", b.Version)
	st.Build = nil
	st.Fingerprint = b.Fingerprint
	st.Watermark = b.Started
	st.AsOf = b.AsOf
	st.Pending = failed
	if len(failed) == 0 {
		st.CompleteThrough = b.Started
	}
	rep.CompleteThrough = st.CompleteThrough
	if err := r.saveState(ctx, st); err != nil {
		return rep, err
	}
	r.metrics.refreshed(rep, time.Since(began))
	r.log.Info("kpi build done", "months", len(rep.Months), "pieces", rep.Pieces, "failed", rep.Failed, "took", time.Since(began).Round(time.Millisecond))
	return rep, rep.err()
}

// buildPieces splits every family into key ranges of about PieceRows fact
// rows each (po, asn and invoice families, per tenant); the exception
// history and the supplier documents are one piece each.
func (r *Refresher) buildPieces(ctx context.Context) ([]piece, error) {
	ranged := []struct{ key, table, col string }{
		{"po", "kpi_line_orders", "po"},
		{"asn", "kpi_asns", "asn"},
		{"invoice", "kpi_invoices", "invoice"},
	}
	ranges := map[string][]string{}
	for _, k := range ranged {
		filters, err := r.keyRanges(ctx, k.table, k.col)
		if err != nil {
			return nil, err
		}
		ranges[k.key] = filters
	}
	var ps []piece
	for _, f := range families {
		filters, ok := ranges[f.key]
		if !ok {
			filters = []string{"1"}
		}
		for i, flt := range filters {
			ps = append(ps, piece{Family: f.name, Name: fmt.Sprintf("%s/%d", f.name, i), Filter: flt})
		}
	}
	return ps, nil
}

// keyRanges returns filters over col that split table into ranges of
// about PieceRows rows per tenant, from a sample of the keys. The first
// and last ranges are open, so keys written after the sample fall in one.
func (r *Refresher) keyRanges(ctx context.Context, table, col string) ([]string, error) {
	rows, err := r.conn.Query(ctx, fmt.Sprintf(`SELECT toString(tenant), count(), arraySort(groupArraySample(2000)(%s)) FROM %s.%s GROUP BY tenant ORDER BY tenant`, col, r.db, table))
	if err != nil {
		return nil, fmt.Errorf("kpi build: ranges of %s: %w", table, err)
	}
	defer rows.Close()
	var filters []string
	for rows.Next() {
		var tenant string
		var n uint64
		var sample []string
		if err := rows.Scan(&tenant, &n, &sample); err != nil {
			return nil, err
		}
		k := int(n/uint64(r.cfg.PieceRows)) + 1
		k = min(k, len(sample))
		var bounds []string
		for i := 1; i < k; i++ {
			b := sample[i*len(sample)/k]
			if len(bounds) == 0 || bounds[len(bounds)-1] != b {
				bounds = append(bounds, b)
			}
		}
		t := "tenant = " + quoteList([]string{tenant})
		lo := ""
		for _, b := range bounds {
			f := t + " AND " + col + " < " + quoteList([]string{b})
			if lo != "" {
				f += " AND " + col + " >= " + quoteList([]string{lo})
			}
			filters = append(filters, f)
			lo = b
		}
		if lo != "" {
			filters = append(filters, t+" AND "+col+" >= "+quoteList([]string{lo}))
		} else {
			filters = append(filters, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Tenants with no rows in table yet: the rest, as one piece.
	rest := "1"
	if len(filters) > 0 {
		rest = fmt.Sprintf("tenant NOT IN (SELECT DISTINCT tenant FROM %s.%s)", r.db, table)
		// Evaluated when the piece runs: a tenant that appeared since is
		// in no earlier range, so it lands here.
	}
	return append(filters, rest), nil
}

// writeEntities writes the entity rows of family f whose keys pass filter,
// computed as of asOf, with version 2v+1. With an entity filter (the same
// keys as a condition on kpi_entities), it then marks deleted (version 2v)
// the older rows of those keys that the new rows did not replace: entities
// that moved to another month or stopped counting. lines, if not empty,
// is a table holding the PO lines of the filter's POs (familySQLFrom).
func (r *Refresher) writeEntities(ctx context.Context, f family, filter, lines, entityFilter string, asOf time.Time, v uint64) error {
	if lines != "" {
		lines = "(SELECT * FROM " + lines + ")"
	}
	q := fmt.Sprintf(`INSERT INTO %[1]s.kpi_entities (family, tenant, ekey, kpi, doc, day, plant, supplier, num, den, x, category, version, deleted)
SELECT '%[2]s', tenant, ekey, kpi, doc, day, plant, supplier, num, den, x, category, %[3]d, 0
FROM (%[4]s)`, r.db, f.name, 2*v+1, categorized(r.db, f, familySQLFrom(r.db, r.cfg.Params, asOf, f, filter, lines), filter))
	// The new rows have one row per key (a KPI of a document), in
	// kpi_entities and in the kpi_cells view's copy alike, so the insert's
	// replacing pass over each sorted block (optimize_on_insert) finds
	// nothing to replace; every read of the two tables is FINAL or does
	// not mind a row twice. At 50,000,000 events the pass cost the lines
	// family's piece (960,000 rows written) about 1.4 of its 3.3 to 3.8
	// cpu-s (docs/kpi.md, Figures).
	if err := r.conn.Exec(withSettings(bigQuery(ctx), chgo.Settings{"optimize_on_insert": 0}), q); err != nil {
		return err
	}
	if entityFilter == "" {
		return nil
	}
	return r.conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s.kpi_entities (family, tenant, ekey, kpi, doc, day, plant, supplier, num, den, x, category, version, deleted)
SELECT family, tenant, ekey, kpi, doc, day, plant, supplier, num, den, x, category, %[2]d, 1
FROM %[1]s.kpi_entities FINAL
WHERE family = '%[3]s' AND %[4]s AND version < %[2]d`, r.db, 2*v, f.name, entityFilter))
}

// entityKeyFilter is the condition on kpi_entities of the entities whose
// keys are keys (see touchedKeys).
func entityKeyFilter(keys string) string {
	return "(tenant, ekey) IN (SELECT tenant, key " + keys + ")"
}

// touchedKeys is the FROM … WHERE of the touched keys of a kind, in chunk i
// of n.
func touchedKeys(touched, kind string, n, i int) string {
	s := "FROM " + touched + " WHERE family = '" + kind + "'"
	if n > 1 {
		s += fmt.Sprintf(" AND cityHash64(key) %% %d = %d", n, i)
	}
	return s
}

// cellsBefore runs before the entity rows of family f and keys are
// written again (version 2v+1): it marks deleted (version 2v) in kpi_cells
// every row those entities have now, since an entity that moved to
// another cell keeps its kpi_entities key but not its kpi_cells key (the
// new rows, newer, replace those of an unchanged cell), and adds their
// cells to the cells table. It reads them before the new rows are written:
// a merge may drop the replaced rows of kpi_entities at any time after.
func (r *Refresher) cellsBefore(ctx context.Context, f family, keys, cells string, v uint64) error {
	if err := r.conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s.kpi_cells (family, tenant, ekey, kpi, doc, day, plant, supplier, num, den, x, category, version, deleted)
SELECT family, tenant, ekey, kpi, doc, day, plant, supplier, num, den, x, category, %[2]d, 1
FROM %[1]s.kpi_entities
WHERE family = '%[3]s' AND %[4]s AND version < %[2]d`, r.db, 2*v, f.name, entityKeyFilter(keys))); err != nil {
		return fmt.Errorf("kpi refresh: cells of %s: %w", f.name, err)
	}
	return r.cellsOf(ctx, f, keys, cells, 0)
}

// cellsOf adds to the cells table the cells, per KPI, of the entity rows
// of family f and keys with a version of at least v.
func (r *Refresher) cellsOf(ctx context.Context, f family, keys, cells string, v uint64) error {
	if err := r.conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s (tenant, kpi, day, plant, supplier)
SELECT DISTINCT tenant, kpi, day, plant, supplier FROM %[2]s.kpi_entities WHERE family = '%[3]s' AND %[4]s AND version >= %[5]d`,
		cells, r.db, f.name, entityKeyFilter(keys), v)); err != nil {
		return fmt.Errorf("kpi refresh: cells of %s: %w", f.name, err)
	}
	return nil
}

// deltaOf adds to the delta table the rows of the entities of family f
// and keys: with sign -1 their live rows (read before they are written
// again), with sign 1 the rows of version v (just written). Only the live
// rows count before: a ReplacingMergeTree keeps the replaced ones until a
// merge. The rows after are the live ones: none is newer, and the older
// ones they did not replace are deleted (writeEntities).
func (r *Refresher) deltaOf(ctx context.Context, f family, keys, delta string, sign int, v uint64) error {
	from, cond := "kpi_entities FINAL", ""
	if sign > 0 {
		from, cond = "kpi_entities", fmt.Sprintf(" AND version = %d", v)
	}
	if err := r.conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s (family, tenant, ekey, kpi, day, plant, supplier, category, num, den, sign)
SELECT family, tenant, ekey, kpi, day, plant, supplier, category, num, den, %[2]d FROM %[3]s.%[4]s
WHERE family = '%[5]s' AND %[6]s%[7]s`, delta, sign, r.db, from, f.name, entityKeyFilter(keys), cond)); err != nil {
		return fmt.Errorf("kpi refresh: delta of %s: %w", f.name, err)
	}
	return nil
}

// incremental recomputes the entities touched since the watermark and rolls
// up the months they are in (and were in).
func (r *Refresher) incremental(ctx context.Context, st *refreshState, asOf time.Time) (Report, error) {
	var rep Report
	began := time.Now()
	started, err := r.serverNow(ctx)
	if err != nil {
		return rep, err
	}
	v := uint64(started.UnixMilli())
	b := make([]byte, 6)
	rand.Read(b)
	touched := r.db + ".kpi_touched_" + hex.EncodeToString(b)
	if err := r.conn.Exec(ctx, "CREATE TABLE "+touched+" (family LowCardinality(String), tenant String, key String, day Date, plant String, supplier String) ENGINE = Memory"); err != nil {
		return rep, fmt.Errorf("kpi refresh: create touched: %w", err)
	}
	defer r.conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+touched) //nolint:errcheck
	cells := touched + "_cells"
	if err := r.conn.Exec(ctx, "CREATE TABLE "+cells+" (tenant String, kpi String, day Date, plant String, supplier String) ENGINE = Memory"); err != nil {
		return rep, fmt.Errorf("kpi refresh: create cells: %w", err)
	}
	defer r.conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+cells) //nolint:errcheck
	// The touched entities' rows before (sign -1) and after (1) they are
	// written again: what their cells lose and gain.
	delta := touched + "_delta"
	if err := r.conn.Exec(ctx, "CREATE TABLE "+delta+" (family String, tenant String, ekey String, kpi String, day Date, plant String, supplier String, category String, num Float64, den Float64, sign Int8) ENGINE = Memory"); err != nil {
		return rep, fmt.Errorf("kpi refresh: create delta: %w", err)
	}
	defer r.conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+delta) //nolint:errcheck
	// The touched orders' PO lines (linesSQL), computed by the lines
	// family's piece and read again by the otif family's: one read of
	// the line facts instead of two (keys in one chunk only).
	poLines, linesReady := touched+"_lines", false
	defer r.conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+poLines) //nolint:errcheck
	// exact stays true while every entity piece ran once and whole: then
	// delta holds exactly what changed. A retried or failed piece may have
	// written part of its rows before the failure; the cells are then
	// re-rolled from their rows, as for the other KPIs (and when the keys
	// come in chunks, below).
	exact := !r.wholeCells
	var ok bool
	if err := r.piece(ctx, &rep, "touched", func(ctx context.Context) error {
		return r.findTouched(ctx, touched, st.Watermark.Add(-r.overlap), st.AsOf, asOf)
	}); err == nil {
		ok = true
		if err := r.conn.QueryRow(ctx, "SELECT count() FROM "+touched).Scan(&rep.Touched); err != nil {
			return rep, err
		}
	}
	if ok && rep.Touched > 0 {
		counts := map[string]uint64{}
		rows, err := r.conn.Query(ctx, "SELECT toString(family), uniqExact(tenant, key) FROM "+touched+" GROUP BY family")
		if err != nil {
			return rep, fmt.Errorf("kpi refresh: count touched: %w", err)
		}
		for rows.Next() {
			var k string
			var n uint64
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return rep, err
			}
			counts[k] = n
			if n >= uint64(r.cfg.PieceKeys) {
				// Keys in chunks (a backfill): the delta, held in
				// memory, would grow with them, and such a refresh
				// touches much of its months' cells anyway.
				exact = false
			}
		}
		rows.Close()
		for _, f := range families {
			// Many touched keys (a backfill) are done in chunks of
			// about PieceKeys keys, each its own piece.
			chunks := int(counts[f.key]/uint64(r.cfg.PieceKeys)) + 1
			for i := range chunks {
				keys := touchedKeys(touched, f.key, chunks, i)
				name := "entities/" + f.name
				if chunks > 1 {
					name += fmt.Sprintf("/%d", i)
				}
				attempts := 0
				err := r.piece(ctx, &rep, name, func(ctx context.Context) error {
					if attempts++; attempts > 1 {
						exact = false
					}
					if exact {
						if err := r.deltaOf(ctx, f, keys, delta, -1, 0); err != nil {
							return err
						}
					}
					if err := r.cellsBefore(ctx, f, keys, cells, v); err != nil {
						return err
					}
					// Only an entity with rows before can have rows
					// the new ones do not replace (most touched
					// entities are new: their rows just written
					// need not be read again for that).
					gone := entityKeyFilter(keys)
					if exact {
						gone += fmt.Sprintf(" AND (tenant, ekey) IN (SELECT tenant, ekey FROM %s WHERE family = '%s' AND sign < 0)", delta, f.name)
					}
					filter := strings.ReplaceAll(touchedFilter[f.key], "{keys}", keys)
					lines := ""
					if chunks == 1 && f.name == "lines" {
						if err := r.conn.Exec(ctx, "DROP TABLE IF EXISTS "+poLines); err != nil {
							return err
						}
						if err := r.conn.Exec(bigQuery(ctx), "CREATE TABLE "+poLines+" ENGINE = Memory AS SELECT * FROM "+strings.ReplaceAll(linesSQL(filter), "{db}", r.db)); err != nil {
							return err
						}
						lines = poLines
					}
					if chunks == 1 && f.name == "otif" && linesReady {
						lines = poLines
					}
					if err := r.writeEntities(ctx, f, filter, lines, gone, asOf, v); err != nil {
						return err
					}
					if !exact {
						return r.cellsOf(ctx, f, keys, cells, 2*v)
					}
					// The cells of the new rows, from the delta.
					if err := r.deltaOf(ctx, f, keys, delta, 1, 2*v+1); err != nil {
						return err
					}
					return r.conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s (tenant, kpi, day, plant, supplier) SELECT DISTINCT tenant, kpi, day, plant, supplier FROM %s WHERE family = '%s' AND sign > 0", cells, delta, f.name))
				})
				if err != nil {
					ok, exact = false, false
				}
				linesReady = linesReady || (err == nil && chunks == 1 && f.name == "lines")
			}
		}
	}
	// The months of the touched cells are re-rolled cell by cell; a month
	// still pending from a failed refresh is re-rolled whole (its cells
	// are not known any more).
	var ms []string
	rows, err := r.conn.Query(ctx, "SELECT DISTINCT toString(toYYYYMM(day)) FROM "+cells)
	if err != nil {
		return rep, fmt.Errorf("kpi refresh: months: %w", err)
	}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return rep, err
		}
		if !slices.Contains(st.Pending, m) {
			ms = append(ms, m)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	sort.Strings(ms)
	if !exact || !ok {
		delta = ""
	}
	failed := r.rollupMonths(ctx, &rep, st.Pending, "", "", v)
	failed = append(failed, r.rollupMonths(ctx, &rep, ms, cells, delta, v)...)
	sort.Strings(failed)
	st.Pending = failed
	if ok {
		// Every touched entity is written: the next refresh starts here.
		st.Watermark = started
		st.AsOf = asOf
		if len(failed) == 0 {
			st.CompleteThrough = started
		}
	}
	rep.CompleteThrough = st.CompleteThrough
	if err := r.saveState(ctx, st); err != nil {
		return rep, err
	}
	r.metrics.refreshed(rep, time.Since(began))
	r.log.Debug("kpi refreshed", "touched", rep.Touched, "months", len(rep.Months), "failed", rep.Failed, "took", time.Since(began).Round(time.Millisecond))
	return rep, rep.err()
}

// touchedFilter restricts a family's facts to the touched keys, by key kind.
var touchedFilter = map[string]string{
	"po":        "(tenant, po) IN (SELECT tenant, key {keys})",
	"asn":       "(tenant, asn) IN (SELECT tenant, key {keys})",
	"invoice":   "(tenant, invoice) IN (SELECT tenant, key {keys})",
	"exception": "(tenant, exception_id) IN (SELECT tenant, toUInt64OrZero(key) {keys})",
	"docs":      "(tenant, day, plant, supplier) IN (SELECT tenant, day, plant, supplier {keys})",
}

// findTouched fills the touched table with the keys whose entities may have
// changed: those named by events and exception history stored since `since`,
// and those whose as-of-dependent figures changed between the previous
// as-of prev and asOf (facts dated in between become visible, lines fall
// due, unacknowledged orders pass their SLA).
func (r *Refresher) findTouched(ctx context.Context, touched string, since, prev, asOf time.Time) error {
	ts := func(t time.Time) string {
		return fmt.Sprintf("toDateTime64('%s', 3, 'UTC')", t.UTC().Format("2006-01-02 15:04:05.000"))
	}
	day := func(t time.Time) string { return fmt.Sprintf("toDate('%s')", t.UTC().Format(time.DateOnly)) }
	// Unacknowledged orders can pass their response SLA (business time)
	// up to a month after release with long holidays; older ones have.
	slaFrom := prev.AddDate(0, -1, 0)
	stmts := []string{
		// Events: the keys each event type feeds (docs/kpi.md, facts).
		// The payload is parsed once, and only for the types that name
		// other documents in it (a JSON function in a branch of if() is
		// evaluated for every row).
		`INSERT INTO {touched} (family, tenant, key, day, plant, supplier)
SELECT DISTINCT t.1, tenant, t.2, t.3, t.4, t.5
FROM (
    SELECT tenant, type, document_id, toString(plant) AS p, toString(supplier) AS s, toDate(occurred_at) AS d,
           JSONExtract(if(type IN ('invoice.status_changed', 'goods.received', 'asn.submitted'), raw, '{}'), 'data',
                       'Tuple(po String, asn String, lines Array(Tuple(po String)))') AS j
    FROM {db}.events WHERE stored_at > {since}
)
ARRAY JOIN arrayConcat(
    if(startsWith(type, 'po.'), [('po', document_id, toDate(0), '', '')], []),
    if(type = 'invoice.status_changed', [('invoice', document_id, toDate(0), '', ''), ('po', tupleElement(j, 'po'), toDate(0), '', '')], []),
    if(type IN ('asn.submitted', 'asn.cancelled'), [('asn', document_id, toDate(0), '', '')], []),
    if(type = 'goods.received', [('asn', tupleElement(j, 'asn'), toDate(0), '', '')], []),
    if(type IN ('asn.submitted', 'goods.received'), arrayMap(x -> ('po', tupleElement(x, 'po'), toDate(0), '', ''), tupleElement(j, 'lines')), []),
    if(type IN ('po.acknowledged', 'po.change_requested', 'asn.submitted', 'quality.document_attached'),
       [('docs', concat(toString(d), '/', p, '/', s), d, p, s)], []),
    if(type = 'supplier.updated', [('supplier', if(s != '', s, document_id), toDate(0), '', '')], [])
) AS t
WHERE t.2 != ''`,
		// A supplier's tier decides the response SLA of its orders.
		`INSERT INTO {touched} (family, tenant, key)
SELECT DISTINCT 'po', tenant, po FROM {db}.kpi_orders
WHERE (tenant, supplier) IN (SELECT tenant, key FROM {touched} WHERE family = 'supplier')`,
		// Exception history: the exception and the order it is on.
		`INSERT INTO {touched} (family, tenant, key)
SELECT DISTINCT t.1, tenant, t.2
FROM (SELECT tenant, exception_id, po FROM {db}.exception_history WHERE stored_at > {since})
ARRAY JOIN [('exception', toString(exception_id)), ('po', po)] AS t
WHERE t.2 != ''`,
		// The passing time: facts dated between the two as-of instants,
		// lines falling due, orders passing their SLA. An order's
		// released_at is the occurred_at of its po.released events, and
		// events are keyed by day of occurrence: their releases of a
		// period are a key range, where kpi_orders (keyed by PO) would be
		// read whole (6.9 million rows at 50,000,000 events, twice).
		`INSERT INTO {touched} (family, tenant, key)
SELECT DISTINCT 'po', tenant, document_id FROM {db}.events
WHERE type = 'po.released' AND occurred_at > {prev} AND occurred_at <= {asof}`,
		// (each event writes a row of its own: an order is unacknowledged
		// when none of its rows has an acknowledgement)
		`INSERT INTO {touched} (family, tenant, key)
SELECT 'po', tenant, po FROM {db}.kpi_orders
WHERE (tenant, po) IN (SELECT tenant, document_id FROM {db}.events
                       WHERE type = 'po.released' AND occurred_at > {sla_from} AND occurred_at <= {asof})
GROUP BY tenant, po HAVING min(first_ack_at) IS NULL AND min(cancelled_at) IS NULL`,
		`INSERT INTO {touched} (family, tenant, key)
SELECT DISTINCT 'asn', tenant, asn FROM {db}.kpi_asns WHERE submitted_at > {prev} AND submitted_at <= {asof}`,
		`INSERT INTO {touched} (family, tenant, key)
SELECT DISTINCT 'invoice', tenant, invoice FROM {db}.kpi_invoices WHERE first_at > {prev} AND first_at <= {asof}`,
		`INSERT INTO {touched} (family, tenant, key)
SELECT DISTINCT 'exception', tenant, toString(exception_id) FROM {db}.exception_history WHERE at > {prev} AND at <= {asof}`,
		`INSERT INTO {touched} (family, tenant, key, day, plant, supplier)
SELECT DISTINCT 'docs', tenant, concat(toString(day), '/', toString(plant), '/', toString(supplier)), day, toString(plant), toString(supplier)
FROM {db}.kpi_supplier_docs WHERE day > toDate({prev}) AND day <= toDate({asof})`,
	}
	// Lines falling due: a line's delivery class (and its order's OTIF)
	// depends on the as-of only while it is not received, and only through
	// its date (due + late_days < as-of date: overdue or late in transit).
	// Between two as-of instants of the same day nothing falls due; across
	// days, the unreceived lines whose due + late_days lies between the two
	// dates change class. Received lines keep theirs whatever the as-of:
	// at 50,000,000 events they are most of a day's 4,500 orders, which
	// were recomputed every refresh of the day (docs/kpi.md, Figures).
	lo, hi := dayOf(prev), dayOf(asOf)
	if hi.Before(lo) {
		lo, hi = hi, lo
	}
	if lo.Before(hi) {
		stmts = append(stmts, `INSERT INTO {touched} (family, tenant, key)
SELECT DISTINCT 'po', tenant, po
FROM (SELECT tenant, po, line FROM {db}.kpi_line_orders
      WHERE tupleElement(need_by, 2) + {late} >= {lo_day} AND tupleElement(need_by, 2) + {late} < {hi_day}) AS d
LEFT ANTI JOIN (
    SELECT DISTINCT tenant, po, line FROM {db}.kpi_lines
    WHERE receipt_at IS NOT NULL AND (tenant, po) IN (
        SELECT tenant, po FROM {db}.kpi_line_orders
        WHERE tupleElement(need_by, 2) + {late} >= {lo_day} AND tupleElement(need_by, 2) + {late} < {hi_day})
) AS rcv ON rcv.tenant = d.tenant AND rcv.po = d.po AND rcv.line = d.line`)
	}
	rep := strings.NewReplacer("{touched}", touched, "{db}", r.db, "{since}", ts(since), "{prev}", ts(prev), "{asof}", ts(asOf),
		"{sla_from}", ts(slaFrom), "{lo_day}", day(lo), "{hi_day}", day(hi), "{late}", fmt.Sprint(r.cfg.LateDays))
	for _, s := range stmts {
		if err := r.conn.Exec(ctx, rep.Replace(s)); err != nil {
			return err
		}
	}
	return nil
}

// allMonths returns the months with entity rows or rollup rows.
func (r *Refresher) allMonths(ctx context.Context) ([]string, error) {
	rows, err := r.conn.Query(ctx, `SELECT DISTINCT partition_id FROM `+r.systemTable("parts")+`
WHERE database = ? AND table IN (?, ?) AND active ORDER BY partition_id`, r.db, r.localTable("kpi_entities"), r.localTable("kpi_rollup"))
	if err != nil {
		return nil, fmt.Errorf("kpi refresh: months: %w", err)
	}
	defer rows.Close()
	var ms []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// rollupMonths re-rolls each month, a piece per month, and returns the
// months that failed. With a cells table (tenant, kpi, day, plant, supplier),
// only the cells and KPIs it names and the kpi_rollup rows they belong to are
// recomputed; without one (a build, a month pending from a failed refresh),
// every cell of the month. With a delta table too (see deltaOf), the cells
// of the difference KPIs are re-rolled by difference. v is the refresh's
// version (see writeEntities).
func (r *Refresher) rollupMonths(ctx context.Context, rep *Report, months []string, cells, delta string, v uint64) []string {
	if len(months) == 0 {
		return nil
	}
	b := make([]byte, 6)
	rand.Read(b)
	stage := "kpi_rollup_stage_" + hex.EncodeToString(b)
	if err := r.ddl(ctx, "CREATE TABLE IF NOT EXISTS {db}."+stage+" AS {db}.kpi_rollup"); err != nil {
		rep.Failed++
		rep.Failures = append(rep.Failures, "stage: "+err.Error())
		return months
	}
	defer r.ddl(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS {db}."+stage) //nolint:errcheck
	var failed []string
	for _, m := range months {
		attempts := 0
		err := r.piece(ctx, rep, "rollup/"+m, func(ctx context.Context) error {
			// A retry re-rolls from the rows: the attempt before may
			// have written the difference already.
			if attempts++; attempts > 1 {
				delta = ""
			}
			return r.rollupMonth(ctx, stage, m, cells, delta, v)
		})
		if err != nil {
			failed = append(failed, m)
			continue
		}
		rep.Months = append(rep.Months, m)
	}
	return failed
}

// rollupMonth re-rolls the cells of month (all of them when cells is "")
// into kpi_cell_rollup, then writes the month's kpi_rollup into stage (the
// rows of untouched cells copied as they are, those of touched cells
// summed again from kpi_cell_rollup) and swaps it in with REPLACE
// PARTITION: readers see the month before or after, never half of it.
// With a delta table, the touched cells of the difference KPIs are their
// rows in kpi_cell_categories plus the delta, not a read of their rows in
// kpi_cells: those are ordered by supplier before day, so the touched days
// of every supplier are spread over the whole month's partition, and
// reading them cost the month's size (docs/kpi.md, Figures). Every step
// without a delta is idempotent, so a retried piece redoes it whole
// without one.
func (r *Refresher) rollupMonth(ctx context.Context, stageName, month, cells, delta string, v uint64) error {
	if err := r.ddl(ctx, "ALTER TABLE {db}."+stageName+" DROP PARTITION "+month); err != nil {
		return err
	}
	stage := r.db + "." + stageName
	cellCond, dayCond, pairCond := "1", "1", "1"
	if cells != "" {
		in := func(cols string) string {
			return fmt.Sprintf("(%[1]s) IN (SELECT %[1]s FROM %[2]s WHERE toYYYYMM(day) = %[3]s)", cols, cells, month)
		}
		// Per KPI: a touched entity changes its own KPIs' cells, and
		// (tenant, kpi, plant, supplier, day) is kpi_cells' key prefix.
		cellCond, dayCond, pairCond = in("tenant, kpi, plant, supplier, day"), in("tenant, kpi, day, plant"), in("tenant, kpi, plant, supplier")
	}
	// The cells by category: the new rows, then a deleted row (older)
	// for each row of a touched cell that no new row replaced: a category
	// the cell has no entities of any more.
	var stmts []string
	fromRows := cellCond
	if delta != "" {
		// Σ now = Σ before + Σ of the new rows − Σ of the rows they
		// replace; a (cell, category) is left with no rows when its den
		// sums to 0 (every row has den ≥ 1, and whole numbers subtract
		// exactly). The current rows are read before any is replaced.
		fromRows += " AND kpi NOT IN (" + differenceKPIs() + ")"
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO {db}.kpi_cell_categories (tenant, kpi, day, plant, supplier, category, num, den, q, version, deleted)
SELECT tenant, kpi, day, plant, supplier, category, sum(num), sum(den), quantilesIfState(0.5, 0.9)(toFloat64(0), 0), %[1]d, 0
FROM (
    SELECT toString(tenant) AS tenant, toString(kpi) AS kpi, day, toString(plant) AS plant, toString(supplier) AS supplier, toString(category) AS category, num, den
    FROM {db}.kpi_cell_categories FINAL WHERE toYYYYMM(day) = {month} AND %[2]s AND kpi IN (%[3]s)
    UNION ALL
    SELECT tenant, kpi, day, plant, supplier, category, sign * num, sign * den FROM %[4]s WHERE toYYYYMM(day) = {month} AND kpi IN (%[3]s)
)
GROUP BY tenant, kpi, day, plant, supplier, category
HAVING sum(den) > 0`, 2*v+1, cellCond, differenceKPIs(), delta))
	}
	stmts = append(stmts,
		fmt.Sprintf(`INSERT INTO {db}.kpi_cell_categories (tenant, kpi, day, plant, supplier, category, num, den, q, version, deleted)
SELECT tenant, kpi, day, plant, supplier, category, sum(num), sum(den), quantilesIfState(0.5, 0.9)(x, kpi IN (%s)), %d, 0
FROM {db}.kpi_cells FINAL WHERE toYYYYMM(day) = {month} AND %s
GROUP BY tenant, kpi, day, plant, supplier, category`, durationKPIs(), 2*v+1, fromRows),
		fmt.Sprintf(`INSERT INTO {db}.kpi_cell_categories (tenant, kpi, day, plant, supplier, category, num, den, q, version, deleted)
SELECT tenant, kpi, day, plant, supplier, category, num, den, q, %d, 1
FROM {db}.kpi_cell_categories FINAL WHERE toYYYYMM(day) = {month} AND %s AND version < %d`, 2*v, cellCond, 2*v+1),
		// The cells, summed from their categories (a few rows each, not
		// the cell's entities again).
		fmt.Sprintf(`INSERT INTO {db}.kpi_cell_rollup (tenant, kpi, day, plant, supplier, num, den, q, version, deleted)
SELECT tenant, kpi, day, plant, supplier, num, den, q, %d, 1
FROM {db}.kpi_cell_rollup FINAL WHERE toYYYYMM(day) = {month} AND %s`, 2*v, cellCond),
		fmt.Sprintf(`INSERT INTO {db}.kpi_cell_rollup (tenant, kpi, day, plant, supplier, num, den, q, version, deleted)
SELECT tenant, kpi, day, plant, supplier, sum(num), sum(den), quantilesIfMergeState(0.5, 0.9)(q), %d, 0
FROM {db}.kpi_cell_categories FINAL WHERE toYYYYMM(day) = {month} AND %s
GROUP BY tenant, kpi, day, plant, supplier`, 2*v+1, cellCond),
	)
	if cells != "" {
		// The rollup rows no touched cell belongs to, as they are.
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO {stage} (tenant, kpi, grain, day, plant, supplier, category, num, den, q)
SELECT tenant, kpi, grain, day, plant, supplier, category, num, den, q FROM {db}.kpi_rollup
WHERE toYYYYMM(day) = {month} AND NOT (grain IN ('day', 'category') AND %s) AND NOT (grain = 'month' AND %s)`, dayCond, pairCond))
	}
	// The rows of the touched cells: a day-grain row per (day, plant), a
	// month-grain row per (month, plant, supplier), and a category-grain
	// row per (day, plant, category).
	stmts = append(stmts, fmt.Sprintf(`INSERT INTO {stage} (tenant, kpi, grain, day, plant, supplier, num, den, q)
SELECT tenant, kpi, g.1 AS grain, g.2 AS gday, plant, g.3 AS gsupplier, sum(num), sum(den), quantilesIfMergeState(0.5, 0.9)(q)
FROM (SELECT tenant, kpi, day, plant, supplier, num, den, q FROM {db}.kpi_cell_rollup FINAL
      WHERE toYYYYMM(day) = {month} AND (%[1]s OR %[2]s)) AS c
ARRAY JOIN [('day', c.day, ''), ('month', toStartOfMonth(c.day), c.supplier)] AS g
WHERE (g.1 = 'day' AND %[1]s) OR (g.1 = 'month' AND %[2]s)
GROUP BY tenant, kpi, grain, gday, plant, gsupplier`, dayCond, pairCond),
		fmt.Sprintf(`INSERT INTO {stage} (tenant, kpi, grain, day, plant, supplier, category, num, den, q)
SELECT tenant, kpi, 'category', day, plant, '', category, sum(num), sum(den), quantilesIfMergeState(0.5, 0.9)(q)
FROM {db}.kpi_cell_categories FINAL WHERE toYYYYMM(day) = {month} AND %s
GROUP BY tenant, kpi, day, plant, category`, dayCond))
	rep := strings.NewReplacer("{db}", r.db, "{stage}", stage, "{month}", month)
	for _, s := range stmts {
		if err := r.conn.Exec(ctx, rep.Replace(s)); err != nil {
			return err
		}
	}
	if r.cluster == nil {
		return r.swapMonth(ctx, r.conn, "kpi_rollup", stageName, month)
	}
	// Each shard swaps in its share of the month (the stage's rows went
	// to the shards as the rollup's would); a reader may see one shard's
	// new month beside another's old one for the moment between.
	local := r.cluster.LocalTable(stageName)
	return r.cluster.OnShards(ctx, []string{local}, func(ctx context.Context, conn driver.Conn) error {
		return r.swapMonth(ctx, conn, r.cluster.LocalTable("kpi_rollup"), local, month)
	})
}

// swapMonth replaces month of table by that of stage, on conn's server.
func (r *Refresher) swapMonth(ctx context.Context, conn driver.Conn, table, stage, month string) error {
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+r.db+"."+stage+" WHERE toYYYYMM(day) = "+month).Scan(&n); err != nil {
		return err
	}
	stmt := "ALTER TABLE " + r.db + "." + table + " DROP PARTITION " + month
	if n > 0 {
		stmt = "ALTER TABLE " + r.db + "." + table + " REPLACE PARTITION " + month + " FROM " + r.db + "." + stage
	}
	return conn.Exec(ctx, stmt)
}

// errSplit: a piece was replaced by smaller ones (not a failure).
var errSplit = errors.New("piece split")

// splitKeys are the fact tables and key columns a build piece's range is
// split by, per key kind.
var splitKeys = map[string][2]string{"po": {"kpi_line_orders", "po"}, "asn": {"kpi_asns", "asn"}, "invoice": {"kpi_invoices", "invoice"}}

// split returns p's range as two pieces, at the median of a sample of its
// keys; false when it cannot be split (one key, or no key column).
func (r *Refresher) split(ctx context.Context, f family, p piece) ([]piece, bool) {
	k, ok := splitKeys[f.key]
	if !ok {
		return nil, false
	}
	var sample []string
	q := fmt.Sprintf("SELECT arraySort(groupArraySample(1000)(%s)) FROM %s.%s WHERE %s", k[1], r.db, k[0], p.Filter)
	if err := r.conn.QueryRow(ctx, q).Scan(&sample); err != nil || len(sample) < 2 {
		return nil, false
	}
	m := sample[len(sample)/2]
	if m == sample[0] {
		return nil, false
	}
	lit := quoteList([]string{m})
	return []piece{
		{Family: p.Family, Name: p.Name + ".a", Filter: p.Filter + " AND " + k[1] + " < " + lit},
		{Family: p.Family, Name: p.Name + ".b", Filter: p.Filter + " AND " + k[1] + " >= " + lit},
	}, true
}

// piece runs fn under the piece timeout, retrying a transient failure up
// to PieceAttempts attempts in all; a failure that remains is counted and
// reported in rep and returned.
func (r *Refresher) piece(ctx context.Context, rep *Report, name string, fn func(context.Context) error) error {
	return r.pieceSplit(ctx, rep, name, fn, nil)
}

// pieceSplit is piece, and when an attempt times out and split (if not
// nil) replaces the piece by smaller ones, it returns errSplit instead of
// retrying.
func (r *Refresher) pieceSplit(ctx context.Context, rep *Report, name string, fn func(context.Context) error, split func() bool) error {
	rep.Pieces++
	var err error
	for attempt := 1; attempt <= r.cfg.PieceAttempts; attempt++ {
		if attempt > 1 {
			rep.Retries++
			r.metrics.piece("retried")
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt-1) * r.cfg.PieceBackoff):
			}
		}
		t0 := time.Now()
		err = r.attempt(ctx, name, attempt, fn)
		if err == nil {
			r.log.Debug("kpi refresh piece", "piece", name, "took", time.Since(t0).Round(time.Millisecond))
			r.metrics.piece("ok")
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if split != nil && timedOut(err) && split() {
			return errSplit
		}
		r.log.Warn("kpi refresh piece failed", "piece", name, "attempt", attempt, "transient", transient(err), "err", err)
		if !transient(err) {
			break
		}
	}
	rep.Failed++
	rep.Failures = append(rep.Failures, name+": "+err.Error())
	r.metrics.piece("failed")
	return err
}

func (r *Refresher) attempt(ctx context.Context, name string, attempt int, fn func(context.Context) error) error {
	if r.fault != nil {
		if err := r.fault(name, attempt); err != nil {
			return err
		}
	}
	if r.observe != nil {
		defer r.observe(name)()
	}
	pctx, cancel := context.WithTimeout(ctx, r.cfg.PieceTimeout+10*time.Second)
	defer cancel()
	return fn(withStatementTimeout(withLogComment(pctx, name), r.cfg.PieceTimeout))
}

// LogComment is the log_comment of the refresher's statements in the
// server's system.query_log: "kpi refresh", then " " and the piece's name
// (touched, entities/lines, rollup/202612, …) for a piece's statements, so
// the refresh's own server CPU can be told from the dashboard's reads.
const LogComment = "kpi refresh"

// withLogComment returns ctx whose statements carry the refresher's
// log_comment, naming piece when it is not empty.
func withLogComment(ctx context.Context, piece string) context.Context {
	c := LogComment
	if piece != "" {
		c += " " + piece
	}
	return withSettings(ctx, chgo.Settings{"log_comment": c})
}

// settle is how often, and how many times, a triggered Refresher refreshes
// again: what announced the trigger (a backfill published to Kafka) is
// still being stored for a while.
const (
	settleEvery = 15 * time.Second
	settleTimes = 4
)

// Run refreshes at once (resuming or starting a full build if one is due),
// then every RefreshEvery, and when triggered at once and a few times
// shortly after, until ctx ends.
func (r *Refresher) Run(ctx context.Context) error {
	r.dropScratch(ctx)
	t := time.NewTicker(r.cfg.RefreshEvery)
	defer t.Stop()
	settling := 0
	for {
		if _, err := r.Refresh(ctx, r.now()); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.log.Error("kpi refresh", "err", err)
		}
		r.checkStale(ctx)
		var soon <-chan time.Time
		if settling > 0 {
			settling--
			soon = time.After(settleEvery)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-soon:
		case <-r.trigger:
			settling = settleTimes
		}
	}
}

// dropScratch drops the scratch tables (touched keys, rollup stages) that
// a refresher killed mid-refresh left behind, an hour after they were made.
func (r *Refresher) dropScratch(ctx context.Context) {
	rows, err := r.conn.Query(ctx, `SELECT DISTINCT name FROM `+r.systemTable("tables")+` WHERE database = ?
AND match(name, '^kpi_(touched_[0-9a-f]{12}(_cells|_delta|_lines)?|rollup_stage_[0-9a-f]{12}(_local)?)$')
AND metadata_modification_time < now() - INTERVAL 1 HOUR`, r.db)
	if err != nil {
		r.log.Warn("kpi refresh: list scratch tables", "err", err)
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			names = append(names, n)
		}
	}
	rows.Close()
	for _, n := range names {
		if err := r.ddl(ctx, "DROP TABLE IF EXISTS {db}."+n); err != nil {
			r.log.Warn("kpi refresh: drop scratch table", "table", n, "err", err)
		}
	}
}

// checkStale logs an error when the KPIs are older than StaleAfter (the
// Prometheus rule of deploy/prometheus/kpi.rules.yml alerts on the metric).
func (r *Refresher) checkStale(ctx context.Context) {
	st, err := r.loadState(ctx)
	if err != nil || st == nil {
		return
	}
	r.metrics.completeThrough(st.CompleteThrough)
	if age := r.now().Sub(st.CompleteThrough); !st.CompleteThrough.IsZero() && age > r.cfg.StaleAfter {
		r.log.Error("kpi stale: the rollup misses facts stored since complete_through", "complete_through", st.CompleteThrough, "age", age.Round(time.Second), "stale_after", r.cfg.StaleAfter)
	}
}

// differenceKPIs are the KPIs whose touched cells a refresh re-rolls by
// difference (rollupMonth): those whose every entity row has whole
// numbers as num and den (counts of entities, lines or documents) and
// den ≥ 1, so that a sum minus the rows replaced plus the new ones is
// exact in Float64 and a cell left without rows sums to den 0. Not the
// durations (their quantile states do not subtract, and num is in hours)
// nor receipt_variance (quantities): their cells are summed from their
// rows in kpi_cells.
func differenceKPIs() string {
	var ids []string
	for _, d := range Catalog {
		if d.Kind != Duration && d.ID != "receipt_variance" {
			ids = append(ids, d.ID)
		}
	}
	return quoteList(ids)
}

// durationKPIs are the KPIs whose x feeds the quantile state.
func durationKPIs() string {
	var ids []string
	for _, d := range Catalog {
		if d.Kind == Duration {
			ids = append(ids, d.ID)
		}
	}
	return quoteList(ids)
}

// dayOf is the UTC date of t, at midnight.
func dayOf(t time.Time) time.Time { return day(t.UTC()) }

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
