//! The small services the demo's checks probe, all on loopback and all in
//! this process (so nothing outlives the demo): a TCP banner, a UDP echo, an
//! HTTP server with a redirect that writes an access log (which a
//! `log-match` check reads), and a DNS server answering one name.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, UdpSocket};
use std::path::Path;

/// The services' ports on 127.0.0.1. Their threads serve until the
/// process ends.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ports {
    pub(super) tcp: u16,
    pub(super) udp: u16,
    pub(super) http: u16,
    pub(super) dns: u16,
}

impl Ports {
    /// Starts them; the HTTP server appends its access log to `access_log`.
    pub(super) fn start(access_log: &Path) -> anyhow::Result<Ports> {
        Ok(Ports {
            tcp: tcp_banner()?,
            udp: udp_echo()?,
            http: http_server(access_log)?,
            dns: dns_server()?,
        })
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

/// A minimal HTTP/1.1 server: `/old` redirects to `/`, `/` says hello;
/// one line per request in `access_log`, as web servers write them.
fn http_server(access_log: &Path) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    if let Some(dir) = access_log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let log = std::sync::Arc::new(std::sync::Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(access_log)?,
    ));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("/");
                let status = if path == "/old" { 301 } else { 200 };
                let peer = stream
                    .peer_addr()
                    .map(|a| a.ip().to_string())
                    .unwrap_or_default();
                let at = chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S %z");
                let entry = format!("{peer} - - [{at}] \"{}\" {status} -\n", request_line.trim());
                // Writes are whole lines: one write per request, under a lock.
                let _ = log.lock().map(|mut f| f.write_all(entry.as_bytes()));
                let response = if status == 301 {
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

/// The one name the DNS service answers, with 127.0.0.1.
pub(super) const DNS_NAME: &str = "demo.vantage.test";

/// A DNS server over UDP that answers `A demo.vantage.test` with 127.0.0.1,
/// other types of that name with no records, and other names with NXDOMAIN.
fn dns_server() -> anyhow::Result<u16> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let port = socket.local_addr()?.port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = socket.recv_from(&mut buf) {
            if let Some(answer) = dns_answer(&buf[..n]) {
                let _ = socket.send_to(&answer, peer);
            }
        }
    });
    Ok(port)
}

/// The answer to one query, or None for what is not a query.
fn dns_answer(query: &[u8]) -> Option<Vec<u8>> {
    const A: u16 = 1;
    let header = query.get(..12)?;
    // A query (QR clear) with one question.
    if header[2] & 0x80 != 0 || header[4..6] != [0, 1] {
        return None;
    }
    let mut labels = Vec::new();
    let mut at = 12;
    loop {
        let len = usize::from(*query.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question = query.get(12..at + 4)?;
    let ours = labels.join(".") == DNS_NAME;
    let answers = u8::from(ours && qtype == A);
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&header[..2]);
    // QR, AA, and RD as asked; NXDOMAIN for any other name.
    out.extend_from_slice(&[0x84 | (header[2] & 0x01), if ours { 0 } else { 3 }]);
    out.extend_from_slice(&[0, 1, 0, answers, 0, 0, 0, 0]);
    out.extend_from_slice(question);
    if answers == 1 {
        // The question's name (a pointer to offset 12), A, IN, TTL 60, 127.0.0.1.
        out.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u8) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, qtype, 0, 1]);
        q
    }

    #[test]
    fn the_dns_service_answers_its_name_and_refuses_others() {
        let q = query("Demo.Vantage.test", 1);
        let a = dns_answer(&q).unwrap();
        assert_eq!(&a[..2], &[0x12, 0x34], "the query's id");
        assert_eq!(a[2] & 0x80, 0x80, "an answer");
        assert_eq!(a[3] & 0x0f, 0, "NOERROR");
        assert_eq!(&a[6..8], &[0, 1], "one record");
        assert_eq!(&a[a.len() - 4..], &[127, 0, 0, 1]);
        assert_eq!(&a[12..q.len()], &q[12..], "the question, repeated");

        let aaaa = dns_answer(&query(DNS_NAME, 28)).unwrap();
        assert_eq!((aaaa[3] & 0x0f, &aaaa[6..8]), (0, &[0u8, 0][..]));
        let other = dns_answer(&query("example.com", 1)).unwrap();
        assert_eq!((other[3] & 0x0f, &other[6..8]), (3, &[0u8, 0][..]));
        assert!(dns_answer(&a).is_none(), "an answer is not answered");
        assert!(dns_answer(&q[..20]).is_none(), "nor a cut query");
    }
}
