-- The console: people and machines who sign in, what they may see, how
-- exceptions are routed, what they saved, what they did.

CREATE TABLE IF NOT EXISTS console_users (
    id            bigserial PRIMARY KEY,
    tenant        text        NOT NULL,
    login         text        NOT NULL,
    name          text        NOT NULL DEFAULT '',
    email         text        NOT NULL DEFAULT '',
    role          text        NOT NULL CHECK (role IN ('procurement', 'plant', 'executive', 'oncall', 'admin')),
    plants        text[]      NOT NULL DEFAULT '{}',
    password_hash text        NOT NULL DEFAULT '',
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (login)
);
CREATE UNIQUE INDEX IF NOT EXISTS console_users_email ON console_users (lower(email)) WHERE email <> '';

-- Sessions and API tokens are stored as SHA-256 hashes of the secret: a
-- leaked table signs nobody in.
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash  bytea       PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    csrf        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    remote_addr text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS console_sessions_user ON console_sessions (user_id);

-- A token acts for a user (user_id) or for a supplier (supplier, with role
-- 'supplier'): supplier tokens reach the supplier API only.
CREATE TABLE IF NOT EXISTS console_tokens (
    id           bigserial PRIMARY KEY,
    token_hash   bytea       NOT NULL UNIQUE,
    tenant       text        NOT NULL,
    name         text        NOT NULL,
    user_id      bigint REFERENCES console_users (id) ON DELETE CASCADE,
    supplier     text        NOT NULL DEFAULT '',
    created_by   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK ((user_id IS NULL) <> (supplier = ''))
);

CREATE TABLE IF NOT EXISTS console_teams (
    id               bigserial PRIMARY KEY,
    tenant           text        NOT NULL,
    name             text        NOT NULL,
    queue            text        NOT NULL DEFAULT '',
    default_assignee text        NOT NULL DEFAULT '',
    members          text[]      NOT NULL DEFAULT '{}',
    version          bigint      NOT NULL DEFAULT 1,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant, name)
);

-- Routing rules: the first matching rule by position sends an exception to
-- a team (and its default assignee, or the rule's own). Empty match fields
-- match anything.
CREATE TABLE IF NOT EXISTS console_routing_rules (
    id         bigserial PRIMARY KEY,
    tenant     text        NOT NULL,
    position   integer     NOT NULL DEFAULT 100,
    rule_id    text        NOT NULL DEFAULT '',
    plant      text        NOT NULL DEFAULT '',
    supplier   text        NOT NULL DEFAULT '',
    severity   text        NOT NULL DEFAULT '',
    team       text        NOT NULL,
    assignee   text        NOT NULL DEFAULT '',
    created_by text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS console_routing_rules_tenant ON console_routing_rules (tenant, position, id);

CREATE TABLE IF NOT EXISTS console_saved_views (
    id         bigserial PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    query      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);

CREATE TABLE IF NOT EXISTS console_snoozes (
    exception_id bigint      PRIMARY KEY REFERENCES exceptions (id) ON DELETE CASCADE,
    until        timestamptz NOT NULL,
    by_user      text        NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);

-- Retries requested from the console: what was re-sent where, with which
-- idempotency key, and how it ended.
CREATE TABLE IF NOT EXISTS console_retries (
    id              bigserial PRIMARY KEY,
    tenant          text        NOT NULL,
    exception_id    bigint REFERENCES exceptions (id) ON DELETE SET NULL,
    message_id      text        NOT NULL,
    target          text        NOT NULL,
    topic           text        NOT NULL,
    idempotency_key text        NOT NULL,
    requested_by    text        NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    status          text        NOT NULL CHECK (status IN ('published', 'failed', 'delivered', 'redelivery_failed')),
    error           text        NOT NULL DEFAULT '',
    outcome_at      timestamptz
);
CREATE INDEX IF NOT EXISTS console_retries_exception ON console_retries (exception_id, id);
CREATE INDEX IF NOT EXISTS console_retries_tenant ON console_retries (tenant, id DESC);

-- The audit log: who did what, when, from where. Append only.
CREATE TABLE IF NOT EXISTS console_audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    tenant      text        NOT NULL,
    actor       text        NOT NULL,
    actor_kind  text        NOT NULL,
    action      text        NOT NULL,
    target      text        NOT NULL DEFAULT '',
    detail      jsonb       NOT NULL DEFAULT '{}',
    remote_addr text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS console_audit_tenant ON console_audit (tenant, id DESC);

-- The exception queue: active exceptions of a tenant by priority, with
-- plant, supplier, rule and team variants for the scoped and filtered
-- queues (keyset pagination walks these in order).
CREATE INDEX IF NOT EXISTS console_exceptions_active ON exceptions (tenant, priority, last_seen DESC, id DESC)
    WHERE state IN ('open', 'acknowledged');
CREATE INDEX IF NOT EXISTS console_exceptions_active_plant ON exceptions (tenant, plant, priority, last_seen DESC, id DESC)
    WHERE state IN ('open', 'acknowledged');
CREATE INDEX IF NOT EXISTS console_exceptions_active_supplier ON exceptions (tenant, supplier, priority, last_seen DESC, id DESC)
    WHERE state IN ('open', 'acknowledged');
CREATE INDEX IF NOT EXISTS console_exceptions_active_rule ON exceptions (tenant, rule_id, priority, last_seen DESC, id DESC)
    WHERE state IN ('open', 'acknowledged');
CREATE INDEX IF NOT EXISTS console_exceptions_active_team ON exceptions (tenant, team, priority, last_seen DESC, id DESC)
    WHERE state IN ('open', 'acknowledged');
CREATE INDEX IF NOT EXISTS console_exceptions_all ON exceptions (tenant, priority, last_seen DESC, id DESC);
CREATE INDEX IF NOT EXISTS console_exceptions_subject ON exceptions (tenant, subject);
CREATE INDEX IF NOT EXISTS console_exceptions_assignee ON exceptions (tenant, assignee, priority, last_seen DESC, id DESC)
    WHERE assignee <> '';

-- Documents by plant and supplier, for the plant board and supplier views.
CREATE INDEX IF NOT EXISTS console_documents_plant ON documents (tenant, kind, (body->>'plant'));
CREATE INDEX IF NOT EXISTS console_documents_supplier ON documents (tenant, kind, (body->>'supplier'));
CREATE INDEX IF NOT EXISTS console_documents_invoice_po ON documents (tenant, (body->>'po')) WHERE kind = 'invoice';
CREATE INDEX IF NOT EXISTS console_sla_timers_subject ON sla_timers (tenant, subject) WHERE state = 'running';
