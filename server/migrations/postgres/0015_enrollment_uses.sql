-- An enrollment token may enroll several agents (a DaemonSet, an
-- autoscaling group): each use takes one of `uses_left`. Tokens from before
-- were one-time.
ALTER TABLE enrollment_tokens ADD COLUMN uses_left INTEGER NOT NULL DEFAULT 1;
UPDATE enrollment_tokens SET uses_left = 0 WHERE used_at IS NOT NULL;
