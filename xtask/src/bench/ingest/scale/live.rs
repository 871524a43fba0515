//! The cross-replica live delay: a probe agent posts one result every
//! [`PROBE_EVERY`] straight to replica r0, and a page on each other
//! replica (a live WebSocket, as the dashboard opens) notes when it is
//! told of it. The delay runs from sending the probe to the other
//! replica's page reading its event.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::Utc;
use tungstenite::Message;
use tungstenite::client::IntoClientRequest as _;

use super::super::load::quantile_ms;
use super::super::server::Agent;
use super::super::workload::{Rng, gzip_batch, ping_result};
use crate::http::Client;

/// How often the probe posts.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long a page may still be told of the last probe.
const GRACE: Duration = Duration::from_secs(5);
/// A probe told this soon means the pages have caught up.
const SETTLED: Duration = Duration::from_secs(1);

/// Probe ids and when each was sent; then when each page was told.
#[derive(Default)]
struct Seen {
    sent: HashMap<String, Instant>,
    /// µs from sending to a page's event.
    delays: Vec<u32>,
}

/// Pages open on some replicas, noting the probes they are told of.
pub(super) struct Pages {
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Pages {
    /// Opens one page on each of `replicas` as the admin (`Bearer …`).
    pub(super) fn open(replicas: &[SocketAddr], admin: &str) -> anyhow::Result<Pages> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for &addr in replicas {
            let socket = connect(addr, admin)?;
            let (seen, stop) = (seen.clone(), stop.clone());
            threads.push(std::thread::spawn(move || watch(socket, &seen, &stop)));
        }
        Ok(Pages {
            seen,
            stop,
            threads,
        })
    }

    /// Posts probes to `r0` as `probe` until `until`; returns the delays
    /// (µs, sorted) of this window's probes and how many were not told
    /// within [`GRACE`].
    /// Posts a probe at a time until one reaches every page within
    /// [`SETTLED`]: the pages have worked through what came before (a
    /// warm-up's thousands of batches). How long that took; an error past
    /// `limit`.
    pub(super) fn settle(
        &self,
        r0: SocketAddr,
        probe: &Agent,
        limit: Duration,
    ) -> anyhow::Result<Duration> {
        let begun = Instant::now();
        let mut client = Client::new(r0);
        let mut rng = Rng::new(11);
        while begun.elapsed() < limit {
            crate::bench::sys::check_interrupted()?;
            let result = ping_result(&mut rng, &probe.name, "probe", "10.0.0.1", Utc::now(), 0.01);
            {
                // Only this probe counts: the pages ignore ids not sent.
                let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                seen.sent.clear();
                seen.delays.clear();
                seen.sent.insert(result.id.to_string(), Instant::now());
            }
            let r = client.request(
                "POST",
                "/api/v1/ingest",
                &probe.ingest_headers(),
                &gzip_batch(vec![result])?,
            )?;
            if r.status != 200 {
                bail!("a probe was answered HTTP {}: {}", r.status, r.text());
            }
            let posted = Instant::now();
            while posted.elapsed() < SETTLED {
                let told = self
                    .seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .delays
                    .len();
                if told >= self.threads.len() {
                    return Ok(begun.elapsed());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        bail!("the pages were still behind after {limit:?}")
    }

    pub(super) fn probe(
        &self,
        r0: SocketAddr,
        probe: &Agent,
        until: Instant,
    ) -> anyhow::Result<(Vec<u32>, usize)> {
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.sent.clear();
            seen.delays.clear();
        }
        let mut client = Client::new(r0);
        let mut rng = Rng::new(7);
        let mut next = Instant::now();
        let mut sent = 0usize;
        while next < until {
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            let result = ping_result(&mut rng, &probe.name, "probe", "10.0.0.1", Utc::now(), 0.01);
            let id = result.id.to_string();
            let batch = gzip_batch(vec![result])?;
            let headers = probe.ingest_headers();
            self.seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .sent
                .insert(id, Instant::now());
            let r = client.request("POST", "/api/v1/ingest", &headers, &batch)?;
            if r.status != 200 {
                bail!("a probe was answered HTTP {}: {}", r.status, r.text());
            }
            sent += 1;
            next += PROBE_EVERY;
        }
        std::thread::sleep(GRACE);
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut delays = seen.delays.clone();
        delays.sort_unstable();
        let untold = (sent * self.threads.len()).saturating_sub(delays.len());
        Ok((delays, untold))
    }

    pub(super) fn close(self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join()
                .map_err(|_| anyhow::anyhow!("a page thread panicked"))??;
        }
        Ok(())
    }
}

/// The p-quantile in ms.
pub(super) fn delay_ms(delays: &[u32], q: f64) -> f64 {
    quantile_ms(delays, q)
}

type Socket = tungstenite::WebSocket<TcpStream>;

fn connect(addr: SocketAddr, admin: &str) -> anyhow::Result<Socket> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    let mut request = format!("ws://{addr}/api/v1/live").into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", admin.parse().context("a header value")?);
    let (socket, _) = tungstenite::client(request, stream)
        .map_err(|e| anyhow::anyhow!("opening a live socket on {addr}: {e}"))?;
    // Reads wake up to look at the stop flag.
    socket
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)))?;
    Ok(socket)
}

fn watch(mut socket: Socket, seen: &Mutex<Seen>, stop: &AtomicBool) -> anyhow::Result<()> {
    while !stop.load(Ordering::Relaxed) {
        match socket.read() {
            Ok(Message::Text(text)) => {
                let at = Instant::now();
                let event: serde_json::Value = serde_json::from_str(&text)?;
                if event["type"] != "result" {
                    continue;
                }
                let Some(id) = event["result"]["result_id"].as_str() else {
                    continue;
                };
                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(sent) = seen.sent.get(id).copied() {
                    let us = at.duration_since(sent).as_micros().min(u32::MAX as u128);
                    seen.delays.push(us as u32);
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => bail!("a page's live socket failed: {e}"),
        }
    }
    let _ = socket.close(None);
    Ok(())
}
