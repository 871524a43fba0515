-- Events: what a run saw as text (a matched log line), stored with its
-- result when the result is new, kept for `[retention] events`. `seq` is
-- the event's place in its result; `labels` canonical JSON (sorted keys),
-- '{}' when none. Searches go newest first by (at, id): by check target
-- through `events_check_at`, across all of them through `events_at`,
-- which retention also walks.
--
-- A plain table in every storage mode, not partitioned nor a hypertable:
-- events keep their own retention (30 days by default, not raw's), their
-- times are the lines' own rather than the runs', and a result holds at
-- most 100 of them; retention deletes them in bounded chunks.
CREATE TABLE events (
    id        int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id  int4 NOT NULL,
    result_id uuid NOT NULL,
    seq       int2 NOT NULL,
    at        timestamptz NOT NULL,
    text      text NOT NULL,
    labels    text NOT NULL
);
CREATE INDEX events_check_at ON events (check_id, at, id);
CREATE INDEX events_at ON events (at, id);
