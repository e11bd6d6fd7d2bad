package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
)

// retriesOf returns an exception's retries with the outcome of those still
// waiting read from the delivery events. It writes nothing (GET handlers
// have no side effects): planRetries stores the outcomes.
func (h *retryHandlers) retriesOf(ctx context.Context, sc procure.Scope, exceptionID int64) ([]*procure.Retry, error) {
	rs, err := h.store.FindRetries(ctx, sc, exceptionID, 100)
	if err != nil {
		return nil, err
	}
	_, err = h.outcomes(ctx, sc.Tenant, rs)
	return rs, err
}

// outcomes sets, in rs, the outcome of the published retries whose message
// has since been delivered (or failed again), and returns those it set.
func (h *retryHandlers) outcomes(ctx context.Context, tenant string, rs []*procure.Retry) ([]*procure.Retry, error) {
	var ids []string
	var oldest *procure.Retry
	for _, r := range rs {
		if r.Status == procure.RetryPublished {
			ids = append(ids, r.MessageID)
			if oldest == nil || r.RequestedAt.Before(oldest.RequestedAt) {
				oldest = r
			}
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	outs, err := h.facts.DeliveryOutcomes(ctx, tenant, ids, oldest.RequestedAt)
	if err != nil {
		return nil, err
	}
	var settled []*procure.Retry
	for _, r := range rs {
		o, ok := outs[r.MessageID]
		if r.Status != procure.RetryPublished || !ok || !o.At.After(r.RequestedAt) {
			continue
		}
		r.Status, r.Error, r.OutcomeAt = procure.RetryDelivered, "", o.At
		if o.Type == string(procure.MessageFailed) {
			r.Status, r.Error = procure.RetryRedeliveryFailed, o.Error
		}
		settled = append(settled, r)
	}
	return settled, nil
}

// settleOutcomes stores the outcomes of the earlier retries of the
// exceptions ids, before a retry of them is planned: the plan's
// duplicate-posting check reads the stored statuses. (The automatic
// worker settles its own retries from the delivery events.)
func (h *retryHandlers) settleOutcomes(ctx context.Context, sc procure.Scope, ids []int64) error {
	for _, id := range ids {
		rs, err := h.store.FindRetries(ctx, sc, id, 100)
		if err != nil {
			return err
		}
		settled, err := h.outcomes(ctx, sc.Tenant, rs)
		if err != nil {
			return err
		}
		for _, r := range settled {
			if err := h.store.UpdateRetry(ctx, r.ID, r.Status, r.Error, r.OutcomeAt); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *retryHandlers) listRetries(g *gin.Context) {
	p := principalOf(g)
	ctx, sc := g.Request.Context(), p.Scope()
	items, next, err := h.store.FindQueue(ctx, sc, procure.QueueFilter{SubjectKind: "message", Limit: 200, Now: h.now(), IncludeSnoozed: true})
	if err != nil {
		h.fail(g, err)
		return
	}
	rs, err := h.store.FindRetries(ctx, sc, 0, 200)
	if err != nil {
		h.fail(g, err)
		return
	}
	if _, err := h.outcomes(ctx, p.Tenant, rs); err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, gin.H{"failed": items, "more": next != nil, "retries": rs})
}

// RetryService plans and re-sends failed deliveries: the one retry path of
// the console, Slack's Retry button and the automatic worker
// (retry.Service): scope, allow-list, duplicate-posting risk, publish,
// record, note and audit.
type RetryService interface {
	Plan(ctx context.Context, sc procure.Scope, requester string, ids []int64) ([]*procure.RetryPlan, string, error)
	Resend(ctx context.Context, sc procure.Scope, requester string, actor procure.Actor, plans []*procure.RetryPlan, audit procure.AuditEntry, via string) ([]*procure.Retry, error)
}

var errNoRetries = procure.Errorf(procure.EINTERNAL, "this console cannot re-send deliveries (no retry service)")

// planRetries prepares the retries of exceptions within p's scope.
func (h *retryHandlers) planRetries(ctx context.Context, p *Principal, ids []int64) ([]*procure.RetryPlan, string, error) {
	if h.retries == nil {
		return nil, "", errNoRetries
	}
	if err := h.settleOutcomes(ctx, p.Scope(), ids); err != nil {
		return nil, "", err
	}
	return h.retries.Plan(ctx, p.Scope(), p.Name(), ids)
}

type retryBody struct {
	ExceptionIDs []int64 `json:"exception_ids"`
	Confirm      string  `json:"confirm"`
}

func (h *retryHandlers) readRetryBody(g *gin.Context) (retryBody, bool) {
	var in retryBody
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return in, false
	}
	if len(in.ExceptionIDs) == 0 || len(in.ExceptionIDs) > 200 {
		h.fail(g, invalid("exception_ids", "give 1 to 200 exception ids"))
		return in, false
	}
	return in, true
}

// previewRetries shows what a retry would re-send and the duplicate
// risk, and the confirmation code the retry must quote.
func (h *retryHandlers) previewRetries(g *gin.Context) {
	in, ok := h.readRetryBody(g)
	if !ok {
		return
	}
	plans, confirm, err := h.planRetries(g.Request.Context(), principalOf(g), in.ExceptionIDs)
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, gin.H{"plans": plans, "confirm": confirm})
}

// retry re-sends the failed deliveries when the confirmation code matches
// the plan as it is now (the set did not change since the preview).
func (h *retryHandlers) retry(g *gin.Context) {
	in, ok := h.readRetryBody(g)
	if !ok {
		return
	}
	p := principalOf(g)
	ctx := g.Request.Context()
	plans, confirm, err := h.planRetries(ctx, p, in.ExceptionIDs)
	if err != nil {
		h.fail(g, err)
		return
	}
	if in.Confirm == "" {
		h.fail(g, invalid("confirm", "preview the retry first (POST /api/retries/preview) and send its confirm code"))
		return
	}
	if in.Confirm != confirm {
		h.fail(g, procure.Errorf(procure.ECONFLICT, "what would be re-sent changed since the preview: preview again"), gin.H{"plans": plans, "confirm": confirm})
		return
	}
	out, err := h.retries.Resend(ctx, p.Scope(), p.Name(), p.Actor(), plans,
		procure.AuditEntry{Actor: p.Name(), ActorKind: p.Kind(), RemoteAddr: g.ClientIP(), UserAgent: g.Request.UserAgent()}, "")
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, gin.H{"retries": out, "plans": plans})
}

