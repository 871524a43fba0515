-- The Vantage schema on SQLite (docs/design/server.md § 2.3).
--
-- The PostgreSQL schema with SQLite's types: timestamps are INTEGER
-- microseconds since the Unix epoch (UTC), UUIDs 16-byte BLOBs, token hashes
-- 32-byte BLOBs, JSON TEXT. Tables keyed by something other than a rowid
-- are WITHOUT ROWID, so the key is the table's only B-tree.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('storage_mode', 'sqlite');

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
) WITHOUT ROWID;

CREATE TABLE sessions (
    token_sha  BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_sha    BLOB NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE agents (
    id             BLOB PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    credential_sha BLOB NOT NULL UNIQUE,
    hostname       TEXT NOT NULL,
    os             TEXT NOT NULL,
    arch           TEXT NOT NULL,
    version        TEXT NOT NULL,
    -- JSON array of strings.
    addresses      TEXT NOT NULL,
    enrolled_at    INTEGER NOT NULL,
    last_seen_at   INTEGER,
    revoked_at     INTEGER,
    -- The last OutboxStats the agent reported (JSON); NULL before the first.
    outbox         TEXT
) WITHOUT ROWID;

CREATE TABLE enrollment_tokens (
    id         BLOB PRIMARY KEY,
    token_sha  BLOB NOT NULL UNIQUE,
    created_by BLOB NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    -- Set in the transaction that uses the token, before the agent row.
    agent_id   BLOB REFERENCES agents (id) DEFERRABLE INITIALLY DEFERRED
) WITHOUT ROWID;

-- One row per check target of an agent. `id` is the rowid.
CREATE TABLE checks (
    id       INTEGER PRIMARY KEY,
    agent_id BLOB NOT NULL REFERENCES agents (id),
    name     TEXT NOT NULL,
    target   TEXT NOT NULL,
    plugin   TEXT NOT NULL,
    UNIQUE (agent_id, name, target)
);

CREATE TABLE series (
    id       INTEGER PRIMARY KEY,
    check_id INTEGER NOT NULL REFERENCES checks (id),
    metric   TEXT NOT NULL,
    unit     TEXT NOT NULL,
    -- Canonical JSON (sorted keys), '{}' when none.
    labels   TEXT NOT NULL,
    UNIQUE (check_id, metric, unit, labels)
);

-- Batch ids seen, with their acknowledgement, for replays.
CREATE TABLE ingest_batches (
    agent_id    BLOB NOT NULL,
    batch_id    BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    accepted    INTEGER NOT NULL,
    duplicates  INTEGER NOT NULL,
    expired     INTEGER NOT NULL,
    PRIMARY KEY (agent_id, batch_id)
) WITHOUT ROWID;
CREATE INDEX ingest_batches_received_at ON ingest_batches (received_at);

-- Raw data, without foreign keys: they would cost a lookup per row on the
-- ingest path, and the ids come from `checks` and `series` anyway. Every
-- `check_id` is in `checks` and every `series_id` in `series`: scans by time
-- (rollups, retention) walk the indexes below once per check or series
-- (`… IN (SELECT id FROM series) AND ts < ?`) instead of keeping a third
-- B-tree per row ordered by time.
CREATE TABLE results (
    id             BLOB PRIMARY KEY,
    started_at     INTEGER NOT NULL,
    check_id       INTEGER NOT NULL,
    status         INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),
    duration       REAL NOT NULL,
    plugin_version TEXT NOT NULL,
    message        TEXT,
    received_at    INTEGER NOT NULL
) WITHOUT ROWID;
-- With the status, status counts read the index alone.
CREATE INDEX results_check_started ON results (check_id, started_at, status);

-- A run's samples are the series of its check at ts = the result's
-- started_at. Not unique (a plugin may repeat a metric), hence a rowid
-- table; the index covers every read.
CREATE TABLE samples (
    series_id INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    value     REAL NOT NULL
);
CREATE INDEX samples_series_ts ON samples (series_id, ts, value);

-- Rollups: one row per series and bucket, with a quantile sketch (`Sketch::to_bytes`).
CREATE TABLE rollup_1m (
    series_id INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    sum       REAL NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    sketch    BLOB NOT NULL,
    PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;
-- replace_rollups and retention work on bucket ranges over every series.
CREATE INDEX rollup_1m_bucket ON rollup_1m (bucket);

CREATE TABLE rollup_1h (
    series_id INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    sum       REAL NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    sketch    BLOB NOT NULL,
    PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;
CREATE INDEX rollup_1h_bucket ON rollup_1h (bucket);

-- Time ranges [lo, hi) whose raw samples changed since the last rollup round.
CREATE TABLE rollup_dirty (
    lo INTEGER NOT NULL,
    hi INTEGER NOT NULL
);

-- Singleton jobs: one row per lease name.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
