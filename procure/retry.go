package procure

import (
	"context"
	"time"
)

// Retry statuses.
const (
	RetryPublished        = "published"
	RetryFailed           = "failed"
	RetryDelivered        = "delivered"
	RetryRedeliveryFailed = "redelivery_failed"
)

// Retry is one re-publication of a failed delivery.
type Retry struct {
	ID             int64     `json:"id"`
	Tenant         string    `json:"tenant"`
	ExceptionID    int64     `json:"exception_id"`
	MessageID      string    `json:"message_id"`
	Target         string    `json:"target"`
	Topic          string    `json:"topic"`
	IdempotencyKey string    `json:"idempotency_key"`
	RequestedBy    string    `json:"requested_by"`
	RequestedAt    time.Time `json:"requested_at"`
	Status         string    `json:"status"`
	Error          string    `json:"error,omitempty"`
	OutcomeAt      time.Time `json:"outcome_at"`
}

// RetryStore tracks retries.
type RetryStore interface {
	CreateRetry(ctx context.Context, r *Retry) error
	FindRetries(ctx context.Context, sc Scope, exceptionID int64, limit int) ([]*Retry, error)
	UpdateRetry(ctx context.Context, id int64, status, errMsg string, at time.Time) error
}

// Retry job states: where the automatic retry of one message stands.
const (
	JobScheduled  = "scheduled"   // the next retry is due at DueAt
	JobPublished  = "published"   // a retry is out; its outcome is due by DueAt
	JobTimedOut   = "timed_out"   // no outcome in time; reported as a message.failed
	JobDelivered  = "delivered"   // delivered (by a retry or otherwise): nothing pending
	JobExhausted  = "exhausted"   // every automatic retry failed
	JobNotRetried = "not_retried" // the policy does not retry this failure
)

// RetryJob is the automatic retry of one message (retry.Worker).
type RetryJob struct {
	Tenant, MessageID                string
	Target, Topic, IdempotencyKey    string
	Payload, DocumentType            string
	ErrorClass, Error, FailedEventID string
	LastAttempt                      int // the Delivery.Attempt of the latest failure
	Policy                           string
	MaxAttempts, Attempts            int
	State                            string
	DueAt                            time.Time
	LastRetryID                      int64 // the Retry record of the latest retry
}

// Active reports whether a retry is scheduled or out.
func (j *RetryJob) Active() bool {
	return j.State == JobScheduled || j.State == JobPublished || j.State == JobTimedOut
}

// RetryJobStore keeps the retry jobs. The transactions are the rules
// engine's (StateTx of the same store), so that a job changes with the
// exceptions of the event that changed it.
type RetryJobStore interface {
	// FindJob returns the job of a message, locked, or nil.
	FindJob(ctx context.Context, tx StateTx, tenant, messageID string) (*RetryJob, error)
	// SaveJob inserts or updates j.
	SaveJob(ctx context.Context, tx StateTx, j *RetryJob) error
	// CreateRetry records a published retry and sets its ID.
	CreateRetry(ctx context.Context, tx StateTx, r *Retry) error
	// SettleRetry records the outcome of a retry still published.
	SettleRetry(ctx context.Context, tx StateTx, id int64, status, errMsg string, at time.Time) error
	// ClaimDueJobs locks up to limit scheduled or published jobs due at
	// now, skipping those others hold, and passes them to f in the
	// transaction; it returns how many it claimed.
	ClaimDueJobs(ctx context.Context, now time.Time, limit int, f func(tx StateTx, js []*RetryJob) error) (int, error)
}

// RetryPlan is what a manual retry of one failed delivery would re-send
// (retry.Service.Plan), with its duplicate-posting risk.
type RetryPlan struct {
	ExceptionID    int64  `json:"exception_id"`
	MessageID      string `json:"message_id"`
	Target         string `json:"target"`
	Topic          string `json:"topic"`
	IdempotencyKey string `json:"idempotency_key"`
	DocumentType   string `json:"document_type"`
	ErrorClass     string `json:"error_class"`
	Error          string `json:"error"`
	Attempt        int    `json:"attempt"`
	PayloadBytes   int    `json:"payload_bytes"`
	PayloadPreview string `json:"payload_preview"`
	EventID        string `json:"event_id"`
	PreviousTries  int    `json:"previous_retries"`
	// Risk is low, medium or high; RiskReason says why.
	Risk       string `json:"duplicate_risk"`
	RiskReason string `json:"duplicate_risk_reason"`
	// Blocked says why this one cannot be retried (then it is skipped).
	Blocked string `json:"blocked,omitempty"`
	// Payload is what would be re-sent (not shown: PayloadPreview).
	Payload string `json:"-"`
}
