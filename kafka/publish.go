package kafka

import (
	"context"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/procure"
)

// Record headers that carry ingest context along with an event.
const (
	HeaderChannel    = "supplywatch-channel"
	HeaderReceivedAt = "supplywatch-received-at" // unix milliseconds
	HeaderOriginID   = "supplywatch-origin-id"
	HeaderReason     = "supplywatch-reason"
	HeaderField      = "supplywatch-field"
	HeaderInputID    = "supplywatch-input-id"
)

// Publisher writes canonical events and dead letters.
type Publisher struct {
	events     *kafkago.Writer
	deadLetter *kafkago.Writer
}

// NewPublisher returns a publisher to the configured events and dead-letter
// topics.
func NewPublisher(cfg *Config) (*Publisher, error) {
	ev, err := cfg.NewWriter(cfg.Topic)
	if err != nil {
		return nil, err
	}
	dl, err := cfg.NewWriter(cfg.DeadLetterTopic)
	if err != nil {
		return nil, err
	}
	return &Publisher{events: ev, deadLetter: dl}, nil
}

// Close flushes and closes the writers.
func (p *Publisher) Close() error {
	err1 := p.events.Close()
	err2 := p.deadLetter.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// EventMessage is the record of one event: keyed by the document, so that a
// document's events stay in order on one partition.
func EventMessage(r *procure.Received) kafkago.Message {
	h := []kafkago.Header{
		{Key: HeaderChannel, Value: []byte(r.Channel)},
		{Key: HeaderReceivedAt, Value: strconv.AppendInt(nil, r.ReceivedAt.UnixMilli(), 10)},
	}
	if r.OriginID != "" {
		h = append(h, kafkago.Header{Key: HeaderOriginID, Value: []byte(r.OriginID)})
	}
	return kafkago.Message{Key: []byte(r.Event.DocumentKey()), Value: r.Raw, Headers: h}
}

// PublishEvents writes events to the events topic and waits for the brokers'
// acknowledgement. On a partial failure the error is a kafka-go WriteErrors
// with one entry per event.
func (p *Publisher) PublishEvents(ctx context.Context, rs []procure.Received) error {
	msgs := make([]kafkago.Message, len(rs))
	for i := range rs {
		msgs[i] = EventMessage(&rs[i])
	}
	return p.events.WriteMessages(ctx, msgs...)
}

// PublishRejections writes rejected inputs, raw and with the reason in
// headers, to the dead-letter topic.
func (p *Publisher) PublishRejections(ctx context.Context, rs []procure.Rejection) error {
	msgs := make([]kafkago.Message, len(rs))
	for i := range rs {
		r := &rs[i]
		msgs[i] = kafkago.Message{
			Key:   []byte(r.InputID),
			Value: r.Raw,
			Time:  r.ReceivedAt,
			Headers: []kafkago.Header{
				{Key: HeaderInputID, Value: []byte(r.InputID)},
				{Key: HeaderChannel, Value: []byte(r.Channel)},
				{Key: HeaderReason, Value: []byte(r.Reason)},
				{Key: HeaderField, Value: []byte(r.Field)},
				{Key: HeaderReceivedAt, Value: strconv.AppendInt(nil, r.ReceivedAt.UnixMilli(), 10)},
			},
		}
	}
	return p.deadLetter.WriteMessages(ctx, msgs...)
}

// Header returns the value of header key in m, or "".
func Header(m *kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// ReceivedAt is when supplywatch first received m: its received-at header, or
// the record's timestamp.
func ReceivedAt(m *kafkago.Message) time.Time {
	if v := Header(m, HeaderReceivedAt); v != "" {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC()
		}
	}
	return m.Time.UTC()
}
