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

-- Agents' own alerts (`agent_offline`): one per (rule, agent), judged by
-- the notifier's sweep from the agent's last contact; their steps carry
-- the agent (alert_events.agent_id) and no check. While one is raised,
-- every other alert of its agent is suppressed.
ALTER TABLE alert_events ADD COLUMN agent_id uuid;
CREATE INDEX alert_events_agent_at ON alert_events (agent_id, rule, at) WHERE agent_id IS NOT NULL;
CREATE TABLE alert_agents (
    rule     text NOT NULL,
    agent_id uuid NOT NULL REFERENCES agents (id),
    state    text NOT NULL,
    since    timestamptz NOT NULL,
    PRIMARY KEY (rule, agent_id)
);
