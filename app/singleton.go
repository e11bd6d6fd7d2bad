package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Keys of the Postgres advisory locks that make a part run in one process
// of its role at a time.
const kpiRefreshLock = 0x5357_4b50_4952 // "SWKPIR"

// singleton runs r only while this process holds the session advisory lock
// key on a connection of pool: of several rules processes one refreshes
// the KPIs, and when it dies (its session ends) another takes over within
// retry. Losing the connection stops r before the lock could be taken
// elsewhere for long.
func singleton(pool *pgxpool.Pool, key int64, retry time.Duration, r Runner, log *slog.Logger) Runner {
	return RunnerFunc(func(ctx context.Context) error {
		for ctx.Err() == nil {
			held, err := holdAndRun(ctx, pool, key, retry, r)
			if err != nil && ctx.Err() == nil {
				if held {
					return err // the part itself failed
				}
				log.Warn("advisory lock", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
		}
		return nil
	})
}

// holdAndRun takes the lock if it is free and runs r while it holds it.
func holdAndRun(ctx context.Context, pool *pgxpool.Pool, key int64, check time.Duration, r Runner) (held bool, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil || !ok {
		return false, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) //nolint:errcheck
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := make(chan error, 1)
	go func() {
		t := time.NewTicker(check)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				if err := conn.Ping(rctx); err != nil && rctx.Err() == nil {
					lost <- err
					cancel()
					return
				}
			}
		}
	}()
	err = r.Run(rctx)
	select {
	case lerr := <-lost:
		return false, errors.Join(errors.New("lock connection lost"), lerr)
	default:
	}
	return true, err
}
