package collector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/b2b/intake"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/procure"
)

// B2BIntake makes an intake whose published events must all be of tenant:
// one per request, so that a token can only bring in its own tenant's
// documents.
type B2BIntake func(tenant string) B2BProcessor

// B2BProcessor processes one raw B2B document (intake.Intake) sent within a
// scope: only partners of the token's tenant and sources are resolved.
type B2BProcessor interface {
	ProcessAs(ctx context.Context, scope intake.Scope, raw []byte, hint intake.Format) (intake.Result, error)
	DeadLetterWhole(ctx context.Context, scope intake.Scope, m intake.Message, reason string, cfg intake.FeedConfig) error
}

// ErrForeignTenant is returned by a tenant-bound publisher for an event of
// another tenant.
var ErrForeignTenant = errors.New("document belongs to another tenant")

// B2BResponse is the answer to POST /v1/b2b.
type B2BResponse struct {
	OriginID   string       `json:"origin_id"`
	Format     string       `json:"format"`
	Partners   []string     `json:"partners"`
	Status     string       `json:"status"`
	Events     []string     `json:"events"`
	Rejections []b2bProblem `json:"rejections,omitempty"`
	Warnings   []b2bProblem `json:"warnings,omitempty"`
	Acks       []b2bAck     `json:"acks,omitempty"`
}

type b2bProblem struct {
	Message  string `json:"message"`
	Field    string `json:"field,omitempty"`
	Value    string `json:"value,omitempty"`
	Unmapped bool   `json:"unmapped,omitempty"`
}

type b2bAck struct {
	Kind    string `json:"kind"`
	Verdict string `json:"verdict"`
	Body    string `json:"body"`
}

// RegisterB2B serves POST /v1/b2b: a raw X12, EDIFACT or cXML document
// (format sniffed, or named with ?format=), authenticated by an ingest
// token. It answers with the events made, the rejections with their reasons
// and the functional acknowledgements; 422 when the whole document is
// rejected.
func (h *Ingest) RegisterB2B(r gin.IRouter, newIntake B2BIntake) {
	r.POST("/v1/b2b", h.signed("/v1/b2b"), func(c *gin.Context) {
		const endpoint = "/v1/b2b"
		p, body, ok := h.authenticated(c, endpoint)
		if !ok {
			return
		}
		if h.limited(c, p, 1, endpoint) {
			return
		}
		hint := intake.Auto
		if f := c.Query("format"); f != "" {
			var err error
			if hint, err = intake.ParseFormat(f); err != nil {
				h.count(endpoint, http.StatusBadRequest)
				httperr.Abort(c, http.StatusBadRequest, httperr.Detail{Code: procure.EINVALID, Field: "format", Message: err.Error()})
				return
			}
		}
		res, err := newIntake(p.Tenant).ProcessAs(c.Request.Context(), intake.Scope{Tenant: p.Tenant, Sources: p.Sources}, body, hint)
		switch {
		case errors.Is(err, ErrForeignTenant):
			h.count(endpoint, http.StatusForbidden)
			httpError(c, http.StatusForbidden, procure.EFORBIDDEN, fmt.Sprintf("token %q: %v", p.Name, err))
			return
		case err != nil && !Classify(err).Transient:
			// The same document would fail the same way when sent again:
			// it goes to the dead letter whole and the sender is told not
			// to resend it.
			h.log.Error("b2b intake failed deterministically; document dead-lettered", "token", p.Name, "err", err)
			sum := sha256.Sum256(body)
			m := intake.Message{ID: "http/" + hex.EncodeToString(sum[:]), Body: body}
			scope := intake.Scope{Tenant: p.Tenant, Sources: p.Sources}
			if dlErr := newIntake(p.Tenant).DeadLetterWhole(c.Request.Context(), scope, m, "not processed: "+err.Error(), intake.FeedConfig{MaxAttempts: 3, Backoff: 100 * time.Millisecond}); dlErr != nil {
				h.log.Error("b2b intake: dead letter failed too", "token", p.Name, "err", dlErr)
				h.count(endpoint, http.StatusServiceUnavailable)
				httpError(c, http.StatusServiceUnavailable, procure.EINTERNAL, "document not taken, send it again later")
				return
			}
			h.count(endpoint, http.StatusUnprocessableEntity)
			httpError(c, http.StatusUnprocessableEntity, procure.EINVALID, fmt.Sprintf("document not taken (%s); it is kept in the dead letter as b2b:%s: do not send it again unchanged", Classify(err).Reason, m.ID))
			return
		case err != nil:
			h.log.Error("b2b intake failed", "token", p.Name, "err", err)
			h.count(endpoint, http.StatusServiceUnavailable)
			httpError(c, http.StatusServiceUnavailable, procure.EINTERNAL, "document not taken, send it again: "+err.Error())
			return
		}
		out := B2BResponse{OriginID: res.OriginID, Format: string(res.Format), Partners: res.Partners, Status: string(res.Status), Events: []string{}}
		for _, e := range res.Events {
			out.Events = append(out.Events, e.Event.ID)
		}
		for _, pr := range res.Rejections {
			out.Rejections = append(out.Rejections, b2bProblem{Message: pr.Error(), Field: pr.Field, Value: pr.Value, Unmapped: pr.Unmapped})
		}
		for _, pr := range res.Warnings {
			out.Warnings = append(out.Warnings, b2bProblem{Message: pr.Error(), Field: pr.Field, Value: pr.Value})
		}
		for _, a := range res.Acks {
			out.Acks = append(out.Acks, b2bAck{Kind: a.Kind, Verdict: fmt.Sprint(a.Verdict), Body: string(a.Body)})
		}
		status := http.StatusOK
		if res.Status == intake.Rejected {
			status = http.StatusUnprocessableEntity
		}
		h.count(endpoint, status)
		c.JSON(status, out)
	})
}
