-- Workflow state of the rules engine: idempotency, document projections,
-- SLA timers, exceptions with their groups, activity log and outbox.

CREATE TABLE IF NOT EXISTS processed_events (
    tenant       text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, event_id)
);

CREATE TABLE IF NOT EXISTS documents (
    tenant     text        NOT NULL,
    kind       text        NOT NULL,
    id         text        NOT NULL,
    body       jsonb       NOT NULL,
    version    bigint      NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, kind, id)
);

CREATE TABLE IF NOT EXISTS sla_timers (
    tenant       text        NOT NULL,
    sla_id       text        NOT NULL,
    subject      text        NOT NULL,
    doc_key      text        NOT NULL,
    state        text        NOT NULL,
    next_fire_at timestamptz,
    due_at       timestamptz,
    body         jsonb       NOT NULL,
    version      bigint      NOT NULL DEFAULT 1,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, sla_id, subject)
);
CREATE INDEX IF NOT EXISTS sla_timers_doc ON sla_timers (tenant, doc_key);
CREATE INDEX IF NOT EXISTS sla_timers_due ON sla_timers (next_fire_at) WHERE state = 'running';

CREATE TABLE IF NOT EXISTS exceptions (
    id            bigserial PRIMARY KEY,
    tenant        text        NOT NULL,
    fingerprint   text        NOT NULL,
    group_key     text        NOT NULL,
    rule_id       text        NOT NULL,
    kind          text        NOT NULL,
    subject       text        NOT NULL,
    title         text        NOT NULL,
    message       text        NOT NULL,
    severity      text        NOT NULL,
    team          text        NOT NULL DEFAULT '',
    supplier      text        NOT NULL DEFAULT '',
    plant         text        NOT NULL DEFAULT '',
    po            text        NOT NULL DEFAULT '',
    line          integer     NOT NULL DEFAULT 0,
    need_by       timestamptz,
    quantity      double precision NOT NULL DEFAULT 0,
    value_at_risk double precision NOT NULL DEFAULT 0,
    currency      text        NOT NULL DEFAULT '',
    priority      integer     NOT NULL,
    state         text        NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved', 'ignored')),
    assignee      text        NOT NULL DEFAULT '',
    occurrences   integer     NOT NULL DEFAULT 1,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    resolved_at   timestamptz,
    resolution    text        NOT NULL DEFAULT '',
    version       bigint      NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant, fingerprint)
);
CREATE INDEX IF NOT EXISTS exceptions_queue ON exceptions (tenant, state, priority, last_seen DESC);
CREATE INDEX IF NOT EXISTS exceptions_group ON exceptions (tenant, group_key);
CREATE INDEX IF NOT EXISTS exceptions_po ON exceptions (tenant, po) WHERE po <> '';

CREATE TABLE IF NOT EXISTS exception_groups (
    tenant        text        NOT NULL,
    group_key     text        NOT NULL,
    rule_id       text        NOT NULL,
    supplier      text        NOT NULL,
    open_count    integer     NOT NULL DEFAULT 0,
    total_count   integer     NOT NULL DEFAULT 0,
    value_at_risk double precision NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, group_key)
);

CREATE TABLE IF NOT EXISTS exception_activity (
    id           bigserial PRIMARY KEY,
    exception_id bigint      NOT NULL REFERENCES exceptions (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    actor_kind   text        NOT NULL CHECK (actor_kind IN ('rule', 'user', 'slack')),
    actor        text        NOT NULL,
    action       text        NOT NULL,
    from_state   text        NOT NULL DEFAULT '',
    to_state     text        NOT NULL DEFAULT '',
    note         text        NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS exception_activity_exception ON exception_activity (exception_id, id);

CREATE TABLE IF NOT EXISTS exception_outbox (
    id           bigserial PRIMARY KEY,
    tenant       text        NOT NULL,
    kind         text        NOT NULL,
    exception_id bigint,
    at           timestamptz NOT NULL,
    payload      jsonb       NOT NULL,
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS exception_outbox_unpublished ON exception_outbox (id) WHERE published_at IS NULL;
