-- The Vantage schema on PostgreSQL (docs/design/server.md § 2.3).
--
-- The storage mode is chosen here, once, and recorded in `meta`:
--   timescaledb  when the extension is installed AND preloaded (without the
--                preload, CREATE EXTENSION is FATAL and drops the connection):
--                `results` and `samples` become hypertables with 1-day chunks;
--   postgres     otherwise: both are range-partitioned by day, and the
--                server's partition job creates the partitions
--                (`<table>_pYYYYMMDD`, [day 00:00 UTC, next day 00:00 UTC)).
-- A database never changes mode later.

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    timestamptz NOT NULL,
    disabled_at   timestamptz
);

CREATE TABLE sessions (
    token_sha  bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_sha    bytea NOT NULL UNIQUE,
    role         text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE agents (
    id             uuid PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    credential_sha bytea NOT NULL UNIQUE,
    hostname       text NOT NULL,
    os             text NOT NULL,
    arch           text NOT NULL,
    version        text NOT NULL,
    addresses      jsonb NOT NULL,
    enrolled_at    timestamptz NOT NULL,
    last_seen_at   timestamptz,
    revoked_at     timestamptz,
    -- The last OutboxStats the agent reported; NULL before the first.
    outbox         jsonb
);

CREATE TABLE enrollment_tokens (
    id         uuid PRIMARY KEY,
    token_sha  bytea NOT NULL UNIQUE,
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    -- Set in the transaction that uses the token, before the agent row.
    agent_id   uuid REFERENCES agents (id) DEFERRABLE INITIALLY DEFERRED
);

-- One row per check target of an agent.
CREATE TABLE checks (
    id       serial PRIMARY KEY,
    agent_id uuid NOT NULL REFERENCES agents (id),
    name     text NOT NULL,
    target   text NOT NULL,
    plugin   text NOT NULL,
    UNIQUE (agent_id, name, target)
);

CREATE TABLE series (
    id       serial PRIMARY KEY,
    check_id int4 NOT NULL REFERENCES checks (id),
    metric   text NOT NULL,
    unit     text NOT NULL,
    -- Canonical JSON (sorted keys), '{}' when none.
    labels   text NOT NULL,
    UNIQUE (check_id, metric, unit, labels)
);

-- Batch ids seen, with their acknowledgement, for replays.
CREATE TABLE ingest_batches (
    agent_id    uuid NOT NULL,
    batch_id    uuid NOT NULL,
    received_at timestamptz NOT NULL,
    accepted    int4 NOT NULL,
    duplicates  int4 NOT NULL,
    expired     int4 NOT NULL,
    PRIMARY KEY (agent_id, batch_id)
);
CREATE INDEX ingest_batches_received_at ON ingest_batches (received_at);

-- Raw data. No foreign keys here: they would cost an index probe per row on
-- the ingest path, and ids come from the tables above anyway.
DO $$
DECLARE
    timescale boolean :=
        EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
        AND current_setting('shared_preload_libraries') ~ '(^|,)\s*timescaledb\s*(,|$)';
    license text;
BEGIN
    EXECUTE format($ddl$
        CREATE TABLE results (
            id             uuid NOT NULL,
            started_at     timestamptz NOT NULL,
            check_id       int4 NOT NULL,
            status         smallint NOT NULL CHECK (status BETWEEN 0 AND 4),
            duration       float8 NOT NULL,
            plugin_version text NOT NULL,
            message        text,
            received_at    timestamptz NOT NULL,
            -- The partition key must be part of every unique index.
            PRIMARY KEY (id, started_at)
        ) %s
    $ddl$, CASE WHEN timescale THEN '' ELSE 'PARTITION BY RANGE (started_at)' END);
    -- Narrow on purpose: a run's samples are the series of its check at
    -- ts = the result's started_at.
    EXECUTE format($ddl$
        CREATE TABLE samples (
            series_id int4 NOT NULL,
            ts        timestamptz NOT NULL,
            value     float8 NOT NULL
        ) %s
    $ddl$, CASE WHEN timescale THEN '' ELSE 'PARTITION BY RANGE (ts)' END);

    IF timescale THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        PERFORM create_hypertable('results', by_range('started_at', INTERVAL '1 day'),
                                  create_default_indexes => false);
        PERFORM create_hypertable('samples', by_range('ts', INTERVAL '1 day'),
                                  create_default_indexes => false);
        license := coalesce(current_setting('timescaledb.license', true), 'apache');
        INSERT INTO meta (key, value) VALUES ('storage_mode', 'timescaledb'), ('tsdb_license', license);
        -- Compression is Timescale-licensed ("Community"); the Apache build lacks it.
        IF license = 'timescale' THEN
            ALTER TABLE samples SET (timescaledb.compress,
                                     timescaledb.compress_segmentby = 'series_id',
                                     timescaledb.compress_orderby = 'ts');
            -- Late outbox backlogs are hours old: two days keeps them off compressed chunks.
            PERFORM add_compression_policy('samples', compress_after => INTERVAL '2 days');
        END IF;
    ELSE
        INSERT INTO meta (key, value) VALUES ('storage_mode', 'postgres');
    END IF;
END
$$;

CREATE INDEX results_check_started ON results (check_id, started_at DESC);
CREATE INDEX samples_series_ts ON samples (series_id, ts);
-- The rollup job reads every series of a time range: a BRIN index on the
-- append-ordered `ts` makes that a range read instead of a partition scan
-- (a 10-minute chunk of a 6 M-row day: 905 ms → 35 ms).
CREATE INDEX samples_ts ON samples USING brin (ts);

-- Rollups: one row per series and bucket, with a quantile sketch (`Sketch::to_bytes`).
CREATE TABLE rollup_1m (
    series_id int4 NOT NULL,
    bucket    timestamptz NOT NULL,
    n         int8 NOT NULL,
    sum       float8 NOT NULL,
    min       float8 NOT NULL,
    max       float8 NOT NULL,
    sketch    bytea NOT NULL,
    PRIMARY KEY (series_id, bucket)
);
-- replace_rollups and retention work on bucket ranges over every series.
CREATE INDEX rollup_1m_bucket ON rollup_1m (bucket);

CREATE TABLE rollup_1h (LIKE rollup_1m INCLUDING ALL);

-- Time ranges [lo, hi) whose raw samples changed since the last rollup round.
CREATE TABLE rollup_dirty (
    lo timestamptz NOT NULL,
    hi timestamptz NOT NULL
);

-- Singleton jobs: one row per lease name.
CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     uuid NOT NULL,
    expires_at timestamptz NOT NULL
);
