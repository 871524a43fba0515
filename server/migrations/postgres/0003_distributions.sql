-- Distributions: the values one run measured of a `distribution` metric
-- (every echo reply of a ping), one row per series and run however many
-- values it holds, stored in the order measured. `vals` is little-endian
-- float8s (`values_to_bytes`). Raw data like `samples`: partitioned by day,
-- or a hypertable, as the storage mode chosen by 0001 says.
DO $$
DECLARE
    timescale boolean :=
        EXISTS (SELECT 1 FROM meta WHERE key = 'storage_mode' AND value = 'timescaledb');
BEGIN
    EXECUTE format($ddl$
        CREATE TABLE distributions (
            series_id int4 NOT NULL,
            ts        timestamptz NOT NULL,
            vals      bytea NOT NULL
        ) %s
    $ddl$, CASE WHEN timescale THEN '' ELSE 'PARTITION BY RANGE (ts)' END);
    IF timescale THEN
        PERFORM create_hypertable('distributions', by_range('ts', INTERVAL '1 day'),
                                  create_default_indexes => false);
        -- Compressed like `samples` when the license has it (0001).
        IF EXISTS (SELECT 1 FROM meta WHERE key = 'tsdb_license' AND value = 'timescale') THEN
            ALTER TABLE distributions SET (timescaledb.compress,
                                           timescaledb.compress_segmentby = 'series_id',
                                           timescaledb.compress_orderby = 'ts');
            PERFORM add_compression_policy('distributions', compress_after => INTERVAL '2 days');
        END IF;
    END IF;
END
$$;

CREATE INDEX distributions_series_ts ON distributions (series_id, ts);
CREATE INDEX distributions_ts ON distributions USING brin (ts);
