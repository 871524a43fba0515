//! Maintenance windows (`alert_windows`), saved by name like channels:
//! [`Saved`] specs whose revision moves only when they change.

use chrono::{DateTime, Utc};
use vantage_protocol::config::WindowSpec;

use super::alerts::RuleSaved;
use super::dispatch::store_trait;
use super::types::StoreResult;

/// A spec saved by name: a channel, a maintenance window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved<T> {
    pub spec: T,
    pub revision: i64,
    pub updated_at: DateTime<Utc>,
}

store_trait! {
    /// Maintenance windows.
    pub trait WindowStore {
        /// Inserts or replaces a window; the revision moves only on change.
        async fn put_window(&self, spec: &WindowSpec, now: DateTime<Utc>) -> StoreResult<RuleSaved>;
        /// True when the window existed.
        async fn delete_window(&self, name: &str) -> StoreResult<bool>;
        /// Every window by name.
        async fn windows(&self) -> StoreResult<Vec<Saved<WindowSpec>>>;
    }
}
