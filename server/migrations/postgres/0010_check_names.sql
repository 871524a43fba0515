-- Checks by name alone: whether any agent reports a check of a name (an
-- alert rule may name only such a check).
CREATE INDEX checks_name ON checks (name);
