-- Counting rollups (SummingMergeTree, filled by materialized views on
-- events), the mirrored exception history, the plants' business-hour spans
-- and the KPI rollup that kpi.Refresher fills. See docs/kpi.md.

-- Every event per hour, type, source, ingest channel: throughput.
CREATE TABLE IF NOT EXISTS {db}.kpi_event_counts
(
    tenant  LowCardinality(String),
    hour    DateTime('UTC'),
    type    LowCardinality(String),
    source  LowCardinality(String),
    channel LowCardinality(String),
    events  UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, type, source, channel)
TTL hour + INTERVAL {retention_days} DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_event_counts_mv TO {db}.kpi_event_counts AS
SELECT tenant, toStartOfHour(occurred_at) AS hour, type, source, channel, count() AS events
FROM {db}.events
GROUP BY tenant, hour, type, source, channel;

-- Technical deliveries per hour, partner (supplier), target system and
-- error class: failed deliveries and error rates.
CREATE TABLE IF NOT EXISTS {db}.kpi_deliveries
(
    tenant      LowCardinality(String),
    hour        DateTime('UTC'),
    plant       LowCardinality(String),
    supplier    LowCardinality(String),
    target      LowCardinality(String),
    error_class LowCardinality(String),
    delivered   UInt64,
    failed      UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, target, supplier, plant, error_class)
TTL hour + INTERVAL {retention_days} DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_deliveries_mv TO {db}.kpi_deliveries AS
SELECT tenant, toStartOfHour(occurred_at) AS hour, plant, supplier,
       JSONExtractString(raw, 'data', 'target') AS target,
       JSONExtractString(raw, 'data', 'error_class') AS error_class,
       countIf(type = 'message.delivered') AS delivered,
       countIf(type = 'message.failed') AS failed
FROM {db}.events
WHERE type IN ('message.delivered', 'message.failed')
GROUP BY tenant, hour, plant, supplier, target, error_class;

-- Supplier-originated documents per day, supplier and source: the digital
-- workflow shares.
CREATE TABLE IF NOT EXISTS {db}.kpi_supplier_docs
(
    tenant   LowCardinality(String),
    day      Date,
    plant    LowCardinality(String),
    supplier LowCardinality(String),
    type     LowCardinality(String),
    source   LowCardinality(String),
    channel  LowCardinality(String),
    docs     UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, day, plant, supplier, type, source, channel)
TTL day + INTERVAL {retention_days} DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_supplier_docs_mv TO {db}.kpi_supplier_docs AS
SELECT tenant, toDate(occurred_at) AS day, plant, supplier, type, source, channel, count() AS docs
FROM {db}.events
WHERE type IN ('po.acknowledged', 'po.change_requested', 'asn.submitted', 'quality.document_attached')
GROUP BY tenant, day, plant, supplier, type, source, channel;

-- The exception history, mirrored from the Postgres exception outbox by
-- kpi.Mirror: one row per outbox event (ReplacingMergeTree on the outbox id
-- keeps a re-mirrored event once).
CREATE TABLE IF NOT EXISTS {db}.exception_history
(
    outbox_id    UInt64,
    tenant       LowCardinality(String),
    at           DateTime64(3, 'UTC'),
    kind         LowCardinality(String),
    exception_id UInt64,
    rule         LowCardinality(String),
    exc_kind     LowCardinality(String),
    severity     LowCardinality(String),
    team         LowCardinality(String),
    plant        LowCardinality(String),
    supplier     LowCardinality(String),
    po           String,
    line         Int32,
    state        LowCardinality(String),
    assignee     String,
    first_seen   DateTime64(3, 'UTC'),
    value_at_risk Float64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (tenant, exception_id, outbox_id);

-- Business-hour spans per plant ('' is the default calendar), in UTC, with
-- the business seconds before each span: business_seconds(t) is read with
-- one ASOF JOIN. Written by kpi.SyncCalendars from the sla calendars.
CREATE TABLE IF NOT EXISTS {db}.kpi_business_spans
(
    plant      String,
    start      DateTime('UTC'),
    end        DateTime('UTC'),
    cum_before Int64
)
ENGINE = ReplacingMergeTree
ORDER BY (plant, start);

-- The KPI rollup: numerator, denominator and quantile state per KPI, tenant,
-- grain (day: per plant, supplier ''; month: per plant and supplier) and
-- period start. kpi.Refresher recomputes whole months and swaps them in
-- with REPLACE PARTITION, so a refresh is atomic per month.
CREATE TABLE IF NOT EXISTS {db}.kpi_rollup
(
    tenant   LowCardinality(String),
    kpi      LowCardinality(String),
    grain    LowCardinality(String),
    day      Date,
    plant    LowCardinality(String),
    supplier LowCardinality(String),
    num      Float64,
    den      Float64,
    q        AggregateFunction(quantilesIf(0.5, 0.9), Float64, UInt8)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, kpi, grain, day, plant, supplier);

CREATE TABLE IF NOT EXISTS {db}.kpi_rollup_stage AS {db}.kpi_rollup;
