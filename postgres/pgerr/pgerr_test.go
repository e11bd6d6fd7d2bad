package pgerr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/supplywatch/supplywatch/postgres/pgerr"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
)

// Errors from a real server and a server that is not there get the class
// the rules processor and the alert sender act on.
func TestClassifyRealFailures(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	classOf := func(err error) string {
		c, r := procure.Classify(pgerr.Classify(err))
		return c + "/" + r
	}
	_, nul := db.Pool.Exec(ctx, "SELECT $1::text", "a\x00b")
	_, uniq := db.Pool.Exec(ctx, "CREATE TEMP TABLE u (k int PRIMARY KEY); INSERT INTO u VALUES (1), (1)")
	_, syntax := db.Pool.Exec(ctx, "SELEC 1")
	_, encode := db.Pool.Exec(ctx, "SELECT $1::int4", int64(3000000000))
	_, cancel := db.Pool.Exec(ctx, "SET statement_timeout = '50ms'; SELECT pg_sleep(1)")
	dctx, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	_, refused := pgx.Connect(dctx, "postgres://test@127.0.0.1:1/test?connect_timeout=1")
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"NUL in text", nul, "deterministic/encoding"},
		{"unique violation", uniq, "deterministic/constraint"},
		{"syntax error", syntax, "deterministic/statement"},
		{"value pgx cannot encode for its column", encode, "deterministic/encoding"},
		{"statement timeout", cancel, "transient/timeout"},
		{"connection refused", refused, "transient/unavailable"},
		{"serialization failure", fmt.Errorf("tx: %w", &pgconn.PgError{Code: "40001"}), "transient/serialization"},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, "transient/unavailable"},
		{"too many connections", &pgconn.PgError{Code: "53300"}, "transient/overload"},
		{"deadline", context.DeadlineExceeded, "transient/timeout"},
	} {
		if tt.err == nil {
			t.Errorf("%s: no error to classify", tt.name)
			continue
		}
		if got := classOf(tt.err); got != tt.want {
			t.Errorf("%s: %v is %s, want %s", tt.name, tt.err, got, tt.want)
		}
	}
	if err := pgerr.Classify(nil); err != nil || errors.Is(err, context.Canceled) {
		t.Errorf("nil classified as %v", err)
	}
}
