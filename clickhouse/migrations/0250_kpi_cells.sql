-- Cell-wise KPI rollup (docs/kpi.md, "Refresh"). A cell is a (tenant, day,
-- plant, supplier); kpi_rollup's rows are sums of cells: a day-grain row
-- of the cells of its (day, plant), a month-grain row of the cells of its
-- (month, plant, supplier). A refresh re-rolls the cells its touched
-- entities were or are in, and from them only the kpi_rollup rows those
-- cells belong to, so its cost follows the new facts, not a month's size.
--
-- kpi_cells holds the entity rows of kpi_entities ordered by KPI and cell
-- (a materialized view copies every row written to kpi_entities, new rows
-- and tombstones alike): the rows of a set of cells, or of a KPI in a
-- period and scope (the drill-down), are a few ranges of its primary key.
-- An entity that moves to another cell within its month keeps its
-- kpi_entities key but not its kpi_cells key: the refresher writes a
-- deleted row of a newer version for every earlier row of a touched entity,
-- and the new rows (newer still) replace those of the same key.
CREATE TABLE IF NOT EXISTS {db}.kpi_cells
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
ORDER BY (tenant, kpi, plant, supplier, day, family, ekey, doc);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_cells_mv TO {db}.kpi_cells AS
SELECT family, tenant, ekey, kpi, doc, day, plant, supplier, num, den, x, version, deleted
FROM {db}.kpi_entities;

-- The rollup of each cell and KPI: Σnum, Σden and the quantile state of x.
-- A re-rolled cell gets a newer version; a cell left without entities a
-- deleted row. kpi_rollup's rows are sums of these (read FINAL).
CREATE TABLE IF NOT EXISTS {db}.kpi_cell_rollup
(
    tenant   LowCardinality(String),
    kpi      LowCardinality(String),
    day      Date,
    plant    LowCardinality(String),
    supplier LowCardinality(String),
    num      Float64,
    den      Float64,
    q        AggregateFunction(quantilesIf(0.5, 0.9), Float64, UInt8),
    version  UInt64,
    deleted  UInt8
)
ENGINE = ReplacingMergeTree(version, deleted)
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, plant, supplier, day, kpi);
