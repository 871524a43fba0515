-- Alerting (docs/alerting.md): each (rule, check target)'s state, judged
-- in the ingest transaction, and the history of its steps. A check target
-- row is one agent's, so the key is one alert per rule, check, target and
-- agent.
CREATE TABLE alert_states (
    rule         TEXT NOT NULL,
    check_id     INTEGER NOT NULL REFERENCES checks (id),
    state        TEXT NOT NULL,
    since        INTEGER NOT NULL,
    value        REAL,
    flapping     INTEGER NOT NULL,
    -- The run time of the newest result judged.
    evaluated_at INTEGER NOT NULL,
    -- What the alert remembers between runs (its machine, a window), JSON.
    memory       TEXT NOT NULL,
    PRIMARY KEY (rule, check_id)
) WITHOUT ROWID;
CREATE INDEX alert_states_raised ON alert_states (state) WHERE state <> 'ok';

-- A quorum's group (`min_agents`): one rule's alerts of one check target
-- across agents, raised while enough of them are.
CREATE TABLE alert_groups (
    rule       TEXT NOT NULL,
    check_name TEXT NOT NULL,
    target     TEXT NOT NULL,
    state      TEXT NOT NULL,
    since      INTEGER NOT NULL,
    -- The raised agents' names, JSON array.
    failing    TEXT NOT NULL,
    flapping   INTEGER NOT NULL,
    evaluated_at INTEGER NOT NULL,
    plugin     TEXT NOT NULL,
    -- Its machine and failing agents, JSON.
    memory     TEXT NOT NULL,
    PRIMARY KEY (rule, check_name, target)
) WITHOUT ROWID;

-- A step of an agent's alert (check_id) or of a group (check_name,
-- target, plugin; agents: the raised ones, JSON array).
CREATE TABLE alert_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    rule       TEXT NOT NULL,
    check_id   INTEGER REFERENCES checks (id),
    check_name TEXT,
    target     TEXT,
    plugin     TEXT,
    agents     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    value      REAL,
    -- Result ids, JSON array.
    causes     TEXT NOT NULL,
    -- Notice names, JSON array.
    notices    TEXT NOT NULL,
    -- The silence that kept it from the channels.
    silenced_by BLOB
);
CREATE INDEX alert_events_rule ON alert_events (rule, id);
