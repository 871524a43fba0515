-- Alerting (docs/alerting.md): the rules an operator defines.
CREATE TABLE alert_rules (
    name       TEXT PRIMARY KEY,
    -- The RuleSpec as JSON.
    spec       TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
