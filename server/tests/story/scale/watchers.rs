//! Dashboard pages, as live WebSockets through the balancer. Each records
//! the results it was told of and its gaps: a `resync`, or a socket that
//! closed (its replica was killed). After a gap a page does what the
//! dashboard does: it connects again through the balancer and reads the
//! latest results again (the catch-up).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::Value;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};
use uuid::Uuid;

use super::haproxy::REPLICA_HEADER;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Events a replica may have taken in before the last message a page got
/// and still not sent when it died: a gap opens this long before that
/// message.
pub(super) const IN_FLIGHT: Duration = Duration::from_secs(2);
/// How long a page may take to connect again.
const RECONNECT_LIMIT: Duration = Duration::from_secs(20);

/// A span in which a page may have missed results, and why.
#[derive(Debug, Clone)]
pub(super) struct Gap {
    pub(super) from: Instant,
    pub(super) to: Instant,
    pub(super) why: &'static str,
}

impl Gap {
    /// Whether a result sent at `sent` and acknowledged at `acked` may
    /// have been announced within the gap.
    pub(super) fn covers(&self, sent: Instant, acked: Instant) -> bool {
        sent <= self.to && acked >= self.from
    }
}

/// What one page saw.
#[derive(Debug, Default)]
pub(super) struct Watched {
    /// The replicas it was connected to, in order.
    pub(super) replicas: Vec<String>,
    pub(super) seen: HashMap<Uuid, Instant>,
    pub(super) gaps: Vec<Gap>,
    /// Catch-up reads of the latest results, each answered `200`.
    pub(super) caught_up: usize,
}

/// A page's live socket through the balancer at `host`, with the replica
/// that took it.
async fn connect(host: &str, bearer: &str) -> Result<(Socket, String), String> {
    let mut request = format!("ws://{host}/api/v1/live")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {bearer}").parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    let replica = response
        .headers()
        .get(REPLICA_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?")
        .to_owned();
    Ok((socket, replica))
}

/// Reads the latest results again, as the page does after a gap.
async fn catch_up(url: &str, bearer: &str) {
    let reply = super::http()
        .build()
        .unwrap()
        .get(format!("{url}/api/v1/results/latest"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "catching up after a gap");
    let rows: Value = reply.json().await.unwrap();
    assert!(rows.is_array() || rows.is_object(), "{rows}");
}

/// A page with its socket open.
pub(super) struct Page {
    url: String,
    bearer: String,
    socket: Socket,
    watched: Watched,
}

impl Page {
    /// Opens a page through the balancer at `url`.
    pub(super) async fn open(url: &str, bearer: &str) -> Page {
        let host = url.trim_start_matches("http://");
        let (socket, replica) = connect(host, bearer).await.unwrap();
        Page {
            url: url.to_owned(),
            bearer: bearer.to_owned(),
            socket,
            watched: Watched {
                replicas: vec![replica],
                ..Watched::default()
            },
        }
    }

    /// Watches until `watching` is cleared.
    pub(super) async fn watch(self, watching: Arc<AtomicBool>) -> Watched {
        let Page {
            url,
            bearer,
            mut socket,
            mut watched,
        } = self;
        let host = url.trim_start_matches("http://").to_owned();
        let mut last = Instant::now();
        while watching.load(Ordering::Relaxed) {
            let message =
                match tokio::time::timeout(Duration::from_millis(200), socket.next()).await {
                    Err(_) => continue,
                    Ok(message) => message,
                };
            let now = Instant::now();
            match message {
                Some(Ok(Message::Text(text))) => {
                    let event: Value = serde_json::from_str(&text).unwrap();
                    match event["type"].as_str() {
                        Some("result") => {
                            let id = event["result"]["result_id"].as_str().unwrap();
                            watched.seen.entry(id.parse().unwrap()).or_insert(now);
                        }
                        // What was dropped came after the last message read;
                        // what comes after this one is told.
                        Some("resync") => {
                            watched.gaps.push(Gap {
                                from: last - IN_FLIGHT,
                                to: now,
                                why: "resync",
                            });
                            catch_up(&url, &bearer).await;
                            watched.caught_up += 1;
                        }
                        _ => {}
                    }
                    last = now;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => last = now,
                // Closed, or cut: connect again, then catch up.
                _ => {
                    let from = last - IN_FLIGHT;
                    let started = Instant::now();
                    let (again, replica) = loop {
                        match connect(&host, &bearer).await {
                            Ok(connected) => break connected,
                            Err(e) => assert!(
                                started.elapsed() < RECONNECT_LIMIT,
                                "a page could not connect again: {e}"
                            ),
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    };
                    // The replica subscribed this socket before it answered
                    // the upgrade: what is sent from now on comes.
                    last = Instant::now();
                    socket = again;
                    watched.replicas.push(replica);
                    watched.gaps.push(Gap {
                        from,
                        to: last,
                        why: "socket closed",
                    });
                    catch_up(&url, &bearer).await;
                    watched.caught_up += 1;
                }
            }
        }
        watched
    }
}
