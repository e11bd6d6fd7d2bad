-- Slack alerting (package alerts, docs/alerts.md): the fan-out feed of the
-- exception outbox, alert groups with their Slack message, the delivery
-- outbox with per-channel pacing, and the daily digests sent.

-- The exception outbox has one claimer (alerts.Feeder); it copies each
-- event here once and queues it for every consumer (alerts, the ClickHouse
-- mirror), each claiming its own pending rows.
CREATE TABLE IF NOT EXISTS alert_feed (
    outbox_id bigint PRIMARY KEY,
    tenant    text        NOT NULL,
    at        timestamptz NOT NULL,
    payload   jsonb       NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS alert_feed_pending (
    consumer  text   NOT NULL,
    outbox_id bigint NOT NULL REFERENCES alert_feed (outbox_id) ON DELETE CASCADE,
    PRIMARY KEY (consumer, outbox_id)
);

-- One row per route and group key: one Slack message, updated in place.
CREATE TABLE IF NOT EXISTS alert_groups (
    id               bigserial PRIMARY KEY,
    route            text        NOT NULL,
    group_key        text        NOT NULL,
    channel          text        NOT NULL,
    labels           jsonb       NOT NULL,
    members          jsonb       NOT NULL,
    changes          jsonb       NOT NULL DEFAULT '[]',
    state            text        NOT NULL,
    first_at         timestamptz NOT NULL,
    changed_at       timestamptz NOT NULL,
    notified_at      timestamptz,
    slack_ts         text        NOT NULL DEFAULT '',
    escalation_level integer     NOT NULL DEFAULT 0,
    snoozed_until    timestamptz,
    UNIQUE (route, group_key)
);
CREATE INDEX IF NOT EXISTS alert_groups_firing ON alert_groups (state, changed_at);

-- The delivery outbox: every Slack call to make, in order per group.
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id           bigserial PRIMARY KEY,
    group_id     bigint REFERENCES alert_groups (id) ON DELETE CASCADE,
    channel      text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('post', 'update', 'reply', 'digest')),
    body         text        NOT NULL DEFAULT '',
    status       text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts     integer     NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL,
    in_flight_at timestamptz,
    -- set by the first attempt: from then on the outcome of an earlier
    -- attempt may be unknown, and a post is looked up before it is retried
    attempted_at timestamptz,
    slack_ts     text        NOT NULL DEFAULT '',
    last_error   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    sent_at      timestamptz
);
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (next_at, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS alert_deliveries_group ON alert_deliveries (group_id, id) WHERE status = 'pending';

-- Pacing: the earliest instant the next message may go to a channel.
CREATE TABLE IF NOT EXISTS alert_channels (
    channel text PRIMARY KEY,
    next_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_digests (
    team    text NOT NULL,
    day     date NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team, day)
);
