package kafka

// The record headers supplywatch writes and reads, all of them: a header
// name is written in this file only.

// Headers that carry ingest context along with an event.
const (
	HeaderChannel    = "supplywatch-channel"
	HeaderReceivedAt = "supplywatch-received-at" // unix milliseconds
	HeaderOriginID   = "supplywatch-origin-id"
	HeaderReason     = "supplywatch-reason"
	HeaderField      = "supplywatch-field"
	HeaderInputID    = "supplywatch-input-id"
	// Dead letters only: the stage that refused the input, the size and
	// hex SHA-256 of the whole input (the value holds at most
	// procure.MaxDeadLetterRaw bytes of it) and the id of an original
	// stored once elsewhere.
	HeaderStage       = "supplywatch-stage"
	HeaderRawSize     = "supplywatch-raw-size"
	HeaderRawSHA256   = "supplywatch-raw-sha256"
	HeaderOriginalRef = "supplywatch-original-ref"
	// HeaderFormat optionally names the format of a record of the
	// raw-document topic (x12, edifact, cxml); without it the format is
	// sniffed.
	HeaderFormat = "supplywatch-format"
)

// Headers on re-published messages (retries by hand, from Slack or by the
// automatic worker, and redrives of dead letters).
const (
	HeaderIdempotencyKey = "idempotency-key"
	HeaderRetryOf        = "supplywatch-retry-of"
	HeaderRetriedBy      = "supplywatch-retried-by"
	HeaderRedriveOf      = "supplywatch-redrive-of"
	// HeaderTenant names the tenant a re-published message belongs to
	// (the retry topics are shared by all tenants).
	HeaderTenant = "supplywatch-tenant"
	// HeaderAttempt numbers an automatic retry (1, 2, ...).
	HeaderAttempt = "supplywatch-retry-attempt"
)
