-- Alerting (docs/alerting.md): each (rule, check target)'s state, judged
-- in the ingest transaction under its row lock, and the history of its
-- steps. A check target row is one agent's, so the key is one alert per
-- rule, check, target and agent.
CREATE TABLE alert_states (
    rule         text NOT NULL,
    check_id     int4 NOT NULL REFERENCES checks (id),
    state        text NOT NULL,
    since        timestamptz NOT NULL,
    value        float8,
    flapping     bool NOT NULL,
    -- The run time of the newest result judged.
    evaluated_at timestamptz NOT NULL,
    -- What the alert remembers between runs (its machine, a window).
    memory       json NOT NULL,
    PRIMARY KEY (rule, check_id)
);
CREATE INDEX alert_states_raised ON alert_states (state) WHERE state <> 'ok';

-- A quorum's group (`min_agents`): one rule's alerts of one check target
-- across agents, raised while enough of them are; its row lock orders the
-- replicas that judge its agents.
CREATE TABLE alert_groups (
    rule         text NOT NULL,
    check_name   text NOT NULL,
    target       text NOT NULL,
    state        text NOT NULL,
    since        timestamptz NOT NULL,
    failing      text[] NOT NULL,
    flapping     bool NOT NULL,
    evaluated_at timestamptz NOT NULL,
    plugin       text NOT NULL,
    memory       json NOT NULL,
    PRIMARY KEY (rule, check_name, target)
);

-- A step of an agent's alert (check_id) or of a group (check_name,
-- target, plugin; agents: the raised ones).
CREATE TABLE alert_events (
    id         int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule       text NOT NULL,
    check_id   int4 REFERENCES checks (id),
    check_name text,
    target     text,
    plugin     text,
    agents     text[] NOT NULL,
    at         timestamptz NOT NULL,
    from_state text NOT NULL,
    to_state   text NOT NULL,
    value      float8,
    causes     uuid[] NOT NULL,
    notices    text[] NOT NULL,
    -- The silence that kept it from the channels.
    silenced_by uuid
);
CREATE INDEX alert_events_rule ON alert_events (rule, id);
