//! A minimal HTTP/1.1 client over one keep-alive `TcpStream`: enough for
//! the server's JSON API and `/metrics` on 127.0.0.1, without an async
//! runtime in xtask.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context as _, bail};

/// The longest one request may take (connect, send, answer), unless the
/// client is made [`Client::patient`].
const REQUEST_LIMIT: Duration = Duration::from_secs(30);
/// Largest answer read (the 30-day history of one series is ≈ 150 kB).
const MAX_BODY: usize = 64 << 20;

/// One connection to the server, opened on first use and again after the
/// server closed it.
pub(crate) struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    limit: Duration,
}

/// A complete answer.
pub(crate) struct Response {
    pub(crate) status: u16,
    /// `Retry-After` in seconds, on 429 and 503.
    pub(crate) retry_after: Option<u64>,
    /// Every header, names in lower case.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The value of header `name` (lower case), if it was sent.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body of a 2xx answer as JSON, failing with the status and body
    /// otherwise.
    pub(crate) fn json(&self, what: &str) -> anyhow::Result<serde_json::Value> {
        if !(200..300).contains(&self.status) {
            bail!("{what}: HTTP {}: {}", self.status, self.text());
        }
        serde_json::from_slice(&self.body)
            .with_context(|| format!("{what}: unexpected answer {}", self.text()))
    }
}

impl Client {
    pub(crate) fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            conn: None,
            limit: REQUEST_LIMIT,
        }
    }

    /// The same client, for answers that may take up to `limit`.
    pub(crate) fn patient(mut self, limit: Duration) -> Client {
        self.limit = limit;
        self
    }

    /// Sends one request; `headers` are extra lines such as
    /// `("Authorization", "Bearer …")`. A request on a kept-alive
    /// connection that the server had closed is sent once more on a new one
    /// (every request the benchmark makes is idempotent).
    pub(crate) fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Response> {
        let reused = self.conn.is_some();
        match self.try_request(method, path, headers, body) {
            Ok(r) => Ok(r),
            Err(_) if reused => {
                self.conn = None;
                self.try_request(method, path, headers, body)
            }
            Err(e) => Err(e),
        }
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Response> {
        let result = self.exchange(method, path, headers, body);
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Response> {
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let stream = TcpStream::connect_timeout(&self.addr, self.limit)
                    .with_context(|| format!("connecting to {}", self.addr))?;
                stream.set_nodelay(true)?;
                stream.set_read_timeout(Some(self.limit))?;
                stream.set_write_timeout(Some(self.limit))?;
                self.conn.insert(BufReader::with_capacity(64 << 10, stream))
            }
        };
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut message = head.into_bytes();
        message.extend_from_slice(body);
        conn.get_mut().write_all(&message)?;

        let mut line = String::new();
        read_line(conn, &mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let (mut length, mut chunked, mut close, mut retry_after) = (None, false, false, None);
        let mut all = Vec::new();
        loop {
            read_line(conn, &mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let Some((name, value)) = l.split_once(':') else {
                bail!("bad header line {l:?}");
            };
            let (name, value) = (name.to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => length = Some(value.parse::<usize>()?),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                "retry-after" => retry_after = value.parse().ok(),
                _ => {}
            }
            all.push((name, value.to_owned()));
        }
        let body = if chunked {
            read_chunked(conn)?
        } else {
            let n = length.unwrap_or(0);
            if n > MAX_BODY {
                bail!("answer of {n} bytes is too large");
            }
            let mut body = vec![0; n];
            conn.read_exact(&mut body)?;
            body
        };
        if close {
            self.conn = None;
        }
        Ok(Response {
            status,
            retry_after,
            headers: all,
            body,
        })
    }
}

fn read_line(conn: &mut BufReader<TcpStream>, line: &mut String) -> anyhow::Result<()> {
    line.clear();
    if conn.read_line(line)? == 0 {
        bail!("the server closed the connection");
    }
    Ok(())
}

fn read_chunked(conn: &mut BufReader<TcpStream>) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        read_line(conn, &mut line)?;
        let size = line.trim().split(';').next().unwrap_or("");
        let size =
            usize::from_str_radix(size, 16).with_context(|| format!("bad chunk size {line:?}"))?;
        if body.len() + size > MAX_BODY {
            bail!("chunked answer is too large");
        }
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                read_line(conn, &mut line)?;
                if line.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        conn.read_exact(&mut body[start..])?;
        read_line(conn, &mut line)?;
    }
}
