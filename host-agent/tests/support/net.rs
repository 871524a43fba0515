//! Real local services for the tests, all on loopback or inside network
//! namespaces the test creates and removes itself.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, UdpSocket};

/// A TCP listener on loopback that writes `banner` to every connection.
pub async fn tcp_banner(banner: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.write_all(banner).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            });
        }
    });
    addr
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A UDP echo server on loopback.
pub async fn udp_echo() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let _ = socket.send_to(&buf[..n], peer).await;
        }
    });
    addr
}

/// A test certificate authority and a server certificate it signed for
/// `127.0.0.1` and `localhost`.
pub struct TestCa {
    pub ca_pem_file: PathBuf,
    pub server: Arc<rustls::ServerConfig>,
    _dir: tempfile::TempDir,
}

impl TestCa {
    pub fn new() -> TestCa {
        TestCa::build(None)
    }

    /// A CA whose server certificate expires `days` from today, at
    /// midnight UTC (so between `days - 1` and `days` days from now).
    pub fn with_leaf_valid_for_days(days: i64) -> TestCa {
        TestCa::build(Some(days))
    }

    fn build(leaf_days: Option<i64>) -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Vantage Test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "vantage-test-server");
        if let Some(days) = leaf_days {
            use chrono::Datelike as _;
            let day = (chrono::Utc::now() + chrono::Duration::days(days)).date_naive();
            leaf_params.not_after =
                rcgen::date_time_ymd(day.year(), day.month() as u8, day.day() as u8);
        }
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca_pem_file = dir.path().join("ca.pem");
        std::fs::write(&ca_pem_file, ca_cert.pem()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
            )
            .unwrap();
        TestCa {
            ca_pem_file,
            server: Arc::new(server),
            _dir: dir,
        }
    }
}

async fn handle(req: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let response = |status: u16, body: &'static str| {
        hyper::Response::builder()
            .status(status)
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    Ok(match path.as_str() {
        "/ok" => response(200, "hello from vantage tests"),
        "/redirect" => {
            let mut r = response(302, "");
            r.headers_mut().insert("location", "/ok".parse().unwrap());
            r
        }
        "/away" => {
            let mut r = response(302, "");
            r.headers_mut()
                .insert("location", "http://127.0.0.9/ok".parse().unwrap());
            r
        }
        "/teapot" => response(418, "short and stout"),
        "/status.json" => response(
            200,
            r#"{"status": "up", "checks": [{"name": "db", "ok": true}, {"name": "queue", "ok": false}]}"#,
        ),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            response(200, "late")
        }
        _ => response(404, "not found"),
    })
}

/// An HTTP (or, with a CA, HTTPS) server on loopback. Paths: `/ok`,
/// `/redirect` (→ `/ok`), `/away` (→ another host), `/teapot` (418), `/slow`,
/// `/status.json` (a JSON health document).
pub async fn http_server(tls: Option<Arc<rustls::ServerConfig>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let service = service_fn(handle);
                let http = hyper::server::conn::http1::Builder::new();
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            });
        }
    });
    addr
}

/// dnsmasq on a free loopback port; killed on drop.
pub struct Dnsmasq {
    pub addr: SocketAddr,
    child: Child,
}

impl Dnsmasq {
    /// Serves `args` such as `--address=/a.test/10.1.2.3` or `--txt-record=…`.
    pub fn start(args: &[&str]) -> Dnsmasq {
        for _ in 0..5 {
            let port = std::net::UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new("dnsmasq")
                .args([
                    "--keep-in-foreground",
                    "--no-resolv",
                    "--no-hosts",
                    "--bind-interfaces",
                ])
                .args([
                    "--listen-address=127.0.0.1",
                    "--conf-file=/dev/null",
                    "--user=root",
                ])
                .arg(format!("--port={port}"))
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect(
                    "dnsmasq runs (Debian package dnsmasq-base; `cargo xtask test` installs it)",
                );
            std::thread::sleep(Duration::from_millis(150));
            if child.try_wait().unwrap().is_none() {
                return Dnsmasq {
                    addr: SocketAddr::from(([127, 0, 0, 1], port)),
                    child,
                };
            }
        }
        panic!("dnsmasq did not start");
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A network namespace joined to this one by a veth pair, whose own address
/// silently drops every incoming packet (`nft`). Removed on drop.
pub struct DroppingNamespace {
    name: String,
    host_if: String,
    /// The namespace's address, which drops everything.
    pub addr: String,
}

fn ip(args: &[&str]) {
    let status = Command::new("ip")
        .args(args)
        .status()
        .expect("ip (iproute2) runs");
    assert!(
        status.success(),
        "ip {args:?} failed (the tests need root for network namespaces)"
    );
}

impl DroppingNamespace {
    pub fn create(tag: u8) -> DroppingNamespace {
        let id = std::process::id() % 10_000;
        let name = format!("vt-drop-{id}-{tag}");
        let host_if = format!("vth{id}x{tag}");
        let ns_if = format!("vtn{id}x{tag}");
        let subnet = 200 + (id % 50) as u8;
        let host_addr = format!("10.213.{subnet}.{}", tag * 4 + 1);
        let addr = format!("10.213.{subnet}.{}", tag * 4 + 2);
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", &name]);
        // Built now, so that a failure below still removes what was made.
        let ns = DroppingNamespace {
            name: name.clone(),
            host_if: host_if.clone(),
            addr: addr.clone(),
        };
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
        ]);
        ip(&["link", "set", &ns_if, "netns", &name]);
        ip(&["addr", "add", &format!("{host_addr}/30"), "dev", &host_if]);
        ip(&["link", "set", &host_if, "up"]);
        ip(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{addr}/30"),
            "dev",
            &ns_if,
        ]);
        ip(&["-n", &name, "link", "set", &ns_if, "up"]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        for rule in [
            "add table inet vt",
            "add chain inet vt input { type filter hook input priority 0; policy drop; }",
        ] {
            let status = Command::new("ip")
                .args(["netns", "exec", &name, "nft", rule])
                .status()
                .expect("nft runs (Debian package nftables)");
            assert!(status.success(), "nft {rule} failed in namespace {name}");
        }
        ns
    }
}

impl Drop for DroppingNamespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
