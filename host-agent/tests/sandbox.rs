//! A misbehaving plugin fails its own check with a clear status; the agent
//! and every other check carry on.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use support::{compile, host, request, run};
use tokio::sync::{mpsc, watch};
use vantage_agent::run::RunRequest;
use vantage_agent::scheduler::{Job, Scheduler};
use vantage_protocol::result::{CheckResult, Status};

fn misbehave(plugin: &vantage_agent::plugin::CompiledPlugin, mode: &str) -> RunRequest {
    let mut req = request(
        plugin,
        "127.0.0.1:9",
        json!({"mode": mode, "host": "127.0.0.2", "port": 9}),
    );
    req.check = mode.into();
    req.timeout = Duration::from_millis(700);
    req
}

fn message(r: &CheckResult) -> &str {
    r.message.as_deref().unwrap_or_default()
}

#[tokio::test]
async fn each_kind_of_misbehaviour_ends_with_a_clear_status() {
    let host = host();
    let plugin = compile(&host, "misbehave");

    let r = run(&host, &plugin, &misbehave(&plugin, "ok")).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");

    let r = run(&host, &plugin, &misbehave(&plugin, "loop")).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert_eq!(message(&r), "run exceeded its deadline of 700ms");
    assert!(
        r.duration < 1.5,
        "the loop was stopped late: {}",
        r.duration
    );

    let r = run(&host, &plugin, &misbehave(&plugin, "alloc")).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(message(&r).contains("memory limit of 64 MiB"), "{r:?}");

    let r = run(&host, &plugin, &misbehave(&plugin, "trap")).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(message(&r).starts_with("plugin trapped:"), "{r:?}");
    assert!(
        message(&r).contains("panicked"),
        "the panic message is kept: {r:?}"
    );

    let r = run(&host, &plugin, &misbehave(&plugin, "huge-output")).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(message(&r).contains("exceeds the cap"), "{r:?}");

    let r = run(&host, &plugin, &misbehave(&plugin, "ungranted")).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(
        message(&r).contains("capability `http` is not granted"),
        "{r:?}"
    );

    let r = run(&host, &plugin, &misbehave(&plugin, "off-target")).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(
        message(&r).contains("`127.0.0.2` is outside this check's scope"),
        "{r:?}"
    );

    let r = run(&host, &plugin, &misbehave(&plugin, "log-flood")).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(
        message(&r).contains("budget of 10000 host operations"),
        "{r:?}"
    );

    // A grant narrower than the manifest's request fails at the denied call.
    let mut narrowed = request(
        &plugin,
        "127.0.0.1:9",
        json!({"mode": "off-target", "host": "127.0.0.1", "port": 9}),
    );
    narrowed.grants.clear();
    let r = run(&host, &plugin, &narrowed).await;
    assert!(
        message(&r).contains("capability `tcp` is not granted"),
        "{r:?}"
    );

    // The operator may widen the scope: then the same call goes through.
    let listener = std::net::TcpListener::bind("127.0.0.3:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut widened = request(
        &plugin,
        "127.0.0.1:9",
        json!({"mode": "off-target", "host": "127.0.0.3", "port": port}),
    );
    widened.scope = std::sync::Arc::new(
        vantage_agent::caps::Scope::new("127.0.0.1:9", &["127.0.0.0/29".into()]).unwrap(),
    );
    let r = run(&host, &plugin, &widened).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(message(&r), format!("connected to 127.0.0.3:{port}"));

    // After all that the same compiled plugin still runs cleanly.
    let r = run(&host, &plugin, &misbehave(&plugin, "ok")).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
}

