-- Grouping (docs/alerting.md): steps parked for their group's message on
-- a channel (due when the group's first waited `group_wait`, or
-- `group_interval` after its last message), when each group last had a
-- message, and which steps a grouped delivery tells of.
CREATE TABLE alert_parked (
    channel   text NOT NULL,
    group_key text NOT NULL,
    event_id  int8 NOT NULL,
    due_at    timestamptz NOT NULL,
    PRIMARY KEY (channel, group_key, event_id)
);
CREATE INDEX alert_parked_due ON alert_parked (due_at);

CREATE TABLE alert_group_last (
    channel   text NOT NULL,
    group_key text NOT NULL,
    made_at   timestamptz NOT NULL,
    PRIMARY KEY (channel, group_key)
);

-- The steps, oldest first; NULL for one step's own.
ALTER TABLE alert_deliveries ADD COLUMN grouped int8[];
