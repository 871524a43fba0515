//! Alerting (docs/alerting.md, as it lands): rules judge stored results;
//! each (rule, check target, agent) has a state machine whose transitions
//! are the alert history and whose notices go to channels.

pub mod book;
pub mod channel;
pub mod depends;
pub mod evaluate;
pub mod group;
pub mod machine;
pub mod matcher;
pub mod memory;
pub mod nodata;
pub mod notify;
pub mod offline;
pub mod outbox;
pub mod quorum;
pub mod repeat;
pub mod route;
pub mod rule;
pub mod selector;
pub mod windows;
