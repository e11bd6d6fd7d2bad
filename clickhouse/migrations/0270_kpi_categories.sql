-- The KPI breakdown by item category from the rollup (docs/kpi.md,
-- "Category"; issue 16). It read the period's entity rows and their POs'
-- lines at query time: 27 s at 50,000,000 events. Now every entity row
-- carries its category (the refresher computes it with the row: a PO
-- line's material class, else the main class of its PO), the refresher
-- keeps a rollup per cell and category, kpi_cell_categories, and
-- kpi_rollup a grain 'category' (tenant × kpi × day × plant × category),
-- so the breakdown reads like the breakdown by plant.
ALTER TABLE {db}.kpi_entities ADD COLUMN IF NOT EXISTS category LowCardinality(String) DEFAULT '';

ALTER TABLE {db}.kpi_cells ADD COLUMN IF NOT EXISTS category LowCardinality(String) DEFAULT '';

DROP VIEW IF EXISTS {db}.kpi_cells_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_cells_mv TO {db}.kpi_cells AS
SELECT family, tenant, ekey, kpi, doc, day, plant, supplier, num, den, x, category, version, deleted
FROM {db}.kpi_entities;

-- Σnum, Σden and the quantile state per cell, KPI and category: re-rolled
-- with the cells (kpi_cell_rollup is summed from it), ordered so that a
-- day and plant of a KPI (a row of the grain 'category') is a key prefix.
CREATE TABLE IF NOT EXISTS {db}.kpi_cell_categories
(
    tenant   LowCardinality(String),
    kpi      LowCardinality(String),
    day      Date,
    plant    LowCardinality(String),
    supplier LowCardinality(String),
    category LowCardinality(String),
    num      Float64,
    den      Float64,
    q        AggregateFunction(quantilesIf(0.5, 0.9), Float64, UInt8),
    version  UInt64,
    deleted  UInt8
)
ENGINE = ReplacingMergeTree(version, deleted)
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, kpi, day, plant, supplier, category);

ALTER TABLE {db}.kpi_rollup ADD COLUMN IF NOT EXISTS category LowCardinality(String) DEFAULT '';

ALTER TABLE {db}.kpi_rollup_stage ADD COLUMN IF NOT EXISTS category LowCardinality(String) DEFAULT '';
