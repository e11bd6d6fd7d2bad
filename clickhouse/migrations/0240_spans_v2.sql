-- The spans table rebuilt for the insert path (docs/storage.md, "Spans:
-- engine and sorting key"). Measured on the embedded server with the OTLP
-- bench's spans (go run ./cmd/supplywatch-bench -only chcost), a MergeTree
-- sorted by (tenant, start_time) costs about half the server CPU per span of
-- the ReplacingMergeTree sorted by (tenant, service_name, day, trace_id,
-- span_id): a batch arrives nearly in start_time order, so sorting it and
-- merging parts is cheap, where random trace ids made every insert sort and
-- every merge interleave. Reads are one tenant over a time window, by trace,
-- correlation or document id: the key now serves the window, the bloom
-- filters (unchanged) the ids.
--
-- MergeTree does not collapse a span stored twice. The writer retries a
-- batch whose insert it did not hear back from as the same block, and
-- non_replicated_deduplication_window makes the server drop a block it
-- already has (the window counts inserts). A span a client sends again after
-- a 503 can be stored twice, as it could be read twice before the old
-- engine's next merge.
--
-- An engine or a sorting key cannot be altered, and a table cannot be
-- renamed on every deployment this runs on (cluster form), so the spans move
-- to a table of a new name. Several processes may run this at once (every
-- role migrates at start): the copy carries a fixed deduplication token, so
-- a second copy of the same rows is dropped block by block; a process that
-- copies after another dropped the old table copies from the empty one the
-- first statement makes. Spans written by a collector of the previous
-- version while this runs are not copied.
CREATE TABLE IF NOT EXISTS {db}.spans
(
    tenant              LowCardinality(String),
    start_time          DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    trace_id            String CODEC(ZSTD(1)),
    span_id             String CODEC(ZSTD(1)),
    parent_span_id      String CODEC(ZSTD(1)),
    trace_state         String CODEC(ZSTD(1)),
    name                LowCardinality(String),
    kind                LowCardinality(String),
    service_name        LowCardinality(String),
    scope_name          LowCardinality(String),
    duration_ns         UInt64 CODEC(T64, ZSTD(1)),
    status_code         LowCardinality(String),
    status_message      String CODEC(ZSTD(1)),
    correlation_id      String CODEC(ZSTD(1)),
    document_id         String CODEC(ZSTD(1)),
    attributes          Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    events_time         Array(DateTime64(9, 'UTC')) CODEC(ZSTD(1)),
    events_name         Array(LowCardinality(String)) CODEC(ZSTD(1)),
    events_attributes   Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, service_name, toDate(start_time), trace_id, span_id)
TTL toDateTime(start_time) + INTERVAL {retention_days} DAY;

CREATE TABLE IF NOT EXISTS {db}.spans_v2
(
    tenant              LowCardinality(String),
    start_time          DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    trace_id            String CODEC(ZSTD(1)),
    span_id             String CODEC(ZSTD(1)),
    parent_span_id      String CODEC(ZSTD(1)),
    trace_state         String CODEC(ZSTD(1)),
    name                LowCardinality(String),
    kind                LowCardinality(String),
    service_name        LowCardinality(String),
    scope_name          LowCardinality(String),
    duration_ns         UInt64 CODEC(T64, ZSTD(1)),
    status_code         LowCardinality(String),
    status_message      String CODEC(ZSTD(1)),
    correlation_id      String CODEC(ZSTD(1)),
    document_id         String CODEC(ZSTD(1)),
    attributes          Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    events_time         Array(DateTime64(9, 'UTC')) CODEC(ZSTD(1)),
    events_name         Array(LowCardinality(String)) CODEC(ZSTD(1)),
    events_attributes   Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    INDEX idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_correlation correlation_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_document document_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, start_time)
TTL toDateTime(start_time) + INTERVAL {retention_days} DAY
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO {db}.spans_v2
SETTINGS insert_deduplication_token = 'migration-0240'
SELECT tenant, start_time, trace_id, span_id, parent_span_id, trace_state, name, kind, service_name, scope_name,
       duration_ns, status_code, status_message, correlation_id, document_id, attributes, resource_attributes,
       events_time, events_name, events_attributes
FROM {db}.spans
ORDER BY tenant, start_time, trace_id, span_id;

DROP TABLE IF EXISTS {db}.spans;
