//! Enrollment: a one-time token from the server becomes this agent's own
//! credential, kept in `<data_dir>/credential.json` (mode 0600).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vantage_protocol::ingest::{AgentInfo, ENROLL_PATH, EnrollRequest, EnrollResponse};

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
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let tmp = data_dir.join(format!("{CREDENTIAL_FILE}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        file.write_all(&serde_json::to_vec_pretty(self)?)?;
        file.sync_all()?;
        std::fs::rename(&tmp, data_dir.join(CREDENTIAL_FILE))?;
        std::fs::File::open(data_dir)?.sync_all()?;
        Ok(())
    }
}

/// This host as the server sees it.
pub fn agent_info() -> AgentInfo {
    AgentInfo {
        hostname: sysinfo::System::host_name().unwrap_or_else(|| "unknown".into()),
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        addresses: addresses(),
    }
}

/// The host's addresses other agents could reach: not loopback, not link-local.
pub fn addresses() -> Vec<String> {
    let networks = sysinfo::Networks::new_with_refreshed_list();
    let mut out: Vec<String> = networks
        .values()
        .flat_map(|n| n.ip_networks())
        .map(|n| n.addr)
        .filter(|a| {
            !a.is_loopback()
                && !a.is_unspecified()
                && match a {
                    std::net::IpAddr::V4(v4) => !v4.is_link_local(),
                    std::net::IpAddr::V6(v6) => !v6.is_unicast_link_local(),
                }
        })
        .map(|a| a.to_string())
        .collect();
    out.sort();
    out.dedup();
    out.truncate(64);
    out
}

/// Exchanges `token` at `server` for a credential and stores it in `data_dir`.
pub async fn enroll(
    data_dir: &Path,
    server: &str,
    token: &str,
    name: Option<String>,
    ca_file: Option<PathBuf>,
) -> anyhow::Result<Credential> {
    let ca_file = ca_file.map(|f| std::path::absolute(&f).unwrap_or(f));
    let mut client = ServerClient::new(server, ca_file.as_deref(), None)?;
    if client.is_plaintext_remote() {
        tracing::warn!(
            server,
            "Enrolling over plain HTTP with a remote server: the credential crosses the network unencrypted. Use https://."
        );
    }
    let request = EnrollRequest {
        token: token.to_owned(),
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
    let credential = Credential {
        server: client.base().as_str().trim_end_matches('/').to_owned(),
        agent_id: answer.agent_id,
        name: answer.name,
        credential: answer.credential,
        ca_file,
    };
    credential.save(data_dir)?;
    Ok(credential)
}
