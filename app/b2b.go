package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/supplywatch/supplywatch/b2b/intake"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/procure"
)

// loadPartners reads the partner profiles, if configured.
func (a *App) loadPartners() error {
	if a.cfg.B2B.PartnersFile == "" {
		return nil
	}
	reg, err := partner.LoadFile(a.cfg.B2B.PartnersFile, os.LookupEnv)
	if err != nil {
		return fmt.Errorf("b2b partners: %w", err)
	}
	a.partners = reg
	return nil
}

// newIntake returns an intake wired to ClickHouse (raw documents), Kafka
// (events) and the dead letter. With tenant set, it refuses to publish
// events of any other tenant.
func (a *App) newIntake(tenant string) *intake.Intake {
	return intake.New(a.partners, a.cfg.B2B.Limits, intake.Deps{
		Publisher: intake.PublisherFunc(func(ctx context.Context, evs []procure.Received) error {
			for i := range evs {
				if tenant != "" && evs[i].Event.Tenant != tenant {
					return fmt.Errorf("event %s of tenant %s: %w", evs[i].Event.ID, evs[i].Event.Tenant, collector.ErrForeignTenant)
				}
				evs[i].Channel = procure.ChannelB2B
			}
			return a.pub.PublishEvents(ctx, evs)
		}),
		RawStore: intake.RawStoreFunc(func(ctx context.Context, d intake.RawDocument) error {
			if tenant != "" && d.Tenant != "" && d.Tenant != tenant {
				return fmt.Errorf("partner of tenant %s: %w", d.Tenant, collector.ErrForeignTenant)
			}
			return a.store.InsertDocument(ctx, clickhouse.Document{OriginID: d.OriginID, ReceivedAt: d.ReceivedAt, Tenant: d.Tenant,
				Format: string(d.Format), Partners: d.Partners, Body: d.Body})
		}),
		DeadLetter: intake.DeadLetterFunc(func(ctx context.Context, rs []procure.Rejection) error {
			ptrs := make([]*procure.Rejection, len(rs))
			for i := range rs {
				ptrs[i] = &rs[i]
			}
			if err := a.writer.StoreRejections(ctx, ptrs); err != nil {
				return err
			}
			return a.pub.PublishEvents(ctx, rejectionEvents(rs))
		}),
		Logger: a.log.With("component", "b2b"),
	})
}

// rejectionEvents turns the rejected units of a B2B document into
// message.failed events (target "supplywatch"), so that the rules raise an
// exception for the integration team (rule b2b-document-rejected). Their
// ids derive from the rejection, so a document sent again raises nothing
// twice.
func rejectionEvents(rs []procure.Rejection) []procure.Received {
	var out []procure.Received
	for _, r := range rs {
		if r.Tenant == "" {
			continue // no partner resolved: the dead letter is all we can do
		}
		class := "validation"
		if strings.Contains(r.Reason, "not mapped") || strings.Contains(r.Reason, "unmapped") || strings.Contains(r.Reason, "no mapping") {
			class = "mapping"
		}
		sum := sha256.Sum256([]byte(r.InputID))
		id := "b2b-rejected-" + hex.EncodeToString(sum[:12])
		reason := r.Reason
		if len(reason) > 1000 {
			reason = reason[:1000]
		}
		e := &procure.Event{ID: id, Type: procure.MessageFailed, Source: procure.SourceEDI, Tenant: r.Tenant,
			OccurredAt: r.ReceivedAt, Document: procure.DocumentRef{Kind: procure.DocMessage, ID: r.InputID},
			Payload: &procure.Delivery{MessageID: r.InputID, Target: "supplywatch", Endpoint: "b2b intake",
				DocumentType: r.EventType, ErrorClass: class, Error: reason, Attempt: 1}}
		raw, err := procure.Encode(e)
		if err != nil {
			continue
		}
		out = append(out, procure.Received{Event: e, Raw: raw, Channel: procure.ChannelB2B, ReceivedAt: r.ReceivedAt})
	}
	return out
}
