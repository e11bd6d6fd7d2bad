package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/supplywatch/supplywatch/procure"
)

var _ procure.RetryJobStore = (*RetryStore)(nil)

// RetryStore keeps the automatic retry jobs (migration 0300_retry.sql) in
// the transactions of the StateStore on the same database.
type RetryStore struct {
	state *StateStore
}

// NewRetryStore returns a RetryStore on db.
func NewRetryStore(db *DB) *RetryStore { return &RetryStore{state: NewStateStore(db)} }

func pgTx(tx procure.StateTx) (pgx.Tx, error) {
	st, ok := tx.(*stateTx)
	if !ok {
		return nil, fmt.Errorf("retry store: transaction %T is not a postgres StateStore's", tx)
	}
	return st.tx, nil
}

const jobCols = `tenant, message_id, target, topic, idempotency_key, payload, document_type, error_class, error,
	failed_event_id, last_attempt, policy, max_attempts, attempts, state, due_at, last_retry_id`

func scanJob(row pgx.CollectableRow) (*procure.RetryJob, error) {
	var j procure.RetryJob
	var due pgtype.Timestamptz
	var last pgtype.Int8
	err := row.Scan(&j.Tenant, &j.MessageID, &j.Target, &j.Topic, &j.IdempotencyKey, &j.Payload, &j.DocumentType, &j.ErrorClass, &j.Error,
		&j.FailedEventID, &j.LastAttempt, &j.Policy, &j.MaxAttempts, &j.Attempts, &j.State, &due, &last)
	j.DueAt, j.LastRetryID = due.Time, last.Int64
	return &j, err
}

// FindJob returns the job of a message, locked until tx ends, or nil.
func (s *RetryStore) FindJob(ctx context.Context, tx procure.StateTx, tenant, messageID string) (*procure.RetryJob, error) {
	t, err := pgTx(tx)
	if err != nil {
		return nil, err
	}
	rows, _ := t.Query(ctx, `SELECT `+jobCols+` FROM retry_jobs WHERE tenant = $1 AND message_id = $2 FOR UPDATE`, tenant, messageID)
	j, err := pgx.CollectExactlyOneRow(rows, scanJob)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find retry job %s: %w", messageID, err)
	}
	return j, nil
}

// SaveJob inserts or updates j.
func (s *RetryStore) SaveJob(ctx context.Context, tx procure.StateTx, j *procure.RetryJob) error {
	t, err := pgTx(tx)
	if err != nil {
		return err
	}
	var due pgtype.Timestamptz
	if !j.DueAt.IsZero() {
		due = pgtype.Timestamptz{Time: j.DueAt, Valid: true}
	}
	var last pgtype.Int8
	if j.LastRetryID != 0 {
		last = pgtype.Int8{Int64: j.LastRetryID, Valid: true}
	}
	_, err = t.Exec(ctx, `INSERT INTO retry_jobs (`+jobCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (tenant, message_id) DO UPDATE SET target = $3, topic = $4, idempotency_key = $5, payload = $6,
			document_type = $7, error_class = $8, error = $9, failed_event_id = $10, last_attempt = $11, policy = $12,
			max_attempts = $13, attempts = $14, state = $15, due_at = $16, last_retry_id = $17, updated_at = now()`,
		j.Tenant, j.MessageID, j.Target, j.Topic, j.IdempotencyKey, j.Payload, j.DocumentType, j.ErrorClass, j.Error,
		j.FailedEventID, j.LastAttempt, j.Policy, j.MaxAttempts, j.Attempts, j.State, due, last)
	if err != nil {
		return fmt.Errorf("save retry job %s: %w", j.MessageID, err)
	}
	return nil
}

// CreateRetry records a retry (console_retries) and sets its ID.
func (s *RetryStore) CreateRetry(ctx context.Context, tx procure.StateTx, r *procure.Retry) error {
	t, err := pgTx(tx)
	if err != nil {
		return err
	}
	var xid pgtype.Int8
	if r.ExceptionID != 0 {
		xid = pgtype.Int8{Int64: r.ExceptionID, Valid: true}
	}
	err = t.QueryRow(ctx, `INSERT INTO console_retries (tenant, exception_id, message_id, target, topic, idempotency_key,
		requested_by, requested_at, status, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		r.Tenant, xid, r.MessageID, r.Target, r.Topic, r.IdempotencyKey, r.RequestedBy, r.RequestedAt, r.Status, r.Error).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("create retry: %w", err)
	}
	return nil
}

// SettleRetry records the outcome of a retry that is still published.
func (s *RetryStore) SettleRetry(ctx context.Context, tx procure.StateTx, id int64, status, errMsg string, at time.Time) error {
	if id == 0 {
		return nil
	}
	t, err := pgTx(tx)
	if err != nil {
		return err
	}
	if _, err := t.Exec(ctx, `UPDATE console_retries SET status = $2, error = $3, outcome_at = $4 WHERE id = $1 AND status = 'published'`,
		id, status, errMsg, at); err != nil {
		return fmt.Errorf("settle retry %d: %w", id, err)
	}
	return nil
}

// ClaimDueJobs locks up to limit jobs due at now (FOR UPDATE SKIP LOCKED:
// concurrent workers claim disjoint jobs) and passes them to f in the
// transaction.
func (s *RetryStore) ClaimDueJobs(ctx context.Context, now time.Time, limit int, f func(tx procure.StateTx, js []*procure.RetryJob) error) (int, error) {
	n := 0
	err := s.state.InTx(ctx, func(tx procure.StateTx) error {
		t, _ := pgTx(tx)
		rows, _ := t.Query(ctx, `SELECT `+jobCols+` FROM retry_jobs
			WHERE state IN ('scheduled', 'published') AND due_at <= $1
			ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		js, err := pgx.CollectRows(rows, scanJob)
		if err != nil {
			return fmt.Errorf("claim due retries: %w", err)
		}
		n = len(js)
		if n == 0 {
			return nil
		}
		return f(tx, js)
	})
	return n, err
}
