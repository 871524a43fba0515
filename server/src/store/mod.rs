//! Storage, by concern: one trait per concern, each implemented directly by
//! both backends ([`sqlite`] and [`postgres`], one file per concern), and
//! [`Store`], the enum the rest of the server holds.
//!
//! A concern's module holds its trait and the rows it speaks in. The trait
//! is declared with `store_trait!` (`dispatch.rs`), which also implements it
//! for [`Store`]; so adding a method means the trait, its two
//! implementations and a contract test on both backends
//! (`tests/story/storage/`).
//!
//! Backends do the I/O only. Validation happens before a call reaches them
//! (`ingest::validate`), and the rollup and retention logic lives once in
//! `jobs`, over the primitive operations of [`JobStore`].

mod accounts;
mod agents;
mod alerts;
mod audit;
mod checks;
mod depends;
mod dispatch;
mod events;
mod ingest;
mod jobs;
mod notify;
pub mod postgres;
mod registry;
mod releases;
mod repeats;
mod reports;
mod rollouts;
mod series;
pub mod sketch;
pub mod sqlite;
mod types;
mod windows;

pub use self::accounts::{
    AccountStore, ApiTokenSummary, LAST_USED_STEP, NewApiToken, NewSession, Role, SessionRow,
    TokenHash, TokenOrigin, User, UserChange, UserPrincipal, UserSummary,
};
pub use self::agents::{AgentAuth, AgentRow, AgentStore, EnrollRefusal, NewEnrollment};
pub use self::alerts::{
    AlertFilter, AlertStore, HistoryFilter, RuleRow, RuleSaved, RulesVersion, Watched,
};
pub use self::audit::{Actor, ActorKind, AuditEntry, AuditFilter, AuditStore};
pub use self::checks::{CheckRow, CheckSaved, CheckStore};
pub use self::depends::{AgentAlert, AgentStep, DependStore, ParentAlert};
pub use self::dispatch::{Store, sqlite_path};
pub use self::events::{EventFilter, EventIn, EventRecord, EventStore};
pub use self::ingest::{
    CheckKey, DistributionRow, IngestStore, Ingested, ResultRow, SampleRow, SeriesKey, StoreBatch,
};
pub use self::jobs::{DirtyRange, DirtyRead, JobStore, NativeRetention};
pub use self::notify::{
    After, Attempt, ChannelRow, CheckTarget, Claimed, NotifyStore, Routed, Suppression,
};
pub use self::registry::{PackageRow, RegistryStore, sort_packages};
pub use self::releases::{ReleaseRow, ReleaseStore, sort_releases};
pub use self::repeats::{Due, Quiet, RepeatStore};
pub use self::reports::{ChildStep, Merged, MergedBySeries, ReportStore, UpRow, UpSum};
pub use self::rollouts::{RolloutAgentRow, RolloutRow, RolloutStore};
pub use self::series::{
    LatestRow, RawDistribution, RawPoint, Rollup, RollupRow, SeriesFilter, SeriesRow, SeriesStore,
    StatusCounts,
};
pub use self::sketch::Sketch;
pub use self::types::{
    StorageMode, StoreError, StoreResult, status_code, status_from_code, unit_from_str,
    values_from_bytes, values_to_bytes,
};
pub use self::windows::{Saved, WindowStore};

use self::dispatch::store_trait;

store_trait! {
    /// The database itself: its mode, a round trip, its connections.
    pub trait SystemStore {
        fn mode(&self) -> StorageMode;
        /// Connections open and idle (for `/metrics`).
        fn pool_stats(&self) -> (u32, u32);
        /// A round trip to the database (`/readyz`).
        async fn ping(&self) -> StoreResult<()>;
    }
}
