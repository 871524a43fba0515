-- Maintenance windows (docs/alerting.md): silences that recur on a cron
-- schedule in a named time zone. A step a window kept from the channels
-- names it.
CREATE TABLE alert_windows (
    name       text PRIMARY KEY,
    spec       jsonb NOT NULL,
    revision   int8 NOT NULL,
    updated_at timestamptz NOT NULL
);
ALTER TABLE alert_events ADD COLUMN in_window text;
