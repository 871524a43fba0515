//! Reports and SLAs (docs/reports.md): sla.rs, an SLA checked whole;
//! period.rs, calendar periods in a time zone; hours.rs, the minutes that
//! count (business hours, excluded maintenance windows); count.rs,
//! counting by runs against the quorum, and the error budget; build.rs, a
//! report made from the minute rollups of `check_up`.

pub mod build;
pub mod count;
pub mod hours;
pub mod period;
pub mod sla;
