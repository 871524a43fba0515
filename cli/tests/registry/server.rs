//! The real `vantage-server` binary on a free loopback port, with an admin
//! API token for the `vantage` runs and a client to look at what they did.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use reqwest::blocking::Client;
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "correct-horse-battery";

pub(crate) struct TestServer {
    child: Child,
    /// `http://127.0.0.1:PORT` (or `https://`).
    pub(crate) url: String,
    /// An admin API token (`vt_…`).
    pub(crate) token: String,
    http: Client,
    _data: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `target/debug/vantage-server`, beside the directory of this test binary.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/debug/deps")
        .join("vantage-server");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p vantage-server` before this test \
         (it drives the real server binary, which `cargo test -p vantage-cli` does not build)",
        bin.display()
    );
    bin
}

impl TestServer {
    /// Starts the server on SQLite in a temporary directory; with `tls`
    /// (certificate, key and the CA that signed them) it serves HTTPS.
    pub(crate) fn start(tls: Option<(&Path, &Path, &Path)>) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let mut command = Command::new(binary());
        command
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env("VANTAGE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut http = Client::builder();
        if let Some((cert, key, ca)) = tls {
            command
                .arg("--tls-cert")
                .arg(cert)
                .arg("--tls-key")
                .arg(key);
            let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
            http = http.tls_certs_only([ca]);
        }
        let mut child = command.spawn().expect("vantage-server starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the server said {first:?}"))
            .to_owned();
        let mut server = TestServer {
            child,
            url,
            token: String::new(),
            http: http.build().unwrap(),
            _data: data,
        };
        let session = server.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "admin", "password": ADMIN_PASSWORD})),
        );
        let session = session["token"].as_str().expect("a session token");
        let created = server.call(
            "POST",
            "/api/v1/tokens",
            Some(session),
            Some(json!({"name": "cli-story"})),
        );
        server.token = created["token"].as_str().expect("an API token").to_owned();
        server
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        let status = response.status();
        let text = response.text().unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// `GET`s `path` as the admin: the JSON answer (any error fails the test).
    pub(crate) fn get(&self, path: &str) -> Value {
        self.call("GET", path, Some(&self.token), None)
    }

    /// `PUT`s `body` to `path` as the admin: the JSON answer (any error
    /// fails the test).
    pub(crate) fn put(&self, path: &str, body: Value) -> Value {
        self.call("PUT", path, Some(&self.token), Some(body))
    }

    /// `GET`s `path` as the admin: the body's bytes (any error fails the test).
    pub(crate) fn get_bytes(&self, path: &str) -> Vec<u8> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.bytes().unwrap().to_vec()
    }

    /// `VANTAGE_SERVER` and `VANTAGE_TOKEN` for `vantage` runs.
    pub(crate) fn env(&self) -> [(&str, &str); 2] {
        [
            ("VANTAGE_SERVER", self.url.as_str()),
            ("VANTAGE_TOKEN", self.token.as_str()),
        ]
    }
}

/// A CA and a certificate for 127.0.0.1 it signed, as PEM files in `dir`:
/// (certificate, key, CA).
pub(crate) fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Vantage CLI test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    (
        write("cert.pem", leaf.pem()),
        write("key.pem", key.serialize_pem()),
        write("ca.pem", ca_cert.pem()),
    )
}
