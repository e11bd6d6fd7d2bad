package kafka

import (
	"context"
	"strconv"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/procure"
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
// acknowledgement. On a partial failure MessageErrors reads one error per
// event from the error.
func (p *Publisher) PublishEvents(ctx context.Context, rs []procure.Received) error {
	msgs := make([]kafkago.Message, len(rs))
	for i := range rs {
		msgs[i] = EventMessage(&rs[i])
	}
	return p.events.WriteMessages(ctx, msgs...)
}

// PublishRejections writes rejected inputs, raw (bounded: procure.Rejection.Bound)
// and with the reason in headers, to the dead-letter topic.
func (p *Publisher) PublishRejections(ctx context.Context, rs []procure.Rejection) error {
	return p.deadLetter.WriteMessages(ctx, DeadLetterMessages(rs)...)
}

// DeadLetterMessages are the dead-letter records of rs, each bounded first.
func DeadLetterMessages(rs []procure.Rejection) []kafkago.Message {
	msgs := make([]kafkago.Message, len(rs))
	for i := range rs {
		r := &rs[i]
		r.Bound()
		h := []kafkago.Header{
			{Key: HeaderInputID, Value: []byte(r.InputID)},
			{Key: HeaderChannel, Value: []byte(r.Channel)},
			{Key: HeaderStage, Value: []byte(r.Stage)},
			{Key: HeaderReason, Value: []byte(r.Reason)},
			{Key: HeaderField, Value: []byte(r.Field)},
			{Key: HeaderReceivedAt, Value: strconv.AppendInt(nil, r.ReceivedAt.UnixMilli(), 10)},
			{Key: HeaderRawSize, Value: strconv.AppendInt(nil, r.RawSize, 10)},
			{Key: HeaderRawSHA256, Value: []byte(r.RawSHA256)},
		}
		if r.OriginalRef != "" {
			h = append(h, kafkago.Header{Key: HeaderOriginalRef, Value: []byte(r.OriginalRef)})
		}
		msgs[i] = kafkago.Message{Key: []byte(r.InputID), Value: r.Raw, Time: r.ReceivedAt, Headers: h}
	}
	return msgs
}

// Header returns the value of header key in m, a record read with kafka-go
// itself (tests and tools that read a topic directly), or "".
func Header(m *kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
