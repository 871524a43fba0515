//! Remote configuration: the plugin registry's API shapes, the checks an
//! operator defines on the server, and the desired state each agent pulls.
//!
//! Trust is the agent's own: the server proposes which package to run (by
//! name, version and digest) and which publisher keys exist, but an agent
//! runs a package only when a key that one of *its own pinned roots*
//! endorsed signed it. Revocations from the server are always honoured,
//! since they can only narrow trust.
//!
//! Endpoints (relative to the server's URL; see the server's OpenAPI document):
//!
//! | method and path | who | what |
//! |---|---|---|
//! | `GET  /api/v1/registry/keys` | viewer | publisher keys |
//! | `POST /api/v1/registry/keys` | admin | add a root or an endorsed key ([`AddKey`]) |
//! | `POST /api/v1/registry/keys/{key_id}/revoke` | admin | revoke a key |
//! | `POST /api/v1/registry/plugins` | operator | publish a `.vpkg` (body: the package bytes) |
//! | `GET  /api/v1/registry/plugins?q=` | viewer | search ([`PluginSummary`]) |
//! | `GET  /api/v1/registry/plugins/{name}` | viewer | versions ([`PluginVersion`]) |
//! | `GET  /api/v1/registry/plugins/{name}/{version}` | viewer | one version |
//! | `POST/DELETE /api/v1/registry/plugins/{name}/{version}/yank` | operator | yank / restore |
//! | `GET  /api/v1/registry/blobs/{sha256}` | any credential | the package file, immutable |
//! | `PUT  /api/v1/releases/blobs/{sha256}` | operator | upload an agent archive (body: its bytes) |
//! | `GET  /api/v1/releases/blobs/{sha256}` | any credential | the archive, immutable |
//! | `POST /api/v1/releases` | operator | publish a [`SignedRelease`](crate::update::SignedRelease) of an uploaded archive |
//! | `GET  /api/v1/releases` | viewer | agent releases ([`ReleaseView`]) |
//! | `POST/DELETE /api/v1/releases/{version}/yank` | operator | yank / restore a version |
//! | `POST /api/v1/rollouts`, `GET /api/v1/rollouts[/{id}]` | operator / viewer | rollouts ([`RolloutSpec`] in, [`RolloutView`] out) |
//! | `POST /api/v1/rollouts/{id}/{pause,resume,abort}` | operator | steer a rollout |
//! | `POST /api/v1/agents/update-status` | agent | where its update stands ([`UpdateReport`]) |
//! | `GET  /api/v1/checks`, `GET/PUT/DELETE /api/v1/checks/{name}` | viewer / operator | checks ([`CheckSpec`] in, [`CheckView`] out) |
//! | `GET  /api/v1/checks/{name}/mesh` | viewer | the mesh matrix ([`MeshMatrix`]) |
//! | `PATCH /api/v1/agents/{id}` | operator | groups and labels ([`AgentPlacement`]) |
//! | `GET  /api/v1/agents/{id}/desired` | viewer | what that agent is told to run |
//! | `GET  /api/v1/agents/desired?wait=S` | agent | its [`DesiredState`]; `If-None-Match` → 304 |
//! | `POST /api/v1/agents/config-status` | agent | what it applied ([`ConfigStatus`]) |

mod alert_views;
mod alerts;
mod channels;
mod checks;
mod desired;
mod notification;
mod registry;
mod releases;
mod rollouts;
mod silences;
mod slas;
mod windows;

pub use alert_views::*;
pub use alerts::*;
pub use channels::*;
pub use checks::*;
pub use desired::*;
pub use notification::*;
pub use registry::*;
pub use releases::*;
pub use rollouts::*;
pub use silences::*;
pub use slas::*;
pub use windows::*;

/// `GET`: the calling agent's desired state (long-poll with `?wait=SECONDS`
/// and `If-None-Match: "<version>"`; 304 when unchanged at the deadline).
pub const DESIRED_PATH: &str = "/api/v1/agents/desired";
/// `POST`: the agent reports what it applied.
pub const CONFIG_STATUS_PATH: &str = "/api/v1/agents/config-status";
/// `GET` + the package file's sha256 in hex: the package bytes.
pub const BLOB_PATH: &str = "/api/v1/registry/blobs/";
/// The longest `wait` the server honours on [`DESIRED_PATH`], in seconds.
pub const MAX_DESIRED_WAIT_SECS: u64 = 60;