// retryAs re-sends the failed delivery of an exception for the console
// user login of tenant, as Slack's Retry button does: the same scope,
// allow-list and duplicate-posting check as the console, the same record
// and audit. Without a preview to confirm, a retry whose duplicate risk is
// high is refused: it must be previewed and confirmed in the console.
func (h *retryHandlers) retryAs(ctx context.Context, tenant, login string, exceptionID int64, via string) (*procure.Retry, error) {
	u, _, err := h.store.FindUserByLogin(ctx, login)
	if err != nil || u.Tenant != tenant || u.Disabled {
		return nil, procure.Errorf(procure.EFORBIDDEN, "%s is not an enabled console user of tenant %s", login, tenant)
	}
	p := principalOfUser(u, via)
	if !slices.Contains(retriers, p.Role) {
		return nil, procure.Errorf(procure.EFORBIDDEN, "role %s may not retry deliveries", p.Role)
	}
	plans, _, err := h.planRetries(ctx, p, []int64{exceptionID})
	if err != nil {
		return nil, err
	}
	pl := plans[0]
	switch {
	case pl.Blocked != "":
		return nil, procure.Errorf(procure.EINVALID, "not retried: %s", pl.Blocked)
	case pl.Risk == "high":
		return nil, procure.Errorf(procure.ECONFLICT, "not retried: the duplicate-posting risk is high (%s); preview and confirm it in the console", pl.RiskReason)
	}
	actor := procure.Actor{Kind: procure.ActorSlack, Name: p.Name()}
	out, err := h.retries.Resend(ctx, p.Scope(), p.Name(), actor, plans, procure.AuditEntry{Actor: p.Name(), ActorKind: via}, via)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, procure.Errorf(procure.EINTERNAL, "retry of exception %d was not recorded", exceptionID)
	}
	return out[0], nil
}

// retryPolicies shows the automatic retry policies in force, read-only
// (they are configuration: retry.policies).
func (h *retryHandlers) retryPolicies(g *gin.Context) {
	if h.policies == nil {
		h.respond(g, http.StatusServiceUnavailable, gin.H{"error": gin.H{"code": "unavailable", "message": "this process does not know the retry policies"}})
		return
	}
	h.respond(g, http.StatusOK, h.policies)
}

// isOperator reports whether p runs supplywatch itself: an on-call or admin
// user of the operator tenant (Config.OperatorTenant). Operators also see
// and redrive the dead letters that carry no tenant.
func (h *retryHandlers) isOperator(p *Principal) bool {
	return h.operatorTenant != "" && p.Tenant == h.operatorTenant && p.User != nil && slices.Contains(technical, p.Role)
}

func (h *retryHandlers) listDeadLetter(g *gin.Context) {
	p := principalOf(g)
	rs, err := h.facts.Rejected(g.Request.Context(), p.Tenant, procure.RejectedFilter{Untenanted: h.isOperator(p),
		Channel: g.Query("channel"), Stage: g.Query("stage"), Reason: g.Query("reason"), Limit: 200})
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, gin.H{"rejected": rs, "redrive_topic": h.redriveTopic})
}

// envelopeOf reads the tenant and source a raw input names, without
// validating the rest (it was rejected). A key given twice is refused:
// decoders differ on which one wins. ok is false for input that is not a
// JSON object (it cannot be taken as an event and will be refused again).
func envelopeOf(raw string) (tenant, source string, ok bool, err error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", "", false, nil
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", "", false, nil
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", "", false, nil
		}
		if key != "tenant" && key != "source" {
			continue
		}
		if seen[key] {
			return "", "", true, fmt.Errorf("names %q twice", key)
		}
		seen[key] = true
		var sv string
		if err := json.Unmarshal(v, &sv); err != nil {
			return "", "", true, fmt.Errorf("%s is not a string", key)
		}
		if key == "tenant" {
			tenant = sv
		} else {
			source = sv
		}
	}
	return tenant, source, true, nil
}

