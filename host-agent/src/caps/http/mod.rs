//! `vantage:plugin/http`: HTTP/1.1 over TCP or TLS with a curl-like timing
//! breakdown (name lookup, connect, TLS, first byte, done) and redirects that
//! must stay inside the check's scope. One exchange on the wire is
//! `exchange`'s; this module follows the redirects.

mod exchange;

use std::sync::Arc;

use tokio::time::Instant;
use url::Url;
use wasmtime::component::{HasSelf, Linker};

use self::exchange::exchange;
use super::Access;
use super::access::CallBytes;
use super::net::{nanos, within};
use super::tls::TlsConfigs;
use crate::bindings::NetError;
use crate::bindings::vantage::plugin::http::{self, Request, Response};

pub(crate) struct HttpCap {
    access: Access,
    tls: Arc<TlsConfigs>,
}

impl HttpCap {
    pub(crate) fn new(access: Access, tls: Arc<TlsConfigs>) -> Self {
        HttpCap { access, tls }
    }
}

impl http::Host for HttpCap {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, NetError>> {
        Ok(self.send_many(vec![request]).await?.remove(0))
    }

    async fn send_many(
        &mut self,
        requests: Vec<Request>,
    ) -> wasmtime::Result<Vec<Result<Response, NetError>>> {
        let (access, tls) = (&self.access, &*self.tls);
        let held = access.bounds.bytes.call();
        access
            .batch(requests, |r| r.delay_ms, |r| send(access, tls, &held, r))
            .await
    }
}

async fn send(
    access: &Access,
    tls: &TlsConfigs,
    held: &CallBytes,
    r: Request,
) -> Result<Response, NetError> {
    access.granted()?;
    let mut method = hyper::Method::from_bytes(r.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| NetError::Invalid(format!("`{}` is not an HTTP method", r.method)))?;
    let mut url = parse_url(&r.url)?;
    let mut body = r.body.clone();
    let start = Instant::now();
    within(access.timeout(r.timeout_ms), async {
        let mut redirects = 0u32;
        loop {
            // Every hop is checked like the first: its name, then each
            // address it resolves to.
            let hop_error = |e| match (e, redirects) {
                (NetError::Denied(m), n) if n > 0 => NetError::Denied(format!("redirect: {m}")),
                (e, _) => e,
            };
            let host = url.host_str().unwrap_or_default().to_owned();
            access.reach(&host).map_err(hop_error)?;
            let hop = Instant::now();
            let mut ex = exchange(access, tls, held, &r, &method, &url, body.as_deref())
                .await
                .map_err(hop_error)?;
            let location = header(&ex.headers, "location");
            if (300..400).contains(&ex.status)
                && ex.status != 304
                && redirects < u32::from(r.max_redirects)
                && let Some(location) = location
            {
                url = url.join(&location).map_err(|e| {
                    NetError::Io(format!("bad redirect location `{location}`: {e}"))
                })?;
                redirects += 1;
                if ex.status == 303
                    || (matches!(ex.status, 301 | 302) && method == hyper::Method::POST)
                {
                    method = hyper::Method::GET;
                    body = None;
                }
                continue;
            }
            ex.timing.redirect_ns = nanos(hop.duration_since(start));
            return Ok(Response {
                status: ex.status,
                headers: ex.headers,
                body: ex.body,
                body_truncated: ex.truncated,
                final_url: url.to_string(),
                redirects,
                timing: ex.timing,
                tls: ex.tls,
            });
        }
    })
    .await
}

