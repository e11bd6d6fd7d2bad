package chtest_test

import (
	"context"
	"testing"

	"github.com/supplywatch/supplywatch/chdb/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func TestDBGivesEachTestItsOwnDatabase(t *testing.T) {
	ctx := context.Background()
	var names []string
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			conn, db, addr := chtest.DB(t)
			if addr == "" {
				t.Fatal("empty addr")
			}
			if err := conn.Exec(ctx, "CREATE TABLE items (id UInt64) ENGINE = MergeTree ORDER BY id"); err != nil {
				t.Fatal(err)
			}
			if err := conn.Exec(ctx, "INSERT INTO items VALUES (1), (2)"); err != nil {
				t.Fatal(err)
			}
			var current string
			var n uint64
			if err := conn.QueryRow(ctx, "SELECT currentDatabase(), (SELECT count() FROM items)").Scan(&current, &n); err != nil {
				t.Fatal(err)
			}
			if current != db || n != 2 {
				t.Fatalf("got database %q with %d rows, want %q with 2", current, n, db)
			}
			names = append(names, db)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %v, want two distinct", names)
	}

	conn, _, _ := chtest.DB(t)
	var left uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name IN (?, ?)", names[0], names[1]).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d test databases left after their tests ended", left)
	}
}
