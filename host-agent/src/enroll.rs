//! Enrollment: a one-time token from the server becomes this agent's own
//! credential, kept in `<data_dir>/credential.json` (mode 0600).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vantage_protocol::config::PublisherKey;
use vantage_protocol::ingest::{AgentInfo, ENROLL_PATH, EnrollRequest, EnrollResponse};
use vantage_protocol::keys::{KeyId, PublicKey};

use crate::uplink::client::ServerClient;

/// The file name of the credential in the data folder.
pub const CREDENTIAL_FILE: &str = "credential.json";

/// What enrollment leaves behind.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub server: String,
    pub agent_id: Uuid,
    /// The name the server knows this agent by: results carry it.
    pub name: String,
    pub credential: String,
    /// An extra CA (PEM) trusted for the server's certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The registry's root keys when this agent enrolled: pinned here, they
    /// decide which publisher keys the agent trusts. The server cannot add
    /// a root later; only a root can endorse a new publisher key.
    #[serde(default)]
    pub trust_roots: Vec<PublisherKey>,
}

impl Credential {
    /// The pinned roots' ids, for people: `a, b`, or `none`.
    pub fn pinned_ids(&self) -> String {
        if self.trust_roots.is_empty() {
            return "none".to_owned();
        }
        let ids: Vec<&str> = self
            .trust_roots
            .iter()
            .map(|k| k.key_id.0.as_str())
            .collect();
        ids.join(", ")
    }

    /// The pinned roots as keys, each checked against its stated id.
    pub fn roots(&self) -> anyhow::Result<Vec<PublicKey>> {
        self.trust_roots.iter().map(public_key).collect()
    }
}

/// A registry key as a [`PublicKey`], refusing one whose id does not match.
pub fn public_key(key: &PublisherKey) -> anyhow::Result<PublicKey> {
    let public = PublicKey::from_base64(&key.name, &key.public_key)
        .with_context(|| format!("key {} is not an ed25519 public key", key.key_id))?;
    anyhow::ensure!(
        public.id() == key.key_id,
        "key {} is really key {}",
        key.key_id,
        public.id()
    );
    Ok(public)
}

impl Credential {
    /// The credential in `data_dir`, if the agent is enrolled.
    pub fn load(data_dir: &Path) -> anyhow::Result<Option<Credential>> {
        let path = data_dir.join(CREDENTIAL_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is damaged: enroll again", path.display())
            })?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the file readable by its owner only, atomically.
    pub fn save(&self, data_dir: &Path) -> anyhow::Result<()> {
        crate::files::write_private(
            &data_dir.join(CREDENTIAL_FILE),
            &serde_json::to_vec_pretty(self)?,
        )
    }
}

/// This host as the server sees it.
pub fn agent_info() -> AgentInfo {
    AgentInfo {
        hostname: sysinfo::System::host_name().unwrap_or_else(|| "unknown".into()),
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        version: crate::VERSION.into(),
        addresses: addresses(),
    }
}

/// The host's addresses other agents could reach: none of the special
/// ones (loopback, link-local, …) the server refuses.
pub fn addresses() -> Vec<String> {
    let networks = sysinfo::Networks::new_with_refreshed_list();
    let mut out: Vec<String> = networks
        .values()
        .flat_map(|n| n.ip_networks())
        .map(|n| n.addr)
        .filter(|a| vantage_protocol::net::special(*a).is_none())
        .map(|a| a.to_string())
        .collect();
    out.sort();
    out.dedup();
    out.truncate(64);
    out
}

/// What `vantage-agent enroll` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Enrollment {
    /// The server's URL.
    pub server: String,
    /// The one-time enrollment token.
    pub token: String,
    /// The agent's name on the server (default: the host name).
    pub name: Option<String>,
    /// An extra CA (PEM) trusted for the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// The ids of the registry roots to pin, compared out of band. When
    /// given, exactly these are pinned; when empty, every root offered is.
    pub trust_roots: Vec<String>,
    /// Allows plain `http://` to a server that is not on this host.
    pub insecure_http: bool,
}

