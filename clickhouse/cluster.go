package clickhouse

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// LocalSuffix names the shard-local table under a Distributed one in
// cluster mode: events (Distributed) over events_local (Replicated).
const LocalSuffix = "_local"

// clusterRewriter turns the single-node DDL of the migration files into
// cluster DDL at apply time, so that one set of files serves both (other
// areas keep adding single-node migrations):
//
//   - CREATE DATABASE, VIEW, MATERIALIZED VIEW, DROP: ON CLUSTER;
//   - CREATE TABLE x (...) ENGINE = <E>MergeTree(args): x_local ON CLUSTER
//     with Replicated<E>MergeTree('/clickhouse/tables/{shard}/db/x_local',
//     '{replica}', args), then x ON CLUSTER as Distributed over it, sharded
//     by a hash of the sorting key (a row and its copy land on one shard,
//     where a Replacing table collapses them);
//   - CREATE TABLE x AS y: x_local AS y_local with its own replication path;
//   - a materialized view reads and writes the local tables on each shard;
//   - ALTER TABLE x: on x_local ON CLUSTER, and column changes also on the
//     Distributed x (without codecs, which Distributed does not take);
//   - INSERT ... SELECT runs through the Distributed tables as written.
//
// Replication and ON CLUSTER need Keeper and interserver ports that the
// embedded engine lacks: the tests parse every generated statement and shard
// over plain tables; they do not fake replication.
//
// Unreplicated (clickhouse.replicated: false, a sharded cluster without
// Keeper, one replica per shard), the local tables keep their plain
// MergeTree engines and no statement says ON CLUSTER: Cluster runs each one
// on every server itself.
type clusterRewriter struct {
	cluster, db string
	replicated  bool

	mu sync.Mutex
	// tables maps every table the migrations create with a MergeTree
	// engine to its engine clause and sorting key, and the tables created
	// since through Rewrite (the KPI refresher's stage tables).
	tables map[string]tableDef
}

type tableDef struct {
	engine  string // "ReplacingMergeTree(updated_at)"
	rest    string // PARTITION BY ... ORDER BY ... TTL ... SETTINGS ...
	orderBy string // the sorting key expression
}

var (
	reCreateTable  = regexp.MustCompile(`(?is)^CREATE TABLE IF NOT EXISTS \{db\}\.(\w+)\s*\(`)
	reCreateAs     = regexp.MustCompile(`(?is)^CREATE TABLE IF NOT EXISTS \{db\}\.(\w+)\s+AS\s+\{db\}\.(\w+)\s*$`)
	reEngine       = regexp.MustCompile(`(?is)^\s*ENGINE\s*=\s*(\w*)MergeTree\b`)
	reMView        = regexp.MustCompile(`(?is)^CREATE MATERIALIZED VIEW IF NOT EXISTS \{db\}\.(\w+)\s+TO\s+\{db\}\.(\w+)\s+AS\s+(.*)$`)
	reView         = regexp.MustCompile(`(?is)^CREATE (OR REPLACE )?VIEW (IF NOT EXISTS )?\{db\}\.(\w+)\s+(.*)$`)
	reDrop         = regexp.MustCompile(`(?is)^DROP (TABLE|VIEW) (IF EXISTS )?\{db\}\.(\w+)\s*$`)
	reAlter        = regexp.MustCompile(`(?is)^ALTER TABLE \{db\}\.(\w+)\s+(.*)$`)
	reDatabase     = regexp.MustCompile(`(?is)^CREATE DATABASE IF NOT EXISTS (\S+)\s*$`)
	reTruncate     = regexp.MustCompile(`(?is)^TRUNCATE TABLE (IF EXISTS )?\{db\}\.(\w+)\s*$`)
	reTableRef     = regexp.MustCompile(`\{db\}\.(\w+)`)
	reColumnChange = regexp.MustCompile(`(?i)^\s*(ADD|DROP|MODIFY|RENAME) COLUMN\b`)
	reCodec        = regexp.MustCompile(`(?i)\s+CODEC\(([^()]|\([^()]*\))*\)`)
)