// redriveRefusal says why a dead letter may not go back to the events
// topic, or "". A redriven input is processed as its envelope says, so it
// must name the tenant the dead letter belongs to (the sender's token's
// tenant for HTTP input), and an HTTP input only a source that tenant's
// ingest tokens may send.
func (h *retryHandlers) redriveRefusal(r *procure.Rejected) string {
	tenant, source, ok, err := envelopeOf(r.Raw)
	switch {
	case err != nil:
		return "the input " + err.Error()
	case !ok:
		return ""
	case r.Tenant == "" && tenant != "":
		return fmt.Sprintf("the input names tenant %q but arrived with none: it must come again from its sender", tenant)
	case tenant != "" && tenant != r.Tenant:
		return fmt.Sprintf("the input names tenant %q but was sent for tenant %q", tenant, r.Tenant)
	case r.Channel != procure.ChannelHTTP:
		return ""
	case r.Sender != "" && h.tokenOf != nil:
		// The exact token it came with: its tenant and its sources.
		tt, sources, found := h.tokenOf(r.Sender)
		switch {
		case !found:
			return fmt.Sprintf("ingest token %q that sent it no longer exists", r.Sender)
		case tt != r.Tenant:
			return fmt.Sprintf("ingest token %q is not of tenant %q", r.Sender, r.Tenant)
		case len(sources) > 0 && !slices.Contains(sources, source):
			return fmt.Sprintf("ingest token %q that sent it may not send source %q", r.Sender, source)
		}
		return ""
	case h.sourcesOf == nil:
		return "this console does not know the ingest tokens' sources"
	}
	sources, any := h.sourcesOf(r.Tenant)
	if !any && !slices.Contains(sources, source) {
		return fmt.Sprintf("no ingest token of tenant %q may send source %q", r.Tenant, source)
	}
	return ""
}

// redrive re-publishes rejected inputs, raw, to the collector's input
// topic: after a mapping or schema fix they are accepted; the collector's
// duplicate check drops events stored already. Each input is re-checked
// against its dead letter's tenant (redriveRefusal); refused ones are
// listed and not published.
func (h *retryHandlers) redrive(g *gin.Context) {
	var in struct {
		InputIDs []string `json:"input_ids"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	if len(in.InputIDs) == 0 || len(in.InputIDs) > 500 {
		h.fail(g, invalid("input_ids", "give 1 to 500 input ids"))
		return
	}
	p := principalOf(g)
	ctx := g.Request.Context()
	rs, err := h.facts.Rejected(ctx, p.Tenant, procure.RejectedFilter{InputIDs: in.InputIDs, Untenanted: h.isOperator(p), Limit: 500})
	if err != nil {
		h.fail(g, err)
		return
	}
	if len(rs) == 0 {
		h.fail(g, procure.Errorf(procure.ENOTFOUND, "none of the input ids is in the dead letter"))
		return
	}
	var msgs []kafka.Message
	ids := []string{}
	refused := map[string]string{}
	for _, r := range rs {
		if why := h.redriveRefusal(r); why != "" {
			refused[r.InputID] = why
			continue
		}
		ids = append(ids, r.InputID)
		msgs = append(msgs, kafka.Message{Topic: h.redriveTopic, Key: []byte(r.InputID), Value: []byte(r.Raw),
			Headers: map[string]string{kafka.HeaderRedriveOf: r.InputID, kafka.HeaderRetriedBy: p.Name(), kafka.HeaderTenant: r.Tenant, "supplywatch-channel": r.Channel}})
	}
	if len(msgs) > 0 {
		if err := h.pub.Publish(ctx, msgs...); err != nil {
			h.fail(g, fmt.Errorf("redrive %d inputs: %w", len(msgs), err))
			return
		}
	}
	h.audit(g, "deadletter.redrive", "rejected", gin.H{"input_ids": ids, "refused": refused, "topic": h.redriveTopic})
	if len(msgs) == 0 {
		h.fail(g, procure.Errorf(procure.EFORBIDDEN, "no input may be redriven: %s", firstReason(refused)), gin.H{"refused": refused})
		return
	}
	h.respond(g, http.StatusOK, gin.H{"redriven": ids, "refused": refused, "topic": h.redriveTopic})
}

func firstReason(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys[0] + ": " + m[keys[0]]
}

func (h *rulesHandlers) reloadRules(g *gin.Context) {
	if h.rules == nil {
		h.respond(g, http.StatusServiceUnavailable, gin.H{"error": gin.H{"code": "unavailable", "message": "this process does not run the rules engine"}})
		return
	}
	if err := h.rules.Reload(); err != nil {
		h.audit(g, "rules.reload_refused", "rules", gin.H{"error": err.Error()})
		h.respond(g, http.StatusBadRequest, gin.H{"error": gin.H{"code": procure.EINVALID, "message": strings.TrimSpace(err.Error())}})
		return
	}
	h.audit(g, "rules.reload", "rules", nil)
	h.respond(g, http.StatusOK, gin.H{"reloaded": true})
}
