// Package postgres keeps supplywatch's mutable workflow state in PostgreSQL
// with pgx: document projections, the processed-events record, SLA timers,
// exceptions with their groups, activity log and outbox, and the alert
// pipeline's feed, groups and deliveries (AlertStore).
//
// It implements the store contracts of package procure and knows nothing of
// rules, calendars or Kafka: what is stored and when is decided by the rules
// engine and the SLA scheduler. Schema changes are versioned SQL files
// applied by Migrate under an advisory lock, so concurrent processes are
// safe.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/supplywatch/supplywatch/internal/migrate"
)

// Config says which PostgreSQL to use.
type Config struct {
	// URL is a libpq URL or DSN (postgres://user@host:5432/db).
	URL      string `yaml:"url" env:"URL"`
	MaxConns int32  `yaml:"max_conns" env:"MAX_CONNS"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.URL == "" {
		c.URL = "postgres://postgres@127.0.0.1:5432/supplywatch?sslmode=disable"
	}
	if c.MaxConns == 0 {
		c.MaxConns = 8
	}
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	if c.URL == "" {
		return errors.New("postgres.url: is required")
	}
	if _, err := pgxpool.ParseConfig(c.URL); err != nil {
		return fmt.Errorf("postgres.url: %w", err)
	}
	if c.MaxConns < 1 {
		return errors.New("postgres.max_conns: must be at least 1")
	}
	return nil
}

// DB is a connection pool.
type DB struct {
	Pool *pgxpool.Pool
}

// Open connects and pings.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres url: %w", err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres connect: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres ping %s: %w", pc.ConnConfig.Host, err)
	}
	return &DB{Pool: pool}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change.
type Migration = migrate.Migration

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) { return migrate.Load(migrationFiles, "migrations") }

// migrateLock is the pg_advisory_lock key that serialises migrations.
const migrateLock = 0x5357_4d49_4752 // "SWMIGR"

// Migrate applies the migrations not yet recorded in schema_migrations, each
// in its own transaction, holding a session advisory lock so that processes
// starting together apply each migration once.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrateLock)); err != nil {
		return fmt.Errorf("postgres migrate lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrateLock)) //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	ms, err := Migrations()
	if err != nil {
		return err
	}
	_, err = migrate.Run(ctx, pgTarget{conn}, ms, log, "postgres")
	return err
}

// pgTarget is the database behind a locked connection as a migrate.Target:
// each migration and its record in one transaction.
type pgTarget struct{ conn *pgxpool.Conn }

func (t pgTarget) Applied(ctx context.Context) (map[int]bool, error) {
	rows, err := t.conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, err
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, err
	}
	applied := make(map[int]bool, len(vs))
	for _, v := range vs {
		applied[int(v)] = true
	}
	return applied, nil
}

func (t pgTarget) Apply(ctx context.Context, m Migration) error {
	return pgx.BeginFunc(ctx, t.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
		return err
	})
}

// retryable reports whether err is a serialization failure or a deadlock,
// after which the whole transaction may be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
