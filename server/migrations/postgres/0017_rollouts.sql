-- Rollouts of an agent version, wave by wave, and the agents each wave
-- asked to update with what they reported.
CREATE TABLE rollouts (
    id          uuid PRIMARY KEY,
    version     text NOT NULL,
    -- The RolloutSpec (JSON).
    spec        jsonb NOT NULL,
    state       text NOT NULL,
    -- 1 while running or paused, NULL after: one active rollout at a time.
    active      int2 UNIQUE,
    wave        int4 NOT NULL,
    -- When every agent of the current wave was healthy (its wait starts).
    settled_at  timestamptz,
    reason      text,
    -- Grows with each change: changes are compare-and-set across replicas.
    revision    int8 NOT NULL,
    created_at  timestamptz NOT NULL,
    created_by  uuid NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE rollout_agents (
    rollout_id  uuid NOT NULL REFERENCES rollouts (id),
    agent_id    uuid NOT NULL,
    wave        int4 NOT NULL,
    step        text,
    reason      text,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (rollout_id, agent_id)
);
