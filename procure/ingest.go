package procure

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
	"unicode/utf8"
)

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
//
// A dead letter is bounded (docs/reliability.md, "Dead letters"): Raw keeps
// at most MaxDeadLetterRaw bytes of the input, RawSize and RawSHA256
// describe the whole of it, and Bound enforces both before the rejection is
// stored or published. An input that is stored elsewhere once (a B2B
// document in the documents table) is referenced by OriginalRef instead of
// copied into each of its rejections: such a rejection carries no Raw, or
// only the part at fault, and the size and hash of the whole original.
type Rejection struct {
	ReceivedAt time.Time
	InputID    string
	Channel    string
	// Stage is where the input was refused (StageIngest when empty).
	Stage  string
	Tenant string
	Source string
	// Sender is the name of the ingest token an HTTP input came with (""
	// for other channels): a redrive re-checks that token's tenant and
	// sources, not those of any token of the tenant.
	Sender    string
	EventID   string
	EventType string
	Field     string
	Reason    string
	// Raw is the input as received, or its first MaxDeadLetterRaw bytes.
	Raw []byte
	// RawSize is the size of the whole input in bytes and RawSHA256 the
	// hex SHA-256 of the whole of it; Bound fills them from Raw when unset.
	RawSize   int64
	RawSHA256 string
	// OriginalRef is the id of the original stored once elsewhere (for a
	// B2B document, its origin id in the documents table), or "".
	OriginalRef string
	Topic       string
	Partition   int32
	Offset      int64
}

// Dead-letter stages: where in the pipeline an input was refused.
const (
	StageIngest = "ingest" // decoding and validation at the edge (Kafka, HTTP, OTLP)
	StageStore  = "store"  // ClickHouse refused the row (a constraint, a size)
	StageRules  = "rules"  // the rules processor could not apply the event
	StageB2B    = "b2b"    // B2B intake: a document or one of its sets
)

// Bounds of one dead letter.
const (
	// MaxDeadLetterRaw is the most bytes of an input kept in a dead letter
	// (the rejected table and the dead-letter topic): well under a Kafka
	// broker's default message limit of 1 MB.
	MaxDeadLetterRaw = 256 << 10
	// MaxDeadLetterText bounds the reason and the field of a dead letter.
	MaxDeadLetterText = 4 << 10
)

// Bound makes r fit the dead-letter bounds: it records the size and
// SHA-256 of the whole raw input (unless already set, as when Raw is only a
// part of a referenced original), cuts Raw to MaxDeadLetterRaw bytes and the
// reason and field to MaxDeadLetterText, and names the stage. It is
// idempotent; Raw is redacted (RedactSecrets: a copy when it held a secret)
// and re-sliced, never modified in place.
func (r *Rejection) Bound() {
	// Secrets go before anything else sees the input: the hash and size
	// are those of the redacted input.
	r.Raw = RedactSecrets(r.Raw)
	if r.RawSHA256 == "" {
		sum := sha256.Sum256(r.Raw)
		r.RawSHA256 = hex.EncodeToString(sum[:])
		r.RawSize = int64(len(r.Raw))
	}
	if r.RawSize < int64(len(r.Raw)) {
		r.RawSize = int64(len(r.Raw))
	}
	if len(r.Raw) > MaxDeadLetterRaw {
		r.Raw = r.Raw[:MaxDeadLetterRaw:MaxDeadLetterRaw]
	}
	r.Reason = clipText(r.Reason)
	r.Field = clipText(r.Field)
	if r.Stage == "" {
		r.Stage = StageIngest
	}
}

// Truncated reports whether Raw holds less than the whole input.
func (r *Rejection) Truncated() bool { return int64(len(r.Raw)) < r.RawSize }

// clipText cuts s to MaxDeadLetterText bytes on a rune boundary.
func clipText(s string) string {
	if len(s) <= MaxDeadLetterText {
		return s
	}
	i := MaxDeadLetterText
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
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
