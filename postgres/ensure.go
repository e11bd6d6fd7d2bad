package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnsureDatabase creates the database named in cfg.URL if it does not exist,
// connecting to the server's maintenance database "postgres" to do so. A
// database created by another process meanwhile is not an error.
func EnsureDatabase(ctx context.Context, cfg Config) error {
	pc, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return fmt.Errorf("postgres.url: %w", err)
	}
	name := pc.Database
	if name == "" || name == "postgres" {
		return nil
	}
	pc.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("postgres connect to create database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("postgres look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("postgres create database %s: %w", name, err)
	}
	return nil
}
