package clickhouse

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a version number", name)
		}
		b, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate creates the database if needed and applies the migrations not yet
// recorded in schema_migrations, in order. Every statement is idempotent
// (IF NOT EXISTS), so two processes migrating at once do no harm. It then
// sets the retention TTL to the configured value.
func Migrate(ctx context.Context, conn driver.Conn, cfg Config, log *slog.Logger) error {
	db := cfg.Database
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+db+`.schema_migrations
		(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
		ENGINE = ReplacingMergeTree ORDER BY version`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM "+db+".schema_migrations")
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[int(v)] = true
	}
	rows.Close()
	ms, err := Migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range splitStatements(m.SQL) {
			stmt = strings.NewReplacer("{db}", db, "{retention_days}", strconv.Itoa(cfg.RetentionDays)).Replace(stmt)
			if err := execStatement(ctx, conn, stmt); err != nil {
				return fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
			}
		}
		if err := conn.Exec(ctx, "INSERT INTO "+db+".schema_migrations (version, name) VALUES (?, ?)", uint32(m.Version), m.Name); err != nil {
			return fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		log.Info("clickhouse migration applied", "version", m.Version, "name", m.Name)
	}
	return setRetention(ctx, conn, cfg)
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
func setRetention(ctx context.Context, conn driver.Conn, cfg Config) error {
	tables := map[string]string{"events": "received_at", "event_ids": "received_at", "rejected": "received_at", "spans": "start_time", "documents": "received_at"}
	for table, col := range tables {
		want := fmt.Sprintf("toDateTime(%s) + toIntervalDay(%d)", col, cfg.RetentionDays)
		var current string
		if err := conn.QueryRow(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = ?", cfg.Database, table).Scan(&current); err != nil {
			return fmt.Errorf("read ttl of %s: %w", table, err)
		}
		if strings.Contains(current, want) {
			continue
		}
		stmt := fmt.Sprintf("ALTER TABLE %s.%s MODIFY TTL toDateTime(%s) + INTERVAL %d DAY SETTINGS materialize_ttl_after_modify = 0", cfg.Database, table, col, cfg.RetentionDays)
		if err := conn.Exec(ctx, stmt); err != nil {
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
