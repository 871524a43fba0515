-- Day rollups (docs/architecture.md, "Rollups"): each UTC day's hours
-- merged, written once the day has ended, for reports over whole days.
CREATE TABLE rollup_1d (
    series_id INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    sum       REAL NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    sketch    BLOB NOT NULL,
    PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;
CREATE INDEX rollup_1d_bucket ON rollup_1d (bucket);

-- UTC days whose hours changed since their day rows were written (or that
-- have none yet): the rollup job rolls each up once it has ended, and a
-- report reads the hours of a day listed here, never its day rows.
CREATE TABLE rollup_days_dirty (
    day INTEGER PRIMARY KEY
);

-- The days of the hours already stored (microseconds since the epoch).
INSERT INTO rollup_days_dirty (day)
SELECT DISTINCT bucket - bucket % 86400000000 FROM rollup_1h;
