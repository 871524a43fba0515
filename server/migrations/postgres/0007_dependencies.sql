-- Dependencies (docs/alerting.md): a step a raised parent kept from the
-- channels says why; the parent's state at a step's time is read from its
-- history; a held step is sent if its alert is still raised once its
-- parents are ok.
ALTER TABLE alert_events ADD COLUMN suppressed_by text;
CREATE INDEX alert_events_check_at ON alert_events (check_id, rule, at) WHERE check_id IS NOT NULL;
CREATE INDEX alert_events_group_at ON alert_events (check_name, target, rule, at) WHERE check_id IS NULL;

CREATE TABLE alert_held (
    event_id int8 PRIMARY KEY
);
