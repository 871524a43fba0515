//! The real `vantage-agent` binary, enrolled against a server (the real
//! server binary is in `process.rs`).

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

pub use super::process::{ServerProcess, free_port, stored_ids};

/// The agent binary, built by `cargo test --workspace` (or `cargo build -p vantage-agent`).
pub fn agent_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("vantage-agent");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p vantage-agent` (cargo xtask test does)",
        bin.display()
    );
    bin
}

/// The folder of signed first-party packages (`cargo xtask build-plugins`).
pub fn plugin_dir() -> PathBuf {
    let dir = std::env::var_os("VANTAGE_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"));
    assert!(
        dir.join("tcp.vpkg").is_file(),
        "no plugin packages in {}: run `cargo xtask build-plugins`",
        dir.display()
    );
    dir
}

/// A TCP listener that accepts and closes: the target of the agent's checks.
pub fn tcp_target() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let accepting = l.try_clone().unwrap();
    std::thread::spawn(move || {
        for s in accepting.incoming() {
            drop(s)
        }
    });
    (l, port)
}

/// An agent's folder: its configuration and data.
#[derive(Debug)]
pub struct AgentHome {
    pub dir: tempfile::TempDir,
}

impl AgentHome {
    pub fn new() -> AgentHome {
        AgentHome {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes `agent.toml`: a TCP check every `interval` against `port`
    /// (no checks when `port` is `None`), plus extra sections.
    pub fn config(&self, port: Option<u16>, interval: &str, extra: &str) -> PathBuf {
        let plugins = plugin_dir();
        let mut text = format!(
            "[agent]\nname = \"unused\"\ndata_dir = \"{}\"\n\n[trust]\nkeys = [\"{}\"]\n\n[plugins]\ndirs = [\"{}\"]\n\n{extra}\n",
            self.dir.path().join("data").display(),
            plugins.join("dev.pub").display(),
            plugins.display(),
        );
        if let Some(port) = port {
            text.push_str(&format!(
                "\n[[check]]\nname = \"port\"\nplugin = \"tcp\"\ntargets = [\"127.0.0.1:{port}\"]\ninterval = \"{interval}\"\n"
            ));
        }
        let path = self.dir.path().join("agent.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `vantage-agent enroll`; panics with its output when it fails.
    pub fn enroll(&self, config: &Path, server: &str, token: &str, name: &str) {
        let out = self.try_enroll(config, server, token, name, &[]);
        assert!(
            out.status.success(),
            "enroll: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let credential = self.dir.path().join("data/credential.json");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&credential).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "the credential file must be private");
    }

    pub fn try_enroll(
        &self,
        config: &Path,
        server: &str,
        token: &str,
        name: &str,
        extra: &[&str],
    ) -> std::process::Output {
        Command::new(agent_bin())
            .args(["enroll", "--config"])
            .arg(config)
            .args(["--server", server, "--token", token, "--name", name])
            .args(extra)
            .output()
            .unwrap()
    }
}

/// A running agent whose printed result ids are collected.
#[derive(Debug)]
pub struct RunningAgent {
    pub child: Child,
    pub printed: Arc<Mutex<Vec<Uuid>>>,
    /// Every printed result, whole.
    pub results: Arc<Mutex<Vec<serde_json::Value>>>,
    pub log: Arc<Mutex<String>>,
}

impl RunningAgent {
    pub fn start(config: &Path) -> RunningAgent {
        RunningAgent::start_in(None, config)
    }

    /// Starts the agent inside network namespace `netns`, if given.
    pub fn start_in(netns: Option<&str>, config: &Path) -> RunningAgent {
        let mut command = match netns {
            Some(ns) => vantage_netlab::command(ns, agent_bin()),
            None => Command::new(agent_bin()),
        };
        let mut child = command
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let printed = Arc::new(Mutex::new(Vec::new()));
        let results = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::new(Mutex::new(String::new()));
        let (p, r, stdout) = (
            printed.clone(),
            results.clone(),
            child.stdout.take().unwrap(),
        );
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: serde_json::Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                p.lock()
                    .unwrap()
                    .push(v["id"].as_str().unwrap().parse().unwrap());
                r.lock().unwrap().push(v);
            }
        });
        let (l, stderr) = (log.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = l.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        RunningAgent {
            child,
            printed,
            results,
            log,
        }
    }

    /// Whether the agent process is still running.
    pub fn child_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn printed(&self) -> Vec<Uuid> {
        self.printed.lock().unwrap().clone()
    }

    /// Printed results of `check`, in order.
    pub fn results_of(&self, check: &str) -> Vec<serde_json::Value> {
        self.results
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r["check"] == check)
            .cloned()
            .collect()
    }

    /// Waits until a result printed after the first `skip` of `check`
    /// satisfies `want`; returns how many results of `check` there are then.
    pub fn wait_result(
        &self,
        check: &str,
        skip: usize,
        limit: Duration,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> usize {
        let start = Instant::now();
        loop {
            let results = self.results_of(check);
            if let Some(i) = results.iter().skip(skip).position(&want) {
                return skip + i + 1;
            }
            assert!(
                start.elapsed() < limit,
                "no wanted result of `{check}` within {limit:?}; last: {}; log:\n{}",
                results.last().map(|r| r.to_string()).unwrap_or_default(),
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until at least `n` results were printed.
    pub fn wait_printed(&self, n: usize, limit: Duration) {
        let start = Instant::now();
        while self.printed.lock().unwrap().len() < n {
            assert!(
                start.elapsed() < limit,
                "only {} results in {limit:?}; log:\n{}",
                self.printed().len(),
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill9(mut self) -> Vec<Uuid> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        self.printed()
    }

    /// SIGTERM, then waits for the exit; returns every printed id.
    pub fn stop(mut self) -> Vec<Uuid> {
        signal(self.child.id(), libc::SIGTERM);
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the agent did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.printed()
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(unsafe_code)]
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a pid this test spawned; no memory is involved.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Asserts no id twice, and returns the set.
#[track_caller]
pub fn distinct(ids: &[Uuid]) -> BTreeSet<Uuid> {
    let set: BTreeSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "an id appears twice");
    set
}

/// Ids of the records in an agent's outbox segments (`[u32 len][u32 crc][JSON]`),
/// read after a `kill -9`: a result is produced once it is in the outbox,
/// even if the agent died before printing it.
pub fn outbox_ids(home: &AgentHome) -> Vec<Uuid> {
    let dir = home.dir.path().join("data/outbox");
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !(name.starts_with("seg-") && name.ends_with(".log")) {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        let mut at = 0;
        while at + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let Some(record) = bytes.get(at + 8..at + 8 + len) else {
                break;
            };
            if let Some(id) = serde_json::from_slice::<serde_json::Value>(record)
                .ok()
                .and_then(|v| v["id"].as_str().and_then(|s| s.parse().ok()))
            {
                ids.push(id);
            }
            at += 8 + len;
        }
    }
    ids
}
