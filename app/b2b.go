package app

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/b2b/intake"
	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/postgres"
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
	return a.startControlNumbers()
}

// setPartnerAckSLAs gives the rules the functional-acknowledgement SLA of
// each partner profile (rule functional-ack-overdue).
func (a *App) setPartnerAckSLAs() error {
	if a.cfg.B2B.PartnersFile == "" {
		return nil
	}
	reg, err := partner.LoadFile(a.cfg.B2B.PartnersFile, os.LookupEnv)
	if err != nil {
		return fmt.Errorf("b2b partners: %w", err)
	}
	a.evaluator.SetPartnerAckSLAs(reg.AckSLAs())
	return nil
}

// startControlNumbers opens the per-partner control number sequence (in
// Postgres, opened here when no other role did) unless configured to hash.
func (a *App) startControlNumbers() error {
	switch a.cfg.B2B.ControlNumbers {
	case "hash":
		a.log.Warn("b2b: acknowledgement control numbers are derived from each document (b2b.control_numbers: hash), not a per-partner sequence")
		return nil
	case "", "postgres":
	default:
		return fmt.Errorf("b2b.control_numbers: %q is not postgres or hash", a.cfg.B2B.ControlNumbers)
	}
	if a.pg == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := a.startPostgres(ctx); err != nil {
			return fmt.Errorf("b2b control numbers: %w", err)
		}
	}
	a.b2bControls = postgres.NewControlNumbers(a.pg)
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
		Controls: a.b2bControls,
		Logger:   a.log.With("component", "b2b"),
	})
}

// rejectionEvents turns the rejections of a B2B document into message.failed
// events (target "supplywatch"), so that the rules raise an exception for
// the integration team (rule b2b-document-rejected): one per document and
// tenant, naming how many units were rejected and the first reason (the
// dead letter keeps every one), so that a document of 10,000 bad sets is
// one exception, not 10,000. Their ids derive from the document, so a
// document sent again raises nothing twice.
func rejectionEvents(rs []procure.Rejection) []procure.Received {
	type group struct {
		first *procure.Rejection
		n     int
	}
	var order []string
	groups := map[string]*group{}
	for i := range rs {
		r := &rs[i]
		if r.Tenant == "" {
			continue // no partner resolved: the dead letter is all we can do
		}
		k := r.Tenant + "\x00" + cmp.Or(r.OriginalRef, r.InputID)
		g, ok := groups[k]
		if !ok {
			g = &group{first: r}
			groups[k] = g
			order = append(order, k)
		}
		g.n++
	}
	out := make([]procure.Received, 0, len(order))
	for _, k := range order {
		g := groups[k]
		r := g.first
		class := "validation"
		if strings.Contains(r.Reason, "not mapped") || strings.Contains(r.Reason, "unmapped") || strings.Contains(r.Reason, "no mapping") {
			class = "mapping"
		}
		msgID := r.InputID
		if r.OriginalRef != "" {
			msgID = "b2b:" + r.OriginalRef
		}
		sum := sha256.Sum256([]byte(r.Tenant + "/" + msgID))
		id := "b2b-rejected-" + hex.EncodeToString(sum[:12])
		reason := r.Reason
		if len(reason) > 1000 {
			reason = strings.ToValidUTF8(reason[:1000], "")
		}
		if g.n > 1 {
			reason = fmt.Sprintf("%d units rejected (see the dead letter); first: %s", g.n, reason)
		}
		e := &procure.Event{ID: id, Type: procure.MessageFailed, Source: procure.SourceEDI, Tenant: r.Tenant,
			OccurredAt: r.ReceivedAt, Document: procure.DocumentRef{Kind: procure.DocMessage, ID: msgID},
			Payload: &procure.Delivery{MessageID: msgID, Target: "supplywatch", Endpoint: "b2b intake",
				DocumentType: r.EventType, ErrorClass: class, Error: reason, Attempt: 1}}
		raw, err := procure.Encode(e)
		if err != nil {
			continue
		}
		out = append(out, procure.Received{Event: e, Raw: raw, Channel: procure.ChannelB2B, ReceivedAt: r.ReceivedAt})
	}
	return out
}

// addB2B adds the B2B channels other than HTTP: the drop folder and the
// Kafka topic of raw documents, when configured.
func (a *App) addB2B(ctx context.Context) error {
	if a.partners == nil {
		return nil
	}
	if a.cfg.B2B.DropDir.Dir != "" {
		a.add("b2b drop folder", RunnerFunc(func(ctx context.Context) error { return a.newIntake("").WatchDir(ctx, a.cfg.B2B.DropDir) }))
	}
	if topic := a.cfg.B2B.KafkaTopic; topic != "" {
		log := a.log.With("component", "b2b-feed")
		if err := a.cfg.Kafka.EnsureTopics(ctx, log, topic); err != nil {
			return fmt.Errorf("b2b.kafka_topic: %w", err)
		}
		reader, err := a.cfg.Kafka.NewReader(topic, cmp.Or(a.cfg.B2B.KafkaGroup, "supplywatch-b2b"), log)
		if err != nil {
			return fmt.Errorf("b2b.kafka_topic: %w", err)
		}
		feed := intake.FeedConfig{
			Scope:     intake.Scope{Tenant: a.cfg.B2B.KafkaTenant, Sources: a.cfg.B2B.KafkaSources},
			Transient: func(err error) bool { return collector.Classify(err).Transient },
		}
		a.closers = append(a.closers, func() { reader.Close() })
		a.add("b2b feed", RunnerFunc(func(ctx context.Context) error {
			return a.newIntake(a.cfg.B2B.KafkaTenant).Consume(ctx, readerFeed{reader}, feed)
		}))
	}
	return nil
}

// readerFeed reads raw documents from a Kafka consumer group.
type readerFeed struct{ r *kafka.Reader }

func (f readerFeed) Next(ctx context.Context) (intake.Message, error) {
	m, err := f.r.Fetch(ctx)
	if err != nil {
		return intake.Message{}, err
	}
	format, err := intake.ParseFormat(m.Header(kafka.HeaderFormat))
	if err != nil {
		format = intake.Auto // a wrong hint: sniffing decides, and says so when it cannot
	}
	return intake.Message{ID: fmt.Sprintf("%s/%d/%d", m.Topic, m.Partition, m.Offset), Body: m.Value, Format: format,
		Topic: m.Topic, Partition: int32(m.Partition), Offset: m.Offset,
		Commit: func(ctx context.Context) error { return f.r.Commit(ctx, m) }}, nil
}
