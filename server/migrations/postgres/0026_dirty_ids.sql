-- Dirty ranges are read, rolled up, and only then deleted by id
-- (`JobStore::read_dirty`, `clear_dirty`): a leader killed mid-round leaves
-- them for the next one, instead of having deleted them as it took them.
-- By id, not by a high-water mark: ingest transactions commit out of id
-- order, so a range with a lower id may appear after a higher one was read.
ALTER TABLE rollup_dirty ADD COLUMN id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
