-- Rollouts of an agent version, wave by wave, and the agents each wave
-- asked to update with what they reported.
CREATE TABLE rollouts (
    id          BLOB PRIMARY KEY,
    version     TEXT NOT NULL,
    -- The RolloutSpec (JSON).
    spec        TEXT NOT NULL,
    state       TEXT NOT NULL,
    -- 1 while running or paused, NULL after: one active rollout at a time.
    active      INTEGER UNIQUE,
    wave        INTEGER NOT NULL,
    -- When every agent of the current wave was healthy (its wait starts).
    settled_at  INTEGER,
    reason      TEXT,
    -- Grows with each change: changes are compare-and-set across replicas.
    revision    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  BLOB NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE rollout_agents (
    rollout_id  BLOB NOT NULL REFERENCES rollouts (id),
    agent_id    BLOB NOT NULL,
    wave        INTEGER NOT NULL,
    step        TEXT,
    reason      TEXT,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (rollout_id, agent_id)
);
