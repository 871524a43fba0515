//! Agents that update themselves, with real binaries: the agent as built,
//! and a second build reporting version 9.0.0 with the test faults built in
//! (`cargo xtask test` builds it at `target/update-agent/`). A rollout in
//! waves reaches every agent and no result is lost across the switch; a
//! release that crashes, one that never delivers, a launcher killed
//! mid-trial and a downgrade each leave the agent on the version it ran.

use std::process::Command;

use chrono::Utc;
use sha2::{Digest as _, Sha256};
use vantage_protocol::keys::KeyRole;
use vantage_protocol::update::{AGENT_PRODUCT, ReleaseBody, SignedRelease};

use super::*;
use crate::support::agent::{agent_bin, stored_ids};

mod compromised;
mod disk;
mod failures;
mod killed;
mod waves;

/// The update build's version (`xtask/src/update_agent.rs`).
const NEW: &str = "9.0.0";

/// The update build of the agent.
fn update_bin() -> PathBuf {
    let bin = agent_bin()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("update-agent/vantage-agent");
    assert!(
        bin.is_file(),
        "{} is missing: `cargo xtask test` builds it",
        bin.display()
    );
    bin
}

fn platform() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// A release archive as `cargo xtask dist` lays it out, holding the update
/// build and, when given, the fault it shows.
fn archive(fault: Option<&str>) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let top = format!("vantage-{NEW}-{}", platform());
    let bin = dir.path().join(&top).join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(update_bin(), bin.join("vantage-agent")).unwrap();
    if let Some(fault) = fault {
        std::fs::write(bin.join("FAULT"), fault).unwrap();
    }
    let out = dir.path().join("a.tar.gz");
    let status = Command::new("tar")
        .arg("czf")
        .arg(&out)
        .arg("-C")
        .arg(dir.path())
        .arg(&top)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

/// The story's release key, endorsed by its root and registered.
async fn release_key(admin: &Client, packages: &Packages) -> SigningKeyPair {
    let key = SigningKeyPair::generate("story-release");
    let endorsement = packages.root.endorse_for(&key.public(), KeyRole::Releases);
    admin
        .post(
            "/api/v1/registry/keys",
            &json!({"key": key.public().to_file(), "endorsement": endorsement}),
        )
        .await
        .expect(201);
    key
}

/// Uploads `archive` and publishes it as `version` with `seq`.
async fn publish_release(
    admin: &Client,
    key: &SigningKeyPair,
    version: &str,
    seq: u64,
    archive: &[u8],
) {
    let sha256 = hex::encode(Sha256::digest(archive));
    admin
        .send(
            Method::PUT,
            &format!("/api/v1/releases/blobs/{sha256}"),
            &[("content-type", "application/octet-stream")],
            Bytes::copy_from_slice(archive),
        )
        .await
        .expect(201);
    let now = Utc::now();
    let body = ReleaseBody {
        product: AGENT_PRODUCT.into(),
        version: version.parse().unwrap(),
        platform: platform(),
        sha256,
        size: archive.len() as u64,
        min_version: None,
        seq,
        issued_at: now,
        expires_at: now + chrono::Duration::days(1),
    };
    let manifest = SignedRelease::sign(&body, key);
    admin
        .post("/api/v1/releases", &json!(manifest))
        .await
        .expect(201);
}

/// `n` managed agents in group `edge` running the check `port`; the
/// registry holds tcp@1.0.0 and the story's keys.
struct Fleet {
    agents: Vec<(AgentHome, PathBuf, Option<RunningAgent>, String)>,
    _target: std::net::TcpListener,
}

impl Fleet {
    async fn start(admin: &Client, url: &str, packages: &Packages, n: usize, extra: &str) -> Fleet {
        let homes = (0..n).map(|_| AgentHome::new()).collect();
        Fleet::start_in(admin, url, packages, homes, extra).await
    }

    /// The fleet of one agent in each of `homes`.
    async fn start_in(
        admin: &Client,
        url: &str,
        packages: &Packages,
        homes: Vec<AgentHome>,
        extra: &str,
    ) -> Fleet {
        packages.register_keys(admin).await;
        publish(admin, packages.tcp("1.0.0", &["tcp"], &packages.publisher))
            .await
            .expect(201);
        let (target, port) = tcp_target();
        tcp_check(admin, "port", &format!("127.0.0.1:{port}"), &[]).await;
        let root = packages.root.public().id().0;
        let mut agents = Vec::new();
        for (i, home) in homes.into_iter().enumerate() {
            let config = managed_config(&home);
            let text = std::fs::read_to_string(&config).unwrap() + extra;
            std::fs::write(&config, text).unwrap();
            let id =
                enroll_into(admin, url, &home, &format!("edge-{i:02}"), &root, &["edge"]).await;
            let agent = RunningAgent::start(&config);
            agents.push((home, config, Some(agent), id));
        }
        for (_, _, agent, _) in &agents {
            agent.as_ref().unwrap().wait_printed(2, LIMIT);
        }
        Fleet {
            agents,
            _target: target,
        }
    }

    fn agent(&self, i: usize) -> &RunningAgent {
        self.agents[i].2.as_ref().unwrap()
    }

    /// Waits until every result the agents printed is stored.
    async fn all_stored(&self, server_url: &str) {
        let produced: BTreeSet<uuid::Uuid> = self.printed().into_iter().collect();
        wait_until("every produced result is stored", LIMIT, || async {
            let stored: BTreeSet<uuid::Uuid> = stored_ids(server_url).await.into_iter().collect();
            produced.is_subset(&stored)
        })
        .await;
    }

    fn printed(&self) -> Vec<uuid::Uuid> {
        self.agents
            .iter()
            .flat_map(|a| a.2.as_ref().unwrap().printed())
            .collect()
    }
}

/// The version an agent last reported in its heartbeat.
async fn running(admin: &Client, id: &str) -> String {
    admin
        .get(&format!("/api/v1/agents/{id}"))
        .await
        .expect(200)
        .json()["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn start_rollout(admin: &Client, version: &str, waves: &[&str]) -> String {
    let view = admin
        .post(
            "/api/v1/rollouts",
            &json!({"version": version, "group": "edge", "waves": waves, "wait": "0s", "max_failures_percent": 0}),
        )
        .await
        .expect(201)
        .json();
    view["id"].as_str().unwrap().to_owned()
}

/// Waits until the rollout is in `state`; its view then.
async fn rollout_in(admin: &Client, id: &str, state: &str, limit: Duration) -> Value {
    let path = format!("/api/v1/rollouts/{id}");
    let start = Instant::now();
    loop {
        let view = admin.get(&path).await.expect(200).json();
        if view["state"] == state {
            return view;
        }
        assert!(
            start.elapsed() < limit,
            "the rollout is not {state} within {limit:?}: {view}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The update state an agent's data folder holds.
fn update_state(home: &AgentHome) -> Value {
    let path = home.dir.path().join("data/agent/update.json");
    std::fs::read(path)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(Value::Null)
}

/// The reason the first agent of a halted rollout gave.
fn first_reason(view: &Value) -> &str {
    view["agents"][0]["reason"].as_str().unwrap_or_default()
}
