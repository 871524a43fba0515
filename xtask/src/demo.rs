//! `cargo xtask demo`: builds the plugins and the agent, starts small local
//! services on loopback (TCP banner, UDP echo, HTTP, and DNS through dnsmasq
//! when installed), and runs the standalone agent against them.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

use crate::{cargo, packages};

pub(crate) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let watch = args.iter().any(|a| a == "--watch");
    let plugins = packages::build_plugins(root)?;
    crate::run(
        cargo()
            .current_dir(root)
            .args(["build", "-p", "vantage-agent"]),
    )?;

    let tcp = tcp_banner()?;
    let udp = udp_echo()?;
    let http = http_server()?;
    let dns = dnsmasq();
    let dir = root.join("target/demo");
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("agent.toml");
    std::fs::write(
        &config,
        demo_config(&plugins, tcp, udp, http, dns.as_ref().map(|d| d.1)),
    )?;
    eprintln!("demo configuration: {}", config.display());

    let mut agent = Command::new(root.join("target/debug/vantage-agent"));
    agent.args(["run", "--config"]).arg(&config);
    if !watch {
        agent.arg("--once");
    }
    let result = crate::run(&mut agent);
    if let Some((mut child, _)) = dns {
        let _ = child.kill();
    }
    result
}

fn demo_config(plugins: &Path, tcp: u16, udp: u16, http: u16, dns: Option<u16>) -> String {
    let mut text = format!(
        r#"# Written by `cargo xtask demo`.
[agent]
name = "demo-agent"
data_dir = "data"

[trust]
keys = ["{plugins}/dev.pub"]

[plugins]
dirs = ["{plugins}"]

[[check]]
name = "tcp-banner"
plugin = "tcp"
targets = ["127.0.0.1:{tcp}"]
interval = "5s"
config = {{ expect = "SSH-2.0" }}

[[check]]
name = "udp-echo"
plugin = "udp"
targets = ["127.0.0.1:{udp}"]
interval = "5s"
config = {{ payload = "ping", expect = "ping", count = 3 }}

[[check]]
name = "web"
plugin = "http"
targets = ["http://127.0.0.1:{http}/old"]
interval = "5s"
config = {{ body_contains = "hello" }}

[[check]]
name = "this-host"
plugin = "system"
targets = ["localhost"]
interval = "10s"
config = {{ top_processes = 3 }}
"#,
        plugins = plugins.display()
    );
    if let Some(port) = dns {
        text.push_str(&format!(
            r#"
[[check]]
name = "dns"
plugin = "dns"
targets = ["127.0.0.1:{port}"]
interval = "5s"
config = {{ name = "demo.vantage.test", type = "A", expect = ["127.0.0.1"] }}
"#
        ));
    }
    text
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
