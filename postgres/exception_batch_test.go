package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
)

type batchRaiser interface {
	RaiseExceptions(ctx context.Context, cs []*procure.ExceptionCandidate) ([]*procure.Exception, error)
}

// RaiseExceptions leaves the same exceptions, activity, outbox and groups
// as RaiseException one by one: new ones, one that exists (resolved, so it
// reopens) and a fingerprint twice in one call.
func TestRaiseExceptionsIsRaiseExceptionForEach(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	cand := func(subject, supplier string, value float64) *procure.ExceptionCandidate {
		return &procure.ExceptionCandidate{Tenant: "acme", Rule: "po-not-acknowledged", Kind: procure.KindSLA, Subject: subject,
			Title: "T", Message: "M " + subject, Severity: procure.SeverityHigh, Team: "procurement", Supplier: supplier,
			Plant: "P01", PO: subject, ValueAtRisk: value, At: t0}
	}
	type snapshot struct{ exceptions, activity, outbox, groups []string }
	run := func(batch bool) snapshot {
		db := pgtest.New(t)
		store := postgres.NewStateStore(db)
		err := store.InTx(ctx, func(tx procure.StateTx) error {
			if _, err := tx.Exceptions().RaiseException(ctx, cand("po/0", "S1", 5)); err != nil {
				return err
			}
			_, err := tx.Exceptions().ResolveException(ctx, "acme", procure.Fingerprint("acme", "po-not-acknowledged", "po/0"), t0, procure.Actor{Kind: procure.ActorRule, Name: "x"}, "met")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		cs := []*procure.ExceptionCandidate{cand("po/1", "S1", 10), cand("po/0", "S1", 5), cand("po/2", "S2", 20), cand("po/1", "S1", 10), cand("po/3", "S1", 1)}
		err = store.InTx(ctx, func(tx procure.StateTx) error {
			if batch {
				br, ok := tx.Exceptions().(batchRaiser)
				if !ok {
					t.Fatal("the Postgres ExceptionTx has no RaiseExceptions")
				}
				xs, err := br.RaiseExceptions(ctx, cs)
				if err == nil && (len(xs) != len(cs) || slices.Contains(xs, nil)) {
					t.Errorf("RaiseExceptions returned %v", xs)
				}
				return err
			}
			for _, c := range cs {
				if _, err := tx.Exceptions().RaiseException(ctx, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var s snapshot
		query := func(q string) []string {
			rows, err := db.Pool.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				vs, _ := rows.Values()
				out = append(out, fmt.Sprint(vs...))
			}
			slices.Sort(out)
			return out
		}
		s.exceptions = query(`SELECT fingerprint, state, occurrences, version, value_at_risk, priority FROM exceptions`)
		s.activity = query(`SELECT e.fingerprint, a.action, a.from_state, a.to_state, a.actor_kind, a.actor, a.note FROM exception_activity a JOIN exceptions e ON e.id = a.exception_id`)
		s.outbox = query(`SELECT e.fingerprint, o.kind, o.payload->'exception'->>'state', o.payload->'exception'->>'occurrences' FROM exception_outbox o JOIN exceptions e ON e.id = o.exception_id`)
		s.groups = query(`SELECT group_key, open_count, total_count, value_at_risk FROM exception_groups`)
		return s
	}
	one, many := run(false), run(true)
	for _, c := range []struct {
		what      string
		one, many []string
	}{{"exceptions", one.exceptions, many.exceptions}, {"activity", one.activity, many.activity}, {"outbox", one.outbox, many.outbox}, {"groups", one.groups, many.groups}} {
		if !slices.Equal(c.one, c.many) {
			t.Errorf("%s one by one:\n%v\nin a batch:\n%v", c.what, c.one, c.many)
		}
	}
	if len(one.exceptions) != 4 {
		t.Errorf("exceptions %v", one.exceptions)
	}
}
