package collector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/procure"
)

// B2BIntake makes an intake whose published events must all be of tenant:
// one per request, so that a token can only bring in its own tenant's
// documents.
type B2BIntake func(tenant string) B2BProcessor

// B2BProcessor takes one raw B2B document sent within the sender's scope:
// only partners of the token's tenant and sources are resolved (the B2B
// intake, b2b/intake, wired by app).
type B2BProcessor interface {
	// Take maps the document and publishes its events; a wrong format name
	// is a *procure.FieldError on "format".
	Take(ctx context.Context, d procure.B2BDocument) (procure.B2BOutcome, error)
	// DeadLetterDocument keeps a document that could not be taken at all.
	DeadLetterDocument(ctx context.Context, d procure.B2BDocument, reason string) error
}

// ErrForeignTenant is returned by a tenant-bound publisher for an event of
// another tenant.
var ErrForeignTenant = errors.New("document belongs to another tenant")

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
		doc := procure.B2BDocument{Tenant: p.Tenant, Sources: p.Sources, Format: c.Query("format"), Body: body}
		processor := newIntake(p.Tenant)
		res, err := processor.Take(c.Request.Context(), doc)
		var fieldErr *procure.FieldError
		switch {
		case errors.As(err, &fieldErr) && fieldErr.Field == "format":
			h.count(endpoint, http.StatusBadRequest)
			httperr.Abort(c, http.StatusBadRequest, httperr.Detail{Code: procure.EINVALID, Field: "format", Message: fieldErr.Reason})
			return
		case errors.Is(err, ErrForeignTenant):
			h.count(endpoint, http.StatusForbidden)
			httpError(c, http.StatusForbidden, procure.EFORBIDDEN, fmt.Sprintf("token %q: %v", p.Name, err))
			return
		case err != nil && !Classify(err).Transient:
			// The same document would fail the same way when sent again:
			// it goes to the dead letter whole and the sender is told not
			// to resend it.
			h.log.Error("b2b intake failed deterministically; document dead-lettered", "token", p.Name, "err", err)
			// Named by its bytes, so a resent copy is the same dead letter.
			sum := sha256.Sum256(body)
			doc.ID = "http/" + hex.EncodeToString(sum[:])
			if dlErr := processor.DeadLetterDocument(c.Request.Context(), doc, "not processed: "+err.Error()); dlErr != nil {
				h.log.Error("b2b intake: dead letter failed too", "token", p.Name, "err", dlErr)
				h.count(endpoint, http.StatusServiceUnavailable)
				httpError(c, http.StatusServiceUnavailable, procure.EINTERNAL, "document not taken, send it again later")
				return
			}
			h.count(endpoint, http.StatusUnprocessableEntity)
			httpError(c, http.StatusUnprocessableEntity, procure.EINVALID, fmt.Sprintf("document not taken (%s); it is kept in the dead letter as b2b:%s: do not send it again unchanged", Classify(err).Reason, doc.ID))
			return
		case err != nil:
			h.log.Error("b2b intake failed", "token", p.Name, "err", err)
			h.count(endpoint, http.StatusServiceUnavailable)
			httpError(c, http.StatusServiceUnavailable, procure.EINTERNAL, "document not taken, send it again: "+err.Error())
			return
		}
		status := http.StatusOK
		if res.Status == procure.B2BStatusRejected {
			status = http.StatusUnprocessableEntity
		}
		h.count(endpoint, status)
		c.JSON(status, res)
	})
}
