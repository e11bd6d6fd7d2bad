package app

import (
	"context"
	"fmt"
	"os"
	"sync"

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
			return a.deadLetter(ctx, rs)
		}),
		Logger: a.log.With("component", "b2b"),
	})
}

// deadLetter stores rejections through the writer and waits until they are
// durable.
func (a *App) deadLetter(ctx context.Context, rs []procure.Rejection) error {
	var wg sync.WaitGroup
	for i := range rs {
		wg.Add(1)
		if err := a.writer.Submit(ctx, collector.Item{Rejection: &rs[i], Done: func(collector.Outcome) { wg.Done() }}); err != nil {
			return err
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
