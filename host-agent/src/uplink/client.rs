//! The agent's HTTP client for its server: HTTP/1.1 over TCP or rustls,
//! one kept-alive connection, reconnected after any error.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::Url;

use crate::caps::tls::TlsConfigs;

/// The longest one request may take, from connecting to the last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read, but for [`ServerClient::get`]'s own bound.
const MAX_ANSWER: usize = 1 << 20;
const USER_AGENT: &str = concat!("vantage-agent/", env!("VANTAGE_VERSION"));

/// An answer from the server.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<Duration>,
    /// `ETag`, without its quotes.
    pub etag: Option<String>,
    pub body: Bytes,
}

impl Reply {
    /// The problem's title and detail, for logs and errors.
    /// Clipped to 1 KiB: it is the server's text, logged as it is.
    pub fn problem_text(&self) -> String {
        let text = match serde_json::from_slice::<vantage_protocol::ingest::Problem>(&self.body) {
            Ok(p) => match p.detail {
                Some(d) => format!("{}: {d}", p.title),
                None => p.title,
            },
            Err(_) => format!(
                "HTTP {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body).trim()
            ),
        };
        vantage_protocol::text::clip(text, 1024)
    }
}

/// One request, as [`ServerClient::exchange`] sends it.
struct Exchange<'a> {
    method: hyper::Method,
    path: &'a str,
    headers: Vec<(hyper::header::HeaderName, String)>,
    body: Vec<u8>,
    max_answer: usize,
    timeout: Duration,
}

#[derive(Debug)]
pub struct ServerClient {
    base: Url,
    host: String,
    port: u16,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    credential: Option<String>,
    conn: Option<SendRequest<Full<Bytes>>>,
}

impl ServerClient {
    /// A client for `server` (`http://` or `https://`), trusting the system
    /// roots plus `ca_file`, sending `credential` as a bearer token.
    pub fn new(
        server: &str,
        ca_file: Option<&Path>,
        credential: Option<String>,
    ) -> anyhow::Result<ServerClient> {
        let base = Url::parse(server).with_context(|| format!("`{server}` is not a URL"))?;
        let host = base
            .host_str()
            .context("the server URL has no host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = base
            .port_or_known_default()
            .context("the server URL has no port")?;
        let tls = match base.scheme() {
            "https" => {
                let configs = TlsConfigs::new(&ca_file.into_iter().collect::<Vec<_>>())?;
                let name = ServerName::try_from(host.clone())
                    .with_context(|| format!("`{host}` is not a TLS server name"))?;
                Some((configs.verified, name))
            }
            "http" => None,
            other => anyhow::bail!("the server URL must be http:// or https://, not {other}://"),
        };
        Ok(ServerClient {
            base,
            host,
            port,
            tls,
            credential,
            conn: None,
        })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// True when traffic to the server is neither encrypted nor local.
    pub fn is_plaintext_remote(&self) -> bool {
        let local = self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback());
        self.tls.is_none() && !local
    }

    /// POSTs JSON (gzip-compressed when `gzip`) to `path`.
    pub async fn post(&mut self, path: &str, json: &[u8], gzip: bool) -> anyhow::Result<Reply> {
        let body = if gzip { compress(json)? } else { json.to_vec() };
        let mut headers = vec![(hyper::header::CONTENT_TYPE, "application/json".to_owned())];
        if gzip {
            headers.push((hyper::header::CONTENT_ENCODING, "gzip".to_owned()));
        }
        let request = Exchange {
            method: hyper::Method::POST,
            path,
            headers,
            body,
            max_answer: MAX_ANSWER,
            timeout: REQUEST_TIMEOUT,
        };
        self.send(request).await
    }

    /// GETs `path`, reading at most `max_answer` bytes, within `timeout`
    /// (a long poll's wait plus the usual time). `if_none_match` is an
    /// entity tag without its quotes.
    pub async fn get(
        &mut self,
        path: &str,
        if_none_match: Option<&str>,
        max_answer: usize,
        timeout: Duration,
    ) -> anyhow::Result<Reply> {
        let headers = if_none_match
            .map(|tag| vec![(hyper::header::IF_NONE_MATCH, format!("\"{tag}\""))])
            .unwrap_or_default();
        let request = Exchange {
            method: hyper::Method::GET,
            path,
            headers,
            body: Vec::new(),
            max_answer,
            timeout: timeout + REQUEST_TIMEOUT,
        };
        self.send(request).await
    }

    async fn send(&mut self, request: Exchange<'_>) -> anyhow::Result<Reply> {
        let limit = request.timeout;
        match tokio::time::timeout(limit, self.exchange(request)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => {
                self.conn = None;
                Err(e)
            }
            Err(_) => {
                self.conn = None;
                anyhow::bail!("no answer from {} within {limit:?}", self.base)
            }
        }
    }

    async fn exchange(&mut self, x: Exchange<'_>) -> anyhow::Result<Reply> {
        let url = self.base.join(x.path)?;
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let mut request = hyper::Request::builder()
            .method(x.method)
            .uri(target)
            .header(hyper::header::HOST, format!("{}:{}", self.host, self.port))
            .header(hyper::header::USER_AGENT, USER_AGENT);
        for (name, value) in x.headers {
            request = request.header(name, value);
        }
        if let Some(c) = &self.credential {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {c}"));
        }
        let request = request.body(Full::new(Bytes::from(x.body)))?;
        let sender = self.connection().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
                .map(str::trim)
                .map(str::to_owned)
        };
        let retry_after = header(hyper::header::RETRY_AFTER)
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let etag = header(hyper::header::ETAG)
            .map(|t| t.trim_start_matches("W/").trim_matches('"').to_owned());
        let body = http_body_util::Limited::new(response.into_body(), x.max_answer)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading the answer: {e}"))?
            .to_bytes();
        Ok(Reply {
            status,
            retry_after,
            etag,
            body,
        })
    }

    async fn connection(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        let alive = match &mut self.conn {
            Some(c) => c.ready().await.is_ok(),
            None => false,
        };
        if !alive {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .with_context(|| format!("connecting to {}:{}", self.host, self.port))?;
            tcp.set_nodelay(true)?;
            let sender = match &self.tls {
                Some((config, name)) => {
                    let tls = TlsConnector::from(config.clone())
                        .connect(name.clone(), tcp)
                        .await
                        .with_context(|| format!("TLS with {}", self.host))?;
                    handshake(tls).await?
                }
                None => handshake(tcp).await?,
            };
            self.conn = Some(sender);
        }
        Ok(self.conn.as_mut().expect("a connection was just made"))
    }
}

async fn handshake<S>(stream: S) -> anyhow::Result<SendRequest<Full<Bytes>>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn compress(json: &[u8]) -> anyhow::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 5),
        flate2::Compression::fast(),
    );
    e.write_all(json)?;
    Ok(e.finish()?)
}
