-- Every canonical event, once. The sorting key serves the KPI path (one
-- tenant, a time range, a type); bloom filters serve the lookup path (one
-- correlation id, document number, trace id or event id). ReplacingMergeTree
-- on a key that contains the id collapses a duplicate that slipped past the
-- writer's check (two processes racing during a rebalance); the writer's
-- check is what keeps reads exact.
CREATE TABLE IF NOT EXISTS {db}.events
(
    tenant           LowCardinality(String),
    occurred_at      DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    type             LowCardinality(String),
    id               String CODEC(ZSTD(1)),
    source           LowCardinality(String),
    received_at      DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    -- when the row reached ClickHouse (server clock): ingest lag is
    -- stored_at - received_at.
    stored_at        DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1)),
    correlation_id   String CODEC(ZSTD(1)),
    trace_id         String CODEC(ZSTD(1)),
    plant            LowCardinality(String),
    supplier         LowCardinality(String),
    document_kind    LowCardinality(String),
    document_id      String CODEC(ZSTD(1)),
    document_version UInt32 CODEC(T64, ZSTD(1)),
    channel          LowCardinality(String),
    origin_id        String CODEC(ZSTD(1)),
    raw              String CODEC(ZSTD(3)),
    data             String MATERIALIZED JSONExtractRaw(raw, 'data') CODEC(ZSTD(3)),
    INDEX idx_id id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_correlation correlation_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_document document_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_trace trace_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant, toDate(occurred_at), type, id)
-- Retention counts from when we received an event, not when it happened:
-- a backfill of old history or a late document is kept, not dropped at once.
TTL toDateTime(received_at) + INTERVAL {retention_days} DAY;

-- The ids stored, for the writer's duplicate check: a primary-key lookup by
-- id. Filled by a materialized view in the same insert as events.
CREATE TABLE IF NOT EXISTS {db}.event_ids
(
    id          String,
    tenant      LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (id, tenant)
TTL toDateTime(received_at) + INTERVAL {retention_days} DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.event_ids_mv TO {db}.event_ids AS
SELECT id, tenant, occurred_at, received_at FROM {db}.events;

-- Dead letter: every input that could not be accepted, with the reason.
-- input_id names the input (Kafka topic/partition/offset, or a hash of an
-- HTTP item) so a redelivered bad input is one row.
CREATE TABLE IF NOT EXISTS {db}.rejected
(
    received_at     DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    input_id        String,
    channel         LowCardinality(String),
    tenant          LowCardinality(String),
    source          LowCardinality(String),
    event_id        String,
    event_type      LowCardinality(String),
    field           String,
    reason          String,
    raw             String CODEC(ZSTD(3)),
    kafka_topic     LowCardinality(String),
    kafka_partition Int32,
    kafka_offset    Int64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY input_id
TTL toDateTime(received_at) + INTERVAL {retention_days} DAY;

-- OTLP spans. Tenant comes from the ingest token. correlation_id and
-- document_id are lifted from the span attributes (supplywatch.correlation_id,
-- correlation_id, po.number, document.id, ...) to link spans to events.
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
    events_attributes   Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    INDEX idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_correlation correlation_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_document document_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant, service_name, toDate(start_time), trace_id, span_id)
TTL toDateTime(start_time) + INTERVAL {retention_days} DAY;
