package clickhouse

import (
	"context"
	"log/slog"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/supplywatch/supplywatch/internal/migrate"
)

// migrateBelow applies the migrations before version to cfg's database, as
// a deployment of the previous release has them, and returns the target
// and the migration of that version.
func migrateBelow(t *testing.T, conn driver.Conn, cfg Config, version int) (*chTarget, Migration) {
	t.Helper()
	ctx := context.Background()
	target := &chTarget{conn: conn, cfg: cfg}
	if err := target.prepare(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var before []Migration
	var at Migration
	for _, m := range ms {
		switch {
		case m.Version < version:
			before = append(before, m)
		case m.Version == version:
			at = m
		}
	}
	if at.Version != version {
		t.Fatalf("no migration %04d", version)
	}
	if _, err := migrate.Run(ctx, target, before, slog.New(slog.DiscardHandler), "clickhouse"); err != nil {
		t.Fatal(err)
	}
	return target, at
}
