//! `cargo xtask demo`: builds the plugins, the agent and the server, starts
//! small local services on loopback (TCP banner, UDP echo, HTTP, and DNS
//! through dnsmasq when installed) and the server on embedded SQLite;
//! publishes the first-party plugins to the server's registry (signed with
//! the development key, which the demo registers as the registry's root),
//! defines a check per plugin on the server, and enrolls an agent that pins
//! that root and pulls its checks from the server. Prints the server's URL
//! and the admin credential, then runs until Ctrl-C (`--once`: until the
//! first results are stored, then stops).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::http::Client;
use crate::{cargo, packages};

/// How long the agent may take to compile every plugin and report.
const FIRST_RESULTS: Duration = Duration::from_secs(300);

pub(crate) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let once = args.iter().any(|a| a == "--once");
    let port: u16 = match args.iter().position(|a| a == "--port") {
        Some(i) => args
            .get(i + 1)
            .context("--port needs a number")?
            .parse()
            .context("--port")?,
        None => 8080,
    };
    let plugins = packages::build_plugins(root)?;
    crate::web::install(root)?;
    crate::web::build(root)?;
    crate::run(cargo().current_dir(root).args([
        "build",
        "-p",
        "vantage-agent",
        "-p",
        "vantage-server",
    ]))?;
    let mut demo = Demo::up(root, &root.join("target/demo"), port, &plugins)?;
    demo.agent("demo-agent", None)?;
    let dir = &demo.dir;
    println!("\nVantage demo");
    println!(
        "  dashboard  {}   (API viewer: {}/api/docs/)",
        demo.url, demo.url
    );
    println!(
        "  admin      admin / {}   (kept in {})",
        demo.password,
        dir.join("admin-password").display()
    );
    println!(
        "  agent      demo-agent, configuration {}",
        dir.join("agent.toml").display()
    );
    println!("  database   {}\n", dir.join("server/vantage.db").display());
    if once {
        show_first_results(demo.server.addr, &demo.password, demo.checks)
    } else {
        println!("Running until Ctrl-C.");
        demo.wait()
    }
}

/// A running demo: local services, the server with the plugins published
/// and the checks defined, and enrolled agents. Stopped when dropped.
pub(crate) struct Demo {
    pub(crate) url: String,
    pub(crate) password: String,
    pub(crate) dir: std::path::PathBuf,
    /// How many checks each agent runs.
    pub(crate) checks: usize,
    root_key: String,
    /// The folder of the binaries (`target/debug` or `target/release`).
    bin: std::path::PathBuf,
    agents: Vec<Child>,
    dns: Option<Child>,
    server: Server,
}

impl Demo {
    /// Starts it all with its state in `dir` (kept between runs), the server
    /// on `port` (any free port when taken, or with 0); no agent yet.
    pub(crate) fn up(root: &Path, dir: &Path, port: u16, plugins: &Path) -> anyhow::Result<Demo> {
        Demo::up_with(&root.join("target/debug"), dir, port, plugins)
    }

    /// [`Demo::up`] with the binaries of `bin`.
    pub(crate) fn up_with(
        bin: &Path,
        dir: &Path,
        port: u16,
        plugins: &Path,
    ) -> anyhow::Result<Demo> {
        let tcp = tcp_banner()?;
        let udp = udp_echo()?;
        let http = http_server()?;
        let dns = dnsmasq();
        std::fs::create_dir_all(dir)?;
        let password = admin_password(dir)?;
        let server = Server::start(bin, dir, port, &password)?;
        let url = format!("http://{}", server.addr);
        let root_key = registry(server.addr, &password, plugins)?;
        let checks = demo_checks(tcp, udp, http, dns.as_ref().map(|d| d.1));
        assign(server.addr, &password, &checks)?;
        Ok(Demo {
            url,
            password,
            dir: dir.to_owned(),
            checks: checks.len(),
            root_key,
            bin: bin.to_owned(),
            agents: Vec::new(),
            dns: dns.map(|d| d.0),
            server,
        })
    }

