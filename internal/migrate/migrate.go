// Package migrate is the one schema migration runner of the ClickHouse and
// PostgreSQL adapters: numbered SQL files read from an embedded folder,
// applied in version order, each recorded once applied. What "applied" and
// "record" mean (a table, a transaction, a lock, the cluster rewrite) is the
// adapter's: it implements Target. The runner knows no driver.
package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one versioned schema change: a file NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads the *.sql files of dir in fsys, in version order. A name that
// does not start with a number, or two files of one version, is an error.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a version number", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s: both are version %d", other, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	return ms, nil
}

// Target is a database the runner migrates.
type Target interface {
	// Applied returns the versions recorded as applied.
	Applied(ctx context.Context) (map[int]bool, error)
	// Apply runs m and records it (atomically where the database can).
	Apply(ctx context.Context, m Migration) error
}

// Run applies, in order, the migrations of ms that t has not recorded, and
// returns how many it applied. It stops at the first failure: a later
// migration may depend on the failed one.
func Run(ctx context.Context, t Target, ms []Migration, log *slog.Logger, what string) (int, error) {
	applied, err := t.Applied(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: read applied migrations: %w", what, err)
	}
	n := 0
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if err := t.Apply(ctx, m); err != nil {
			return n, fmt.Errorf("%s migration %s: %w", what, m.Name, err)
		}
		n++
		log.Info(what+" migration applied", "version", m.Version, "name", m.Name)
	}
	return n, nil
}
