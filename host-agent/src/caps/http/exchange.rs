//! One HTTP/1.1 request/response exchange with one server, over TCP or
//! TLS, timed; the body kept up to what the plugin asked for, and charged
//! to the run's host bytes. Redirects are the caller's (`super::send`).

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use url::Url;

use crate::bindings::NetError;
use crate::bindings::vantage::plugin::http::{Request, Timing, TlsInfo};
use crate::caps::Access;
use crate::caps::access::CallBytes;
use crate::caps::net::{connect_first, nanos, net_error};
use crate::caps::tls::TlsConfigs;

/// The largest body a plugin may keep.
const MAX_BODY: usize = 8 << 20;
const USER_AGENT: &str = concat!("vantage-agent/", env!("VANTAGE_VERSION"));

/// What one request/response exchange produced, before redirects are decided.
pub(super) struct Exchange {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) truncated: bool,
    pub(super) timing: Timing,
    pub(super) tls: Option<TlsInfo>,
}

pub(super) async fn exchange(
    access: &Access,
    tls: &TlsConfigs,
    held: &CallBytes,
    r: &Request,
    method: &hyper::Method,
    url: &Url,
    body: Option<&[u8]>,
) -> Result<Exchange, NetError> {
    let start = Instant::now();
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(80);
    let (addrs, _) = access.resolve(host, port).await?;
    let dns_ns = nanos(start.elapsed());
    let (stream, _, _) = connect_first(&addrs).await?;
    let connect_ns = nanos(start.elapsed());
    let request = build_request(r, method, url, body)?;
    let body_max = (r.body_max as usize).min(MAX_BODY);
    if url.scheme() == "https" {
        let config = if r.tls_verify {
            tls.verified.clone()
        } else {
            tls.unverified.clone()
        };
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| NetError::Invalid(format!("`{host}` is not a valid TLS server name")))?;
        let stream = TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(|e| NetError::Tls(e.to_string()))?;
        let tls_ns = nanos(start.elapsed());
        let info = tls_info(stream.get_ref().1);
        let mut ex = round_trip(stream, request, body_max, held, start).await?;
        ex.timing = Timing {
            dns_ns,
            connect_ns,
            tls_ns: Some(tls_ns),
            ..ex.timing
        };
        ex.tls = info;
        Ok(ex)
    } else {
        let mut ex = round_trip(stream, request, body_max, held, start).await?;
        ex.timing = Timing {
            dns_ns,
            connect_ns,
            tls_ns: None,
            ..ex.timing
        };
        Ok(ex)
    }
}

fn build_request(
    r: &Request,
    method: &hyper::Method,
    url: &Url,
    body: Option<&[u8]>,
) -> Result<hyper::Request<Full<Bytes>>, NetError> {
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let authority = &url[url::Position::BeforeHost..url::Position::AfterPort];
    let mut builder = hyper::Request::builder()
        .method(method.clone())
        .uri(if path.is_empty() { "/" } else { path })
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, USER_AGENT);
    for (name, value) in &r.headers {
        if name.eq_ignore_ascii_case("host") {
            continue;
        }
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default())))
        .map_err(|e| NetError::Invalid(format!("bad request: {e}")))
}

async fn round_trip<S>(
    io: S,
    request: hyper::Request<Full<Bytes>>,
    body_max: usize,
    held: &CallBytes,
    start: Instant,
) -> Result<Exchange, NetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| NetError::Io(format!("HTTP handshake: {e}")))?;
    let conn = tokio::spawn(conn);
    let response = sender.send_request(request).await.map_err(hyper_error)?;
    let first_byte_ns = nanos(start.elapsed());
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut incoming = response.into_body();
    let mut body = Vec::new();
    let mut truncated = false;
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(hyper_error)?;
        if let Some(data) = frame.data_ref() {
            let room = body_max.saturating_sub(body.len());
            truncated |= data.len() > room;
            let kept = data.len().min(room);
            held.charge(kept)?;
            body.extend_from_slice(&data[..kept]);
        }
    }
    let done_ns = nanos(start.elapsed());
    conn.abort();
    Ok(Exchange {
        status,
        headers,
        body,
        truncated,
        timing: Timing {
            dns_ns: 0,
            connect_ns: 0,
            tls_ns: None,
            first_byte_ns,
            done_ns,
            redirect_ns: 0,
        },
        tls: None,
    })
}

fn hyper_error(e: hyper::Error) -> NetError {
    if let Some(io) = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<std::io::Error>())
    {
        return net_error(io);
    }
    NetError::Io(format!("HTTP: {e}"))
}

fn tls_info(conn: &rustls::ClientConnection) -> Option<TlsInfo> {
    let protocol = match conn.protocol_version()? {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
        other => format!("{other:?}"),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let leaf = conn.peer_certificates()?.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    Some(TlsInfo {
        protocol,
        cipher,
        not_after: cert.validity().not_after.timestamp(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
    })
}