#[tokio::test]
async fn misbehaving_checks_do_not_disturb_the_others() {
    let host = host();
    let plugin = compile(&host, "misbehave");
    let interval = Duration::from_millis(400);
    let modes = [
        "ok",
        "loop",
        "alloc",
        "trap",
        "huge-output",
        "ungranted",
        "off-target",
        "log-flood",
    ];
    let jobs: Vec<Job> = modes
        .iter()
        .map(|mode| {
            let mut request = misbehave(&plugin, mode);
            request.timeout = Duration::from_millis(300);
            Job {
                plugin: plugin.clone(),
                request,
                interval,
                jitter: Duration::ZERO,
            }
        })
        .collect();
    let scheduler = Scheduler::new(host.clone(), "test-agent", 16);
    let (tx, mut rx) = mpsc::channel(1024);
    let (stop_tx, stop) = watch::channel(false);
    let running = tokio::spawn(async move { scheduler.run_forever(jobs, tx, stop).await });
    tokio::time::sleep(Duration::from_millis(2100)).await;
    stop_tx.send(true).unwrap();
    running.await.unwrap();

    let mut by_check: HashMap<String, Vec<CheckResult>> = HashMap::new();
    while let Ok(r) = rx.try_recv() {
        by_check.entry(r.check.clone()).or_default().push(r);
    }
    // Slots at 0, 400, …, 2000 ms: six runs each, or five if the last was cut.
    for mode in modes {
        let runs = by_check.get(mode).map(Vec::len).unwrap_or(0);
        assert!((5..=6).contains(&runs), "{mode}: {runs} runs");
    }
    let ok = &by_check["ok"];
    assert!(ok.iter().all(|r| r.status == Status::Ok), "{ok:?}");
    let starts: Vec<_> = ok.iter().map(|r| r.started_at).collect();
    for (k, start) in starts.iter().enumerate() {
        let offset = (*start - starts[0]).to_std().unwrap();
        let expected = interval * k as u32;
        let drift = offset.abs_diff(expected);
        assert!(
            drift < Duration::from_millis(100),
            "run {k} drifted by {drift:?}"
        );
    }
    for mode in modes.iter().filter(|m| **m != "ok") {
        assert!(
            by_check[*mode].iter().all(|r| r.status != Status::Ok),
            "{mode} passed: {:?}",
            by_check[*mode]
        );
    }
}

/// Precompiled native code is loaded only when its tag verifies under the
/// agent's own key: someone who can write the cache and swaps in another
/// package's artifact (with its tag) gets a recompile, never their code.
#[tokio::test]
async fn a_tampered_artifact_cache_is_compiled_again_never_loaded() {
    use std::os::unix::fs::PermissionsExt as _;
    use vantage_agent::host::{HostOptions, PluginHost};

    let cache = tempfile::tempdir().unwrap();
    let options = HostOptions {
        cache_dir: Some(cache.path().to_owned()),
        max_instances: 4,
        ..HostOptions::default()
    };
    let artifact = |name: &str, ext: &str| {
        let digest = support::package(name).digest().to_string();
        std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.extension().is_some_and(|e| e == ext)
                    && p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(&digest)
            })
            .unwrap_or_else(|| panic!("no .{ext} for {name}"))
    };
    {
        let host = PluginHost::new(&options).unwrap();
        compile(&host, "misbehave");
        compile(&host, "tcp");
    }
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache.path().join("artifact.key")), 0o600);
    assert_eq!(mode(&artifact("misbehave", "cwasm")), 0o600);

    // The tcp plugin's native code, and its valid tag, under misbehave's name.
    let foreign = std::fs::read(artifact("tcp", "cwasm")).unwrap();
    std::fs::copy(artifact("tcp", "cwasm"), artifact("misbehave", "cwasm")).unwrap();
    std::fs::copy(artifact("tcp", "mac"), artifact("misbehave", "mac")).unwrap();

    let host = PluginHost::new(&options).unwrap();
    let plugin = compile(&host, "misbehave");
    let r = run(&host, &plugin, &misbehave(&plugin, "ok")).await;
    assert_eq!(r.status, Status::Ok, "misbehave's own code ran: {r:?}");
    assert_ne!(
        std::fs::read(artifact("misbehave", "cwasm")).unwrap(),
        foreign,
        "the swapped artifact was replaced by a fresh compile"
    );
}
