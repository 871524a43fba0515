//! `cargo xtask bench update [AGENTS]`: a rollout over a fleet of agents
//! on loopback (10 by default), each running a TCP check every 200 ms.
//! Two figures: the time from `rollout start` to every agent healthy on the
//! new version (`--wait 0s`, waves canary=1,50%,100%), and each agent's
//! missed schedule across its update — the longest gap between two of its
//! results, less the interval — against the same gap across a plain
//! restart (SIGTERM, start again), the peer. Debug builds: the agent as
//! built and the update stories' 9.0.0 build (`update_agent.rs`); the
//! archive a rollout downloads is the debug binary's.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use vantage_protocol::keys::SigningKeyPair;
use vantage_protocol::update::{AGENT_PRODUCT, ReleaseBody, SignedRelease};

use super::record::{Figure, Record};
use crate::demo::{Admin, Server, lifeline};
use crate::{cargo, packages, run, update_agent};

const INTERVAL: Duration = Duration::from_millis(200);
const GROUP: &str = "bench-fleet";
/// The longest the bench waits for any one step.
const LIMIT: Duration = Duration::from_secs(300);

/// One agent: its folder, configuration, process and the `started_at` of
/// every result it printed.
struct Agent {
    name: String,
    config: PathBuf,
    bin: PathBuf,
    child: Option<Child>,
    starts: Arc<Mutex<Vec<DateTime<Utc>>>>,
}

