-- The KPI materialized views of 0100, rewritten for the insert path (the
-- decision is in docs/storage.md, "Insert cost"):
--
-- * Each view filters on type in a subquery before it touches the JSON, so a
--   block of events that none of its types are in costs a filter, not a parse
--   of every row (ARRAY JOIN is otherwise evaluated before WHERE).
-- * Each row's payload is parsed once, into a typed tuple, instead of once
--   per JSONExtract call.
-- * A line without need_by no longer fails the whole insert of its block
--   (toDate('') throws): its due date is the last schedule line's date, or
--   zero (unknown) when it has none.
--
-- The tables are unchanged; a view is swapped by DROP and CREATE, which the
-- service runs at start before it consumes, so no insert falls between.

DROP VIEW IF EXISTS {db}.kpi_orders_inv_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_orders_inv_mv TO {db}.kpi_orders AS
SELECT tenant, d.1 AS po,
       toUInt8(d.2 = 'blocked') AS inv_blocked,
       toUInt8(d.2 = 'disputed') AS inv_disputed,
       if(d.2 = 'paid', toNullable(occurred_at), NULL) AS paid_at
FROM (
    SELECT tenant, occurred_at, JSONExtract(raw, 'data', 'Tuple(po String, status String)') AS d
    FROM {db}.events
    WHERE type = 'invoice.status_changed'
)
WHERE d.1 != '';

DROP VIEW IF EXISTS {db}.kpi_lines_po_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_lines_po_mv TO {db}.kpi_lines AS
SELECT tenant, document_id AS po, l.1 AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       if(type = 'po.released', toNullable(occurred_at), NULL) AS released_at,
       initializeAggregation('argMaxState', l.2, document_version) AS ordered_qty,
       initializeAggregation('argMaxState', if(l.3 != '', toDateOrZero(l.3), toDateOrZero(arrayLast(x -> x != '', l.4.1))), document_version) AS need_by
FROM (
    SELECT tenant, type, occurred_at, document_id, document_version, plant, supplier,
           JSONExtract(raw, 'data', 'lines', 'Array(Tuple(line Int32, quantity Float64, need_by String, schedule Array(Tuple(date String))))') AS ls
    FROM {db}.events
    WHERE type IN ('po.released', 'po.changed')
)
ARRAY JOIN ls AS l;

DROP VIEW IF EXISTS {db}.kpi_lines_ack_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_lines_ack_mv TO {db}.kpi_lines AS
SELECT tenant, document_id AS po, l.1 AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       toNullable(occurred_at) AS ack_at,
       initializeAggregation('argMaxState', l.2, occurred_at) AS ack_status,
       initializeAggregation('argMaxState', l.3, occurred_at) AS ack_qty,
       initializeAggregation('argMaxState', toDateOrZero(l.4), occurred_at) AS ack_date
FROM (
    SELECT tenant, occurred_at, document_id, plant, supplier,
           JSONExtract(raw, 'data', 'lines', 'Array(Tuple(line Int32, status String, quantity Float64, promised_date String))') AS ls
    FROM {db}.events
    WHERE type = 'po.acknowledged'
)
ARRAY JOIN ls AS l;

DROP VIEW IF EXISTS {db}.kpi_lines_asn_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_lines_asn_mv TO {db}.kpi_lines AS
SELECT tenant, l.1 AS po, l.2 AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       toNullable(occurred_at) AS asn_at,
       parseDateTime64BestEffortOrNull(d.1, 3, 'UTC') AS asn_arrival,
       l.3 AS shipped_qty
FROM (
    SELECT tenant, occurred_at, plant, supplier,
           JSONExtract(raw, 'data', 'Tuple(expected_arrival String, lines Array(Tuple(po String, line Int32, quantity Float64)))') AS d
    FROM {db}.events
    WHERE type = 'asn.submitted'
)
ARRAY JOIN d.2 AS l;

DROP VIEW IF EXISTS {db}.kpi_lines_gr_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_lines_gr_mv TO {db}.kpi_lines AS
SELECT tenant, l.1 AS po, l.2 AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       toNullable(occurred_at) AS receipt_at,
       l.3 AS received_qty,
       l.4 AS rejected_qty
