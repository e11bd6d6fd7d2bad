// Package retry retries failed deliveries between systems automatically,
// per error class, before an exception is raised.
//
// The rules engine hands it every message.failed and message.delivered in
// its own transaction (Worker.Observe, the engine's Retrier): a failure of a
// class the policy retries schedules a job with backoff and tells the rules
// that a retry is pending (retry.pending), so no exception is raised yet;
// a failure it does not retry, or the one after the last attempt, tells
// them the policy gave up. A delivery cancels what is pending.
//
// Worker.Run publishes due jobs: it claims them with FOR UPDATE SKIP
// LOCKED, so that several processes never publish the same attempt, and
// re-sends the failed payload to the target's retry topic with the original
// idempotency key, recording each retry (requested by "policy") where the
// console shows retries. An attempt without an outcome within
// OutcomeTimeout becomes a message.failed of its own on the events topic,
// so that the rules see it like any failure.
//
// It leaves the exceptions to the rules, the transport to the Publisher and
// the state to the Store (Postgres).
package retry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
)

// Actor is the name automatic retries are recorded under.
const Actor = "policy"

// Publisher publishes retries and returns when the brokers acknowledged
// them (kafka.MessageWriter).
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// EventPublisher writes canonical events to the events topic
// (*kafka.Publisher).
type EventPublisher interface {
	PublishEvents(ctx context.Context, rs []procure.Received) error
}

// Worker is the retry policy at work: Observe in the rules engine, Run in
// its own goroutine.
type Worker struct {
	cfg         Config
	store       procure.RetryJobStore
	svc         *Service // sends and audits, as the manual retries are
	events      EventPublisher
	topicPrefix string
	log         *slog.Logger
	now         func() time.Time
	jitter      func() float64
	// sources says which sources a tenant's ingest tokens may send
	// (UseIngestSources); nil: not checked.
	sources func(tenant string) ([]string, bool)
}

// UseIngestSources makes the worker re-check, before it schedules a retry,
// that the failure's source is one the tenant's ingest tokens may send
// (any: no list, or a tenant without ingest tokens, whose events come over
// Kafka only): a sender may not have others' payloads re-sent.
func (w *Worker) UseIngestSources(f func(tenant string) (sources []string, any bool)) { w.sources = f }

// New returns a Worker. pub publishes retries to topicPrefix+target; events
// takes the failures it reports for attempts without an outcome. now
// defaults to time.Now.
func New(cfg Config, store procure.RetryJobStore, pub Publisher, events EventPublisher, topicPrefix string, log *slog.Logger, now func() time.Time) *Worker {
	cfg.Defaults()
	if now == nil {
		now = time.Now
	}
	return &Worker{cfg: cfg, store: store, svc: &Service{Publisher: pub, Log: log, Now: now}, events: events, topicPrefix: topicPrefix, log: log, now: now, jitter: rand.Float64}
}

// UseAudit makes the worker audit each automatic retry as the console's
// retries are audited (retry.publish, actor "policy"); the rules role
// passes the console store. Without it each retry logs that it was not
// audited.
func (w *Worker) UseAudit(a Auditor) { w.svc.Audit = a }

// Config is the configuration in force (defaults filled).
func (w *Worker) Config() Config { return w.cfg }

