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
        packages.register_keys(admin).await;
        publish(admin, packages.tcp("1.0.0", &["tcp"], &packages.publisher))
            .await
            .expect(201);
        let (target, port) = tcp_target();
        tcp_check(admin, "port", &format!("127.0.0.1:{port}"), &[]).await;
        let root = packages.root.public().id().0;
        let mut agents = Vec::new();
        for i in 0..n {
            let home = AgentHome::new();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_in_waves_updates_ten_agents_and_loses_no_result() {
    let server = start(Backend::Sqlite).await.expect("sqlite always works");
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let fleet = Fleet::start(admin, &url, &packages, 10, "").await;
    let key = release_key(admin, &packages).await;
    publish_release(admin, &key, NEW, 1, &archive(None)).await;

    let id = start_rollout(admin, NEW, &["canary=1", "50%", "100%"]).await;
    let done = rollout_in(admin, &id, "done", Duration::from_secs(240)).await;
    let agents = done["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 10, "{done}");
    let waves: Vec<u64> = agents.iter().map(|a| a["wave"].as_u64().unwrap()).collect();
    assert_eq!(
        waves,
        [0, 1, 1, 1, 1, 2, 2, 2, 2, 2],
        "canary, then to 50%, then the rest"
    );
    assert!(agents.iter().all(|a| a["step"] == "healthy"), "{done}");
    for (_, _, _, agent_id) in &fleet.agents {
        wait_until("the agent reports the new version", LIMIT, || async {
            running(admin, agent_id).await == NEW
        })
        .await;
    }
    // Every result printed by either version is stored: the outbox was
    // shared across the switch.
    let produced: BTreeSet<uuid::Uuid> = fleet.printed().into_iter().collect();
    wait_until("every produced result is stored", LIMIT, || async {
        let stored: BTreeSet<uuid::Uuid> = stored_ids(&server.url).await.into_iter().collect();
        produced.is_subset(&stored)
    })
    .await;
    // Each agent runs the new version under its launcher and goes on measuring.
    let before = fleet.agent(9).printed().len();
    fleet.agent(9).wait_printed(before + 2, LIMIT);
    assert!(
        fleet
            .agent(9)
            .log
            .lock()
            .unwrap()
            .contains("its update is complete")
    );
}

both!(a_release_that_crashes_is_rolled_back_and_halts_its_rollout);
async fn a_release_that_crashes_is_rolled_back_and_halts_its_rollout(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let fleet = Fleet::start(admin, &url, &packages, 3, "").await;
    let key = release_key(admin, &packages).await;
    publish_release(admin, &key, NEW, 1, &archive(Some("crash"))).await;

    let id = start_rollout(admin, NEW, &["canary=1", "100%"]).await;
    let halted = rollout_in(admin, &id, "halted", LIMIT).await;
    let agents = halted["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "only the canary was asked: {halted}");
    assert_eq!(agents[0]["step"], "rolled_back", "{halted}");
    assert!(
        agents[0]["reason"]
            .as_str()
            .unwrap()
            .contains("exited with status 3"),
        "{halted}"
    );
    assert!(
        halted["reason"]
            .as_str()
            .unwrap()
            .contains("1 of 1 agents asked failed"),
        "{halted}"
    );
    // The canary is back on the version it ran, and measures; the others never moved.
    let canary = fleet.agent(0);
    let before = canary.printed().len();
    canary.wait_printed(before + 3, LIMIT);
    for (_, _, _, agent_id) in &fleet.agents {
        assert_ne!(running(admin, agent_id).await, NEW);
    }
    // A halted rollout offers nothing more: a desired state has no update.
    let desired = admin
        .get(&format!("/api/v1/agents/{}/desired", fleet.agents[1].3))
        .await
        .expect(200)
        .json();
    assert!(desired.get("update").is_none(), "{desired}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_trial_a_silent_release_a_mislabelled_one_and_a_downgrade_leave_the_old_version() {
    let server = start(Backend::Sqlite).await.expect("sqlite always works");
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let mut fleet = Fleet::start(
        admin,
        &url,
        &packages,
        2,
        "\n[update]\nhealth_window = \"10s\"\n",
    )
    .await;
    let key = release_key(admin, &packages).await;
    let (first, second) = (fleet.agents[0].3.clone(), fleet.agents[1].3.clone());
    publish_release(admin, &key, NEW, 1, &archive(Some("silent"))).await;

    // The launcher killed while the new version is on trial: started again,
    // it puts the old version back.
    let id = start_rollout(admin, NEW, &["1"]).await;
    let home = &fleet.agents[0].0;
    wait_until("the new version is on trial", LIMIT, || async {
        !update_state(home)["trial"]["started_at"].is_null()
    })
    .await;
    fleet.agents[0].2.take().unwrap().kill9();
    fleet.agents[0].2 = Some(RunningAgent::start(&fleet.agents[0].1));
    let halted = rollout_in(admin, &id, "halted", LIMIT).await;
    assert!(
        first_reason(&halted).contains("stopped before it delivered a result"),
        "{halted}"
    );
    fleet.agent(0).wait_printed(2, LIMIT);
    assert!(update_state(&fleet.agents[0].0)["trial"].is_null());

    // A release that starts but never delivers: rolled back when its
    // health window ends. (The first agent, which saw it fail, does not
    // try it again.)
    let id = start_rollout(admin, NEW, &["100%"]).await;
    let halted = rollout_in(admin, &id, "halted", LIMIT).await;
    let failed: Vec<&Value> = halted["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["step"] == "rolled_back")
        .collect();
    assert_eq!(failed.len(), 1, "{halted}");
    assert_eq!(failed[0]["agent_id"], second.as_str());
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("no result within its health window of 10s"),
        "{halted}"
    );
    let before = fleet.agent(1).printed().len();
    fleet.agent(1).wait_printed(before + 2, LIMIT);

    // An archive whose binary is another version than its manifest says:
    // refused before anything switches.
    publish_release(admin, &key, "9.0.1", 2, &archive(None)).await;
    let id = start_rollout(admin, "9.0.1", &["1"]).await;
    let halted = rollout_in(admin, &id, "halted", LIMIT).await;
    assert!(
        first_reason(&halted).contains("says it is `vantage-agent 9.0.0`"),
        "{halted}"
    );

    // A downgrade is refused by the agent itself.
    publish_release(admin, &key, "0.0.1", 3, &archive(None)).await;
    let id = start_rollout(admin, "0.0.1", &["1"]).await;
    let halted = rollout_in(admin, &id, "halted", LIMIT).await;
    assert_eq!(halted["agents"][0]["step"], "refused", "{halted}");
    assert!(
        first_reason(&halted).contains("refusing a downgrade"),
        "{halted}"
    );

    // Both still run the version they started with, and every result they
    // printed is stored.
    for agent_id in [&first, &second] {
        assert_ne!(running(admin, agent_id).await, NEW);
    }
    let printed = fleet.printed();
    wait_until("every printed result is stored", LIMIT, || async {
        let stored: BTreeSet<uuid::Uuid> = stored_ids(&server.url).await.into_iter().collect();
        printed.iter().all(|id| stored.contains(id))
    })
    .await;
}
