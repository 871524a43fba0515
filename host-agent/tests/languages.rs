//! The example plugins in Python, JavaScript and C (`plugins/examples/`),
//! built from registry toolchains by `cargo xtask build-plugins`, signed like
//! the Rust ones and run by the real host against real local services: each
//! reports real results on a good target and a clear failure on a bad one.
//! A Python plugin's endless loop and memory bomb are contained like a Rust
//! plugin's.

mod support;

use std::time::Duration;

use serde_json::json;
use support::net::{self, TestCa};
use support::{compile, host, request, run, value};
use vantage_agent::host::{HostOptions, PluginHost};
use vantage_protocol::result::{CheckResult, Status};

fn message(r: &CheckResult) -> &str {
    r.message.as_deref().unwrap_or_default()
}

#[tokio::test]
async fn c_tcp_banner_reads_and_checks_the_banner() {
    let host = host();
    let plugin = compile(&host, "example-tcp-banner");
    assert_eq!(plugin.manifest().version.to_string(), "0.1.0");
    let ssh = net::tcp_banner(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n").await;

    let r = run(
        &host,
        &plugin,
        &request(&plugin, &ssh.to_string(), json!({"expect": "SSH-2.0-"})),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.plugin, "example-tcp-banner");
    assert_eq!(value(&r, "banner_bytes"), Some(30.0), "{r:?}");
    let connect = value(&r, "connect_time").unwrap();
    let first_byte = value(&r, "first_byte_time").unwrap();
    assert!(connect > 0.0 && connect < 1.0, "{r:?}");
    assert!((0.0..1.0).contains(&first_byte), "{r:?}");

    // The port comes from the configuration when the target names none.
    let r = run(
        &host,
        &plugin,
        &request(
            &plugin,
            "127.0.0.1",
            json!({"port": ssh.port(), "read_max": 7}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(value(&r, "banner_bytes"), Some(7.0), "{r:?}");

    // A banner that says something else fails with what it said.
    let smtp = net::tcp_banner(b"220 mail.example.test ESMTP\r\n").await;
    let r = run(
        &host,
        &plugin,
        &request(&plugin, &smtp.to_string(), json!({"expect": "SSH-2.0-"})),
    )
    .await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert_eq!(
        message(&r),
        r#"banner does not contain "SSH-2.0-": got "220 mail.example.test ESMTP\r\n""#
    );
    assert!(value(&r, "connect_time").is_some(), "{r:?}");

    // Nothing listening: refused, with the address in the message.
    let closed = format!("127.0.0.1:{}", net::closed_port());
    let r = run(&host, &plugin, &request(&plugin, &closed, json!({}))).await;
    assert_eq!(r.status, Status::Refused, "{r:?}");
    assert!(message(&r).contains(&closed), "{r:?}");

    // A target the plugin cannot read.
    let r = run(
        &host,
        &plugin,
        &request(&plugin, "127.0.0.1:http", json!({})),
    )
    .await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert_eq!(message(&r), "target `127.0.0.1:http` has a bad port");
}

#[tokio::test]
async fn c_tcp_banner_times_out_on_a_silent_service() {
    let host = host();
    let plugin = compile(&host, "example-tcp-banner");
    // Accepts and never speaks.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let r = run(
        &host,
        &plugin,
        &request(&plugin, &addr.to_string(), json!({"timeout_ms": 300})),
    )
    .await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert_eq!(message(&r), format!("no banner from {addr} in time"));
    assert!(r.duration < 2.0, "{r:?}");
}

#[tokio::test]
async fn js_tls_expiry_reads_the_certificate_and_warns_before_it_expires() {
    // A server whose certificate expires in 10 days (at midnight UTC).
    let ca = TestCa::with_leaf_valid_for_days(10);
    let addr = net::http_server(Some(ca.server.clone())).await;
    let host = PluginHost::new(&HostOptions {
        extra_ca_files: vec![ca.ca_pem_file.clone()],
        ..support::options()
    })
    .unwrap();
    let plugin = compile(&host, "example-tls-expiry");
    let day = 86_400.0;

    let url = format!("https://{addr}/ok");
    let r = run(
        &host,
        &plugin,
        &request(&plugin, &url, json!({"warn_days": 7})),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let expiry = value(&r, "cert_expiry").unwrap();
    assert!(expiry > 9.0 * day && expiry <= 10.0 * day, "{r:?}");
    assert_eq!(value(&r, "status_code"), Some(200.0), "{r:?}");
    let tls = value(&r, "tls_time").unwrap();
    assert!(
        tls > 0.0 && tls <= value(&r, "total_time").unwrap(),
        "{r:?}"
    );

    // Within the default 14 days: an error naming the host and the limit,
    // with the samples still reported. host:port becomes https://host:port/.
    let r = run(
        &host,
        &plugin,
        &request(&plugin, &addr.to_string(), json!({})),
    )
    .await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(
        message(&r).starts_with("certificate of 127.0.0.1 (")
            && message(&r).ends_with("within warn_days 14"),
        "{r:?}"
    );
    assert!(value(&r, "cert_expiry").unwrap() > 9.0 * day, "{r:?}");

    // An accepted status list that the answer misses.
    let r = run(
        &host,
        &plugin,
        &request(
            &plugin,
            &format!("https://{addr}/teapot"),
            json!({"warn_days": 1, "expect_status": ["2xx"]}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(
        message(&r).starts_with("status 418 from https://127.0.0.1:"),
        "{r:?}"
    );

    // Bad targets: plain http, nothing listening, an untrusted certificate.
    let r = run(
        &host,
        &plugin,
        &request(&plugin, &format!("http://{addr}/"), json!({})),
    )
    .await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(message(&r).contains("is not an https URL"), "{r:?}");
    let closed = format!("https://127.0.0.1:{}/", net::closed_port());
    let r = run(&host, &plugin, &request(&plugin, &closed, json!({}))).await;
    assert_eq!(r.status, Status::Refused, "{r:?}");
    let untrusting = support::host();
    let plugin = compile(&untrusting, "example-tls-expiry");
    let r = run(&untrusting, &plugin, &request(&plugin, &url, json!({}))).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(message(&r).starts_with("tls failed:"), "{r:?}");
}

#[tokio::test]
async fn python_http_keyword_checks_the_body_and_the_json() {
    let host = host();
    let plugin = compile(&host, "example-http-keyword");
    let addr = net::http_server(None).await;
    let ok = format!("http://{addr}/ok");

    let r = run(
        &host,
        &plugin,
        &request(&plugin, &ok, json!({"keyword": "from vantage"})),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.plugin, "example-http-keyword");
    assert_eq!(value(&r, "status_code"), Some(200.0), "{r:?}");
    assert_eq!(value(&r, "body_size"), Some(24.0), "{r:?}");
    let total = value(&r, "total_time").unwrap();
    let first_byte = value(&r, "first_byte_time").unwrap();
    assert!(
        first_byte > 0.0 && first_byte <= total && total < 1.0,
        "{r:?}"
    );

    let r = run(
        &host,
        &plugin,
        &request(&plugin, &ok, json!({"keyword": "goodbye"})),
    )
    .await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert_eq!(
        message(&r),
        "body does not contain 'goodbye' (24 bytes read)"
    );

    // JSON assertions: a pointer into the document, and its expected value.
    let health = format!("http://{addr}/status.json");
    let r = run(
        &host,
        &plugin,
        &request(
            &plugin,
            &health,
            json!({"json_pointer": "/checks/0/ok", "json_equals": true}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let r = run(
        &host,
        &plugin,
        &request(
            &plugin,
            &health,
            json!({"json_pointer": "/checks/1/ok", "json_equals": true}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert_eq!(
        message(&r),
        "JSON at '/checks/1/ok' is false, expected true"
    );
    let r = run(
        &host,
        &plugin,
        &request(
            &plugin,
            &ok,
            json!({"json_pointer": "/status", "json_equals": "up"}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(message(&r).starts_with("body is not JSON ("), "{r:?}");

    // Status expectations, and a target that is not there.
    let teapot = format!("http://{addr}/teapot");
    let r = run(&host, &plugin, &request(&plugin, &teapot, json!({}))).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert_eq!(message(&r), "status 418 is not 2xx or 3xx");
    assert_eq!(value(&r, "status_code"), Some(418.0), "{r:?}");
    let r = run(
        &host,
        &plugin,
        &request(&plugin, &teapot, json!({"expect_status": [418]})),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let closed = format!("http://127.0.0.1:{}/", net::closed_port());
    let r = run(&host, &plugin, &request(&plugin, &closed, json!({}))).await;
    assert_eq!(r.status, Status::Refused, "{r:?}");
    assert_eq!(message(&r), "the target refused the connection");
}

fn misbehave_py(
    plugin: &vantage_agent::plugin::CompiledPlugin,
    mode: &str,
) -> vantage_agent::run::RunRequest {
    let mut req = request(plugin, "127.0.0.1:9", json!({"mode": mode}));
    req.check = mode.into();
    req.timeout = Duration::from_millis(700);
    req
}

/// The foundation's sandbox tests, for a CPython interpreter inside the
/// component: a pure-Python endless loop and unbounded allocation.
#[tokio::test]
async fn a_python_plugin_is_contained_like_a_rust_one() {
    let host = host();
    let plugin = compile(&host, "misbehave-py");

    let r = run(&host, &plugin, &misbehave_py(&plugin, "ok")).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(value(&r, "value"), Some(1.0), "{r:?}");

    let r = run(&host, &plugin, &misbehave_py(&plugin, "loop")).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert_eq!(message(&r), "run exceeded its deadline of 700ms");
    assert!(
        r.duration < 1.5,
        "the loop was stopped late: {}",
        r.duration
    );

    let r = run(&host, &plugin, &misbehave_py(&plugin, "alloc")).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(message(&r).contains("memory limit of 64 MiB"), "{r:?}");

    // The instance is gone with its run: the next one starts clean.
    let r = run(&host, &plugin, &misbehave_py(&plugin, "ok")).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
}

/// CPython inside a component is an 18 MB compile: the agent does it once per
/// package version and loads the artifact on every later start.
#[tokio::test]
async fn a_heavy_runtime_is_compiled_once_per_version() {
    use vantage_agent::plugin::VerifiedPlugin;
    use vantage_protocol::keys::SigningKeyPair;
    use vantage_protocol::package::Package;

    let cache = tempfile::tempdir().unwrap();
    let options = HostOptions {
        cache_dir: Some(cache.path().to_owned()),
        max_instances: 4,
        ..HostOptions::default()
    };
    let artifacts = || {
        let mut found: Vec<_> = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
            .map(|p| {
                let modified = std::fs::metadata(&p).unwrap().modified().unwrap();
                (p, modified)
            })
            .collect();
        found.sort();
        found
    };
    let package = support::package("misbehave-py");
    let compile_and_run = |package: Package| async {
        let host = PluginHost::new(&options).unwrap();
        let plugin = VerifiedPlugin::verify(package, &support::trust())
            .unwrap()
            .compile(&host)
            .unwrap();
        let r = run(&host, &plugin, &misbehave_py(&plugin, "ok")).await;
        assert_eq!(r.status, Status::Ok, "{r:?}");
        r
    };

    compile_and_run(package.clone()).await;
    let first = artifacts();
    assert_eq!(first.len(), 1, "{first:?}");
    // A second agent start loads the artifact: it is not written again.
    compile_and_run(package.clone()).await;
    assert_eq!(artifacts(), first);

    // A new version is a new package digest, hence a compile of its own.
    let key = std::fs::read_to_string(support::plugin_dir().join("dev.key")).unwrap();
    let mut manifest = package.manifest().clone();
    manifest.version = semver::Version::new(0, 1, 1);
    let mut next = Package::new(manifest, package.component().to_vec()).unwrap();
    next.sign(&SigningKeyPair::from_file(&key).unwrap());
    let r = compile_and_run(next).await;
    assert_eq!(r.plugin_version, "0.1.1");
    let both = artifacts();
    assert_eq!(both.len(), 2, "{both:?}");
    assert!(
        both.contains(&first[0]),
        "the first version's artifact is kept"
    );
}
