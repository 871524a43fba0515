//! The `prometheus` plugin against Debian's node exporter and against a
//! loopback endpoint whose exposition each test writes.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use vantage_protocol::manifest::BaseUnit;
use vantage_protocol::result::{CheckResult, Sample, Status};

use crate::support::{compile, host, net, request, run};

/// `prometheus-node-exporter` on a free loopback port with a few
/// collectors; killed on drop.
struct NodeExporter {
    url: String,
    child: Child,
}

impl NodeExporter {
    fn start() -> NodeExporter {
        let port = net::closed_port();
        let child = Command::new("/usr/bin/prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args([
                "--collector.disable-defaults",
                "--collector.cpu",
                "--collector.loadavg",
                "--collector.meminfo",
                "--collector.netdev",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-node-exporter runs (cargo xtask test installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "node exporter did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        NodeExporter {
            url: format!("http://127.0.0.1:{port}/metrics"),
            child,
        }
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The samples of `metric`.
fn samples<'a>(r: &'a CheckResult, metric: &str) -> Vec<&'a Sample> {
    r.samples.iter().filter(|s| s.metric == metric).collect()
}

fn one(r: &CheckResult, metric: &str) -> f64 {
    match samples(r, metric)[..] {
        [s] => s.value,
        ref other => panic!("{metric}: {other:?} in {r:?}"),
    }
}

fn label<'a>(s: &'a Sample, name: &str) -> &'a str {
    s.labels.get(name).map(String::as_str).unwrap_or_default()
}

#[tokio::test]
async fn prometheus_scrapes_node_exporter_with_rates_filters_and_a_series_limit() {
    let exporter = NodeExporter::start();
    let host = host();
    let plugin = compile(&host, "prometheus");
    let config = json!({"deny": ["go_*", "process_*", "promhttp_*"]});
    let req = request(&plugin, &exporter.url, config);

    let first = run(&host, &plugin, &req).await;
    assert_eq!(first.status, Status::Ok, "{first:?}");
    assert!(one(&first, "node_load1") >= 0.0);
    let total = samples(&first, "node_memory_memtotal_bytes");
    assert_eq!(total.len(), 1, "{first:?}");
    assert_eq!(total[0].unit, BaseUnit::Bytes);
    assert!(total[0].value > 1e6);
    assert!(first.samples.iter().all(|s| !s.metric.starts_with("go_")));
    // Counters have no rate on a check's first run, and say so.
    assert!(samples(&first, "node_cpu_seconds_per_second").is_empty());
    let message = first.message.clone().unwrap_or_default();
    assert!(message.contains("from the next run"), "{message}");
    assert!(one(&first, "series_scraped") > one(&first, "series_kept"));
    assert_eq!(one(&first, "bad_lines"), 0.0);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = run(&host, &plugin, &req).await;
    assert_eq!(second.status, Status::Ok, "{second:?}");
    let cpu = samples(&second, "node_cpu_seconds_per_second");
    assert!(!cpu.is_empty(), "{second:?}");
    for s in &cpu {
        assert_eq!(s.unit, BaseUnit::Ratio);
        assert!((0.0..=1.5).contains(&s.value), "{s:?}");
        assert!(!label(s, "cpu").is_empty() && !label(s, "mode").is_empty());
    }
    let received = samples(&second, "node_network_receive_bytes_per_second");
    assert!(
        !received.is_empty() && received.iter().all(|s| s.value >= 0.0),
        "{received:?}"
    );
    // Other tests add interfaces meanwhile: their counters may be new, but
    // nothing is dropped or unreadable.
    let message = second.message.clone().unwrap_or_default();
    assert!(
        !message.contains("max_series") && !message.contains("could not be read"),
        "{message}"
    );

    // Raw counters, one label value allowed (a glob), another metric bounded.
    let device = label(received[0], "device");
    let glob = format!("{}?", &device[..device.len() - 1]);
    let raw = run(
        &host,
        &plugin,
        &request(
            &plugin,
            &exporter.url,
            json!({"allow": ["node_network_receive_bytes_total"], "counters": "raw",
                   "allow_labels": {"device": [glob]}}),
        ),
    )
    .await;
    let one_device: Vec<_> = samples(&raw, "node_network_receive_bytes_total")
        .into_iter()
        .filter(|s| label(s, "device") == device)
        .collect();
    assert_eq!(one_device.len(), 1, "{raw:?}");
    assert_eq!(one_device[0].unit, BaseUnit::Bytes);
    assert!(
        samples(&raw, "node_network_receive_bytes_total")
            .iter()
            .all(|s| label(s, "device").len() == device.len()),
        "{raw:?}"
    );
    assert!(samples(&raw, "node_load1").is_empty());

    let mut bounded = request(&plugin, &exporter.url, json!({"max_series": 5}));
    bounded.check = "bounded".into();
    let r = run(&host, &plugin, &bounded).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let limit = samples(&r, "series_dropped")
        .into_iter()
        .find(|s| label(s, "reason") == "limit")
        .expect("the overflow is reported");
    assert!(limit.value + 5.0 <= one(&r, "series_scraped"), "{r:?}");
    assert!(r.message.unwrap_or_default().contains("max_series (5)"));
}

