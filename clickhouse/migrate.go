package clickhouse

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change.
type Migration = migrate.Migration

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) { return migrate.Load(migrationFiles, "migrations") }

// Migrate creates the database if needed and applies the migrations not yet
// recorded in schema_migrations, in order (internal/migrate). Every
// statement is idempotent (IF NOT EXISTS), so two processes migrating at
// once do no harm. With cfg.Cluster the statements are rewritten for the
// cluster at apply time (see clusterRewriter) and run through Cluster. It
// then sets the retention TTL to the configured value.
func Migrate(ctx context.Context, conn driver.Conn, cfg Config, log *slog.Logger) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	t := &chTarget{conn: conn, cfg: cfg}
	if cfg.Cluster != "" {
		if t.cluster, err = OpenCluster(ctx, conn, cfg); err != nil {
			return err
		}
		defer t.cluster.Close()
	}
	if err := t.prepare(ctx); err != nil {
		return err
	}
	if _, err := migrate.Run(ctx, t, ms, log, "clickhouse"); err != nil {
		return err
	}
	return t.setRetention(ctx)
}

// chTarget is a ClickHouse database as a migrate.Target.
type chTarget struct {
	conn    driver.Conn
	cfg     Config
	cluster *Cluster // nil: single node
	rw      *clusterRewriter
}

// rewriter is the cluster rewrite of the statements, nil on a single node.
func (t *chTarget) rewriter() *clusterRewriter {
	if t.cluster != nil {
		return t.cluster.rw
	}
	return t.rw
}

// exec runs one statement of a migration (after statements): on every
// server of an unreplicated cluster when it is DDL.
func (t *chTarget) exec(ctx context.Context, stmt string) error {
	if t.cluster != nil {
		return t.cluster.exec(ctx, stmt)
	}
	return execStatement(ctx, t.conn, stmt)
}

// statements returns what one migration statement becomes here, with the
// placeholders filled in.
func (t *chTarget) statements(stmt string) ([]string, error) {
	stmts := []string{stmt}
	if rw := t.rewriter(); rw != nil {
		var err error
		if stmts, err = rw.Rewrite(stmt); err != nil {
			return nil, err
		}
	}
	r := strings.NewReplacer("{db}", t.cfg.Database, "{retention_days}", strconv.Itoa(t.cfg.RetentionDays))
	for i := range stmts {
		stmts[i] = r.Replace(stmts[i])
	}
	return stmts, nil
}

// prepare creates the database and schema_migrations. On a replicated
// cluster the record is one replicated table shared by every shard and
// replica; on an unreplicated one each server keeps its own.
func (t *chTarget) prepare(ctx context.Context) error {
	db := t.cfg.Database
	create, err := t.statements("CREATE DATABASE IF NOT EXISTS {db}")
	if err != nil {
		return err
	}
	if err := t.exec(ctx, create[0]); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	engine, on := "ReplacingMergeTree", ""
	if t.cluster != nil && t.cluster.rw.replicated {
		engine = fmt.Sprintf("ReplicatedReplacingMergeTree('/clickhouse/tables/all/%s/schema_migrations', '{replica}')", db)
		on = " ON CLUSTER " + t.cfg.Cluster
	}
	if err := t.exec(ctx, `CREATE TABLE IF NOT EXISTS `+db+`.schema_migrations`+on+`
		(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
		ENGINE = `+engine+` ORDER BY version`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	return nil
}

func (t *chTarget) Applied(ctx context.Context) (map[int]bool, error) {
	applied := map[int]bool{}
	rows, err := t.conn.Query(ctx, "SELECT version FROM "+t.cfg.Database+".schema_migrations")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[int(v)] = true
	}
	return applied, rows.Err()
}

func (t *chTarget) Apply(ctx context.Context, m Migration) error {
	for i, stmt := range splitStatements(m.SQL) {
		stmts, err := t.statements(stmt)
		if err != nil {
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
		for _, s := range stmts {
			if err := t.exec(ctx, s); err != nil {
				return fmt.Errorf("statement %d: %w", i+1, err)
			}
		}
	}
	if err := t.record(ctx, m); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// record notes m as applied: in the one schema_migrations, or in every
// server's on an unreplicated cluster.
func (t *chTarget) record(ctx context.Context, m Migration) error {
	insert := "INSERT INTO " + t.cfg.Database + ".schema_migrations (version, name) VALUES (?, ?)"
	if t.cluster == nil || t.cluster.rw.replicated {
		return t.conn.Exec(ctx, insert, uint32(m.Version), m.Name)
	}
	return t.cluster.eachServer(ctx, func(ctx context.Context, conn driver.Conn) error {
		return conn.Exec(ctx, insert, uint32(m.Version), m.Name)
	})
}

// ClusterStatements returns every statement the migrations run on cfg's
// cluster, in order, with the placeholders filled in (tests parse them all).
func ClusterStatements(cfg Config) ([]string, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	if cfg.Cluster == "" {
		return nil, fmt.Errorf("clickhouse.cluster: is not set")
	}
	t := &chTarget{cfg: cfg}
	if t.rw, err = newClusterRewriter(cfg.Cluster, cfg.Database, cfg.replicated(), ms); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		for i, stmt := range splitStatements(m.SQL) {
			stmts, err := t.statements(stmt)
			if err != nil {
				return nil, fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
			}
			out = append(out, stmts...)
		}
	}
	return out, nil
}

// statementTimeout bounds one migration statement. A backfill (INSERT ...
// SELECT over the events) may run for minutes; without a deadline of its own
// it would fail at the connection's read timeout.
const statementTimeout = time.Hour

// execStatement runs one statement under statementTimeout, or the caller's
// deadline when that comes first: clickhouse-go lets a context deadline
// replace its read timeout.
func execStatement(ctx context.Context, conn driver.Conn, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, statementTimeout)
	defer cancel()
	return conn.Exec(ctx, stmt)
}

// setRetention makes the tables' TTL match the configured retention without
// rewriting existing parts (materialize_ttl_after_modify = 0).
func (t *chTarget) setRetention(ctx context.Context) error {
	conn, cfg := t.conn, t.cfg
	tables := map[string]string{"events": "received_at", "event_ids": "received_at", "rejected": "received_at", "spans_v2": "start_time", "documents": "received_at"}
	suffix, on := "", ""
	if rw := t.rewriter(); rw != nil {
		// The TTL is the shard-local tables'.
		suffix, on = LocalSuffix, rw.on()
	}
	for table, col := range tables {
		table += suffix
		want := fmt.Sprintf("toDateTime(%s) + toIntervalDay(%d)", col, cfg.RetentionDays)
		var current string
		if err := conn.QueryRow(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = ?", cfg.Database, table).Scan(&current); err != nil {
			return fmt.Errorf("read ttl of %s: %w", table, err)
		}
		if strings.Contains(current, want) {
			continue
		}
		stmt := fmt.Sprintf("ALTER TABLE %s.%s"+on+" MODIFY TTL toDateTime(%s) + INTERVAL %d DAY SETTINGS materialize_ttl_after_modify = 0", cfg.Database, table, col, cfg.RetentionDays)
		if err := t.exec(ctx, stmt); err != nil {
			return fmt.Errorf("set ttl of %s: %w", table, err)
		}
	}
	return nil
}

// splitStatements splits a migration file on semicolons at line ends,
// dropping comment lines.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || t == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