/// Exchanges the token for a credential and stores it in `data_dir`, with
/// registry root keys pinned: exactly the `trust_roots` asked for (each
/// must be offered, or nothing is stored), or, when none are named, every
/// root the server offers (their ids are printed, to compare out of band).
/// Plain `http://` to a remote server is refused unless `insecure_http`:
/// anyone on the path could read the credential and slip in a root.
pub async fn enroll(data_dir: &Path, request: Enrollment) -> anyhow::Result<Credential> {
    let Enrollment {
        server,
        token,
        name,
        ca_file,
        trust_roots: expect_roots,
        insecure_http,
    } = request;
    let server = server.as_str();
    let ca_file = ca_file.map(|f| std::path::absolute(&f).unwrap_or(f));
    let mut client = ServerClient::new(server, ca_file.as_deref(), None)?;
    if client.is_plaintext_remote() {
        anyhow::ensure!(
            insecure_http,
            "refusing to enroll over plain http:// with {server}, which is not on this host: \
             the credential would cross the network unencrypted and anyone on the path could \
             pin a root key of their own. Use https://, or pass --insecure-http on a network \
             you trust"
        );
        tracing::warn!(
            server,
            "Enrolling over plain HTTP with a remote server (--insecure-http): the credential crosses the network unencrypted."
        );
    }
    let request = EnrollRequest {
        token,
        name,
        agent: agent_info(),
    };
    let reply = client
        .post(ENROLL_PATH, &serde_json::to_vec(&request)?, false)
        .await?;
    if !(200..300).contains(&reply.status) {
        anyhow::bail!("{}", reply.problem_text());
    }
    let answer: EnrollResponse =
        serde_json::from_slice(&reply.body).context("the server's answer is not an enrollment")?;
    let offered: Vec<PublisherKey> = answer
        .trust_roots
        .into_iter()
        .filter(|k| k.root && k.revoked_at.is_none())
        .collect();
    let trust_roots = pinned(offered, &expect_roots)?;
    for key in &trust_roots {
        public_key(key).context("the server offered a damaged root key")?;
    }
    if trust_roots.is_empty() {
        tracing::warn!(
            server,
            "The server's registry has no root keys: only keys in the local [trust] section will be trusted."
        );
    }
    let credential = Credential {
        server: client.base().as_str().trim_end_matches('/').to_owned(),
        agent_id: answer.agent_id,
        name: answer.name,
        credential: answer.credential,
        ca_file,
        trust_roots,
    };
    credential.save(data_dir)?;
    Ok(credential)
}

/// The roots to pin out of those `offered`: exactly the `expected` ids when
/// any are named (each must be offered), else all of them.
fn pinned(offered: Vec<PublisherKey>, expected: &[String]) -> anyhow::Result<Vec<PublisherKey>> {
    if expected.is_empty() {
        return Ok(offered);
    }
    let expected: Vec<KeyId> = expected
        .iter()
        .map(|e| KeyId(e.trim().to_ascii_lowercase()))
        .collect();
    for id in &expected {
        anyhow::ensure!(
            offered.iter().any(|k| &k.key_id == id),
            "the server's registry does not offer root key {id} (it offers: {}); nothing was stored",
            if offered.is_empty() {
                "none".to_owned()
            } else {
                offered
                    .iter()
                    .map(|k| k.key_id.0.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    Ok(offered
        .into_iter()
        .filter(|k| expected.contains(&k.key_id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vantage_protocol::keys::SigningKeyPair;

    fn root(name: &str) -> PublisherKey {
        let public = SigningKeyPair::generate(name).public();
        PublisherKey {
            key_id: public.id(),
            name: public.name.clone(),
            public_key: public.to_base64(),
            root: true,
            endorsement: None,
            created_at: chrono::Utc::now(),
            revoked_at: None,
        }
    }

    #[test]
    fn naming_one_root_pins_exactly_that_root_of_several_offered() {
        let (ours, extra) = (root("ours"), root("slipped-in"));
        let id = ours.key_id.0.to_ascii_uppercase();
        let pinned = pinned(vec![extra.clone(), ours.clone()], &[id]).unwrap();
        assert_eq!(pinned.len(), 1);
        assert_eq!(pinned[0].key_id, ours.key_id);
    }

    #[test]
    fn a_named_root_the_server_does_not_offer_stops_enrollment() {
        let offered = root("offered");
        let missing = root("missing").key_id.0;
        let err = pinned(vec![offered.clone()], std::slice::from_ref(&missing)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&missing) && text.contains(&offered.key_id.0),
            "{text}"
        );
    }

    #[test]
    fn naming_no_root_pins_every_root_offered() {
        let offered = vec![root("a"), root("b")];
        assert_eq!(pinned(offered, &[]).unwrap().len(), 2);
    }
}
