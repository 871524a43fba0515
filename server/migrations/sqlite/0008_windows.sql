-- Maintenance windows (docs/alerting.md): silences that recur on a cron
-- schedule in a named time zone. A step a window kept from the channels
-- names it.
CREATE TABLE alert_windows (
    name       TEXT PRIMARY KEY,
    -- The WindowSpec as JSON.
    spec       TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE alert_events ADD COLUMN in_window TEXT;
