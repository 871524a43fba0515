-- Service level agreements (docs/reports.md), saved by name like
-- maintenance windows.
CREATE TABLE slas (
    name       TEXT PRIMARY KEY,
    -- The SlaSpec as JSON.
    spec       TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
