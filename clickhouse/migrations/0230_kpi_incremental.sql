-- Incremental KPI refresh (docs/kpi.md, "Refresh"). kpi.Refresher keeps
-- every KPI entity row (one per KPI and PO, PO line, ASN, invoice,
-- exception or supplier-day) in kpi_entities, recomputes only the entities
-- that new facts touched, and rolls up only the months whose entities
-- changed. A month is rolled up from its own partition, so the cost of a
-- refresh follows the new facts and the months they touch, not the history.
--
-- An entity row is replaced by a newer version in its partition (the month
-- of its attribution date); when an entity moves to another month or stops
-- counting, the refresher writes a deleted row of a newer version into the
-- old partition. Reads use FINAL, one partition at a time.
CREATE TABLE IF NOT EXISTS {db}.kpi_entities
(
    family   LowCardinality(String),
    tenant   LowCardinality(String),
    ekey     String,
    kpi      LowCardinality(String),
    doc      String,
    day      Date,
    plant    LowCardinality(String),
    supplier LowCardinality(String),
    num      Float64,
    den      Float64,
    x        Float64,
    version  UInt64,
    deleted  UInt8
)
ENGINE = ReplacingMergeTree(version, deleted)
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, family, ekey, kpi, doc);

-- The refresher's state: how far the entities are complete (a watermark on
-- the facts' insert times), the months still to roll up, a full build in
-- progress and its finished pieces (JSON, kpi/refresh.go refreshState).
CREATE TABLE IF NOT EXISTS {db}.kpi_refresh_state
(
    name  String,
    at    DateTime64(3, 'UTC'),
    state String
)
ENGINE = ReplacingMergeTree(at)
ORDER BY name;

-- New facts are found by their insert time: a minmax index lets the
-- refresher read only the granules written since its last run.
ALTER TABLE {db}.events ADD INDEX IF NOT EXISTS idx_stored_at stored_at TYPE minmax GRANULARITY 1;

ALTER TABLE {db}.events MATERIALIZE INDEX idx_stored_at;

ALTER TABLE {db}.exception_history ADD COLUMN IF NOT EXISTS stored_at DateTime64(3, 'UTC') DEFAULT now64(3);

ALTER TABLE {db}.exception_history MATERIALIZE COLUMN stored_at;

ALTER TABLE {db}.exception_history ADD INDEX IF NOT EXISTS idx_stored_at stored_at TYPE minmax GRANULARITY 1;
