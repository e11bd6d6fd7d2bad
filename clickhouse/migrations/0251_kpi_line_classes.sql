-- Item category of each PO line, for the KPI breakdown by category
-- (docs/kpi.md, "Category"). The breakdown used to parse the PO events'
-- JSON in `events` at query time (seconds at 1.5M events, growing with the
-- history). Now the view that already writes a PO line's order fields into
-- kpi_line_orders also writes its material class and value, versioned like
-- `ordered` (the newest PO version wins), so the breakdown reads them by
-- primary key. No part is added per insert: it is the same view.
ALTER TABLE {db}.kpi_line_orders
    ADD COLUMN IF NOT EXISTS class SimpleAggregateFunction(max, Tuple(UInt32, String)),
    ADD COLUMN IF NOT EXISTS value SimpleAggregateFunction(max, Tuple(UInt32, Float64));

DROP VIEW IF EXISTS {db}.kpi_line_orders_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_line_orders_mv TO {db}.kpi_line_orders AS
SELECT tenant, document_id AS po, l.1 AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       if(type = 'po.released', toNullable(occurred_at), NULL) AS released_at,
       (document_version, l.2) AS ordered,
       (document_version, if(l.3 != '', toDateOrZero(l.3), toDateOrZero(arrayLast(x -> x != '', l.4.1)))) AS need_by,
       (document_version, l.5) AS class,
       (document_version, l.2 * l.6) AS value
FROM (
    SELECT tenant, type, occurred_at, document_id, document_version, plant, supplier,
           JSONExtract(raw, 'data', 'lines', 'Array(Tuple(line Int32, quantity Float64, need_by String, schedule Array(Tuple(date String)), material_class String, unit_price Float64))') AS ls
    FROM {db}.events
    WHERE type IN ('po.released', 'po.changed')
)
ARRAY JOIN ls AS l;

-- The lines stored before: their class and value only (the other columns'
-- defaults are the neutral values of their max and min).
INSERT INTO {db}.kpi_line_orders (tenant, po, line, class, value)
SELECT tenant, document_id AS po, l.1 AS line, (document_version, l.2) AS class, (document_version, l.3 * l.4) AS value
FROM (
    SELECT tenant, document_id, document_version,
           JSONExtract(raw, 'data', 'lines', 'Array(Tuple(line Int32, material_class String, quantity Float64, unit_price Float64))') AS ls
    FROM {db}.events
    WHERE type IN ('po.released', 'po.changed')
)
ARRAY JOIN ls AS l;