impl Agent {
    fn start(&mut self) -> anyhow::Result<()> {
        let mut child = lifeline::tie(
            Command::new(&self.bin)
                .args(["run", "--config"])
                .arg(&self.config)
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )
        .spawn()
        .with_context(|| format!("starting {}", self.name))?;
        let stdout = child.stdout.take().context("the agent's stdout")?;
        let starts = self.starts.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if let Some(t) = v["started_at"].as_str().and_then(|t| t.parse().ok()) {
                    starts.lock().unwrap_or_else(|p| p.into_inner()).push(t);
                }
            }
        });
        self.child = Some(child);
        Ok(())
    }

    fn printed(&self) -> usize {
        self.starts.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn wait_printed(&self, n: usize) -> anyhow::Result<()> {
        let start = Instant::now();
        while self.printed() < n {
            if start.elapsed() > LIMIT {
                bail!(
                    "{} printed {} results, not {n}, in {LIMIT:?}",
                    self.name,
                    self.printed()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// SIGTERM, and the exit.
    fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            lifeline::send(child.id(), libc::SIGTERM)?;
            child.wait()?;
        }
        Ok(())
    }

    /// The longest gap between two results started within `[from, to]`,
    /// less the interval: the schedule missed, in milliseconds.
    fn missed_ms(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
        let mut starts: Vec<DateTime<Utc>> = self
            .starts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .filter(|t| *t >= from && *t <= to)
            .collect();
        starts.sort();
        let gap = starts
            .windows(2)
            .map(|w| (w[1] - w[0]).num_microseconds().unwrap_or(0) as f64 / 1000.0)
            .fold(0.0, f64::max);
        (gap - INTERVAL.as_secs_f64() * 1000.0).max(0.0)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub(crate) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let n: usize = match args.first() {
        Some(n) => n
            .parse()
            .context("usage: cargo xtask bench update [AGENTS]")?,
        None => 10,
    };
    if !(2..=50).contains(&n) {
        bail!("between 2 and 50 agents");
    }
    let record = Record::begin(root, "update");
    let update_bin = update_agent::build(root)?;
    run(cargo().current_dir(root).args([
        "build",
        "--workspace",
        "--bin",
        "vantage-agent",
        "--bin",
        "vantage-server",
    ]))?;
    let plugins = packages::build_plugins_with(root, packages::Plugins::Rust, None)?;
    let bin = root.join("target/debug");
    let dir = root.join("target/bench/update");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let password = "bench-update-password";
    let server = Server::start(&bin, &dir, 0, password, "")?;
    let mut admin = Admin::login(server.addr, password)?;
    let root_key = admin.registry(&plugins, &["tcp"])?;
    let signer = SigningKeyPair::from_file(&std::fs::read_to_string(plugins.join("dev.key"))?)?;

    let target = TcpListener::bind("127.0.0.1:0")?;
    let port = target.local_addr()?.port();
    let accepting = target.try_clone()?;
    std::thread::spawn(move || {
        for s in accepting.incoming() {
            drop(s);
        }
    });
    admin.assign(&[serde_json::json!({
        "name": "bench-port", "plugin": "tcp", "version": "*",
        "targets": [format!("127.0.0.1:{port}")], "interval": "200ms",
        "grants": ["tcp"], "agents": {"groups": [GROUP]},
    })])?;

    let mut agents = Vec::new();
    for i in 0..n {
        let name = format!("bench-{i:02}");
        let home = dir.join(&name);
        std::fs::create_dir_all(&home)?;
        let config = home.join("agent.toml");
        std::fs::write(
            &config,
            format!(
                "[agent]\nname = \"{name}\"\ndata_dir = \"{}\"\n\n[server]\nheartbeat = \"1s\"\nmax_backoff = \"1s\"\nconfig_wait = \"10s\"\n",
                home.join("data").display()
            ),
        )?;
        let token = admin.enrollment_token()?;
        run(Command::new(bin.join("vantage-agent"))
            .args(["enroll", "--config"])
            .arg(&config)
            .args([
                "--server",
                &format!("http://{}", server.addr),
                "--token",
                &token,
                "--name",
                &name,
            ])
            .args(["--trust-root", &root_key])
            .stdout(Stdio::null()))?;
        let mut agent = Agent {
            name,
            config,
            bin: bin.join("vantage-agent"),
            child: None,
            starts: Arc::default(),
        };
        agent.start()?;
        agents.push(agent);
    }
    let names: Vec<&str> = agents.iter().map(|a| a.name.as_str()).collect();
    admin.join(&names, GROUP)?;
    for agent in &agents {
        agent.wait_printed(5)?;
    }

    // The peer: a plain restart of each agent.
    let mut restart_ms = Vec::new();
    for agent in &mut agents {
        let from = Utc::now();
        let before = agent.printed();
        agent.stop()?;
        agent.start()?;
        agent.wait_printed(before + 5)?;
        restart_ms.push(agent.missed_ms(from - chrono::Duration::seconds(1), Utc::now()));
    }

    // The release, signed with the development root, and the rollout.
    let archive = archive(&update_bin, &dir)?;
    let sha256 = hex::encode(Sha256::digest(&archive));
    admin.send_bytes(
        "PUT",
        &format!("/api/v1/releases/blobs/{sha256}"),
        &archive,
        "uploading the archive",
    )?;
    let now = Utc::now();
    let body = ReleaseBody {
        product: AGENT_PRODUCT.into(),
        version: update_agent::VERSION.parse()?,
        platform: host_platform()?,
        sha256,
        size: archive.len() as u64,
        min_version: None,
        seq: 1,
        issued_at: now,
        expires_at: now + chrono::Duration::days(1),
    };
    admin.post(
        "/api/v1/releases",
        &serde_json::json!(SignedRelease::sign(&body, &signer)),
        "publishing the release",
    )?;
    let from = Utc::now();
    let clock = Instant::now();
    let started = admin.post(
        "/api/v1/rollouts",
        &serde_json::json!({"version": update_agent::VERSION, "group": GROUP,
            "waves": ["canary=1", "50%", "100%"], "wait": "0s", "max_failures_percent": 0}),
        "starting the rollout",
    )?;
    let id = started["id"]
        .as_str()
        .context("a rollout without an id")?
        .to_owned();
    loop {
        let view = admin.get(&format!("/api/v1/rollouts/{id}"), "reading the rollout")?;
        match view["state"].as_str() {
            Some("done") => break,
            Some("running") if clock.elapsed() < LIMIT => {}
            _ => bail!("the rollout did not finish: {view}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let rollout_s = clock.elapsed().as_secs_f64();
    for agent in &agents {
        let before = agent.printed();
        agent.wait_printed(before + 5)?;
    }
    let to = Utc::now();
    let update_ms: Vec<f64> = agents.iter().map(|a| a.missed_ms(from, to)).collect();

    let median = |v: &[f64]| -> f64 {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    println!(
        "rollout start → {n} agents healthy on {}: {rollout_s:.1} s",
        update_agent::VERSION
    );
    println!(
        "missed schedule per agent: update median {:.0} ms, max {:.0} ms; plain restart median {:.0} ms, max {:.0} ms",
        median(&update_ms),
        max(&update_ms),
        median(&restart_ms),
        max(&restart_ms)
    );
    record.append(
        root,
        &[
            Figure::new(
                format!("rollout start to {n} agents healthy, wait 0s (debug)"),
                rollout_s,
                "s",
            ),
            Figure::new(
                format!("missed schedule per update, median of {n} (debug)"),
                median(&update_ms),
                "ms",
            )
            .against(median(&restart_ms)),
            Figure::new(
                format!("missed schedule per update, max of {n} (debug)"),
                max(&update_ms),
                "ms",
            )
            .against(max(&restart_ms)),
        ],
    )?;
    for agent in &mut agents {
        agent.stop()?;
    }
    drop(server);
    Ok(())
}

/// The Rust target triple of this machine.
fn host_platform() -> anyhow::Result<String> {
    crate::host_triple()
}

/// A release archive holding `bin` as `bin/vantage-agent`.
fn archive(bin: &Path, dir: &Path) -> anyhow::Result<Vec<u8>> {
    let top = dir.join("release");
    std::fs::create_dir_all(top.join("bin"))?;
    std::fs::copy(bin, top.join("bin/vantage-agent"))?;
    let out = dir.join("release.tar.gz");
    run(Command::new("tar")
        .arg("czf")
        .arg(&out)
        .arg("-C")
        .arg(dir)
        .arg("release"))?;
    Ok(std::fs::read(out)?)
}
