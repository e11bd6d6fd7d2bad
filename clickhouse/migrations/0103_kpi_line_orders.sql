-- What a PO line is ordered (quantity, need-by date, release), in a narrow
-- table of its own instead of kpi_lines (docs/storage.md, "Insert cost").
-- Every po.released and po.changed writes a row per line, and writing those
-- rows into the twenty columns of kpi_lines, most of them aggregate states
-- and nullable defaults, was the single largest cost of an insert into
-- events: about 10 µs of server CPU per three-line order, against about
-- 5 µs here.
--
-- The newest PO version wins as a tuple (version, value) under max, so
-- every column is an idempotent aggregate (max, min): a row written twice
-- (the backfill below racing the view) changes nothing. kpi reads join the
-- two tables by (tenant, po, line) (kpi/sql.go, linesSQL).

CREATE TABLE IF NOT EXISTS {db}.kpi_line_orders
(
    tenant      LowCardinality(String),
    po          String,
    line        Int32,
    plant       SimpleAggregateFunction(max, String),
    supplier    SimpleAggregateFunction(max, String),
    released_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    ordered     SimpleAggregateFunction(max, Tuple(UInt32, Float64)),
    need_by     SimpleAggregateFunction(max, Tuple(UInt32, Date))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, po, line);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_line_orders_mv TO {db}.kpi_line_orders AS
SELECT tenant, document_id AS po, l.1 AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       if(type = 'po.released', toNullable(occurred_at), NULL) AS released_at,
       (document_version, l.2) AS ordered,
       (document_version, if(l.3 != '', toDateOrZero(l.3), toDateOrZero(arrayLast(x -> x != '', l.4.1)))) AS need_by
FROM (
    SELECT tenant, type, occurred_at, document_id, document_version, plant, supplier,
           JSONExtract(raw, 'data', 'lines', 'Array(Tuple(line Int32, quantity Float64, need_by String, schedule Array(Tuple(date String))))') AS ls
    FROM {db}.events
    WHERE type IN ('po.released', 'po.changed')
)
ARRAY JOIN ls AS l;

DROP VIEW IF EXISTS {db}.kpi_lines_po_mv;

INSERT INTO {db}.kpi_line_orders
SELECT tenant, document_id AS po, l.1 AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       if(type = 'po.released', toNullable(occurred_at), NULL) AS released_at,
       (document_version, l.2) AS ordered,
       (document_version, if(l.3 != '', toDateOrZero(l.3), toDateOrZero(arrayLast(x -> x != '', l.4.1)))) AS need_by
FROM (
    SELECT tenant, type, occurred_at, document_id, document_version, plant, supplier,
           JSONExtract(raw, 'data', 'lines', 'Array(Tuple(line Int32, quantity Float64, need_by String, schedule Array(Tuple(date String))))') AS ls
    FROM {db}.events
    WHERE type IN ('po.released', 'po.changed')
)
ARRAY JOIN ls AS l;
