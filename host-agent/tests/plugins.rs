//! Each first-party plugin, run by the real host against real local services.

mod support;

#[path = "plugins/log_match.rs"]
mod log_match;
#[path = "plugins/prometheus.rs"]
mod prometheus;

use std::time::Duration;

use serde_json::json;
use support::net::{self, Dnsmasq, DroppingNamespace, TestCa};
use support::{compile, host, request, run, value};
use vantage_agent::host::{HostOptions, PluginHost};
use vantage_protocol::result::Status;

#[tokio::test]
async fn tcp_reports_connect_time_banner_refusal_and_timeout() {
    let host = host();
    let tcp = compile(&host, "tcp");
    let open = net::tcp_banner(b"SSH-2.0-test\r\n").await;

    let r = run(
        &host,
        &tcp,
        &request(&tcp, &open.to_string(), json!({"expect": "SSH-2.0"})),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let connect = value(&r, "connect_time").expect("connect_time");
    assert!(connect > 0.0 && connect < 1.0, "{connect}");
    assert!(value(&r, "first_byte_time").is_some());
    assert_eq!(
        (r.plugin.as_str(), r.plugin_version.as_str()),
        ("tcp", "0.1.0")
    );

    let r = run(
        &host,
        &tcp,
        &request(&tcp, &open.to_string(), json!({"expect": "HTTP/1.1"})),
    )
    .await;
    assert_eq!(r.status, Status::Error);
    assert!(
        r.message
            .as_deref()
            .unwrap_or_default()
            .contains("HTTP/1.1"),
        "{r:?}"
    );

    let closed = format!("127.0.0.1:{}", net::closed_port());
    let r = run(&host, &tcp, &request(&tcp, &closed, json!({}))).await;
    assert_eq!(r.status, Status::Refused, "{r:?}");

    // IPv6 targets work the same way.
    let v6 = tokio::net::TcpListener::bind("[::1]:0").await.unwrap();
    let target = v6.local_addr().unwrap().to_string();
    let r = run(&host, &tcp, &request(&tcp, &target, json!({}))).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.target, target);

    let ns = DroppingNamespace::create(1);
    let mut req = request(&tcp, &format!("{}:80", ns.addr), json!({"timeout_ms": 500}));
    req.timeout = Duration::from_secs(3);
    let r = run(&host, &tcp, &req).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert!(r.duration >= 0.45 && r.duration < 2.5, "{}", r.duration);
}

