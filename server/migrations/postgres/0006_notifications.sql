-- Notifications (docs/alerting.md): channels (their secrets only the
-- notifier reads), the routing, the outbox the ingest transaction fills
-- with steps that tell something, one delivery per (step, channel) —
-- the key that keeps replicas from sending one twice — and every attempt.
CREATE TABLE alert_channels (
    name       text PRIMARY KEY,
    spec       jsonb NOT NULL,
    revision   int8 NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE alert_routing (
    id         int4 PRIMARY KEY CHECK (id = 1),
    spec       jsonb NOT NULL,
    revision   int8 NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE alert_outbox (
    event_id int8 PRIMARY KEY
);

CREATE TABLE alert_deliveries (
    event_id      int8 NOT NULL,
    channel       text NOT NULL,
    status        text NOT NULL,
    attempts      int4 NOT NULL,
    next_at       timestamptz NOT NULL,
    claimed_until timestamptz,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (event_id, channel)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_at) WHERE status = 'pending';

CREATE TABLE alert_attempts (
    id         int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   int8 NOT NULL,
    channel    text NOT NULL,
    attempt    int4 NOT NULL,
    at         timestamptz NOT NULL,
    ok         bool NOT NULL,
    status     int4,
    latency_ms int4 NOT NULL,
    error      text
);
CREATE INDEX alert_attempts_channel ON alert_attempts (channel, id);

-- Silences: the steps of the alerts they match, while they last, are kept
-- in the history (silenced_by) and sent nowhere.
CREATE TABLE alert_silences (
    id         uuid PRIMARY KEY,
    -- The AlertMatch as JSON.
    matches    text NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    comment    text NOT NULL,
    author     text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX alert_silences_ends ON alert_silences (ends_at);
