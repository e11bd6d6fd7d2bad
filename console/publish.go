package console

import (
	"context"

	kafkago "github.com/segmentio/kafka-go"
)

// Message is one record to publish.
type Message struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers map[string]string
}

// Publisher publishes records and returns when the brokers acknowledged
// them.
type Publisher interface {
	Publish(ctx context.Context, msgs ...Message) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, msgs ...Message) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, msgs ...Message) error { return f(ctx, msgs...) }

// NewKafkaPublisher publishes with w, a writer without a topic of its own
// (kafka.Config.NewWriter("")): each message names its topic.
func NewKafkaPublisher(w *kafkago.Writer) Publisher {
	return PublisherFunc(func(ctx context.Context, msgs ...Message) error {
		out := make([]kafkago.Message, len(msgs))
		for i, m := range msgs {
			out[i] = kafkago.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
			for k, v := range m.Headers {
				out[i].Headers = append(out[i].Headers, kafkago.Header{Key: k, Value: []byte(v)})
			}
		}
		return w.WriteMessages(ctx, out...)
	})
}
