-- Distributions: the values one run measured of a `distribution` metric
-- (every echo reply of a ping), one row per series and run however many
-- values it holds, stored in the order measured. `vals` is little-endian
-- f64s (`values_to_bytes`). Not unique, like `samples`; no foreign keys,
-- for the same reason.
CREATE TABLE distributions (
    series_id INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    vals      BLOB NOT NULL
);
CREATE INDEX distributions_series_ts ON distributions (series_id, ts);