FROM (
    SELECT tenant, occurred_at, plant, supplier,
           JSONExtract(raw, 'data', 'lines', 'Array(Tuple(po String, line Int32, received_quantity Float64, rejected_quantity Float64))') AS ls
    FROM {db}.events
    WHERE type = 'goods.received'
)
ARRAY JOIN ls AS l;

DROP VIEW IF EXISTS {db}.kpi_asns_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_asns_mv TO {db}.kpi_asns AS
SELECT tenant,
       if(type = 'goods.received', d.1, document_id) AS asn,
       toString(plant) AS plant, toString(supplier) AS supplier,
       if(type = 'asn.submitted', toString(source), '') AS source,
       if(type = 'asn.submitted', toNullable(occurred_at), NULL) AS submitted_at,
       if(type = 'asn.submitted', parseDateTime64BestEffortOrNull(d.2, 3, 'UTC'), NULL) AS expected_arrival,
       toUInt8(type = 'asn.cancelled') AS cancelled,
       if(type = 'goods.received', toNullable(occurred_at), NULL) AS received_at
FROM (
    SELECT tenant, type, occurred_at, document_id, plant, supplier, source,
           JSONExtract(raw, 'data', 'Tuple(asn String, expected_arrival String)') AS d
    FROM {db}.events
    WHERE type IN ('asn.submitted', 'asn.cancelled', 'goods.received')
)
WHERE type != 'goods.received' OR d.1 != '';

DROP VIEW IF EXISTS {db}.kpi_asn_lines_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_asn_lines_mv TO {db}.kpi_asn_lines AS
SELECT tenant,
       if(type = 'goods.received', d.1, document_id) AS asn,
       l.1 AS po, l.2 AS line,
       if(type = 'asn.submitted', l.3, 0) AS shipped_qty,
       if(type = 'goods.received', l.4, 0) AS received_qty,
       toUInt8(type = 'asn.submitted') AS shipped,
       toUInt8(type = 'goods.received') AS received
FROM (
    SELECT tenant, type, document_id,
           JSONExtract(raw, 'data', 'Tuple(asn String, lines Array(Tuple(po String, line Int32, quantity Float64, received_quantity Float64)))') AS d
    FROM {db}.events
    WHERE type IN ('asn.submitted', 'goods.received')
)
ARRAY JOIN d.2 AS l
WHERE type = 'asn.submitted' OR d.1 != '';

DROP VIEW IF EXISTS {db}.kpi_invoices_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_invoices_mv TO {db}.kpi_invoices AS
SELECT tenant, document_id AS invoice, toString(plant) AS plant, toString(supplier) AS supplier,
       d.1 AS po,
       toNullable(occurred_at) AS first_at,
       toUInt8(d.2 = 'blocked') AS blocked,
       toUInt8(d.2 = 'disputed') AS disputed,
       toUInt8(d.2 IN ('matched', 'approved', 'paid')) AS matched,
       if(d.2 = 'paid', toNullable(occurred_at), NULL) AS paid_at
FROM (
    SELECT tenant, occurred_at, document_id, plant, supplier,
           JSONExtract(raw, 'data', 'Tuple(po String, status String)') AS d
    FROM {db}.events
    WHERE type = 'invoice.status_changed'
);

DROP VIEW IF EXISTS {db}.kpi_suppliers_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_suppliers_mv TO {db}.kpi_suppliers AS
SELECT tenant, if(supplier != '', toString(supplier), document_id) AS supplier, occurred_at AS updated_at,
       d.1 AS name, toUInt8(d.2) AS tier, d.3 AS channel
FROM (
    SELECT tenant, supplier, document_id, occurred_at,
           JSONExtract(raw, 'data', 'Tuple(name String, tier UInt64, channel String)') AS d
    FROM {db}.events
    WHERE type = 'supplier.updated'
);

DROP VIEW IF EXISTS {db}.kpi_deliveries_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_deliveries_mv TO {db}.kpi_deliveries AS
SELECT tenant, toStartOfHour(occurred_at) AS hour, plant, supplier,
       d.1 AS target, d.2 AS error_class,
       countIf(type = 'message.delivered') AS delivered,
       countIf(type = 'message.failed') AS failed
FROM (
    SELECT tenant, type, occurred_at, plant, supplier,
           JSONExtract(raw, 'data', 'Tuple(target String, error_class String)') AS d
    FROM {db}.events
    WHERE type IN ('message.delivered', 'message.failed')
)
GROUP BY tenant, hour, plant, supplier, target, error_class;
