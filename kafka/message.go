package kafka

import (
	"context"

	kafkago "github.com/segmentio/kafka-go"
)

// Message is one record to publish, in the adapter's own terms: engines
// (console, retry) build Messages and never see kafka-go.
type Message struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers map[string]string
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
