-- The parent check targets whose raised alert suppressed a step (a JSON
-- array of {"check", "target"}; NULL when none did, or only an agent
-- offline): a report lists each incident's suppressed children by them.
ALTER TABLE alert_events ADD COLUMN suppressed_parents text;
CREATE INDEX alert_events_suppressed_at ON alert_events (at) WHERE suppressed_parents IS NOT NULL;
