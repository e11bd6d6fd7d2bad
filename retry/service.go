package retry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
)

// Exceptions is what the Service needs of the exception store
// (procure.ExceptionQueue; postgres.ConsoleStore).
type Exceptions interface {
	FindException(ctx context.Context, sc procure.Scope, id int64, now time.Time) (*procure.QueueItem, error)
	AddNote(ctx context.Context, sc procure.Scope, id int64, actor procure.Actor, action, note string, at time.Time) (*procure.Activity, error)
}

// Facts finds the failed delivery a retry re-sends (clickhouse.Facts).
type Facts interface {
	FailedDelivery(ctx context.Context, tenant, messageID string) (*procure.FailedDelivery, error)
}

// Auditor records audit entries (procure.AuditStore).
type Auditor interface {
	Audit(ctx context.Context, e *procure.AuditEntry) error
}

// Service is the one way failed deliveries are re-sent by hand, from the
// console and from Slack's Retry button: Plan checks the scope, the
// allow-list and the duplicate-posting risk; Resend publishes, records the
// retry, notes it on the exception and audits it. The automatic Worker
// publishes through the same send.
type Service struct {
	Exceptions  Exceptions
	Facts       Facts
	Retries     procure.RetryStore
	Audit       Auditor
	Publisher   Publisher
	TopicPrefix string   // retries go to TopicPrefix+target
	Targets     []string // retry.targets: the only targets ever re-sent to
	Log         *slog.Logger
	Now         func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Plan prepares the retries of exceptions within sc for requester, and
// returns the confirmation code a Resend of the same plans must quote (it
// changes when what would be re-sent changes).
func (s *Service) Plan(ctx context.Context, sc procure.Scope, requester string, ids []int64) ([]*procure.RetryPlan, string, error) {
	var plans []*procure.RetryPlan
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|", sc.Tenant, requester)
	for _, id := range ids {
		it, err := s.Exceptions.FindException(ctx, sc, id, s.now())
		if err != nil {
			return nil, "", err
		}
		kind, msg := subjectDoc(it.Subject)
		pl := &procure.RetryPlan{ExceptionID: id, MessageID: msg}
		plans = append(plans, pl)
		if kind != "message" {
			pl.Blocked = "not a failed delivery (subject " + it.Subject + ")"
			continue
		}
		fd, err := s.Facts.FailedDelivery(ctx, sc.Tenant, msg)
		if procure.ErrorCode(err) == procure.ENOTFOUND {
			pl.Blocked = "the message.failed event is not in the fact store"
			continue
		}
		if err != nil {
			return nil, "", err
		}
		d := fd.Delivery
		pl.Target, pl.DocumentType, pl.ErrorClass, pl.Error, pl.Attempt, pl.EventID = d.Target, d.DocumentType, d.ErrorClass, d.Error, d.Attempt, fd.EventID
		pl.Topic = s.TopicPrefix + d.Target
		pl.IdempotencyKey = or(d.IdempotencyKey, d.MessageID)
		pl.Payload, pl.PayloadBytes = d.Payload, len(d.Payload)
		pl.PayloadPreview = d.Payload
		if len(pl.PayloadPreview) > 600 {
			pl.PayloadPreview = pl.PayloadPreview[:600] + "…"
		}
		prev, err := s.Retries.FindRetries(ctx, sc, id, 100)
		if err != nil {
			return nil, "", err
		}
		pl.PreviousTries = len(prev)
		pending := slices.ContainsFunc(prev, func(r *procure.Retry) bool { return r.Status == procure.RetryPublished })
		switch {
		case d.Target == "":
			pl.Blocked = "the failure names no target system"
		case !slices.Contains(s.Targets, d.Target):
			pl.Blocked = fmt.Sprintf("target %q is not in retry.targets: it is never re-sent", d.Target)
		case d.Payload == "":
			pl.Blocked = "the failure carries no payload (reference " + d.PayloadRef + "): re-send it from the source system"
		case pending:
			pl.Risk, pl.RiskReason = "high", "an earlier retry has no outcome yet: it may still be delivered, and this one would post again"
		case d.ErrorClass == "timeout" || d.ErrorClass == "unknown" || d.ErrorClass == "":
			pl.Risk, pl.RiskReason = "high", "the failure was a "+or(d.ErrorClass, "unclassified")+" error: the target may have posted the message already; it drops the retry only if it checks idempotency key "+pl.IdempotencyKey
		case d.HTTPStatus >= 500:
			pl.Risk, pl.RiskReason = "medium", fmt.Sprintf("the target answered %d: it may have posted part of the message", d.HTTPStatus)
		default:
			pl.Risk, pl.RiskReason = "low", "the target refused the message ("+d.ErrorClass+"); the retry carries the original idempotency key"
		}
		fmt.Fprintf(h, "%d:%s:%d;", id, fd.EventID, len(prev))
	}
	return plans, hex.EncodeToString(h.Sum(nil))[:16], nil
}

func subjectDoc(subject string) (kind, id string) {
	parts := strings.SplitN(subject, "/", 3)
	if len(parts) < 2 {
		return "", ""
	}
	return parts[0], parts[1]
}

// Resend re-sends each plan that is not blocked, with its idempotency key
// and tenant, records the retry (console_retries, requested by
// requester), notes it on the exception as actor, and audits the whole as
// audit says (who, from where; action retry.publish on exceptions, with
// the ids, the count and via when not empty). The caller planned (Plan)
// and decided the risk is accepted. A failure to audit is logged: the
// retries happened.
func (s *Service) Resend(ctx context.Context, sc procure.Scope, requester string, actor procure.Actor, plans []*procure.RetryPlan, audit procure.AuditEntry, via string) ([]*procure.Retry, error) {
	out := []*procure.Retry{}
	ids := make([]int64, 0, len(plans))
	for _, pl := range plans {
		ids = append(ids, pl.ExceptionID)
		if pl.Blocked != "" {
			continue
		}
		r := &procure.Retry{Tenant: sc.Tenant, ExceptionID: pl.ExceptionID, MessageID: pl.MessageID, Target: pl.Target, Topic: pl.Topic,
			IdempotencyKey: pl.IdempotencyKey, RequestedBy: requester, RequestedAt: s.now(), Status: procure.RetryPublished}
		if err := s.send(ctx, r, pl.Payload, pl.EventID, 0); err != nil {
			s.Log.Warn("retry publish failed", "exception", pl.ExceptionID, "topic", pl.Topic, "err", err)
		}
		if err := s.Retries.CreateRetry(ctx, r); err != nil {
			return nil, err
		}
		note := fmt.Sprintf("retry %s to %s with idempotency key %s", r.Status, r.Topic, r.IdempotencyKey)
		if r.Error != "" {
			note += ": " + r.Error
		}
		if _, err := s.Exceptions.AddNote(ctx, sc, pl.ExceptionID, actor, "retry", note, r.RequestedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	audit.Tenant = sc.Tenant
	s.audit(ctx, audit, map[string]any{"ids": ids, "retries": len(out)}, via)
	return out, nil
}

// audit records e as retry.publish on exceptions with detail (and via when
// not empty). A failure to audit is logged: the retries happened.
func (s *Service) audit(ctx context.Context, e procure.AuditEntry, detail map[string]any, via string) {
	if via != "" {
		detail["via"] = via
	}
	e.Action, e.Target, e.At = "retry.publish", "exceptions", s.now()
	if b, err := json.Marshal(detail); err == nil {
		e.Detail = b
	}
	if s.Audit == nil {
		s.Log.Error("retry not audited: no audit store", "tenant", e.Tenant, "actor", e.Actor, "detail", string(e.Detail))
		return
	}
	if err := s.Audit.Audit(ctx, &e); err != nil {
		s.Log.Error("audit failed", "action", e.Action, "target", e.Target, "err", err)
	}
}

// send publishes r's retry of payload (the failed event retryOf) to
// r.Topic with the idempotency key and tenant headers, and the attempt
// header when attempt > 0 (automatic retries), waiting at most 15s for the
// brokers. It sets r.Status (published, or failed with r.Error) and
// returns the publication error. Manual and automatic retries are sent
// only through it.
func (s *Service) send(ctx context.Context, r *procure.Retry, payload, retryOf string, attempt int) error {
	msg := kafka.RetryMessage(r.Topic, r.IdempotencyKey, payload, retryOf, r.RequestedBy, r.Tenant)
	if attempt > 0 {
		msg.Headers[kafka.HeaderAttempt] = fmt.Sprint(attempt)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	r.Status, r.Error = procure.RetryPublished, ""
	err := s.Publisher.Publish(pctx, msg)
	if err != nil {
		r.Status, r.Error = procure.RetryFailed, err.Error()
	}
	return err
}
