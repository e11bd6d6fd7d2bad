-- KPI facts (package kpi, docs/kpi.md). Materialized views turn the events
-- into one row per business entity (PO, PO line, ASN, ASN line, invoice),
-- merged by AggregatingMergeTree: each event type contributes the columns it
-- knows and leaves the others at their neutral default (NULL for min, 0 for
-- sum/max, an empty state for argMax). Reads merge with GROUP BY on the key.
-- No MV joins: an MV sees one insert block, so every join happens at query
-- time (or in the kpi.Refresher that fills kpi_rollup).

CREATE TABLE IF NOT EXISTS {db}.kpi_orders
(
    tenant        LowCardinality(String),
    po            String,
    plant         SimpleAggregateFunction(max, String),
    supplier      SimpleAggregateFunction(max, String),
    released_at   SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    first_ack_at  SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    cancelled_at  SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    decisions     SimpleAggregateFunction(sum, UInt64),
    inv_blocked   SimpleAggregateFunction(max, UInt8),
    inv_disputed  SimpleAggregateFunction(max, UInt8),
    paid_at       SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC')))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, po);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_orders_po_mv TO {db}.kpi_orders AS
SELECT tenant, document_id AS po, toString(plant) AS plant, toString(supplier) AS supplier,
       if(type = 'po.released', toNullable(occurred_at), NULL) AS released_at,
       if(type = 'po.acknowledged', toNullable(occurred_at), NULL) AS first_ack_at,
       if(type = 'po.cancelled', toNullable(occurred_at), NULL) AS cancelled_at,
       toUInt64(type = 'po.change_decided') AS decisions
FROM {db}.events
WHERE type IN ('po.released', 'po.changed', 'po.acknowledged', 'po.cancelled', 'po.change_decided', 'po.change_requested');

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_orders_inv_mv TO {db}.kpi_orders AS
SELECT tenant, JSONExtractString(raw, 'data', 'po') AS po,
       toUInt8(JSONExtractString(raw, 'data', 'status') = 'blocked') AS inv_blocked,
       toUInt8(JSONExtractString(raw, 'data', 'status') = 'disputed') AS inv_disputed,
       if(JSONExtractString(raw, 'data', 'status') = 'paid', toNullable(occurred_at), NULL) AS paid_at
FROM {db}.events
WHERE type = 'invoice.status_changed' AND JSONExtractString(raw, 'data', 'po') != '';

CREATE TABLE IF NOT EXISTS {db}.kpi_lines
(
    tenant        LowCardinality(String),
    po            String,
    line          Int32,
    plant         SimpleAggregateFunction(max, String),
    supplier      SimpleAggregateFunction(max, String),
    released_at   SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    ordered_qty   AggregateFunction(argMax, Float64, UInt32),
    need_by       AggregateFunction(argMax, Date, UInt32),
    ack_at        SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    ack_status    AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
    ack_qty       AggregateFunction(argMax, Float64, DateTime64(3, 'UTC')),
    ack_date      AggregateFunction(argMax, Date, DateTime64(3, 'UTC')),
    asn_at        SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    asn_arrival   SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    shipped_qty   SimpleAggregateFunction(sum, Float64),
    receipt_at    SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    received_qty  SimpleAggregateFunction(sum, Float64),
    rejected_qty  SimpleAggregateFunction(sum, Float64)
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, po, line);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_lines_po_mv TO {db}.kpi_lines AS
SELECT tenant, document_id AS po, toInt32(JSONExtractInt(l, 'line')) AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       if(type = 'po.released', toNullable(occurred_at), NULL) AS released_at,
       argMaxState(JSONExtractFloat(l, 'quantity'), document_version) AS ordered_qty,
       argMaxState(toDate(JSONExtractString(l, 'need_by')), document_version) AS need_by
FROM {db}.events
ARRAY JOIN JSONExtractArrayRaw(raw, 'data', 'lines') AS l
WHERE type IN ('po.released', 'po.changed')
GROUP BY tenant, po, line, plant, supplier, released_at;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_lines_ack_mv TO {db}.kpi_lines AS
SELECT tenant, document_id AS po, toInt32(JSONExtractInt(l, 'line')) AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       min(toNullable(occurred_at)) AS ack_at,
       argMaxState(JSONExtractString(l, 'status'), occurred_at) AS ack_status,
       argMaxState(JSONExtractFloat(l, 'quantity'), occurred_at) AS ack_qty,
       argMaxState(toDateOrZero(JSONExtractString(l, 'promised_date')), occurred_at) AS ack_date
FROM {db}.events
ARRAY JOIN JSONExtractArrayRaw(raw, 'data', 'lines') AS l
WHERE type = 'po.acknowledged'
GROUP BY tenant, po, line, plant, supplier;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_lines_asn_mv TO {db}.kpi_lines AS
SELECT tenant, JSONExtractString(l, 'po') AS po, toInt32(JSONExtractInt(l, 'line')) AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       toNullable(occurred_at) AS asn_at,
       parseDateTime64BestEffortOrNull(JSONExtractString(raw, 'data', 'expected_arrival'), 3, 'UTC') AS asn_arrival,
       JSONExtractFloat(l, 'quantity') AS shipped_qty
FROM {db}.events
ARRAY JOIN JSONExtractArrayRaw(raw, 'data', 'lines') AS l
WHERE type = 'asn.submitted';

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_lines_gr_mv TO {db}.kpi_lines AS
SELECT tenant, JSONExtractString(l, 'po') AS po, toInt32(JSONExtractInt(l, 'line')) AS line,
       toString(plant) AS plant, toString(supplier) AS supplier,
       toNullable(occurred_at) AS receipt_at,
       JSONExtractFloat(l, 'received_quantity') AS received_qty,
       JSONExtractFloat(l, 'rejected_quantity') AS rejected_qty
FROM {db}.events
ARRAY JOIN JSONExtractArrayRaw(raw, 'data', 'lines') AS l
WHERE type = 'goods.received';

CREATE TABLE IF NOT EXISTS {db}.kpi_asns
(
    tenant           LowCardinality(String),
    asn              String,
    plant            SimpleAggregateFunction(max, String),
    supplier         SimpleAggregateFunction(max, String),
    source           SimpleAggregateFunction(max, String),
    submitted_at     SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    expected_arrival SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    cancelled        SimpleAggregateFunction(max, UInt8),
    received_at      SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC')))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, asn);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_asns_mv TO {db}.kpi_asns AS
SELECT tenant,
       if(type = 'goods.received', JSONExtractString(raw, 'data', 'asn'), document_id) AS asn,
       toString(plant) AS plant, toString(supplier) AS supplier,
       if(type = 'asn.submitted', toString(source), '') AS source,
       if(type = 'asn.submitted', toNullable(occurred_at), NULL) AS submitted_at,
       if(type = 'asn.submitted', parseDateTime64BestEffortOrNull(JSONExtractString(raw, 'data', 'expected_arrival'), 3, 'UTC'), NULL) AS expected_arrival,
       toUInt8(type = 'asn.cancelled') AS cancelled,
       if(type = 'goods.received', toNullable(occurred_at), NULL) AS received_at
FROM {db}.events
WHERE type IN ('asn.submitted', 'asn.cancelled')
   OR (type = 'goods.received' AND JSONExtractString(raw, 'data', 'asn') != '');

CREATE TABLE IF NOT EXISTS {db}.kpi_asn_lines
(
    tenant       LowCardinality(String),
    asn          String,
    po           String,
    line         Int32,
    shipped_qty  SimpleAggregateFunction(sum, Float64),
    received_qty SimpleAggregateFunction(sum, Float64),
    shipped      SimpleAggregateFunction(max, UInt8),
    received     SimpleAggregateFunction(max, UInt8)
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, asn, po, line);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_asn_lines_mv TO {db}.kpi_asn_lines AS
SELECT tenant,
       if(type = 'goods.received', JSONExtractString(raw, 'data', 'asn'), document_id) AS asn,
       JSONExtractString(l, 'po') AS po, toInt32(JSONExtractInt(l, 'line')) AS line,
       if(type = 'asn.submitted', JSONExtractFloat(l, 'quantity'), 0) AS shipped_qty,
       if(type = 'goods.received', JSONExtractFloat(l, 'received_quantity'), 0) AS received_qty,
       toUInt8(type = 'asn.submitted') AS shipped,
       toUInt8(type = 'goods.received') AS received
FROM {db}.events
ARRAY JOIN JSONExtractArrayRaw(raw, 'data', 'lines') AS l
WHERE type = 'asn.submitted' OR (type = 'goods.received' AND JSONExtractString(raw, 'data', 'asn') != '');

CREATE TABLE IF NOT EXISTS {db}.kpi_invoices
(
    tenant     LowCardinality(String),
    invoice    String,
    plant      SimpleAggregateFunction(max, String),
    supplier   SimpleAggregateFunction(max, String),
    po         SimpleAggregateFunction(max, String),
    first_at   SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    blocked    SimpleAggregateFunction(max, UInt8),
    disputed   SimpleAggregateFunction(max, UInt8),
    matched    SimpleAggregateFunction(max, UInt8),
    paid_at    SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC')))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, invoice);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_invoices_mv TO {db}.kpi_invoices AS
SELECT tenant, document_id AS invoice, toString(plant) AS plant, toString(supplier) AS supplier,
       JSONExtractString(raw, 'data', 'po') AS po,
       toNullable(occurred_at) AS first_at,
       toUInt8(JSONExtractString(raw, 'data', 'status') = 'blocked') AS blocked,
       toUInt8(JSONExtractString(raw, 'data', 'status') = 'disputed') AS disputed,
       toUInt8(JSONExtractString(raw, 'data', 'status') IN ('matched', 'approved', 'paid')) AS matched,
       if(JSONExtractString(raw, 'data', 'status') = 'paid', toNullable(occurred_at), NULL) AS paid_at
FROM {db}.events
WHERE type = 'invoice.status_changed';

-- Supplier master data: the newest supplier.updated per supplier.
CREATE TABLE IF NOT EXISTS {db}.kpi_suppliers
(
    tenant      LowCardinality(String),
    supplier    String,
    updated_at  DateTime64(3, 'UTC'),
    name        String,
    tier        UInt8,
    channel     LowCardinality(String)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (tenant, supplier);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kpi_suppliers_mv TO {db}.kpi_suppliers AS
SELECT tenant, if(supplier != '', toString(supplier), document_id) AS supplier, occurred_at AS updated_at,
       JSONExtractString(raw, 'data', 'name') AS name,
       toUInt8(JSONExtractUInt(raw, 'data', 'tier')) AS tier,
       JSONExtractString(raw, 'data', 'channel') AS channel
FROM {db}.events
WHERE type = 'supplier.updated';
