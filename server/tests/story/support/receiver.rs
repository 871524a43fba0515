//! A webhook receiver on a free loopback port: records every request it
//! gets (path, headers and body) on any path, and answers 503 to the
//! first `fail` of them. It stands in for chat and paging services too.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path and query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it came.
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Debug, Default)]
struct Shared {
    got: Mutex<Vec<Received>>,
    /// Requests still to refuse with 503 (recorded all the same).
    fail: AtomicU32,
    /// How long each answer takes.
    delay: Duration,
}

#[derive(Debug)]
pub struct Receiver {
    /// `/hook` on it.
    pub url: String,
    /// `http://127.0.0.1:port`, to put service paths under.
    pub base: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn take(
    State(shared): State<Arc<Shared>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    shared.got.lock().unwrap().push(Received {
        path,
        headers,
        body,
        at: std::time::Instant::now(),
    });
    tokio::time::sleep(shared.delay).await;
    let refuse = shared
        .fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if refuse {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

impl Receiver {
    /// Listening; the first `fail` requests get 503.
    pub async fn start(fail: u32) -> Receiver {
        Receiver::slow(fail, Duration::ZERO).await
    }

    /// Answering each request after `delay` (recorded on arrival).
    pub async fn slow(fail: u32, delay: Duration) -> Receiver {
        let shared = Arc::new(Shared {
            fail: AtomicU32::new(fail),
            delay,
            ..Shared::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let url = format!("{base}/hook");
        let app = axum::Router::new()
            .fallback(axum::routing::post(take))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url,
            base,
            shared,
            task,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.got.lock().unwrap().clone()
    }

    /// How many requests came (without copying them).
    pub fn count(&self) -> usize {
        self.shared.got.lock().unwrap().len()
    }

    /// How many came of each `x-vantage-delivery`.
    pub fn deliveries(&self) -> std::collections::BTreeMap<String, usize> {
        let mut by = std::collections::BTreeMap::new();
        for r in self.shared.got.lock().unwrap().iter() {
            *by.entry(r.header("x-vantage-delivery").to_owned())
                .or_default() += 1;
        }
        by
    }

    /// Waits (at most 20 s) until `n` requests came, then a little longer
    /// to catch any extra one; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.count() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        self.received()
    }
}

impl Receiver {
    /// What came within `wait` (several of the notifier's polls): for
    /// checking that nothing comes.
    pub async fn after(&self, wait: Duration) -> Vec<Received> {
        tokio::time::sleep(wait).await;
        self.received()
    }
}

/// A loopback URL where nothing listens (a receiver that is down).
pub async fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/hook")
}
