//! Checks defined on the server: what agents are asked to run (their
//! desired state). The check targets results name are [`super::ingest`]'s.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use vantage_protocol::config::CheckSpec;
use vantage_protocol::manifest::Capability;

use super::dispatch::store_trait;
use super::types::StoreResult;

/// A check defined on the server.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub spec: CheckSpec,
    /// Capabilities the operator reviewed when saving.
    pub reviewed: BTreeSet<Capability>,
    pub revision: i64,
    pub updated_at: DateTime<Utc>,
}

/// What saving a check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckSaved {
    pub revision: i64,
    /// No check of that name existed.
    pub created: bool,
}

store_trait! {
    /// Checks defined on the server.
    pub trait CheckStore {
        /// Inserts or replaces a check. The revision moves only when the spec
        /// or the reviewed capabilities change.
        async fn put_check(
            &self,
            spec: &CheckSpec,
            reviewed: &BTreeSet<Capability>,
            now: DateTime<Utc>
        ) -> StoreResult<CheckSaved>;
        /// True when the check existed.
        async fn delete_check(&self, name: &str) -> StoreResult<bool>;
        /// Every check, by name.
        async fn checks(&self) -> StoreResult<Vec<CheckRow>>;
        /// Whether a check of that name is defined, or some agent reports
        /// results of one.
        async fn is_check_name(&self, name: &str) -> StoreResult<bool>;
    }
}