// newClusterRewriter reads the table definitions of all migrations (applied
// or not: a later ALTER or CREATE ... AS needs an earlier table's engine).
func newClusterRewriter(cluster, db string, replicated bool, ms []Migration) (*clusterRewriter, error) {
	r := &clusterRewriter{cluster: cluster, db: db, replicated: replicated, tables: map[string]tableDef{}}
	for _, m := range ms {
		for _, stmt := range splitStatements(m.SQL) {
			if g := reCreateTable.FindStringSubmatch(stmt); g != nil {
				_, after, err := balanced(stmt, len(g[0])-1)
				if err != nil {
					return nil, fmt.Errorf("migration %s: table %s: %w", m.Name, g[1], err)
				}
				def, ok, err := parseEngine(stmt[after:])
				if err != nil {
					return nil, fmt.Errorf("migration %s: table %s: %w", m.Name, g[1], err)
				}
				if ok {
					r.tables[g[1]] = def
				}
			}
			if g := reCreateAs.FindStringSubmatch(stmt); g != nil {
				if def, ok := r.tables[g[2]]; ok {
					r.tables[g[1]] = def
				}
			}
		}
	}
	return r, nil
}

// balanced returns the text inside the parenthesis opening at s[open] and
// the index after its closing one, skipping quoted strings.
func balanced(s string, open int) (inner string, after int, err error) {
	if open >= len(s) || s[open] != '(' {
		return "", 0, fmt.Errorf("no parenthesis at %d", open)
	}
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\'':
			for i++; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[open+1 : i], i + 1, nil
			}
		}
	}
	return "", 0, fmt.Errorf("unbalanced parentheses")
}

// parseEngine reads "ENGINE = <E>MergeTree[(args)] rest" (ok false for other
// engines).
func parseEngine(s string) (tableDef, bool, error) {
	g := reEngine.FindStringSubmatchIndex(s)
	if g == nil {
		return tableDef{}, false, nil
	}
	kind := s[g[2]:g[3]] + "MergeTree"
	rest := s[g[1]:]
	args := ""
	if t := strings.TrimLeft(rest, " \t\n"); strings.HasPrefix(t, "(") {
		inner, after, err := balanced(t, 0)
		if err != nil {
			return tableDef{}, false, err
		}
		args, rest = inner, t[after:]
	}
	def := tableDef{engine: kind, rest: strings.TrimSpace(rest)}
	if args != "" {
		def.engine += "(" + args + ")"
	}
	i := strings.Index(strings.ToUpper(def.rest), "ORDER BY")
	if i < 0 {
		return tableDef{}, false, fmt.Errorf("no ORDER BY")
	}
	key := strings.TrimLeft(def.rest[i+len("ORDER BY"):], " \t\n")
	if strings.HasPrefix(key, "(") {
		inner, _, err := balanced(key, 0)
		if err != nil {
			return tableDef{}, false, err
		}
		def.orderBy = inner
	} else {
		def.orderBy = strings.Fields(key)[0]
	}
	return def, true, nil
}

// localEngine is the engine clause of name's shard-local table.
func (r *clusterRewriter) localEngine(name string, def tableDef) string {
	if !r.replicated {
		return def.engine
	}
	path := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s%s', '{replica}'", r.db, name, LocalSuffix)
	kind, args, _ := strings.Cut(def.engine, "(")
	if args != "" {
		path += ", " + strings.TrimSuffix(args, ")")
	}
	return fmt.Sprintf("Replicated%s(%s)", kind, path)
}

// shardBy overrides the sharding key of a Distributed table (by default
// its sorting key) where rows reach the local table both through the
// Distributed table and from a materialized view on another table's
// shard: both paths must put rows of one sorting key on one shard, or
// FINAL would not collapse them.
var shardBy = map[string]string{
	// kpi_cells gets kpi_entities' rows from a view on each shard and the
	// refresher's deleted rows through the Distributed table: shard both
	// by kpi_entities' sorting key (a part of kpi_cells').
	"kpi_cells": "tenant, family, ekey, kpi, doc",
}

func (r *clusterRewriter) distributed(name string, def tableDef) string {
	key := def.orderBy
	if k, ok := shardBy[name]; ok {
		key = k
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS {db}.%s%s AS {db}.%s%s ENGINE = Distributed(%s, %s, %s%s, cityHash64(%s))",
		name, r.on(), name, LocalSuffix, r.cluster, r.db, name, LocalSuffix, key)
}

// on is the ON CLUSTER clause of a statement: empty when unreplicated,
// where Cluster runs the statement on each server.
func (r *clusterRewriter) on() string {
	if !r.replicated {
		return ""
	}
	return " ON CLUSTER " + r.cluster
}

// table returns the definition of a MergeTree-family table of the
// migrations (or created through Rewrite).
func (r *clusterRewriter) table(name string) (tableDef, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	def, ok := r.tables[name]
	return def, ok
}

