//! The `log-match` plugin over the `logs` capability: real files rotated
//! the two ways logrotate does, a real journal written by
//! `systemd-journal-remote` and read by `journalctl`, positions kept across
//! an agent restart, and sources outside the grant denied.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use vantage_agent::host::{HostOptions, JournalOptions, PluginHost};
use vantage_agent::plugin::CompiledPlugin;
use vantage_agent::run::RunRequest;
use vantage_protocol::result::{CheckResult, Status};

use crate::support::{compile, run};

/// An agent host whose positions and journal live in `dir`.
fn host_in(dir: &Path) -> Arc<PluginHost> {
    host_with(
        dir,
        JournalOptions {
            command: None,
            directory: Some(dir.join("journal")),
        },
    )
}

/// An agent host whose positions live in `dir`, reading the journal so.
fn host_with(dir: &Path, journal: JournalOptions) -> Arc<PluginHost> {
    Arc::new(
        PluginHost::new(&HostOptions {
            log_positions_dir: Some(dir.join("positions")),
            journal,
            ..crate::support::options()
        })
        .unwrap(),
    )
}

/// A log-match run request with `allow` entries.
fn request(plugin: &CompiledPlugin, allow: &[String], config: serde_json::Value) -> RunRequest {
    let mut request = crate::support::request(plugin, "localhost", config);
    request.scope = Arc::new(vantage_agent::caps::Scope::new("localhost", allow).unwrap());
    request
}

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn matched(r: &CheckResult, pattern: &str) -> f64 {
    r.samples
        .iter()
        .find(|s| {
            s.metric == "lines_matched"
                && s.labels.get("pattern").map(String::as_str) == Some(pattern)
        })
        .unwrap_or_else(|| panic!("no lines_matched{{pattern={pattern}}} in {r:?}"))
        .value
}

fn texts(r: &CheckResult) -> Vec<&str> {
    r.events.iter().map(|e| e.text.as_str()).collect()
}

fn config(files: &[&str], units: &[&str]) -> serde_json::Value {
    json!({
        "files": files,
        "units": units,
        "patterns": [{"name": "error", "regex": "(?i)\\berror\\b"}, {"name": "timeout", "regex": "timed out"}],
        "exclude": ["healthz"],
    })
}

#[tokio::test]
async fn log_match_counts_and_ships_lines_through_both_kinds_of_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let app = logs.join("app.log");
    append(&app, "ERROR from before the check started\n");
    let host = host_in(dir.path());
    let plugin = compile(&host, "log-match");
    let glob = format!("{}/*.log", logs.display());
    let request = request(&plugin, std::slice::from_ref(&glob), config(&[&glob], &[]));

    let first = run(&host, &plugin, &request).await;
    assert_eq!(first.status, Status::Ok, "{first:?}");
    assert_eq!(matched(&first, "error"), 0.0, "the backlog is not read");

    append(
        &app,
        "info fine\nERROR disk full\nerror GET /healthz\nupstream timed out\nError again\n",
    );
    let second = run(&host, &plugin, &request).await;
    assert_eq!(
        (matched(&second, "error"), matched(&second, "timeout")),
        (2.0, 1.0)
    );
    assert_eq!(
        texts(&second),
        ["ERROR disk full", "upstream timed out", "Error again"]
    );
    let event = &second.events[0];
    assert_eq!(event.labels["source"], app.display().to_string());
    assert_eq!(event.labels["pattern"], "error");
    let lines_read = second
        .samples
        .iter()
        .find(|s| s.metric == "lines_read")
        .unwrap();
    assert_eq!(
        (lines_read.value, lines_read.labels["source"].as_str()),
        (5.0, glob.as_str())
    );

    // Rename and create (logrotate's default), lines on both sides.
    append(&app, "ERROR last words of the old file\n");
    std::fs::rename(&app, logs.join("app.log.1")).unwrap();
    append(&app, "ERROR first of the new file\n");
    let third = run(&host, &plugin, &request).await;
    assert_eq!(
        texts(&third),
        [
            "ERROR last words of the old file",
            "ERROR first of the new file"
        ]
    );

    // copytruncate: copied away, emptied in place, written again.
    append(&app, "ERROR before the copy\n");
    let fourth = run(&host, &plugin, &request).await;
    assert_eq!(texts(&fourth), ["ERROR before the copy"]);
    std::fs::copy(&app, logs.join("app.log.2")).unwrap();
    std::fs::File::create(&app).unwrap();
    append(&app, "ERROR after the truncation\n");
    let fifth = run(&host, &plugin, &request).await;
    assert_eq!(texts(&fifth), ["ERROR after the truncation"]);
    assert!(
        fifth
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("truncated"),
        "{fifth:?}"
    );
}

