-- Reports sent, or tried, once an SLA's period ended (docs/reports.md):
-- one row per (SLA, period, channel), so that each goes out once.
CREATE TABLE report_deliveries (
    sla      TEXT NOT NULL,
    period   TEXT NOT NULL,
    channel  TEXT NOT NULL,
    sent     INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    detail   TEXT NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (sla, period, channel)
) WITHOUT ROWID;
