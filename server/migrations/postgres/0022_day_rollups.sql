-- Day rollups (docs/architecture.md, "Rollups"): each UTC day's hours
-- merged, written once the day has ended, for reports over whole days.
CREATE TABLE rollup_1d (LIKE rollup_1m INCLUDING ALL);

-- UTC days whose hours changed since their day rows were written (or that
-- have none yet): the rollup job rolls each up once it has ended, and a
-- report reads the hours of a day listed here, never its day rows.
CREATE TABLE rollup_days_dirty (
    day timestamptz PRIMARY KEY
);

-- The days of the hours already stored.
INSERT INTO rollup_days_dirty (day)
SELECT DISTINCT date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM rollup_1h;
