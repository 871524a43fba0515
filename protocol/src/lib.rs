//! The wire contract shared by the Vantage agent, server and CLI.
//!
//! - [`manifest`]: what a plugin declares (capabilities, config schema, metrics).
//! - [`package`]: the signed `.vpkg` file that carries a component and its manifest.
//! - [`keys`]: publisher signing keys and the trust store format.
//! - [`result`]: the normalised result of one check run.
//! - [`ingest`]: the agent ↔ server link (enrollment, batches, heartbeats, problems).
//! - [`config`]: the registry, checks defined on the server, and each agent's desired state.
//! - [`allow`]: what a check's `allow` entries grant: hosts, networks, log files, journal units.
//! - [`net`]: the addresses nothing is probed at unless an operator names them.
//! - [`rules`]: what makes a result valid (limits, names), for agent, server and manifest alike.
//! - [`text`]: cutting text from plugins and peers at character boundaries.
//! - [`release`]: the signed `SHA256SUMS` of a release's artefacts.
//! - [`update`]: signed agent release manifests and what an agent takes.
//!
//! ```
//! use vantage_protocol::keys::SigningKeyPair;
//! use vantage_protocol::manifest::Manifest;
//! use vantage_protocol::package::Package;
//!
//! let manifest = Manifest::from_json(br#"{
//!     "name": "hello", "version": "0.1.0", "description": "says hello",
//!     "capabilities": [], "config_schema": {"type": "object"}, "metrics": []
//! }"#).unwrap();
//! let key = SigningKeyPair::generate("dev");
//! let mut package = Package::new(manifest, b"\0asm\x0d\0\x01\0".to_vec()).unwrap();
//! package.sign(&key);
//! let bytes = package.to_bytes();
//! let read = Package::from_bytes(&bytes).unwrap();
//! assert_eq!(read.digest(), package.digest());
//! assert!(read.signatures()[0].verify(&read.digest(), &key.public()).is_ok());
//! ```

#![warn(missing_docs)]

pub mod allow;
pub mod config;
pub mod ingest;
pub mod keys;
pub mod manifest;
pub mod net;
pub mod package;
pub mod release;
pub mod report;
pub mod result;
pub mod rules;
pub mod secrets;
pub mod statement;
pub mod text;
pub mod update;
