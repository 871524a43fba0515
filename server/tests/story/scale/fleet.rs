//! Simulated agents, as the real one behaves towards the server: each has
//! its own address and keep-alive connection, makes a batch every
//! [`PERIOD`], keeps it in an outbox until a `200` acknowledges it, and
//! sends the oldest first again after a failure. The ledger holds what was
//! acknowledged, when it was first sent, and which replica answered.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::watch;
use uuid::Uuid;

use super::haproxy::REPLICA_HEADER;
use crate::support::{batch, result};

/// How often each agent makes a batch (one result of two replies): the
/// cadence `bench scale` holds agents at, light enough to share CI's two
/// cores with the other stories.
pub(super) const PERIOD: Duration = Duration::from_secs(10);
/// Wait before sending again after a failure.
const RETRY: Duration = Duration::from_millis(500);
/// Enrollments in flight at once.
const ENROLLING: usize = 32;

/// One acknowledged result.
#[derive(Debug, Clone)]
pub(super) struct Acked {
    /// When its batch was first sent.
    pub(super) sent: Instant,
    /// When the attempt that was acknowledged was sent.
    pub(super) asked: Instant,
    pub(super) acked: Instant,
}

/// What the fleet saw, shared by its agents.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    pub(super) acked: HashMap<Uuid, Acked>,
    /// Acknowledgements by the replica that answered, with their time.
    pub(super) answered_by: Vec<(String, Instant)>,
    /// Sample rows the first storing acknowledgement of a one-result batch
    /// counted.
    pub(super) samples_per_result: Option<u64>,
    /// Latency of acknowledged requests.
    pub(super) latencies: Vec<Duration>,
    /// Failed attempts, by what failed (`502`, `transport`, …).
    pub(super) failures: BTreeMap<String, u64>,
}

/// An enrolled simulated agent.
pub(super) struct Agent {
    name: String,
    client: reqwest::Client,
    bearer: String,
}

/// Enrolls `n` agents through `url` with one enrollment token of `n` uses,
/// each from its own loopback address (127.1.x.y).
pub(super) async fn enroll(url: &str, admin: &str, n: usize) -> Vec<Agent> {
    let http = super::http().build().unwrap();
    let created: Value = http
        .post(format!("{url}/api/v1/enrollment-tokens"))
        .bearer_auth(admin)
        .json(&json!({"expires_in": "1h", "uses": n}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    futures_util::stream::iter(0..n)
        .map(|i| {
            let (url, token) = (url.to_owned(), token.clone());
            async move { enroll_one(&url, &token, i).await }
        })
        .buffer_unordered(ENROLLING)
        .collect()
        .await
}

async fn enroll_one(url: &str, token: &str, i: usize) -> Agent {
    let address = IpAddr::from([127, 1, (i / 250) as u8, (i % 250 + 1) as u8]);
    let client = super::http()
        .local_address(address)
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let name = format!("scale-{i:04}");
    let reply = client
        .post(format!("{url}/api/v1/agents/enroll"))
        .json(&json!({
            "token": token,
            "name": name,
            "agent": {
                "hostname": format!("{name}.scale.invalid"),
                "os": "linux", "arch": "x86_64", "version": "0.1.0",
                "addresses": [format!("10.77.{}.{}", i / 250, i % 250 + 1)],
            },
        }))
        .send()
        .await
        .unwrap();
    let status = reply.status();
    let body: Value = reply.json().await.unwrap();
    assert_eq!(status, 201, "enrolling {name}: {body}");
    Agent {
        name,
        client,
        bearer: body["credential"].as_str().unwrap().to_owned(),
    }
}

/// Runs every agent until `making` turns false and its outbox is empty, or
/// until `limit`; returns the batches each agent still held.
pub(super) async fn run(
    url: String,
    agents: Vec<Agent>,
    ledger: Arc<Mutex<Ledger>>,
    making: watch::Receiver<bool>,
    limit: Instant,
) -> Vec<usize> {
    let tasks: Vec<_> = agents
        .into_iter()
        .enumerate()
        .map(|(i, agent)| {
            // Spread over the period, as agents started at different times.
            let phase = PERIOD.mul_f64(i as f64 / 1000.0 % 1.0);
            let (url, ledger, making) = (url.clone(), ledger.clone(), making.clone());
            tokio::spawn(async move { agent.run(&url, phase, &ledger, making, limit).await })
        })
        .collect();
    let mut left = Vec::new();
    for task in tasks {
        left.push(task.await.unwrap());
    }
    left
}

impl Agent {
    async fn run(
        self,
        url: &str,
        phase: Duration,
        ledger: &Mutex<Ledger>,
        mut making: watch::Receiver<bool>,
        limit: Instant,
    ) -> usize {
        let mut outbox: VecDeque<(Value, Vec<Uuid>, Instant)> = VecDeque::new();
        let mut next_batch = Instant::now() + phase;
        loop {
            let now = Instant::now();
            let still_making = *making.borrow();
            if still_making && now >= next_batch {
                let run = result(&self.name, "ping-scale", Utc::now(), &[0.010, 0.012]);
                let id = Uuid::parse_str(run["id"].as_str().unwrap()).unwrap();
                outbox.push_back((batch(vec![run]), vec![id], now));
                next_batch += PERIOD;
            }
            if (!still_making && outbox.is_empty()) || now >= limit {
                return outbox.len();
            }
            let Some((body, ids, sent)) = outbox.front() else {
                rest(next_batch, &mut making).await;
                continue;
            };
            let asked = Instant::now();
            match self.send(url, body).await {
                Ok((replica, ack)) => {
                    let acked = Instant::now();
                    let mut l = ledger.lock().unwrap();
                    for id in ids {
                        l.acked.insert(
                            *id,
                            Acked {
                                sent: *sent,
                                asked,
                                acked,
                            },
                        );
                    }
                    l.answered_by.push((replica, acked));
                    l.latencies.push(acked - asked);
                    if ack["accepted"] == 1 && l.samples_per_result.is_none() {
                        l.samples_per_result = ack["samples"].as_u64();
                    }
                    drop(l);
                    outbox.pop_front();
                }
                Err(failure) => {
                    *ledger.lock().unwrap().failures.entry(failure).or_default() += 1;
                    tokio::time::sleep(RETRY).await;
                }
            }
            if outbox.is_empty() && *making.borrow() {
                rest(next_batch, &mut making).await;
            }
        }
    }
}

/// Waits for the next batch, or until batches are no longer made.
async fn rest(next_batch: Instant, making: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep_until(next_batch.into()) => {}
        _ = making.changed() => {}
    }
}

impl Agent {
    /// One attempt: the replica's name and the acknowledgement, or what
    /// failed.
    async fn send(&self, url: &str, body: &Value) -> Result<(String, Value), String> {
        let reply = self
            .client
            .post(format!("{url}/api/v1/ingest"))
            .bearer_auth(&self.bearer)
            .json(body)
            .send()
            .await
            .map_err(|_| "transport".to_owned())?;
        let status = reply.status();
        let replica = reply
            .headers()
            .get(REPLICA_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_owned();
        if status != 200 {
            return Err(status.as_u16().to_string());
        }
        let ack: Value = reply.json().await.map_err(|_| "cut body".to_owned())?;
        assert_eq!(ack["batch_id"], body["batch_id"], "{ack}");
        Ok((replica, ack))
    }
}
