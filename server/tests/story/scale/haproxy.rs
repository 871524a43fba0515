//! Debian's HAProxy in front of the replicas, run with the example an
//! operator starts from (`deploy/haproxy/haproxy.cfg`): round robin,
//! `/readyz` health checks, WebSockets tunnelled, `X-Forwarded-For` for the
//! servers' rate limit and audit, and the name of the replica that
//! answered in `x-vantage-replica`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::process::free_port;
use crate::support::required;

const BINARY: &str = "/usr/sbin/haproxy";

/// A running HAProxy, stopped when dropped.
pub(super) struct Haproxy {
    child: Child,
    /// `http://127.0.0.1:port`.
    pub(super) url: String,
    _dir: tempfile::TempDir,
}

/// The header naming the replica that answered (`r0`, `r1`, …).
pub(super) const REPLICA_HEADER: &str = "x-vantage-replica";

impl Haproxy {
    /// `None` when HAProxy is not installed and the run does not require
    /// it (`cargo xtask test` installs it).
    pub(super) fn available() -> bool {
        let there = std::path::Path::new(BINARY).exists();
        assert!(
            there || !required(),
            "{BINARY} is missing: install Debian's haproxy (cargo xtask test does)"
        );
        there
    }

    /// Balances over the replicas on `ports`, named `r0`, `r1`, … in order.
    pub(super) fn start(ports: &[u16]) -> Haproxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = config(port, ports);
        let path: PathBuf = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let check = Command::new(BINARY)
            .args(["-c", "-q", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "haproxy refuses its configuration: {}",
            crate::support::said(&check)
        );
        // -db: in the foreground, logging to stderr.
        let child = Command::new(BINARY)
            .args(["-db", "-f"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Haproxy {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// Waits until every one of `n` replicas has answered `/readyz` through
    /// the balancer (each was checked up), for up to 20 s.
    pub(super) async fn wait_all_up(&mut self, n: usize) {
        let client = super::http().build().unwrap();
        let start = Instant::now();
        let mut seen = std::collections::BTreeSet::new();
        while seen.len() < n {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("haproxy exited with {status}: see its messages above");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "only {seen:?} of {n} replicas answered through haproxy"
            );
            if let Ok(reply) = client.get(format!("{}/readyz", self.url)).send().await
                && reply.status().is_success()
                && let Some(name) = reply.headers().get(REPLICA_HEADER)
            {
                seen.insert(name.to_str().unwrap().to_owned());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The example in `deploy/haproxy/haproxy.cfg`, with its `bind` address
/// and `server` lines replaced by ours.
fn config(port: u16, replicas: &[u16]) -> String {
    let example = include_str!("../../../../deploy/haproxy/haproxy.cfg");
    let mut config = String::new();
    let (mut binds, mut servers) = (0, 0);
    for line in example.lines() {
        match line.split_whitespace().next() {
            Some("bind") => {
                binds += 1;
                config.push_str(&format!("    bind 127.0.0.1:{port}\n"));
            }
            Some("server") => {
                servers += 1;
                if servers == 1 {
                    for (i, p) in replicas.iter().enumerate() {
                        config.push_str(&format!("    server r{i} 127.0.0.1:{p} check\n"));
                    }
                }
            }
            _ => {
                config.push_str(line);
                config.push('\n');
            }
        }
    }
    assert_eq!(binds, 1, "the example binds one address");
    assert!(servers > 0, "the example lists its servers");
    assert!(
        example.contains(&format!("set-header {REPLICA_HEADER} %s")),
        "the example names the replica that answered"
    );
    config
}