// Observe applies a message.failed or message.delivered to the message's
// job and returns the decision the rules see. It runs in the rules
// engine's transaction; an event is observed once (the engine drops
// duplicates).
func (w *Worker) Observe(ctx context.Context, tx procure.StateTx, e *procure.Event, now time.Time) (*procure.RetryView, error) {
	d, ok := e.Payload.(*procure.Delivery)
	if !ok {
		return nil, nil
	}
	msg := d.MessageID
	if msg == "" {
		msg = e.Document.ID
	}
	j, err := w.store.FindJob(ctx, tx, e.Tenant, msg)
	if err != nil {
		return nil, fmt.Errorf("retry %s: %w", msg, err)
	}
	if e.Type == procure.MessageDelivered {
		if j == nil || j.State == procure.JobDelivered {
			return nil, nil
		}
		if j.Active() {
			if err := w.settle(ctx, tx, j, procure.RetryDelivered, "", e.OccurredAt); err != nil {
				return nil, err
			}
		}
		// Delivered, by our retry or otherwise (a manual one after the
		// policy gave up): the next failure starts over.
		j.State, j.DueAt = procure.JobDelivered, time.Time{}
		return &procure.RetryView{Attempts: j.Attempts, MaxAttempts: j.MaxAttempts, Policy: j.Policy}, w.store.SaveJob(ctx, tx, j)
	}

	pol := w.cfg.PolicyFor(d.Target, d.ErrorClass)
	switch {
	case j != nil && j.Active():
		// The outcome of our retry (or of the source's own).
		if err := w.settle(ctx, tx, j, procure.RetryRedeliveryFailed, d.Error, e.OccurredAt); err != nil {
			return nil, err
		}
	case j != nil && (j.State == procure.JobExhausted || j.State == procure.JobNotRetried):
		// Failed again after the policy gave up (a manual retry): the
		// policy does not start over.
		j.ErrorClass, j.Error, j.FailedEventID, j.LastAttempt = d.ErrorClass, d.Error, e.ID, d.Attempt
		return w.view(j, pol, "no automatic retry after the policy gave up"), w.store.SaveJob(ctx, tx, j)
	default: // first failure, or the first since a delivery
		j = &procure.RetryJob{Tenant: e.Tenant, MessageID: msg}
	}
	j.Target, j.DocumentType, j.ErrorClass, j.Error, j.FailedEventID, j.LastAttempt = d.Target, d.DocumentType, d.ErrorClass, d.Error, e.ID, d.Attempt
	j.Topic = w.topicPrefix + d.Target
	if d.IdempotencyKey != "" {
		j.IdempotencyKey = d.IdempotencyKey
	} else if j.IdempotencyKey == "" {
		j.IdempotencyKey = msg
	}
	if d.Payload != "" {
		j.Payload = d.Payload
	}
	j.Policy, j.MaxAttempts = pol.Name, pol.MaxAttempts
	reason := ""
	switch {
	case w.cfg.Disabled:
		j.State, reason = procure.JobNotRetried, "automatic retries are off"
	case pol.MaxAttempts == 0:
		j.State, reason = procure.JobNotRetried, fmt.Sprintf("%s errors are not retried automatically", or(d.ErrorClass, "unclassified"))
	case now.Sub(e.OccurredAt) > w.cfg.MaxAge:
		j.State, reason = procure.JobNotRetried, fmt.Sprintf("the failure is older than %s: not retried automatically", w.cfg.MaxAge)
	case d.Target == "":
		j.State, reason = procure.JobNotRetried, "the failure names no target system to retry"
	case !w.cfg.AllowsTarget(d.Target):
		j.State, reason = procure.JobNotRetried, fmt.Sprintf("target %q is not in retry.targets: not re-sent", d.Target)
	case !w.sourceAllowed(e):
		j.State, reason = procure.JobNotRetried, fmt.Sprintf("no ingest token of tenant %q may send source %q: not re-sent", e.Tenant, e.Source)
	case j.Payload == "":
		j.State, reason = procure.JobNotRetried, "the failure carries no payload to re-send (reference "+or(d.PayloadRef, "none")+")"
	case j.Attempts >= pol.MaxAttempts:
		j.State, reason = procure.JobExhausted, fmt.Sprintf("%d automatic retries failed", j.Attempts)
	default:
		j.State, j.DueAt = procure.JobScheduled, now.Add(pol.Backoff.Delay(j.Attempts, w.jitter()))
	}
	if j.State != procure.JobScheduled {
		j.DueAt = time.Time{}
	}
	return w.view(j, pol, reason), w.store.SaveJob(ctx, tx, j)
}

func (w *Worker) sourceAllowed(e *procure.Event) bool {
	if w.sources == nil {
		return true
	}
	srcs, any := w.sources(e.Tenant)
	return any || slices.Contains(srcs, string(e.Source))
}

func (w *Worker) view(j *procure.RetryJob, pol Policy, reason string) *procure.RetryView {
	return &procure.RetryView{Pending: j.State == procure.JobScheduled, Retryable: pol.MaxAttempts > 0, Attempts: j.Attempts,
		MaxAttempts: pol.MaxAttempts, Policy: pol.Name, Reason: reason}
}

// settle records the outcome of the job's latest retry, if it has one.
func (w *Worker) settle(ctx context.Context, tx procure.StateTx, j *procure.RetryJob, status, errMsg string, at time.Time) error {
	if j.LastRetryID == 0 || j.State == procure.JobScheduled {
		return nil
	}
	return w.store.SettleRetry(ctx, tx, j.LastRetryID, status, errMsg, at)
}

