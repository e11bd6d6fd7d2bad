package procure

import "time"

// What the console reads from the fact store (ClickHouse): timelines of
// documents, delivery outcomes and dead letters.

// TimelineQuery names what a timeline is about. Plants, when not nil,
// keeps events of those plants only (spans have no plant and are kept).
type TimelineQuery struct {
	Documents    []string
	Correlations []string
	Since, Until time.Time
	Plants       []string
	Limit        int
}

// TimelineEntry is one business event or one span.
type TimelineEntry struct {
	At            time.Time `json:"at"`
	Kind          string    `json:"kind"` // event | span
	Type          string    `json:"type"` // event type, or span name
	Source        string    `json:"source"`
	ID            string    `json:"id"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	TraceID       string    `json:"trace_id,omitempty"`
	SpanID        string    `json:"span_id,omitempty"`
	ParentSpanID  string    `json:"parent_span_id,omitempty"`
	DocumentKind  string    `json:"document_kind,omitempty"`
	DocumentID    string    `json:"document_id,omitempty"`
	Plant         string    `json:"plant,omitempty"`
	Supplier      string    `json:"supplier,omitempty"`
	DurationMS    float64   `json:"duration_ms,omitempty"`
	Status        string    `json:"status,omitempty"`
	Message       string    `json:"message,omitempty"`
	Data          string    `json:"data,omitempty"`
}

// FailedDelivery is a message.failed event and its delivery payload.
type FailedDelivery struct {
	EventID       string    `json:"event_id"`
	At            time.Time `json:"at"`
	CorrelationID string    `json:"correlation_id"`
	Delivery      Delivery  `json:"delivery"`
}

// DeliveryOutcome is the latest delivery event of a message.
type DeliveryOutcome struct {
	Type  string    `json:"type"` // message.delivered | message.failed
	At    time.Time `json:"at"`
	Error string    `json:"error,omitempty"`
}

// RejectedFilter selects dead letters.
type RejectedFilter struct {
	// Untenanted adds the dead letters that carry no tenant (an input
	// that never named a valid one): operators only.
	Untenanted bool
	Channel    string
	Stage      string // ingest, store, rules, b2b (Stage*)
	Reason     string // substring
	InputIDs   []string
	Before     time.Time
	Limit      int
}

// Rejected is one dead letter.
type Rejected struct {
	ReceivedAt time.Time `json:"received_at"`
	InputID    string    `json:"input_id"`
	Channel    string    `json:"channel"`
	Tenant     string    `json:"tenant"`
	Source     string    `json:"source"`
	// Sender is the ingest token an HTTP input came with.
	Sender    string `json:"sender,omitempty"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Field     string `json:"field"`
	Reason    string `json:"reason"`
	Raw       string `json:"raw"`
	Topic     string `json:"kafka_topic,omitempty"`
	Partition int32  `json:"kafka_partition"`
	Offset    int64  `json:"kafka_offset"`
	// Stage is where it was refused: ingest, store, rules or b2b.
	Stage string `json:"stage"`
}

// Operations is the on-call view of the pipeline over a window: from the
// facts (throughput, rejects, ingest latency, SLA breaches, deliveries) and
// from the process's own metrics (consumer lag, alert deliveries).
type Operations struct {
	From       time.Time      `json:"from"`
	To         time.Time      `json:"to"`
	Throughput []SourceCount  `json:"throughput"`
	Rejects    []ReasonCount  `json:"rejects"`
	Latency    *IngestLatency `json:"ingest_latency"`
	Breaches   []RuleCount    `json:"sla_breaches"`
	Deliveries []TargetCount  `json:"deliveries"`
	// Metrics are samples of the service's own metrics (nil when the
	// console has no registry): consumer lag per group and topic, alert
	// deliveries, ingest counts.
	Metrics []MetricSample `json:"metrics"`
}

// SourceCount is the events of one source and partner (supplier).
type SourceCount struct {
	Source   string `json:"source"`
	Supplier string `json:"supplier"`
	Events   uint64 `json:"events"`
}

// ReasonCount is the dead-letter entries of one channel, field and reason.
type ReasonCount struct {
	Channel string    `json:"channel"`
	Field   string    `json:"field"`
	Reason  string    `json:"reason"`
	Count   uint64    `json:"count"`
	Last    time.Time `json:"last"`
}

// IngestLatency is received → stored (queryable) time of the window's
// events, in milliseconds.
type IngestLatency struct {
	Events uint64  `json:"events"`
	P50    float64 `json:"p50_ms"`
	P95    float64 `json:"p95_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// RuleCount is the SLA exceptions one rule opened.
type RuleCount struct {
	Rule  string `json:"rule"`
	Count uint64 `json:"count"`
}

// TargetCount is the messages delivered to and failed at one target.
type TargetCount struct {
	Target    string `json:"target"`
	Delivered uint64 `json:"delivered"`
	Failed    uint64 `json:"failed"`
}

// MetricSample is one series of a metric of the process.
type MetricSample struct {
	Name   string            `json:"name"`
	Help   string            `json:"help"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  float64           `json:"value"`
}
