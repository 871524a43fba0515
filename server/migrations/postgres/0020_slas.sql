-- Service level agreements (docs/reports.md), saved by name like
-- maintenance windows.
CREATE TABLE slas (
    name       text PRIMARY KEY,
    spec       jsonb NOT NULL,
    revision   int8 NOT NULL,
    updated_at timestamptz NOT NULL
);