/// A loopback endpoint serving whatever status and body the test sets.
async fn endpoint() -> (SocketAddr, Arc<Mutex<(u16, String)>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let page = Arc::new(Mutex::new((200, String::new())));
    let serving = page.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let page = serving.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let (status, body) = page.lock().unwrap().clone();
                    async move {
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .header("content-type", "text/plain; version=0.0.4")
                                .body(Full::new(Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, page)
}

#[tokio::test]
async fn prometheus_reports_resets_bad_lines_and_failed_scrapes_clearly() {
    let host = host();
    let plugin = compile(&host, "prometheus");
    let (addr, page) = endpoint().await;
    let url = format!("http://{addr}/metrics");
    let req = request(&plugin, &url, json!({}));
    let set = |status: u16, body: &str| *page.lock().unwrap() = (status, body.to_owned());

    set(
        200,
        "# TYPE jobs_total counter\njobs_total 1000\n# TYPE temp_celsius gauge\ntemp_celsius 21.5\n",
    );
    let r = run(&host, &plugin, &req).await;
    assert_eq!(one(&r, "temp_celsius"), 21.5);
    // The exporter restarted: its counter starts again from zero.
    set(
        200,
        "# TYPE jobs_total counter\njobs_total 30\nthis is not a sample\ntemp_celsius NaN\n",
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = run(&host, &plugin, &req).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let rate = one(&r, "jobs_per_second");
    assert!(rate > 0.0 && rate <= 30.0 / 0.5, "{rate}");
    assert_eq!(one(&r, "bad_lines"), 1.0);
    let message = r.message.clone().unwrap_or_default();
    assert!(
        message.contains("1 lines could not be read (line 3"),
        "{message}"
    );
    let value = samples(&r, "series_dropped");
    assert_eq!(
        (value.len(), label(value[0], "reason"), value[0].value),
        (1, "value", 1.0)
    );

    set(503, "unavailable");
    let r = run(&host, &plugin, &req).await;
    assert_eq!(r.status, Status::Error);
    assert!(r.message.unwrap_or_default().contains("status 503"));

    set(200, &"big_gauge 1\n".repeat(200));
    let r = run(
        &host,
        &plugin,
        &request(&plugin, &url, json!({"body_max": 1024})),
    )
    .await;
    assert_eq!(r.status, Status::Error);
    assert!(
        r.message
            .unwrap_or_default()
            .contains("larger than body_max")
    );

    let r = run(
        &host,
        &plugin,
        &request(
            &plugin,
            &format!("http://127.0.0.1:{}/metrics", net::closed_port()),
            json!({}),
        ),
    )
    .await;
    assert_eq!(r.status, Status::Refused, "{r:?}");
}

#[tokio::test]
async fn rates_survive_an_agent_restart_through_the_state_folder() {
    let state = tempfile::tempdir().unwrap();
    let with_state = || {
        std::sync::Arc::new(
            vantage_agent::host::PluginHost::new(&vantage_agent::host::HostOptions {
                state_dir: Some(state.path().join("state")),
                ..crate::support::options()
            })
            .unwrap(),
        )
    };
    let (addr, page) = endpoint().await;
    let url = format!("http://{addr}/metrics");
    *page.lock().unwrap() = (200, "# TYPE jobs_total counter\njobs_total 100\n".into());
    let before = with_state();
    let plugin = compile(&before, "prometheus");
    let first = run(&before, &plugin, &request(&plugin, &url, json!({}))).await;
    assert!(samples(&first, "jobs_per_second").is_empty(), "{first:?}");
    drop((plugin, before));

    tokio::time::sleep(Duration::from_millis(500)).await;
    *page.lock().unwrap() = (200, "# TYPE jobs_total counter\njobs_total 160\n".into());
    let after = with_state();
    let plugin = compile(&after, "prometheus");
    let r = run(&after, &plugin, &request(&plugin, &url, json!({}))).await;
    let rate = one(&r, "jobs_per_second");
    assert!(rate > 0.0 && rate <= 60.0 / 0.5, "{rate}");

    // Without the folder, a new agent starts with no state.
    let memory_only = host();
    let plugin = compile(&memory_only, "prometheus");
    let r = run(&memory_only, &plugin, &request(&plugin, &url, json!({}))).await;
    assert!(samples(&r, "jobs_per_second").is_empty(), "{r:?}");
}
