package console

import (
	"context"

	"github.com/supplywatch/supplywatch/kafka"
)

// Message is one record to publish (the Kafka adapter's own type).
type Message = kafka.Message

// Publisher publishes records and returns when the brokers acknowledged
// them (kafka.MessageWriter).
type Publisher interface {
	Publish(ctx context.Context, msgs ...Message) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, msgs ...Message) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, msgs ...Message) error { return f(ctx, msgs...) }

// RetryMessage is what every retry publishes (kafka.RetryMessage).
var RetryMessage = kafka.RetryMessage

// Header names on re-published messages: temporary aliases (issue 10) of
// kafka's, where every header name is written.
const (
	HeaderIdempotencyKey = kafka.HeaderIdempotencyKey
	HeaderRetryOf        = kafka.HeaderRetryOf
	HeaderRetriedBy      = kafka.HeaderRetriedBy
	HeaderRedriveOf      = kafka.HeaderRedriveOf
	HeaderTenant         = kafka.HeaderTenant
)
