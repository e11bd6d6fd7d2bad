package intake

import (
	"context"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Take processes a document handed in by a sender (POST /v1/b2b) within the
// sender's tenant and sources, and says what was made of it in the domain's
// terms. A format name that is not x12, edifact, cxml or auto is a
// *procure.FieldError on "format"; any other error is a dependency's
// failure (the events' publisher, the raw store, the dead letter), and
// nothing of the document is acknowledged.
func (in *Intake) Take(ctx context.Context, d procure.B2BDocument) (procure.B2BOutcome, error) {
	hint, err := ParseFormat(d.Format)
	if err != nil {
		return procure.B2BOutcome{}, &procure.FieldError{Field: "format", Reason: err.Error()}
	}
	res, err := in.ProcessAs(ctx, Scope{Tenant: d.Tenant, Sources: d.Sources}, d.Body, hint)
	if err != nil {
		return procure.B2BOutcome{}, err
	}
	return res.Outcome(), nil
}

// Outcome is the result in the domain's terms: event ids, problems as
// messages with their field and value, acknowledgements as text.
func (r Result) Outcome() procure.B2BOutcome {
	out := procure.B2BOutcome{OriginID: r.OriginID, Format: string(r.Format), Partners: r.Partners, Status: string(r.Status), Events: []string{}}
	for _, e := range r.Events {
		out.Events = append(out.Events, e.Event.ID)
	}
	for _, p := range r.Rejections {
		out.Rejections = append(out.Rejections, procure.B2BProblem{Message: p.Error(), Field: p.Field, Value: p.Value, Unmapped: p.Unmapped})
	}
	for _, p := range r.Warnings {
		out.Warnings = append(out.Warnings, procure.B2BProblem{Message: p.Error(), Field: p.Field, Value: p.Value})
	}
	for _, a := range r.Acks {
		out.Acks = append(out.Acks, procure.B2BAck{Kind: a.Kind, Verdict: string(a.Verdict), Body: string(a.Body)})
	}
	return out
}

// DeadLetterDocument dead-letters a handed-in document whole, as
// "b2b:"+d.ID, with the reason it was not taken; the dead letter is tried
// three times while it fails.
func (in *Intake) DeadLetterDocument(ctx context.Context, d procure.B2BDocument, reason string) error {
	return in.DeadLetterWhole(ctx, Scope{Tenant: d.Tenant, Sources: d.Sources}, Message{ID: d.ID, Body: d.Body}, reason,
		FeedConfig{MaxAttempts: 3, Backoff: 100 * time.Millisecond})
}
