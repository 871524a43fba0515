-- A reminder step names the interval it was told for (seconds): the
-- channels of a route with its own `repeat_interval` (else the rule's)
-- are reminded on their own cadence. NULL: not a reminder (or one from
-- before).
ALTER TABLE alert_events ADD COLUMN repeat_every bigint;
