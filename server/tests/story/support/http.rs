//! A small HTTP/1.1 client for the stories: one connection per request, so
//! nothing is hidden by pooling.

use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts an RFC 9457 problem with this status.
    #[track_caller]
    pub fn problem(self, status: u16) -> Value {
        let r = self.expect(status);
        assert_eq!(r.content_type(), "application/problem+json", "{:?}", r.body);
        let p = r.json();
        assert_eq!(p["status"], status, "{p}");
        assert!(p["title"].is_string(), "{p}");
        p
    }
}

/// Where requests go, and as whom.
#[derive(Debug, Clone)]
pub struct Client {
    pub base: String,
    pub token: Option<String>,
    /// The local address connections are made from (a 127.0.0.x to look
    /// like another client); the system's choice when absent.
    pub from: Option<std::net::IpAddr>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            token: None,
            from: None,
        }
    }

    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    pub fn anonymous(&self) -> Client {
        Client {
            token: None,
            ..self.clone()
        }
    }

    /// The same client, connecting from `ip`.
    pub fn from(&self, ip: std::net::IpAddr) -> Client {
        Client {
            from: Some(ip),
            ..self.clone()
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(body).unwrap().into(),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, &[], Bytes::new()).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Reply {
        self.try_send(method, path, headers, body).await.unwrap()
    }

    /// As [`Client::send`], with the request's transport error (a server
    /// that answers a body too large before reading it may close the
    /// connection while the client still writes it).
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply, hyper::Error> {
        let url: hyper::Uri = format!("{}{path}", self.base).parse().unwrap();
        let authority = url.authority().unwrap().clone();
        let stream = match self.from {
            None => tokio::net::TcpStream::connect(authority.as_str())
                .await
                .unwrap(),
            Some(ip) => {
                let to = tokio::net::lookup_host(authority.as_str())
                    .await
                    .unwrap()
                    .next()
                    .unwrap();
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind((ip, 0).into()).unwrap();
                socket.connect(to).await.unwrap()
            }
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(url.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
            .header("host", authority.as_str());
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = tokio::time::timeout(
            Duration::from_secs(30),
            sender.send_request(req.body(Full::new(body)).unwrap()),
        )
        .await
        .expect("the server answers within 30 s")?;
        let (parts, body) = response.into_parts();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await?.to_bytes(),
        })
    }
}

/// Loopback address `127.0.0.<last>`: a client that looks like another host.
pub fn loopback(last: u8) -> std::net::IpAddr {
    std::net::IpAddr::from([127, 0, 0, last])
}

/// Gzip at the level the agent uses.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The bootstrap admin's session on the server at `url` (started with
/// `password` as `VANTAGE_ADMIN_PASSWORD`).
pub async fn login(url: &str, password: &str) -> Client {
    let anonymous = Client::new(url);
    let session = anonymous
        .post(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "admin", "password": password}),
        )
        .await
        .expect(200)
        .json();
    anonymous.with_token(session["token"].as_str().unwrap())
}
