-- An alert's memory is written packed (postcard, `alerting::memory`): ingest
-- reads the memory of every alert a batch judges, and decoding JSON was a
-- fifth of what alerting added to a batch. Rows written before keep their
-- JSON `memory` until their next write; `packed` wins when both are there.
-- `rev` counts the row's writes: a batch judged against the row unlocked
-- writes it only if no other wrote it meanwhile (else it locks and judges
-- again). `gap_ms` (the runs' spacing, for `no_data` and dependencies)
-- leaves the memory for a column of its own.
ALTER TABLE alert_states
    ALTER COLUMN memory DROP NOT NULL,
    ADD COLUMN packed bytea,
    ADD COLUMN rev int8 NOT NULL DEFAULT 0,
    ADD COLUMN gap_ms int8;
UPDATE alert_states SET gap_ms = (memory ->> 'gap_ms')::int8 WHERE memory ->> 'gap_ms' IS NOT NULL;
ALTER TABLE alert_states
    ADD CONSTRAINT alert_states_remembered CHECK (packed IS NOT NULL OR memory IS NOT NULL);
-- Moved by every write of an agent's alert rows, in its transaction: a
-- replica that knows the rows as of this revision need not read them.
ALTER TABLE agents ADD COLUMN alerts_rev int8 NOT NULL DEFAULT 0;