fn parse_url(text: &str) -> Result<Url, NetError> {
    let url =
        Url::parse(text).map_err(|e| NetError::Invalid(format!("`{text}` is not a URL: {e}")))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        _ => Err(NetError::Invalid(format!(
            "`{text}` is not an http(s) URL with a host"
        ))),
    }
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// Adds `vantage:plugin/http` to `linker`, served by the [`HttpCap`] that `get`
/// finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut HttpCap,
) -> wasmtime::Result<()> {
    http::add_to_linker::<T, HasSelf<HttpCap>>(linker, get)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;
    use vantage_protocol::manifest::Capability;

    use super::*;
    use crate::caps::access::tests::{bounds, bounds_allowing, granted};

    /// A web server on loopback that answers every connection with `reply`.
    async fn server(reply: &'static str) -> u16 {
        server_on("127.0.0.1", reply).await
    }

    /// The same, on loopback address `ip`.
    async fn server_on(ip: &str, reply: &'static str) -> u16 {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        port
    }

    fn request(url: String, body_max: u32) -> Request {
        Request {
            method: "get".into(),
            url,
            headers: Vec::new(),
            body: None,
            timeout_ms: 2000,
            delay_ms: 0,
            max_redirects: 3,
            tls_verify: true,
            body_max,
        }
    }

    fn cap(target: &str) -> HttpCap {
        let tls = Arc::new(TlsConfigs::new(&[] as &[&str]).unwrap());
        HttpCap::new(granted(Capability::Http, &bounds(10, target)), tls)
    }

    #[tokio::test]
    async fn a_local_server_answers_with_its_status_headers_and_a_capped_body() {
        let port = server(
            "HTTP/1.1 418 I'm a teapot\r\ncontent-length: 11\r\nx-kind: tea\r\nconnection: close\r\n\r\nhello world",
        )
        .await;
        let mut http = cap("127.0.0.1");
        let url = format!("http://127.0.0.1:{port}/pot");
        let r = http::Host::send(&mut http, request(url.clone(), 5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.status, 418);
        assert_eq!(header(&r.headers, "X-Kind").as_deref(), Some("tea"));
        assert_eq!(r.body, b"hello");
        assert!(r.body_truncated);
        assert_eq!(r.final_url, url);
        assert!(r.tls.is_none());
        assert!(r.timing.first_byte_ns >= r.timing.connect_ns);
    }

    #[tokio::test]
    async fn a_batch_cannot_make_the_host_hold_more_than_the_run_may() {
        let body = "x".repeat(60_000);
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let port = server(Box::leak(reply.into_boxed_str())).await;
        let scope = crate::caps::Scope::new("127.0.0.1", &[]).unwrap();
        // A run allowed 100 kB: one body fits, three at once do not.
        let small = crate::caps::Bounds::new(
            100,
            Arc::new(scope),
            Instant::now() + std::time::Duration::from_secs(5),
            100_000,
        );
        let tls = Arc::new(TlsConfigs::new(&[] as &[&str]).unwrap());
        let mut http = HttpCap::new(granted(Capability::Http, &small), tls);
        let url = format!("http://127.0.0.1:{port}/");
        let many = vec![request(url.clone(), 1 << 20); 3];
        let out = http::Host::send_many(&mut http, many).await.unwrap();
        let refused = out
            .iter()
            .filter(|r| matches!(r, Err(NetError::Denied(m)) if m.contains("memory limit")))
            .count();
        assert!(refused >= 1, "{out:?}");
        assert!(out.iter().all(|r| match r {
            Ok(r) => r.body.len() == 60_000,
            Err(_) => true,
        }));
        // Released when the call returned: the next one fits.
        let one = http::Host::send(&mut http, request(url, 1 << 20))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(one.body.len(), 60_000);
    }

    #[tokio::test]
    async fn a_redirect_out_of_scope_is_refused() {
        let port = server(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.2:9/\r\ncontent-length: 0\r\n\r\n",
        )
        .await;
        let mut http = cap("127.0.0.1");
        let r = http::Host::send(&mut http, request(format!("http://127.0.0.1:{port}/"), 64))
            .await
            .unwrap();
        assert!(
            matches!(&r, Err(NetError::Denied(m)) if m.starts_with("redirect:")),
            "{r:?}"
        );
        // A redirect to a name in scope that resolves to loopback: refused
        // at its addresses, before anything is sent there.
        let port = server_on(
            "127.0.0.3",
            "HTTP/1.1 302 Found\r\nlocation: http://localhost:9/\r\ncontent-length: 0\r\n\r\n",
        )
        .await;
        let named = bounds_allowing("127.0.0.3", &["localhost"]);
        let tls = Arc::new(TlsConfigs::new(&[] as &[&str]).unwrap());
        let mut by_name = HttpCap::new(granted(Capability::Http, &named), tls);
        let r = http::Host::send(
            &mut by_name,
            request(format!("http://127.0.0.3:{port}/"), 64),
        )
        .await
        .unwrap();
        assert!(
            matches!(&r, Err(NetError::Denied(m)) if m.starts_with("redirect:") && m.contains("(loopback)")),
            "{r:?}"
        );
        let r = http::Host::send(&mut http, request("ftp://127.0.0.1/".into(), 64))
            .await
            .unwrap();
        assert!(matches!(r, Err(NetError::Invalid(_))), "{r:?}");
    }
}
