-- Automatic retries of failed deliveries (package retry): one job per
-- message, scheduled by the rules engine's transaction when a
-- message.failed arrives, claimed by the retry workers with
-- FOR UPDATE SKIP LOCKED when due. The published retries themselves are
-- rows of console_retries (requested_by 'policy').
CREATE TABLE IF NOT EXISTS retry_jobs (
    tenant          text        NOT NULL,
    message_id      text        NOT NULL,
    target          text        NOT NULL DEFAULT '',
    topic           text        NOT NULL DEFAULT '',
    idempotency_key text        NOT NULL DEFAULT '',
    payload         text        NOT NULL DEFAULT '',
    document_type   text        NOT NULL DEFAULT '',
    error_class     text        NOT NULL DEFAULT '',
    error           text        NOT NULL DEFAULT '',
    failed_event_id text        NOT NULL DEFAULT '',
    last_attempt    integer     NOT NULL DEFAULT 0,
    policy          text        NOT NULL DEFAULT '',
    max_attempts    integer     NOT NULL DEFAULT 0,
    attempts        integer     NOT NULL DEFAULT 0,
    state           text        NOT NULL CHECK (state IN ('scheduled', 'published', 'timed_out', 'delivered', 'exhausted', 'not_retried')),
    due_at          timestamptz,
    last_retry_id   bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, message_id)
);
CREATE INDEX IF NOT EXISTS retry_jobs_due ON retry_jobs (due_at) WHERE state IN ('scheduled', 'published');

-- Policy retries happen before their exception exists: the console finds
-- them through the exception's subject (message/<id>).
CREATE INDEX IF NOT EXISTS console_retries_message ON console_retries (tenant, message_id) WHERE exception_id IS NULL;
