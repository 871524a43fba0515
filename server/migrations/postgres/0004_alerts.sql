-- Alerting (docs/alerting.md): the rules an operator defines.
CREATE TABLE alert_rules (
    name       text PRIMARY KEY,
    spec       jsonb NOT NULL,
    revision   int8 NOT NULL,
    updated_at timestamptz NOT NULL
);
