-- Events: what a run saw as text (a matched log line), stored with its
-- result when the result is new, kept for `[retention] events`. `seq` is
-- the event's place in its result; `labels` canonical JSON (sorted keys),
-- '{}' when none. Searches go newest first by (at, id): by check target
-- through `events_check_at`, across all of them through `events_at`,
-- which retention also walks (an index ends with the rowid, `id`). No
-- foreign keys, as for the other raw data.
CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    check_id  INTEGER NOT NULL,
    result_id BLOB NOT NULL,
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    text      TEXT NOT NULL,
    labels    TEXT NOT NULL
);
CREATE INDEX events_check_at ON events (check_id, at);
CREATE INDEX events_at ON events (at);
