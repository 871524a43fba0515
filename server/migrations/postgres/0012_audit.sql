-- The audit log: every change made through the API (server/src/audit.rs).
-- Rows are only appended, and deleted by age (`[retention] audit`).
CREATE TABLE audit_log (
    id         int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor_kind text NOT NULL,
    actor      text NOT NULL,
    actor_id   uuid,
    token_id   uuid,
    source     text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    status     int4 NOT NULL,
    detail     jsonb NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
