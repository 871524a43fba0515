//! The release `vantage-server` under test, and the API calls that set it
//! up: login, enrollment tokens, enrollment, `/metrics`.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use vantage_protocol::ingest::{AgentInfo, EnrollRequest, EnrollResponse};

use crate::http::Client;

/// The bootstrap admin's password (`VANTAGE_ADMIN_PASSWORD`).
const ADMIN_PASSWORD: &str = "bench-admin-password";
/// How long the server may take to migrate and print its address.
const START_LIMIT: Duration = Duration::from_secs(60);

/// What a server run is started with.
pub(super) struct ServerSetup<'a> {
    pub(super) binary: &'a Path,
    /// `postgres://…`, or `None` for SQLite in `data_dir`.
    pub(super) database_url: Option<String>,
    pub(super) data_dir: PathBuf,
    pub(super) max_connections: u32,
    pub(super) jobs_interval: Option<&'a str>,
    /// The TOML file (raw retention 40 d).
    pub(super) config: &'a Path,
    pub(super) log: PathBuf,
}

/// A running server, stopped (SIGTERM, then SIGKILL) when dropped.
pub(super) struct Server {
    child: Child,
    pub(super) addr: SocketAddr,
    log: PathBuf,
}

/// An enrolled simulated agent.
pub(super) struct Agent {
    pub(super) id: String,
    pub(super) name: String,
    /// `Bearer va_…`.
    pub(super) authorization: String,
}

impl Agent {
    /// The headers of its `POST /api/v1/ingest` of a gzipped batch.
    pub(super) fn ingest_headers(&self) -> [(&'static str, &str); 3] {
        [
            ("Authorization", self.authorization.as_str()),
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ]
    }
}

impl Server {
    pub(super) fn start(setup: &ServerSetup<'_>) -> anyhow::Result<Server> {
        if setup.database_url.is_none() {
            std::fs::create_dir_all(&setup.data_dir)?;
        }
        let mut cmd = Command::new(setup.binary);
        cmd.arg("--config")
            .arg(setup.config)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&setup.data_dir)
            .args(["--max-connections", &setup.max_connections.to_string()]);
        if let Some(url) = &setup.database_url {
            cmd.args(["--database-url", url]);
        }
        if let Some(every) = setup.jobs_interval {
            cmd.args(["--jobs-interval", every]);
        }
        let mut child = cmd
            .env("VANTAGE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .env_remove("VANTAGE_CONFIG")
            .env_remove("VANTAGE_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&setup.log)?)
            .spawn()
            .with_context(|| format!("starting {}", setup.binary.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // Reads stdout to its end, so that the server never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: setup.log.clone(),
        };
        let start = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(addr) => {
                    server.addr = addr
                        .parse()
                        .with_context(|| format!("bad address {addr:?}"))?;
                    return Ok(server);
                }
                Err(_) if start.elapsed() > START_LIMIT => {
                    bail!(
                        "the server printed no address in {START_LIMIT:?}: see {}",
                        setup.log.display()
                    )
                }
                Err(_) => {
                    if let Some(status) = server.child.try_wait()? {
                        bail!(
                            "the server exited with {status}: see {}",
                            setup.log.display()
                        );
                    }
                    super::super::sys::check_interrupted()?;
                }
            }
        }
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills it outright (SIGKILL), as a crash would.
    pub(super) fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Fails when the server has exited.
    pub(super) fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "the server exited with {status}: see {}",
                self.log.display()
            );
        }
        Ok(())
    }

    pub(super) fn client(&self) -> Client {
        Client::new(self.addr)
    }

    /// Logs in as the bootstrap admin; returns `Bearer vs_…`.
    pub(super) fn login(&self) -> anyhow::Result<String> {
        let body = serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string();
        let r = self.client().request(
            "POST",
            "/api/v1/auth/login",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )?;
        let session = r.json("login")?;
        let token = session["token"].as_str().context("login: no token")?;
        Ok(format!("Bearer {token}"))
    }

    /// Creates one enrollment token per name and enrolls an agent with each.
    pub(super) fn enroll(&self, admin: &str, names: &[String]) -> anyhow::Result<Vec<Agent>> {
        let mut client = self.client();
        let json = [("Content-Type", "application/json")];
        let mut tokens = Vec::with_capacity(names.len());
        for _ in names {
            let r = client.request(
                "POST",
                "/api/v1/enrollment-tokens",
                &[json[0], ("Authorization", admin)],
                br#"{"expires_in":"1h"}"#,
            )?;
            let created = r.json("creating an enrollment token")?;
            tokens.push(
                created["token"]
                    .as_str()
                    .context("no enrollment token")?
                    .to_owned(),
            );
        }
        names
            .iter()
            .zip(tokens)
            .enumerate()
            .map(|(i, (name, token))| {
                let address = format!("10.77.{}.{}", i / 250, i % 250 + 1);
                enroll_agent(&mut client, token, name, address)
            })
            .collect()
    }

    /// `/metrics` as `name value` pairs (families without labels only).
    pub(super) fn metrics(&self, client: &mut Client) -> anyhow::Result<Metrics> {
        let r = client.request("GET", "/metrics", &[], &[])?;
        if r.status != 200 {
            bail!("/metrics: HTTP {}", r.status);
        }
        Ok(Metrics(r.text()))
    }

    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM: the server finishes requests in flight and stops its jobs.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Enrolls the agent `name` (reporting `address`) with `token`.
pub(super) fn enroll_agent(
    client: &mut Client,
    token: String,
    name: &str,
    address: String,
) -> anyhow::Result<Agent> {
    let request = EnrollRequest {
        token,
        name: Some(name.to_owned()),
        agent: AgentInfo {
            hostname: format!("{name}.bench.invalid"),
            os: "linux".into(),
            arch: "x86_64".into(),
            version: "0.1.0".into(),
            addresses: vec![address],
        },
    };
    let r = client.request(
        "POST",
        "/api/v1/agents/enroll",
        &[("Content-Type", "application/json")],
        &serde_json::to_vec(&request)?,
    )?;
    let enrolled: EnrollResponse = serde_json::from_value(r.json("enrolling")?)?;
    Ok(Agent {
        id: enrolled.agent_id.to_string(),
        name: enrolled.name,
        authorization: format!("Bearer {}", enrolled.credential),
    })
}

/// One `/metrics` text.
pub(super) struct Metrics(String);

impl Metrics {
    /// The value of an unlabelled sample (`name value`), or of the sample
    /// whose name with labels is exactly `name`.
    pub(super) fn get(&self, name: &str) -> Option<f64> {
        self.0
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    #[test]
    fn metrics_are_read_by_exact_name() {
        let m = Metrics(
            "# TYPE vantage_ingest_samples_total counter\nvantage_ingest_samples_total 1500\n\
             vantage_ingest_samples_total_x 7\nvantage_ingest_batches_total{outcome=\"stored\"} 3\n"
                .into(),
        );
        assert_eq!(m.get("vantage_ingest_samples_total"), Some(1500.0));
        assert_eq!(
            m.get("vantage_ingest_batches_total{outcome=\"stored\"}"),
            Some(3.0)
        );
        assert_eq!(m.get("vantage_rollup_rows_total"), None);
    }
}
