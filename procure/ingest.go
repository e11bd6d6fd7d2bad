package procure

import "time"

// Ingest channels: how an input reached supplywatch.
const (
	ChannelKafka = "kafka"
	ChannelHTTP  = "http"
	ChannelOTLP  = "otlp"
	ChannelB2B   = "b2b"
)

// Received is a decoded event with the bytes it came from and how it came.
// OriginID names the original document when the event was mapped from one
// (a B2B interchange), so an event can be traced back to its bytes.
type Received struct {
	Event      *Event
	Raw        []byte
	Channel    string
	OriginID   string
	ReceivedAt time.Time
}

// Rejection is an input that could not be accepted: the dead letter. InputID
// names the input (Kafka topic/partition/offset, or a hash of an HTTP item)
// so that one bad input redelivered is one rejection.
type Rejection struct {
	ReceivedAt time.Time
	InputID    string
	Channel    string
	Tenant     string
	Source     string
	EventID    string
	EventType  string
	Field      string
	Reason     string
	Raw        []byte
	Topic      string
	Partition  int32
	Offset     int64
}

// Span is one OTLP span, flattened for storage.
type Span struct {
	Tenant             string
	StartTime          time.Time
	TraceID            string
	SpanID             string
	ParentSpanID       string
	TraceState         string
	Name               string
	Kind               string
	ServiceName        string
	ScopeName          string
	DurationNanos      uint64
	StatusCode         string
	StatusMessage      string
	CorrelationID      string
	DocumentID         string
	Attributes         Attributes
	ResourceAttributes Attributes
	EventTimes         []time.Time
	EventNames         []string
	EventAttributes    []Attributes
}

// Attribute is one attribute of a span, its resource or one of its events,
// the value flattened to a string.
type Attribute struct{ Key, Value string }

// Attributes are attributes in the order they were sent, each key once.
// They are a list, not a map, because that is how OTLP sends them and how
// they are stored: building a map per span only to walk it again cost more
// than anything else in decoding a span.
type Attributes []Attribute

// Get returns the value of key, "" when there is none.
func (as Attributes) Get(key string) string {
	for _, a := range as {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

// EventKey identifies a stored event: ids are unique per tenant, so that one
// tenant's ids can never shadow another's.
type EventKey struct{ Tenant, ID string }

// Key returns the event's EventKey.
func (e *Event) Key() EventKey { return EventKey{Tenant: e.Tenant, ID: e.ID} }
