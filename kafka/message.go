package kafka

import (
	"context"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Message is one record in the adapter's own terms: engines build Messages
// to publish (console, retry) and receive them from a Reader (collector,
// rules), and never see kafka-go. Partition, Offset, Time and
// HighWaterMark are set on fetched records only; a publish ignores them.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   map[string]string
	// Time is the record's timestamp.
	Time time.Time
	// HighWaterMark is the end of the record's partition as of the fetch
	// (the offset the next record written will get).
	HighWaterMark int64
}

// Header returns the value of header key, or "".
func (m *Message) Header(key string) string { return m.Headers[key] }

// ReceivedAt is when supplywatch first received m: its received-at header,
// or the record's timestamp.
func (m *Message) ReceivedAt() time.Time {
	if v := m.Header(HeaderReceivedAt); v != "" {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC()
		}
	}
	return m.Time.UTC()
}

// RetryMessage is what every retry publishes, by hand, from Slack or by
// the automatic worker: the original payload to topic, keyed by the
// original idempotency key, with the headers naming the key, the failed
// event it retries, who retried it and the tenant (the retry topics are
// shared by all tenants).
func RetryMessage(topic, idempotencyKey, payload, retryOf, retriedBy, tenant string) Message {
	return Message{Topic: topic, Key: []byte(idempotencyKey), Value: []byte(payload),
		Headers: map[string]string{HeaderIdempotencyKey: idempotencyKey, HeaderRetryOf: retryOf, HeaderRetriedBy: retriedBy, HeaderTenant: tenant}}
}

// MessageWriter publishes Messages, each to the topic it names.
type MessageWriter struct {
	w *kafkago.Writer
}

// NewMessageWriter publishes with w, a writer without a topic of its own
// (Config.NewWriter("")).
func NewMessageWriter(w *kafkago.Writer) *MessageWriter { return &MessageWriter{w: w} }

// Publish writes msgs and returns when the brokers acknowledged them.
func (p *MessageWriter) Publish(ctx context.Context, msgs ...Message) error {
	out := make([]kafkago.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafkago.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
		for k, v := range m.Headers {
			out[i].Headers = append(out[i].Headers, kafkago.Header{Key: k, Value: []byte(v)})
		}
	}
	return p.w.WriteMessages(ctx, out...)
}
