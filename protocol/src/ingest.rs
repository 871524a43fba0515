//! The agent ↔ server link: enrollment, result batches, heartbeats, and the
//! error body every API answer uses.
//!
//! An agent sends results in [`IngestBatch`]es, each with a `batch_id` made
//! when the batch was formed and kept across its retries. The server stores a
//! batch at most once (a replay is acknowledged with `replayed: true`) and a
//! result at most once (by [`CheckResult::id`]), so an agent may resend
//! anything it has no acknowledgement for.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::result::CheckResult;

/// The ingest endpoint, relative to the server's URL.
pub const INGEST_PATH: &str = "/api/v1/ingest";
/// The heartbeat endpoint.
pub const HEARTBEAT_PATH: &str = "/api/v1/agents/heartbeat";
/// The enrollment endpoint.
pub const ENROLL_PATH: &str = "/api/v1/agents/enroll";

/// Most results one batch may carry.
pub const MAX_BATCH_RESULTS: usize = 5_000;
/// Most samples one batch may carry, over all its results; each value of a
/// distribution counts as one sample.
pub const MAX_BATCH_SAMPLES: usize = 100_000;
/// Largest batch body, after decompression.
pub const MAX_BATCH_BYTES: usize = 8 << 20;

/// What an agent tells the server about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentInfo {
    /// The host's name as its operating system reports it; also the agent's
    /// name when enrollment gives none.
    pub hostname: String,
    /// `linux`, `macos`, … (Rust's `std::env::consts::OS`).
    pub os: String,
    /// `x86_64`, `aarch64`, … (Rust's `std::env::consts::ARCH`).
    pub arch: String,
    /// The agent's version.
    pub version: String,
    /// Addresses the host can be reached at (other agents probe these).
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// `POST /api/v1/agents/enroll`: exchanges a one-time enrollment token for
/// the agent's own credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The enrollment token (`ve_…`) an admin created.
    pub token: String,
    /// The agent's name in results; the host name when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// What the agent reports about its host.
    pub agent: AgentInfo,
}

/// The answer to a successful enrollment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollResponse {
    /// The server's id for the agent: the `{id}` of `/api/v1/agents/{id}`.
    pub agent_id: Uuid,
    /// The name results must carry in their `agent` field.
    pub name: String,
    /// The agent's bearer credential (`va_…`). Shown once: the server keeps
    /// only its hash.
    pub credential: String,
    /// The registry's root keys now: the agent pins them and from then on
    /// trusts only publisher keys that one of them endorsed.
    #[serde(default)]
    pub trust_roots: Vec<crate::config::PublisherKey>,
}

/// What the agent's outbox holds and what its size bound forced out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OutboxStats {
    /// Results written but not yet acknowledged.
    pub backlog_results: u64,
    /// Bytes those results take in the outbox on disk, record headers included.
    pub backlog_bytes: u64,
    /// Results dropped unsent because the outbox reached its bound, since
    /// the agent's data folder was created.
    pub dropped_results: u64,
    /// Bytes of the results counted in `dropped_results`, record headers included.
    pub dropped_bytes: u64,
}

/// `POST /api/v1/ingest`: results, optionally gzip-compressed
/// (`Content-Encoding: gzip`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IngestBatch {
    /// Made when the batch is formed, reused for every retry of it.
    pub batch_id: Uuid,
    /// The results, each id at most once: at most [`MAX_BATCH_RESULTS`] of
    /// them, with at most [`MAX_BATCH_SAMPLES`] samples (and distribution
    /// values) in all.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub results: Vec<CheckResult>,
    /// The outbox as this attempt was sent (this batch still counted in its
    /// backlog); zeros when absent.
    #[serde(default)]
    pub outbox: OutboxStats,
}

/// The server's acknowledgement of a batch: once received, the agent may
/// forget every result of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IngestAck {
    /// The `batch_id` of the batch acknowledged.
    pub batch_id: Uuid,
    /// Results stored by this batch.
    pub accepted: u32,
    /// Results already stored by an earlier batch (an agent restart re-forms batches).
    pub duplicates: u32,
    /// Results older than the server's raw retention: acknowledged, not stored.
    pub expired: u32,
    /// True when this batch id was stored before: nothing was stored again.
    pub replayed: bool,
    /// Sample rows stored by this request: those of the accepted results,
    /// plus one `check_up` row per accepted result (0 on a replay).
    #[serde(default)]
    pub samples: u64,
}

/// `POST /api/v1/agents/heartbeat`, every few seconds while connected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The agent's version now; replaces the one it enrolled with.
    pub version: String,
    /// When the agent process started.
    pub started_at: DateTime<Utc>,
    /// The outbox now; zeros when absent.
    #[serde(default)]
    pub outbox: OutboxStats,
    /// IP addresses the host can be reached at now, as in
    /// [`AgentInfo::addresses`]; a change moves mesh peers' targets.
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// One thing wrong with a request (RFC 9457 extension member `errors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Index of the offending result in a batch, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// JSON path of the field, e.g. `samples[2].unit`.
    pub field: String,
    /// Why the value was refused, a lower-case phrase such as
    /// `must be a finite number`.
    pub reason: String,
}

/// An `application/problem+json` body (RFC 9457), the shape of every error
/// the API returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the problem type; `about:blank` when the status says it all.
    #[serde(rename = "type", default = "about_blank")]
    pub kind: String,
    /// A short summary of the problem type: the HTTP reason phrase
    /// (`Unprocessable Entity`) when `type` is `about:blank`.
    pub title: String,
    /// The HTTP status code, as in the response's status line.
    pub status: u16,
    /// What went wrong this time, for people; absent when the server has
    /// nothing to add to the title (a `500`'s cause is logged, not told).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every refused field of a `422`, each with its path and reason;
    /// omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

fn about_blank() -> String {
    "about:blank".into()
}
