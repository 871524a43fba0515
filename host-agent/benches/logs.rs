//! How fast `log-match` reads and matches appended lines through the
//! `logs` capability, against `grep` over the same bytes.
//!
//! `cargo bench -p vantage-agent --bench logs` (after
//! `cargo xtask build-plugins --rust`). It writes 200 000 lines of about
//! 110 bytes (1 in 100 an `ERROR`) to a temporary file the check is
//! granted, and times the runs a check needs to read them all (10 000
//! lines a run, the plugin's most; each run a fresh instance, as scheduled
//! runs are) against `grep -c -i -E '\berror\b'` over the file. Bounded:
//! one file, at most 25 runs. Prints lines per second and the ratio.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vantage_agent::caps::Scope;
use vantage_agent::host::{HostOptions, PluginHost};
use vantage_agent::plugin::VerifiedPlugin;
use vantage_agent::run::{Limits, RunRequest};
use vantage_protocol::keys::PublicKey;
use vantage_protocol::package::{Package, TrustStore};

const LINES: usize = 200_000;
const MAX_RUNS: usize = 25;

fn plugin_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = std::env::var_os("VANTAGE_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("plugins"));
    assert!(
        dir.join("log-match.vpkg").is_file(),
        "no log-match package in {}: run `cargo xtask build-plugins --rust`",
        dir.display()
    );
    dir
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "").unwrap();
    let glob = format!("{}/*.log", dir.path().display());

    let plugins = plugin_dir();
    let package =
        Package::from_bytes(&std::fs::read(plugins.join("log-match.vpkg")).unwrap()).unwrap();
    let mut trust = TrustStore::new();
    trust.add(
        PublicKey::from_file(&std::fs::read_to_string(plugins.join("dev.pub")).unwrap()).unwrap(),
    );
    let host = Arc::new(PluginHost::new(&HostOptions::default()).unwrap());
    let plugin = VerifiedPlugin::verify(package, &trust)
        .unwrap()
        .compile(&host)
        .unwrap();
    let config = serde_json::json!({
        "files": [glob],
        "patterns": [{"name": "error", "regex": "(?i)\\berror\\b"}],
        "max_events": 100,
        "max_lines": 10000,
    });
    let request = RunRequest {
        check: "bench".into(),
        target: "localhost".into(),
        config: config.to_string().into(),
        timeout: Duration::from_secs(10),
        grants: plugin.manifest().capabilities.clone(),
        scope: Arc::new(Scope::new("localhost", std::slice::from_ref(&glob)).unwrap()),
        limits: Limits::default(),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The first run records where the file ends.
    let first = rt.block_on(plugin.run(&host, "bench", &request));
    assert_eq!(first.status.as_str(), "ok", "{first:?}");

    let mut text = String::with_capacity(LINES * 112);
    for i in 0..LINES {
        let level = if i % 100 == 0 { "ERROR" } else { "INFO " };
        text.push_str(&format!(
            "2026-12-07T07:{:02}:{:02}.{:06}Z {level} worker-{:02} request {i:08} served in {:4} ms from cache\n",
            (i / 60_000) % 60,
            (i / 1000) % 60,
            i % 1_000_000,
            i % 16,
            i % 997
        ));
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let bytes = text.len();

    let (mut read, mut matched, mut runs) = (0.0, 0.0, 0);
    let start = Instant::now();
    while read < LINES as f64 && runs < MAX_RUNS {
        let r = rt.block_on(plugin.run(&host, "bench", &request));
        assert_eq!(r.status.as_str(), "ok", "{r:?}");
        let value = |metric: &str| -> f64 {
            r.samples
                .iter()
                .filter(|s| s.metric == metric)
                .map(|s| s.value)
                .sum()
        };
        read += value("lines_read");
        matched += value("lines_matched");
        runs += 1;
    }
    let agent = start.elapsed();
    assert_eq!((read as usize, matched as usize), (LINES, LINES / 100));

    let start = Instant::now();
    let grep = std::process::Command::new("grep")
        .args(["-c", "-i", "-E", "\\berror\\b"])
        .arg(&log)
        .output()
        .expect("grep runs");
    let peer = start.elapsed();
    let counted: usize = String::from_utf8_lossy(&grep.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(counted, LINES / 100);

    let rate = |d: Duration| LINES as f64 / d.as_secs_f64();
    println!(
        "{LINES} lines, {:.1} MB, {runs} runs of log-match",
        bytes as f64 / 1e6
    );
    println!(
        "log-match  {:>12.0} lines/s  ({:.1} ms)",
        rate(agent),
        agent.as_secs_f64() * 1e3
    );
    println!(
        "grep -c    {:>12.0} lines/s  ({:.1} ms)",
        rate(peer),
        peer.as_secs_f64() * 1e3
    );
    println!(
        "log-match / grep: {:.2}× the time",
        agent.as_secs_f64() / peer.as_secs_f64()
    );
}