    /// A fresh demo in `dir` (emptied first) with two agents on loopback
    /// addresses of their own, `demo-agent` on 127.0.0.1 and `demo-agent-2`
    /// on 127.0.0.2, so that a mesh check has a pair to probe: what the
    /// browser tests and the dashboard bench run against.
    pub(crate) fn pair(bin: &Path, dir: &Path, plugins: &Path) -> anyhow::Result<Demo> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        let mut demo = Demo::up_with(bin, dir, 0, plugins)?;
        demo.agent("demo-agent", Some("127.0.0.1"))?;
        demo.agent("demo-agent-2", Some("127.0.0.2"))?;
        Ok(demo)
    }

    /// Enrolls (once: the credential is kept in its folder) and starts an
    /// agent, in `dir` itself for `demo-agent` and in `dir/<name>` for any
    /// other; `advertise` is the address other agents' mesh checks reach it at.
    pub(crate) fn agent(&mut self, name: &str, advertise: Option<&str>) -> anyhow::Result<()> {
        let home = if name == "demo-agent" {
            self.dir.clone()
        } else {
            self.dir.join(name)
        };
        std::fs::create_dir_all(&home)?;
        let config = home.join("agent.toml");
        std::fs::write(&config, agent_config(name, advertise))?;
        let bin = self.bin.join("vantage-agent");
        let credential = home.join("data/credential.json");
        if credential.is_file() {
            follow_the_server(&credential, &self.url)?;
        } else {
            let token = enrollment_token(self.server.addr, &self.password)?;
            crate::run(
                Command::new(&bin)
                    .args(["enroll", "--config"])
                    .arg(&config)
                    .args(["--server", &self.url, "--token", &token, "--name", name])
                    .args(["--trust-root", &self.root_key]),
            )?;
        }
        let agent = Command::new(&bin)
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
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
        if let Some(dns) = &mut self.dns {
            let _ = dns.kill();
            let _ = dns.wait();
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

/// The demo's admin password: made once, kept in `target/demo/admin-password`.
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

/// The server on SQLite in `target/demo/server`, stopped when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(bin: &Path, dir: &Path, port: u16, password: &str) -> anyhow::Result<Server> {
        // Port 8080 may be taken: then any free port.
        let port = if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            port
        } else {
            0
        };
        let mut child = Command::new(bin.join("vantage-server"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir.join("server"))
            .env("VANTAGE_ADMIN_PASSWORD", password)
            .stdout(Stdio::piped())
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

fn login(addr: SocketAddr, password: &str) -> anyhow::Result<(Client, String)> {
    let mut client = Client::new(addr);
    let body = serde_json::json!({"username": "admin", "password": password}).to_string();
    let session = client
        .request(
            "POST",
            "/api/v1/auth/login",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )?
        .json("logging in as admin (delete target/demo to start afresh)")?;
    let token = session["token"]
        .as_str()
        .context("login answer without a token")?
        .to_owned();
    Ok((client, format!("Bearer {token}")))
}

fn enrollment_token(addr: SocketAddr, password: &str) -> anyhow::Result<String> {
    let (mut client, auth) = login(addr, password)?;
    let answer = client
        .request(
            "POST",
            "/api/v1/enrollment-tokens",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            b"{\"expires_in\": \"10m\"}",
        )?
        .json("creating an enrollment token")?;
    Ok(answer["token"]
        .as_str()
        .context("no token in the answer")?
        .to_owned())
}

/// Waits until every check has a stored result, and prints them.
fn show_first_results(addr: SocketAddr, password: &str, checks: usize) -> anyhow::Result<()> {
    let (mut client, auth) = login(addr, password)?;
    let start = Instant::now();
    loop {
        let latest = client
            .request(
                "GET",
                "/api/v1/results/latest",
                &[("Authorization", &auth)],
                b"",
            )?
            .json("reading the latest results")?;
        let rows = latest.as_array().cloned().unwrap_or_default();
        let reported: std::collections::BTreeSet<_> =
            rows.iter().filter_map(|r| r["check"].as_str()).collect();
        if reported.len() >= checks {
            println!("Latest results stored on the server:");
            for r in rows {
                println!(
                    "  {:<12} {:<8} {:<12} {}",
                    r["check"].as_str().unwrap_or(""),
                    r["plugin"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["message"].as_str().unwrap_or("")
                );
            }
            return Ok(());
        }
        if start.elapsed() > FIRST_RESULTS {
            bail!(
                "only {} of {checks} checks reported within {FIRST_RESULTS:?}",
                reported.len()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The demo agent's local configuration: no checks, no keys, no plugin
/// folders. Its checks come from the server; its trust from the root it
/// pins at enrollment.
fn agent_config(name: &str, advertise: Option<&str>) -> String {
    let advertise = advertise
        .map(|a| format!("advertise = [\"{a}\"]\n"))
        .unwrap_or_default();
    format!(
        "# Written by `cargo xtask demo`. The checks are defined on the server\n\
         # (GET /api/v1/checks); this agent pulls them and the plugins they name.\n\
         [agent]\nname = \"{name}\"\ndata_dir = \"data\"\n{advertise}\n\
         [server]\nheartbeat = \"5s\"\n"
    )
}

/// The demo's checks, one per first-party plugin, for every agent.
fn demo_checks(tcp: u16, udp: u16, http: u16, dns: Option<u16>) -> Vec<serde_json::Value> {
    use serde_json::json;
    let mut checks = vec![
        json!({"name": "tcp-banner", "plugin": "tcp", "targets": [format!("127.0.0.1:{tcp}")],
               "interval": "5s", "config": {"expect": "SSH-2.0"}, "grants": ["tcp"]}),
        json!({"name": "udp-echo", "plugin": "udp", "targets": [format!("127.0.0.1:{udp}")],
               "interval": "5s", "config": {"payload": "ping", "expect": "ping", "count": 3},
               "grants": ["udp"]}),
        json!({"name": "web", "plugin": "http", "targets": [format!("http://127.0.0.1:{http}/old")],
               "interval": "5s", "config": {"body_contains": "hello"}, "grants": ["http"]}),
        json!({"name": "this-host", "plugin": "system", "targets": ["localhost"],
               "interval": "10s", "config": {"top_processes": 3}, "grants": ["system"]}),
    ];
    if let Some(port) = dns {
        checks.push(json!({"name": "dns", "plugin": "dns", "targets": [format!("127.0.0.1:{port}")],
            "interval": "5s", "config": {"name": "demo.vantage.test", "type": "A", "expect": ["127.0.0.1"]},
            "grants": ["dns"]}));
    }
    checks
}

/// Registers the development key as the registry's root and publishes every
/// first-party package (a version already there is left as it is); the
/// root's key id, for the agent to pin.
fn registry(addr: SocketAddr, password: &str, plugins: &Path) -> anyhow::Result<String> {
    let (mut client, auth) = login(addr, password)?;
    let public = std::fs::read_to_string(plugins.join("dev.pub"))?;
    let key_id = vantage_protocol::keys::PublicKey::from_file(&public)?
        .id()
        .0;
    let body = serde_json::json!({"key": public, "root": true}).to_string();
    let added = client.request(
        "POST",
        "/api/v1/registry/keys",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )?;
    if added.status != 409 {
        added.json("registering the development key as the registry's root")?;
    }
    let mut names: Vec<_> = std::fs::read_dir(plugins)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "vpkg"))
        // A sandbox fixture, not a probe.
        .filter(|p| {
            p.file_stem()
                .is_some_and(|s| !s.to_string_lossy().starts_with("misbehave"))
        })
        .collect();
    names.sort();
    for path in names {
        let bytes = std::fs::read(&path)?;
        let published = client.request(
            "POST",
            "/api/v1/registry/plugins",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/octet-stream"),
            ],
            &bytes,
        )?;
        if published.status != 409 {
            published.json(&format!("publishing {}", path.display()))?;
        }
    }
    Ok(key_id)
}

/// Defines (or updates) the demo's checks on the server.
fn assign(addr: SocketAddr, password: &str, checks: &[serde_json::Value]) -> anyhow::Result<()> {
    let (mut client, auth) = login(addr, password)?;
    for check in checks {
        let name = check["name"].as_str().context("a check without a name")?;
        client
            .request(
                "PUT",
                &format!("/api/v1/checks/{name}"),
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                check.to_string().as_bytes(),
            )?
            .json(&format!("defining check {name}"))?;
    }
    Ok(())
}

fn tcp_banner() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(b"SSH-2.0-vantage-demo\r\n");
        }
    });
    Ok(port)
}

fn udp_echo() -> anyhow::Result<u16> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let port = socket.local_addr()?.port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, peer)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], peer);
        }
    });
    Ok(port)
}

/// A minimal HTTP/1.1 server: `/old` redirects to `/`, `/` says hello.
fn http_server() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("/");
                let response = if path == "/old" {
                    "HTTP/1.1 301 Moved Permanently\r\nLocation: /\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
                } else {
                    let body = "hello from the vantage demo\n";
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = (&stream).write_all(response.as_bytes());
            });
        }
    });
    Ok(port)
}

/// dnsmasq answering `demo.vantage.test` on a free loopback port, if installed.
fn dnsmasq() -> Option<(Child, u16)> {
    let port = UdpSocket::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("dnsmasq")
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
        .arg("--address=/demo.vantage.test/127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("dnsmasq")
        .inspect_err(|_| eprintln!("dnsmasq is not installed: the demo skips the DNS check"))
        .ok()?;
    std::thread::sleep(std::time::Duration::from_millis(200));
    Some((child, port))
}
