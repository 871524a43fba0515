-- TimescaleDB's own rollups (docs/architecture.md, "Rollups"; invariant 42).
--
-- In timescaledb mode under the Timescale license (continuous aggregates
-- are not in the Apache build), on a database whose rollup tables are
-- still empty, the minute, hour and day rollups of `samples` become
-- continuous aggregates, and the server's rollup job no longer computes
-- them: it asks TimescaleDB to refresh the ranges ingest marked dirty.
-- `meta.rollups` says which: `native`, or `server` (SQLite, plain
-- PostgreSQL, the Apache license, a database whose `vantage.rollups`
-- setting says `server`, and a TimescaleDB database upgraded with rollup
-- rows already written, whose history a conversion would lose where raw
-- retention has dropped the samples). Native rollups cost PostgreSQL about
-- twice the CPU of the server's job (`cargo xtask bench rollups`), which
-- is why an operator may keep the server's.
--
-- A rollup row carries a quantile sketch (`Sketch`, server/src/store/sketch.rs),
-- which no SQL aggregate builds. So each continuous aggregate keeps one row
-- per series, bucket and sketch bucket (`side`: -1, 0 or 1; `idx`: the
-- logarithmic bucket), with its count, sum, min and max, and the views
-- `rollup_1m`, `rollup_1h` and `rollup_1d` put each (series, bucket)'s rows
-- together again, the sketch in its big-endian form (format 2, what
-- int4send/int8send write). Values feed the same buckets as in Rust:
-- `vantage_sketch_index` divides by the same ln γ, written out to the
-- last bit (a test in sketch.rs holds the two together).
--
-- Distributions (many values in one bytea per row) cannot be unnested by a
-- continuous aggregate: the server still rolls them up, into
-- `rollup_own_1m/1h/1d`, and each view adds those rows. A series is a
-- sample series or a distribution series, never both, so no (series,
-- bucket) comes from both sides.
DO $$
DECLARE
    native boolean :=
        EXISTS (SELECT 1 FROM meta WHERE key = 'storage_mode' AND value = 'timescaledb')
        AND EXISTS (SELECT 1 FROM meta WHERE key = 'tsdb_license' AND value = 'timescale')
        AND NOT EXISTS (SELECT 1 FROM rollup_1m)
        AND NOT EXISTS (SELECT 1 FROM rollup_1h)
        AND NOT EXISTS (SELECT 1 FROM rollup_1d)
        -- The operator's choice, before the first start:
        -- ALTER DATABASE … SET vantage.rollups = 'server'.
        AND coalesce(current_setting('vantage.rollups', true), '') <> 'server';
BEGIN
    INSERT INTO meta (key, value) VALUES ('rollups', CASE WHEN native THEN 'native' ELSE 'server' END);
    IF NOT native THEN
        RETURN;
    END IF;

    ALTER TABLE rollup_1m RENAME TO rollup_own_1m;
    ALTER TABLE rollup_1h RENAME TO rollup_own_1h;
    ALTER TABLE rollup_1d RENAME TO rollup_own_1d;

    CREATE FUNCTION vantage_sketch_side(v float8) RETURNS int2
        IMMUTABLE PARALLEL SAFE LANGUAGE sql
        RETURN CASE WHEN abs(v) <= 1e-12 THEN 0 WHEN v > 0 THEN 1 ELSE -1 END;
    -- ln γ with γ = 1.01/0.99, as `Sketch::add` computes it.
    CREATE FUNCTION vantage_sketch_index(v float8) RETURNS int4
        IMMUTABLE PARALLEL SAFE LANGUAGE sql
        RETURN CASE WHEN abs(v) <= 1e-12 THEN 0
                    ELSE ceil(ln(abs(v)) / 0.020000666706669435::float8)::int4 END;

    EXECUTE $ddl$
        CREATE MATERIALIZED VIEW rollup_hist_1m
        WITH (timescaledb.continuous, timescaledb.materialized_only = true,
              timescaledb.create_group_indexes = false) AS
        SELECT series_id, time_bucket(INTERVAL '1 minute', ts) AS bucket,
               vantage_sketch_side(value) AS side, vantage_sketch_index(value) AS idx,
               count(*) AS n, sum(value) AS sum, min(value) AS min, max(value) AS max
        FROM samples GROUP BY 1, 2, 3, 4 WITH NO DATA
    $ddl$;
    EXECUTE $ddl$
        CREATE MATERIALIZED VIEW rollup_hist_1h
        WITH (timescaledb.continuous, timescaledb.materialized_only = true,
              timescaledb.create_group_indexes = false) AS
        SELECT series_id, time_bucket(INTERVAL '1 hour', bucket) AS bucket, side, idx,
               sum(n)::int8 AS n, sum(sum) AS sum, min(min) AS min, max(max) AS max
        FROM rollup_hist_1m GROUP BY 1, 2, 3, 4 WITH NO DATA
    $ddl$;
    EXECUTE $ddl$
        CREATE MATERIALIZED VIEW rollup_hist_1d
        WITH (timescaledb.continuous, timescaledb.materialized_only = true,
              timescaledb.create_group_indexes = false) AS
        SELECT series_id, time_bucket(INTERVAL '1 day', bucket) AS bucket, side, idx,
               sum(n)::int8 AS n, sum(sum) AS sum, min(min) AS min, max(max) AS max
        FROM rollup_hist_1h GROUP BY 1, 2, 3, 4 WITH NO DATA
    $ddl$;

    -- Readers ask for series over a time range: one index. (An index per
    -- grouping column, TimescaleDB's default, nearly doubled the time a
    -- refresh takes: `cargo xtask bench rollups`.)
    CREATE INDEX rollup_hist_1m_series_bucket ON rollup_hist_1m (series_id, bucket);
    CREATE INDEX rollup_hist_1h_series_bucket ON rollup_hist_1h (series_id, bucket);
    CREATE INDEX rollup_hist_1d_series_bucket ON rollup_hist_1d (series_id, bucket);

    -- What readers read: the rows of the rollup tables in every mode.
    FOR res IN 0..2 LOOP
        EXECUTE format($ddl$
            CREATE VIEW %1$I AS
            SELECT series_id, bucket, sum(n)::int8 AS n, sum(sum) AS sum,
                   min(min) AS min, max(max) AS max,
                   '\x02'::bytea
                   || int8send(coalesce(sum(n) FILTER (WHERE side = 0), 0)::int8)
                   || int4send((count(*) FILTER (WHERE side = 1))::int4)
                   || coalesce(string_agg(int4send(idx) || int8send(n), ''::bytea ORDER BY idx)
                               FILTER (WHERE side = 1), ''::bytea)
                   || int4send((count(*) FILTER (WHERE side = -1))::int4)
                   || coalesce(string_agg(int4send(idx) || int8send(n), ''::bytea ORDER BY idx)
                               FILTER (WHERE side = -1), ''::bytea) AS sketch
            FROM %2$I GROUP BY series_id, bucket
            UNION ALL
            SELECT series_id, bucket, n, sum, min, max, sketch FROM %3$I
        $ddl$,
            (ARRAY['rollup_1m', 'rollup_1h', 'rollup_1d'])[res + 1],
            (ARRAY['rollup_hist_1m', 'rollup_hist_1h', 'rollup_hist_1d'])[res + 1],
            (ARRAY['rollup_own_1m', 'rollup_own_1h', 'rollup_own_1d'])[res + 1]);
    END LOOP;
    -- Refresh and retention policies follow the server's `[retention]`
    -- (`PgStore::keep_native_policies`, each round of the jobs).
END
$$;