// local rewrites references to tables of the migrations to their local
// tables (a materialized view works on the shard it runs on).
func (r *clusterRewriter) local(sql string) string {
	return reTableRef.ReplaceAllStringFunc(sql, func(ref string) string {
		name := strings.TrimPrefix(ref, "{db}.")
		if _, ok := r.table(name); ok {
			return ref + LocalSuffix
		}
		return ref
	})
}

// Rewrite returns the cluster statements for one single-node statement
// (still with the {db} placeholder).
func (r *clusterRewriter) Rewrite(stmt string) ([]string, error) {
	on := r.on()
	if g := reCreateTable.FindStringSubmatch(stmt); g != nil {
		name := g[1]
		def, ok := r.table(name)
		if !ok {
			return nil, fmt.Errorf("table %s: only MergeTree-family tables can be clustered", name)
		}
		_, after, err := balanced(stmt, len(g[0])-1)
		if err != nil {
			return nil, err
		}
		columns := stmt[len(g[0])-1 : after]
		local := fmt.Sprintf("CREATE TABLE IF NOT EXISTS {db}.%s%s%s %s\nENGINE = %s\n%s", name, LocalSuffix, on, columns, r.localEngine(name, def), def.rest)
		return []string{local, r.distributed(name, def)}, nil
	}
	if g := reCreateAs.FindStringSubmatch(stmt); g != nil {
		name, from := g[1], g[2]
		def, ok := r.table(from)
		if !ok {
			return nil, fmt.Errorf("table %s AS %s: %s is not a MergeTree-family table of the migrations", name, from, from)
		}
		local := fmt.Sprintf("CREATE TABLE IF NOT EXISTS {db}.%s%s%s AS {db}.%s%s ENGINE = %s %s",
			name, LocalSuffix, on, from, LocalSuffix, r.localEngine(name, def), def.rest)
		r.mu.Lock()
		if _, known := r.tables[name]; !known {
			r.tables[name] = def // a table made at run time (a stage)
		}
		r.mu.Unlock()
		return []string{local, r.distributed(name, def)}, nil
	}
	if g := reMView.FindStringSubmatch(stmt); g != nil {
		return []string{fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.%s%s TO {db}.%s%s AS %s",
			g[1], on, g[2], LocalSuffix, r.local(g[3]))}, nil
	}
	if g := reView.FindStringSubmatch(stmt); g != nil {
		return []string{fmt.Sprintf("CREATE %sVIEW %s{db}.%s%s %s", g[1], g[2], g[3], on, g[4])}, nil
	}
	if g := reDrop.FindStringSubmatch(stmt); g != nil {
		out := []string{fmt.Sprintf("DROP %s %s{db}.%s%s SYNC", g[1], g[2], g[3], on)}
		if _, ok := r.table(g[3]); ok && strings.EqualFold(g[1], "TABLE") {
			out = append(out, fmt.Sprintf("DROP TABLE %s{db}.%s%s%s SYNC", g[2], g[3], LocalSuffix, on))
		}
		return out, nil
	}
	if g := reAlter.FindStringSubmatch(stmt); g != nil {
		name, ops := g[1], g[2]
		if _, ok := r.table(name); !ok {
			return []string{fmt.Sprintf("ALTER TABLE {db}.%s%s %s", name, on, ops)}, nil
		}
		out := []string{fmt.Sprintf("ALTER TABLE {db}.%s%s%s %s", name, LocalSuffix, on, ops)}
		if reColumnChange.MatchString(ops) {
			out = append(out, fmt.Sprintf("ALTER TABLE {db}.%s%s %s", name, on, reCodec.ReplaceAllString(ops, "")))
		}
		return out, nil
	}
	if g := reDatabase.FindStringSubmatch(stmt); g != nil {
		return []string{"CREATE DATABASE IF NOT EXISTS " + g[1] + on}, nil
	}
	if g := reTruncate.FindStringSubmatch(stmt); g != nil {
		// Truncating a Distributed table only drops its queue of
		// unsent inserts: the rows are in the local tables.
		name := g[2]
		if _, ok := r.table(name); ok {
			name += LocalSuffix
		}
		return []string{fmt.Sprintf("TRUNCATE TABLE %s{db}.%s%s", g[1], name, on)}, nil
	}
	// INSERT ... SELECT and the like go through the Distributed tables.
	return []string{stmt}, nil
}
