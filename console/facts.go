package console

import (
	"context"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Facts is what the console reads from the fact store (clickhouse.Facts).
type Facts interface {
	// Timeline returns the events and spans of the documents and
	// correlation ids of q, and of the correlation ids those documents'
	// events carry, oldest first.
	Timeline(ctx context.Context, tenant string, q procure.TimelineQuery) ([]*procure.TimelineEntry, error)
	// FailedDelivery returns the latest message.failed of a message, or
	// ENOTFOUND.
	FailedDelivery(ctx context.Context, tenant, messageID string) (*procure.FailedDelivery, error)
	// DeliveryOutcomes returns, per message, the latest message.delivered or
	// message.failed after since.
	DeliveryOutcomes(ctx context.Context, tenant string, messageIDs []string, since time.Time) (map[string]procure.DeliveryOutcome, error)
	// Rejected returns the dead letter of a tenant (and inputs without a
	// tenant), newest first.
	Rejected(ctx context.Context, tenant string, f procure.RejectedFilter) ([]*procure.Rejected, error)
	// CorrelatedDocuments returns the document ids that events with the
	// correlation id name.
	CorrelatedDocuments(ctx context.Context, tenant, correlationID string) ([]string, error)
}