// Run publishes due retries until ctx is done. Several workers (in one or
// more processes) share the jobs.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := w.RunDue(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("automatic retries failed; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunDue publishes the retries due now and reports the attempts without an
// outcome, batch by batch, and returns how many jobs it handled.
func (w *Worker) RunDue(ctx context.Context) (int, error) {
	total := 0
	for ctx.Err() == nil {
		n, err := w.store.ClaimDueJobs(ctx, w.now(), w.cfg.Batch, func(tx procure.StateTx, js []*procure.RetryJob) error {
			for _, j := range js {
				var err error
				if j.State == procure.JobScheduled {
					err = w.publish(ctx, tx, j)
				} else {
					err = w.report(ctx, tx, j, "timeout", fmt.Sprintf("no outcome within %s of automatic retry %d", w.cfg.OutcomeTimeout, j.Attempts))
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		total += n
		if err != nil || n < w.cfg.Batch {
			return total, err
		}
	}
	return total, nil
}

// publish re-sends j's payload and records the retry. A failed publication
// is an attempt too: it is reported as a failure at once.
func (w *Worker) publish(ctx context.Context, tx procure.StateTx, j *procure.RetryJob) error {
	now := w.now()
	j.Attempts++
	r := &procure.Retry{Tenant: j.Tenant, MessageID: j.MessageID, Target: j.Target, Topic: j.Topic,
		IdempotencyKey: j.IdempotencyKey, RequestedBy: Actor, RequestedAt: now, Status: procure.RetryPublished}
	err := w.svc.send(ctx, r, j.Payload, j.FailedEventID, j.Attempts)
	j.State, j.DueAt = procure.JobPublished, now.Add(w.cfg.OutcomeTimeout)
	if err != nil {
		w.log.Warn("automatic retry not published", "tenant", j.Tenant, "message", j.MessageID, "topic", j.Topic, "attempt", j.Attempts, "err", err)
	} else {
		w.log.Info("automatic retry published", "tenant", j.Tenant, "message", j.MessageID, "topic", j.Topic, "attempt", j.Attempts, "of", j.MaxAttempts)
	}
	if err := w.store.CreateRetry(ctx, tx, r); err != nil {
		return err
	}
	j.LastRetryID = r.ID
	// No exception yet (the rules raise it once the policy gives up): the
	// message says what was retried.
	w.svc.audit(ctx, procure.AuditEntry{Tenant: j.Tenant, Actor: Actor, ActorKind: Actor},
		map[string]any{"ids": []int64{}, "retries": 1, "message_id": j.MessageID, "attempt": j.Attempts}, Actor)
	if err != nil {
		return w.report(ctx, tx, j, "connection", fmt.Sprintf("automatic retry %d could not be published to %s: %v", j.Attempts, j.Topic, err))
	}
	return w.store.SaveJob(ctx, tx, j)
}

// report turns a retry without an outcome (or that could not be
// published) into a message.failed on the events topic, which the rules
// engine hands back to Observe like any failure: the next attempt is
// scheduled there, or the policy gives up. Its id derives from the
// attempt, so a report sent twice is one event.
func (w *Worker) report(ctx context.Context, tx procure.StateTx, j *procure.RetryJob, class, text string) error {
	now := w.now()
	if err := w.store.SettleRetry(ctx, tx, j.LastRetryID, procure.RetryRedeliveryFailed, text, now); err != nil {
		return err
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%d", j.Tenant, j.MessageID, j.Attempts))
	e := &procure.Event{ID: "retry-failed-" + hex.EncodeToString(sum[:12]), Type: procure.MessageFailed, Source: procure.SourceMiddleware,
		Tenant: j.Tenant, OccurredAt: now.UTC(), Document: procure.DocumentRef{Kind: procure.DocMessage, ID: j.MessageID},
		Payload: &procure.Delivery{MessageID: j.MessageID, Target: j.Target, Endpoint: j.Topic, DocumentType: j.DocumentType,
			ErrorClass: class, Error: text, Attempt: j.LastAttempt + 1, IdempotencyKey: j.IdempotencyKey, Payload: j.Payload}}
	raw, err := procure.Encode(e)
	if err != nil {
		return fmt.Errorf("retry %s: %w", j.MessageID, err)
	}
	if err := w.events.PublishEvents(ctx, []procure.Received{{Event: e, Raw: raw, Channel: procure.ChannelKafka, ReceivedAt: now}}); err != nil {
		return fmt.Errorf("retry %s: report the failed attempt: %w", j.MessageID, err)
	}
	j.State, j.DueAt = procure.JobTimedOut, time.Time{}
	return w.store.SaveJob(ctx, tx, j)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
