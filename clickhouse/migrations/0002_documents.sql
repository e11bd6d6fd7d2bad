-- B2B documents as received (X12, EDIFACT, cXML), so that every event mapped
-- from one (events.origin_id) traces back to its bytes.
CREATE TABLE IF NOT EXISTS {db}.documents
(
    origin_id   String,
    received_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    tenant      LowCardinality(String),
    format      LowCardinality(String),
    partners    Array(LowCardinality(String)),
    status      LowCardinality(String),
    body        String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY origin_id
TTL toDateTime(received_at) + INTERVAL {retention_days} DAY;
