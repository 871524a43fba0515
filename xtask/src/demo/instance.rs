//! A running demo: the local services, the server on SQLite with the
//! first-party plugins published and the checks defined, and two enrolled
//! agents. Every process it starts is tied to it ([`super::lifeline`]).

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail};

use super::api::Admin;
use super::checks::{AGENTS, MESH_GROUP, WEB_GROUP, agent_config, demo_checks, plugins_of};
use super::lifeline;
use super::services::Ports;

/// Stopped when dropped.
pub(crate) struct Demo {
    pub(crate) url: String,
    pub(crate) password: String,
    pub(crate) dir: PathBuf,
    /// The names of the checks every agent runs.
    pub(crate) checks: Vec<String>,
    root_key: String,
    /// The folder of the binaries (`target/debug` or `target/release`).
    bin: PathBuf,
    agents: Vec<Child>,
    server: Server,
}

impl Demo {
    /// Starts it all with its state in `dir` (kept between runs: the same
    /// admin, agents and history), the binaries of `bin`, the server on
    /// `port` (any free port when taken, or with 0), and two agents: one on
    /// 127.0.0.1 and one on 127.0.0.2, in one group that a mesh check spans.
    /// `server_config` (TOML) is added to the server's configuration file.
    pub(crate) fn start(
        bin: &Path,
        dir: &Path,
        port: u16,
        plugins: &Path,
        server_config: &str,
    ) -> anyhow::Result<Demo> {
        std::fs::create_dir_all(dir)?;
        let dir = &dir.canonicalize()?;
        let access_log = dir.join("logs").join("web-access.log");
        let ports = Ports::start(&access_log)?;
        let password = admin_password(dir)?;
        let server = Server::start(bin, dir, port, &password, server_config)?;
        let checks = demo_checks(&ports, server.addr, &access_log);
        let mut admin = Admin::login(server.addr, &password)?;
        let root_key = admin.registry(plugins, &plugins_of(&checks))?;
        admin.assign(&checks)?;
        let mut demo = Demo {
            url: format!("http://{}", server.addr),
            password,
            dir: dir.to_owned(),
            checks: checks
                .iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect(),
            root_key,
            bin: bin.to_owned(),
            agents: Vec::new(),
            server,
        };
        for (name, address) in AGENTS {
            demo.agent(&mut admin, name, address)?;
        }
        admin.join(&AGENTS.map(|(name, _)| name), MESH_GROUP)?;
        admin.join(&[AGENTS[0].0], WEB_GROUP)?;
        Ok(demo)
    }

    /// A fresh demo in `dir` (emptied first) on any free port, with
    /// `server_config` (TOML) added to the server's configuration: what the
    /// browser tests and the dashboard bench run against.
    pub(crate) fn fresh(
        bin: &Path,
        dir: &Path,
        plugins: &Path,
        server_config: &str,
    ) -> anyhow::Result<Demo> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        Demo::start(bin, dir, 0, plugins, server_config)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The folder of an agent: `dir` itself for the first, `dir/<name>`
    /// for the others.
    pub(crate) fn home(&self, name: &str) -> PathBuf {
        if name == AGENTS[0].0 {
            self.dir.clone()
        } else {
            self.dir.join(name)
        }
    }

    /// Enrolls (once: the credential is kept in its folder) and starts an
    /// agent; `advertise` is the address other agents' mesh checks reach it at.
    fn agent(&mut self, admin: &mut Admin, name: &str, advertise: &str) -> anyhow::Result<()> {
        let home = self.home(name);
        std::fs::create_dir_all(&home)?;
        let config = home.join("agent.toml");
        std::fs::write(&config, agent_config(name, advertise))?;
        let bin = self.bin.join("vantage-agent");
        let credential = home.join("data/credential.json");
        if credential.is_file() {
            follow_the_server(&credential, &self.url)?;
        } else {
            let token = admin.enrollment_token()?;
            crate::run(
                Command::new(&bin)
                    .args(["enroll", "--config"])
                    .arg(&config)
                    .args(["--server", &self.url, "--token", &token, "--name", name])
                    .args(["--trust-root", &self.root_key]),
            )?;
        }
        let agent = lifeline::tie(
            Command::new(&bin)
                .args(["run", "--config"])
                .arg(&config)
                .stdout(Stdio::null()),
        )
        .spawn()
        .with_context(|| format!("starting {name}"))?;
        self.agents.push(agent);
        Ok(())
    }

    /// Waits for the first agent to end (it runs until Ctrl-C).
    pub(crate) fn wait(&mut self) -> anyhow::Result<()> {
        match self.agents.first_mut() {
            Some(agent) => agent.wait().map(|_| ()).context("waiting for the agent"),
            None => Ok(()),
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        for agent in &mut self.agents {
            let _ = agent.kill();
            let _ = agent.wait();
        }
    }
}

/// The demo's server may listen on another port than last time (`--port
/// 0`): the enrolled agent of the same database follows it there.
fn follow_the_server(credential: &Path, url: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(credential)
        .with_context(|| format!("reading {}", credential.display()))?;
    let mut value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", credential.display()))?;
    if value["server"] != url {
        value["server"] = url.into();
        std::fs::write(credential, serde_json::to_vec_pretty(&value)?)
            .with_context(|| format!("writing {}", credential.display()))?;
    }
    Ok(())
}

/// The demo's admin password: made once, kept in `<dir>/admin-password`.
fn admin_password(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join("admin-password");
    if let Ok(p) = std::fs::read_to_string(&path) {
        return Ok(p.trim().to_owned());
    }
    let mut bytes = [0u8; 15];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let password: String = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    std::fs::write(&path, &password)?;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(password)
}

/// The server on SQLite in `<dir>/server`, stopped when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// Starts the server; `extra` (TOML) is added to its configuration.
    pub(crate) fn start(
        bin: &Path,
        dir: &Path,
        port: u16,
        password: &str,
        extra: &str,
    ) -> anyhow::Result<Server> {
        // Port 8080 may be taken: then any free port.
        let port = if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            port
        } else {
            0
        };
        // The demo's agents share this host and report loopback addresses,
        // which the server refuses unless its configuration lists them.
        let config = dir.join("server.toml");
        std::fs::write(
            &config,
            format!(
                "# Written by `cargo xtask demo`: its agents share this host.\nagent_addresses = [\"127.0.0.0/8\"]\n{extra}"
            ),
        )?;
        let mut child = lifeline::tie(
            Command::new(bin.join("vantage-server"))
                .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
                .arg(dir.join("server"))
                .arg("--config")
                .arg(&config)
                .env("VANTAGE_ADMIN_PASSWORD", password)
                .stdout(Stdio::piped()),
        )
        .spawn()
        .context("starting the server")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("server stdout")?).read_line(&mut line)?;
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            bail!("the server did not start (it said {line:?})");
        };
        Ok(Server {
            addr: addr.parse().context("the server's address")?,
            child,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
