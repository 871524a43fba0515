//! Alerting's storage: the rules an operator defines (their states,
//! transitions and notifications come with the next slices of issue 15).

use chrono::{DateTime, Utc};
use vantage_protocol::config::RuleSpec;

use super::dispatch::store_trait;
use super::types::StoreResult;

/// A rule as saved.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    pub spec: RuleSpec,
    pub revision: i64,
    pub updated_at: DateTime<Utc>,
}

/// What saving a rule did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSaved {
    pub revision: i64,
    /// No rule of that name existed.
    pub created: bool,
}

store_trait! {
    /// Alert rules.
    pub trait AlertStore {
        /// Inserts or replaces a rule; the revision moves only when the spec changes.
        async fn put_rule(&self, spec: &RuleSpec, now: DateTime<Utc>) -> StoreResult<RuleSaved>;
        /// True when the rule existed.
        async fn delete_rule(&self, name: &str) -> StoreResult<bool>;
        /// Every rule, by name.
        async fn rules(&self) -> StoreResult<Vec<RuleRow>>;
    }
}