#[tokio::test]
async fn udp_measures_round_trips_and_loss() {
    let host = host();
    let udp = compile(&host, "udp");
    let echo = net::udp_echo().await;
    let config = json!({"payload": "hello", "expect": "hello", "count": 3, "interval_ms": 10});
    let r = run(&host, &udp, &request(&udp, &echo.to_string(), config)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(value(&r, "loss"), Some(0.0));
    let rtts = &r
        .distributions_of("rtt")
        .next()
        .expect("an rtt distribution")
        .values;
    assert_eq!(rtts.len(), 3, "{r:?}");
    assert!(rtts.iter().all(|v| *v > 0.0 && *v < 0.5));

    // Nothing listens: the kernel's ICMP port-unreachable makes it refused.
    let closed = format!("127.0.0.1:{}", net::closed_port());
    let r = run(
        &host,
        &udp,
        &request(&udp, &closed, json!({"timeout_ms": 300})),
    )
    .await;
    assert_eq!(r.status, Status::Refused, "{r:?}");
    assert_eq!(value(&r, "loss"), Some(1.0), "{r:?}");
}

#[tokio::test]
async fn dns_resolves_against_a_real_server() {
    let host = host();
    let dns = compile(&host, "dns");
    let server = Dnsmasq::start(&[
        "--address=/web.vantage.test/10.9.8.7",
        "--txt-record=txt.vantage.test,\"v=vantage1\"",
    ]);
    let target = server.addr.to_string();

    let r = run(
        &host,
        &dns,
        &request(
            &dns,
            &target,
            json!({"name": "web.vantage.test", "expect": ["10.9.8.7"]}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(value(&r, "answers"), Some(1.0));
    assert!(value(&r, "lookup_time").unwrap() > 0.0);

    let r = run(
        &host,
        &dns,
        &request(
            &dns,
            &target,
            json!({"name": "txt.vantage.test", "type": "TXT"}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");

    let r = run(
        &host,
        &dns,
        &request(
            &dns,
            &target,
            json!({"name": "web.vantage.test", "tcp": true}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "over TCP: {r:?}");

    let r = run(
        &host,
        &dns,
        &request(
            &dns,
            &target,
            json!({"name": "web.vantage.test", "expect": ["1.1.1.1"]}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Error);
    assert!(
        r.message.as_deref().unwrap_or_default().contains("1.1.1.1"),
        "{r:?}"
    );

    let r = run(
        &host,
        &dns,
        &request(&dns, &target, json!({"name": "nothing.invalid"})),
    )
    .await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(
        r.message
            .as_deref()
            .unwrap_or_default()
            .contains("NXDOMAIN")
            || r.message.as_deref().unwrap_or_default().contains("REFUSED"),
        "{r:?}"
    );
}

#[tokio::test]
async fn http_follows_redirects_checks_status_and_times_each_phase() {
    let host = host();
    let http = compile(&host, "http");
    let addr = net::http_server(None).await;

    let r = run(
        &host,
        &http,
        &request(
            &http,
            &format!("http://{addr}/redirect"),
            json!({"body_contains": "vantage"}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(value(&r, "status_code"), Some(200.0));
    assert_eq!(value(&r, "redirects"), Some(1.0));
    let phases = ["dns_time", "connect_time", "first_byte_time"].map(|m| value(&r, m).unwrap());
    assert!(
        phases.windows(2).all(|w| w[0] <= w[1]),
        "phases out of order: {phases:?}"
    );
    assert!(value(&r, "total_time").unwrap() >= phases[2]);

    let r = run(
        &host,
        &http,
        &request(&http, &format!("http://{addr}/teapot"), json!({})),
    )
    .await;
    assert_eq!(r.status, Status::Error);
    assert!(
        r.message.as_deref().unwrap_or_default().contains("418"),
        "{r:?}"
    );
    let r = run(
        &host,
        &http,
        &request(
            &http,
            &format!("http://{addr}/teapot"),
            json!({"expect_status": [418]}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");

    // A redirect to another host leaves the check's scope.
    let r = run(
        &host,
        &http,
        &request(&http, &format!("http://{addr}/away"), json!({})),
    )
    .await;
    assert_eq!(r.status, Status::Error);
    assert!(
        r.message.as_deref().unwrap_or_default().contains("outside"),
        "{r:?}"
    );

    let mut req = request(
        &http,
        &format!("http://{addr}/slow"),
        json!({"timeout_ms": 400}),
    );
    req.timeout = Duration::from_secs(2);
    let r = run(&host, &http, &req).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");

    let r = run(
        &host,
        &http,
        &request(
            &http,
            &format!("http://127.0.0.1:{}/", net::closed_port()),
            json!({}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Refused, "{r:?}");
}

#[tokio::test]
async fn https_verifies_against_the_configured_ca_and_reports_tls_timing() {
    let ca = TestCa::new();
    let addr = net::http_server(Some(ca.server.clone())).await;
    let url = format!("https://{addr}/ok");

    let trusting = PluginHost::new(&HostOptions {
        extra_ca_files: vec![ca.ca_pem_file.clone()],
        ..support::options()
    })
    .unwrap();
    let http = compile(&trusting, "http");
    let r = run(&trusting, &http, &request(&http, &url, json!({}))).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let phases = [
        "dns_time",
        "connect_time",
        "tls_time",
        "first_byte_time",
        "total_time",
    ]
    .map(|m| value(&r, m).unwrap());
    assert!(
        phases.windows(2).all(|w| w[0] <= w[1]),
        "phases out of order: {phases:?}"
    );
    let expiry = value(&r, "cert_expiry").unwrap();
    assert!(expiry > 86_400.0, "certificate expiry {expiry}");

    // Without the CA the same server is refused, unless verification is off.
    let host = host();
    let http = compile(&host, "http");
    let r = run(&host, &http, &request(&http, &url, json!({}))).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert!(
        r.message
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
            .contains("certificate"),
        "{r:?}"
    );
    let r = run(
        &host,
        &http,
        &request(&http, &url, json!({"tls_verify": false})),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
}

#[tokio::test]
async fn system_reports_this_machine() {
    let host = host();
    let system = compile(&host, "system");
    let req = request(&system, "localhost", json!({"top_processes": 3}));
    let r = run(&host, &system, &req).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let cores = r
        .samples
        .iter()
        .filter(|s| s.metric == "cpu_usage" && s.labels.contains_key("core"))
        .count();
    assert_eq!(
        cores,
        std::thread::available_parallelism().unwrap().get(),
        "{r:?}"
    );
    let total = value(&r, "memory_total").unwrap();
    assert!(total > 100e6, "memory_total {total}");
    assert!(value(&r, "memory_used").unwrap() <= total);
    assert!(value(&r, "uptime").unwrap() > 0.0);
    assert!(r.samples.iter().any(
        |s| s.metric == "net_rx_bytes" && s.labels.get("interface").is_some_and(|i| i == "lo")
    ));
    // The process table: the 3 busiest and the 3 largest, each once, with
    // owner, threads and (as root) handles.
    let table: Vec<_> = r
        .samples
        .iter()
        .filter(|s| s.metric == "process_memory")
        .collect();
    assert!((3..=6).contains(&table.len()), "{table:?}");
    assert!(
        table.iter().all(|s| !s.labels["user"].is_empty()),
        "{table:?}"
    );
    let threads_of = |pid: &str| {
        r.samples
            .iter()
            .find(|s| s.metric == "process_threads" && s.labels["pid"] == pid)
            .map(|s| s.value)
    };
    assert!(
        table
            .iter()
            .all(|s| threads_of(&s.labels["pid"]) >= Some(1.0))
    );
    let processes = value(&r, "processes").unwrap();
    assert!(processes >= 1.0 && value(&r, "threads").unwrap() >= processes);
    assert!(value(&r, "file_handles").unwrap() > 0.0);
    // No rates on a check's first run; the second has them.
    assert!(r.samples.iter().all(|s| !s.metric.ends_with("_per_second")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = run(&host, &system, &req).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(
        r.samples
            .iter()
            .any(|s| s.metric == "net_rx_bytes_per_second"
                && s.labels.get("interface").is_some_and(|i| i == "lo")
                && s.value >= 0.0)
    );
    let busy: Vec<f64> = r
        .samples
        .iter()
        .filter(|s| s.metric == "disk_busy")
        .map(|s| s.value)
        .collect();
    assert!(busy.iter().all(|b| (0.0..=1.05).contains(b)), "{busy:?}");
    assert_eq!(
        busy.len(),
        r.samples
            .iter()
            .filter(|s| s.metric == "disk_read_bytes_per_second")
            .count()
    );
}
