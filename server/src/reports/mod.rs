//! Reports and SLAs (docs/reports.md): sla.rs, an SLA checked whole;
//! period.rs, calendar periods in a time zone; hours.rs, the minutes that
//! count (business hours, excluded maintenance windows); silenced.rs,
//! silences on check targets taken out of their counted time; count.rs,
//! counting by runs against the quorum, and the error budget;
//! incidents.rs, runs of down minutes, MTTR and MTBF; children.rs, the
//! alerts an incident's check target suppressed; firing.rs, counting
//! by the time alerts fired instead; latency.rs, latency and loss from the
//! rollups' sketches; scan.rs, a period counted by hours, minute by minute
//! only where failures or partly counted hours need it; rows.rs, what it
//! reads (hours summed by the database); days.rs, whole days read from
//! the day rollups instead of their hours; build.rs, a report made of them;
//! csv.rs, html.rs, pdf.rs, its other forms.

pub mod build;
pub mod children;
pub mod count;
pub mod csv;
pub mod days;
pub mod deliver;
pub mod firing;
pub mod hours;
pub mod html;
pub mod incidents;
pub mod latency;
pub mod pdf;
pub mod period;
pub mod rows;
pub mod scan;
pub mod silenced;
pub mod sla;
