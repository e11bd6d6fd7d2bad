-- The event-time clock of the SLA scheduler: the latest occurred_at the
-- rules engine has applied, and when. While events flow, timers fire on
-- event time (a replay of history fires timers as the history passes, not
-- all at once); when the stream is idle, on the wall clock.
CREATE TABLE IF NOT EXISTS sla_clock (
    id         integer PRIMARY KEY CHECK (id = 1),
    event_time timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
