-- Reports sent, or tried, once an SLA's period ended (docs/reports.md):
-- one row per (SLA, period, channel), so that each goes out once.
CREATE TABLE report_deliveries (
    sla      text NOT NULL,
    period   text NOT NULL,
    channel  text NOT NULL,
    sent     boolean NOT NULL,
    attempts int4 NOT NULL,
    detail   text NOT NULL,
    at       timestamptz NOT NULL,
    PRIMARY KEY (sla, period, channel)
);
