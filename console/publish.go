package console

import (
	"context"

	"github.com/supplywatch/supplywatch/kafka"
)

// Publisher publishes records and returns when the brokers acknowledged
// them (kafka.MessageWriter).
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, msgs ...kafka.Message) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, msgs ...kafka.Message) error {
	return f(ctx, msgs...)
}
