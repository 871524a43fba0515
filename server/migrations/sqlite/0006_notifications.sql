-- Notifications (docs/alerting.md): channels (their secrets only the
-- notifier reads), the routing, the outbox the ingest transaction fills
-- with steps that tell something, one delivery per (step, channel) and
-- every attempt at one.
CREATE TABLE alert_channels (
    name       TEXT PRIMARY KEY,
    -- The ChannelSpec as JSON, secrets included.
    spec       TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE alert_routing (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    spec       TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE alert_outbox (
    event_id INTEGER PRIMARY KEY
);

CREATE TABLE alert_deliveries (
    event_id      INTEGER NOT NULL,
    channel       TEXT NOT NULL,
    -- pending, sent or failed (given up).
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    next_at       INTEGER NOT NULL,
    -- A replica sends it until then.
    claimed_until INTEGER,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (event_id, channel)
) WITHOUT ROWID;
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_at) WHERE status = 'pending';

CREATE TABLE alert_attempts (
    id         INTEGER PRIMARY KEY,
    event_id   INTEGER NOT NULL,
    channel    TEXT NOT NULL,
    attempt    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    ok         INTEGER NOT NULL,
    status     INTEGER,
    latency_ms INTEGER NOT NULL,
    error      TEXT
);
CREATE INDEX alert_attempts_channel ON alert_attempts (channel, id);

-- Silences: the steps of the alerts they match, while they last, are kept
-- in the history (silenced_by) and sent nowhere.
CREATE TABLE alert_silences (
    id         BLOB PRIMARY KEY,
    -- The AlertMatch as JSON.
    matches    TEXT NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    comment    TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX alert_silences_ends ON alert_silences (ends_at);
