//! The small services the demo's checks probe, all on loopback: a TCP
//! banner, a UDP echo, an HTTP server with a redirect, and dnsmasq (when
//! installed) answering one name.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

/// The services' ports on 127.0.0.1.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ports {
    pub(super) tcp: u16,
    pub(super) udp: u16,
    pub(super) http: u16,
    /// None without dnsmasq.
    pub(super) dns: Option<u16>,
}

/// The running services. Their threads serve until the process ends;
/// dnsmasq is stopped when this is dropped.
pub(super) struct Services {
    pub(super) ports: Ports,
    dnsmasq: Option<Child>,
}

impl Services {
    pub(super) fn start() -> anyhow::Result<Services> {
        let dns = dnsmasq();
        Ok(Services {
            ports: Ports {
                tcp: tcp_banner()?,
                udp: udp_echo()?,
                http: http_server()?,
                dns: dns.as_ref().map(|d| d.1),
            },
            dnsmasq: dns.map(|d| d.0),
        })
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        if let Some(dns) = &mut self.dnsmasq {
            let _ = dns.kill();
            let _ = dns.wait();
        }
    }
}

/// Greets every connection like an SSH server.
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
    let mut cmd = Command::new("dnsmasq");
    cmd.args([
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
    .stderr(Stdio::null());
    let child = super::lifeline::tie(&mut cmd)
        .spawn()
        .context("dnsmasq")
        .inspect_err(|_| eprintln!("dnsmasq is not installed: the demo skips the DNS check"))
        .ok()?;
    std::thread::sleep(std::time::Duration::from_millis(200));
    Some((child, port))
}