#[tokio::test]
async fn positions_outlive_an_agent_restart_and_a_failed_run_reads_again() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.log");
    append(&app, "");
    let glob = format!("{}/*.log", dir.path().display());
    let before = host_in(dir.path());
    let plugin = compile(&before, "log-match");
    let r = run(
        &before,
        &plugin,
        &request(&plugin, std::slice::from_ref(&glob), config(&[&glob], &[])),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    drop((plugin, before));

    append(&app, "ERROR while the agent was down\n");
    let after = host_in(dir.path());
    let plugin = compile(&after, "log-match");
    let ok = request(&plugin, std::slice::from_ref(&glob), config(&[&glob], &[]));

    // A run that overruns its deadline (a journalctl that hangs) has read
    // the file but not finished: the next run reads the same lines.
    let hang = dir.path().join("hang.sh");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&hang, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let hanging = host_with(
        dir.path(),
        JournalOptions {
            command: Some(hang.clone()),
            directory: None,
        },
    );
    let hung_plugin = compile(&hanging, "log-match");
    let mut hung = request(
        &hung_plugin,
        &[glob.clone(), "journal:app.service".into()],
        config(&[&glob], &["app.service"]),
    );
    hung.timeout = Duration::from_millis(500);
    let failed = run(&hanging, &hung_plugin, &hung).await;
    assert_eq!(failed.status, Status::Timeout, "{failed:?}");
    drop((hung_plugin, hanging));

    let r = run(&after, &plugin, &ok).await;
    assert_eq!(texts(&r), ["ERROR while the agent was down"], "{r:?}");
    let again = run(&after, &plugin, &ok).await;
    assert!(again.events.is_empty(), "{again:?}");
}

/// Writes journal entries for `unit` (now, in order) into `dir/name.journal`
/// with systemd-journal-remote, as if journald had.
fn journal(dir: &Path, name: &str, entries: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut export = String::new();
    for (unit, message) in entries {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros();
        export.push_str(&format!(
            "__REALTIME_TIMESTAMP={now}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT={unit}\nMESSAGE={message}\n\n",
            now % 1_000_000_000
        ));
        std::thread::sleep(Duration::from_millis(2));
    }
    let out: PathBuf = dir.join(format!("{name}.journal"));
    let mut child = Command::new("/lib/systemd/systemd-journal-remote")
        .arg(format!("--output={}", out.display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-journal-remote runs (cargo xtask test installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(export.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn the_journal_of_a_granted_unit_is_read_on_from_its_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let jdir = dir.path().join("journal");
    journal(&jdir, "a", &[("nginx.service", "ERROR before the check")]);
    let host = host_in(dir.path());
    let plugin = compile(&host, "log-match");
    let request = request(
        &plugin,
        &["journal:nginx*".into()],
        config(&[], &["nginx.service"]),
    );

    let first = run(&host, &plugin, &request).await;
    assert_eq!(
        (first.status, matched(&first, "error")),
        (Status::Ok, 0.0),
        "{first:?}"
    );

    let written_ms = chrono::Utc::now().timestamp_millis();
    journal(
        &jdir,
        "a",
        &[
            ("nginx.service", "ERROR upstream reset"),
            ("other.service", "ERROR not ours"),
            ("nginx.service", "request timed out"),
        ],
    );
    let second = run(&host, &plugin, &request).await;
    assert_eq!(
        texts(&second),
        ["ERROR upstream reset", "request timed out"],
        "{second:?}"
    );
    assert_eq!(second.events[0].labels["source"], "nginx.service");
    let at = second.events[0].at.timestamp_millis();
    assert!(
        (written_ms - 1000..written_ms + 5000).contains(&at),
        "the entry's own time: {at}"
    );

    // A second journal file (journald rotates too): read across files.
    journal(&jdir, "b", &[("nginx.service", "ERROR in the next file")]);
    let third = run(&host, &plugin, &request).await;
    assert_eq!(texts(&third), ["ERROR in the next file"]);
    let fourth = run(&host, &plugin, &request).await;
    assert!(fourth.events.is_empty(), "{fourth:?}");
}

#[tokio::test]
async fn sources_outside_the_grant_are_denied() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_in(dir.path());
    let plugin = compile(&host, "log-match");
    let granted = format!("{}/*.log", dir.path().display());
    let outside = request(
        &plugin,
        &[granted.clone(), "journal:nginx.service".into()],
        config(
            &["/etc/*.conf", &format!("{}/*", dir.path().display())],
            &["ssh.service"],
        ),
    );
    let r = run(&host, &plugin, &outside).await;
    assert_eq!(r.status, Status::Error);
    let message = r.message.unwrap();
    for refused in [
        "/etc/*.conf: denied",
        "/*: denied",
        "journal:ssh.service: denied",
    ] {
        assert!(message.contains(refused), "{refused} in {message}");
    }

    // Without the capability, even the granted glob is refused.
    let mut ungranted = request(
        &plugin,
        std::slice::from_ref(&granted),
        config(&[&granted], &[]),
    );
    ungranted.grants.clear();
    let r = run(&host, &plugin, &ungranted).await;
    assert_eq!(r.status, Status::Error);
    assert!(r.message.unwrap().contains("`logs` is not granted"));
}
