//! N release servers on one database behind HAProxy (the shipped example,
//! through `vantage_netlab::Balancer`), agents enrolled through it many at
//! a time, and the leader's failover measured.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use vantage_netlab::{Balancer, REPLICA_HEADER};

use super::super::server::{Agent, Server, enroll_agent};
use super::super::{Cluster, Ingest, Scratch};
use crate::http::Client;

/// Enrollments in flight at once.
const ENROLLING: usize = 8;
/// How long the replicas may take to pass HAProxy's health checks.
const UP_LIMIT: Duration = Duration::from_secs(30);
/// How long a take-over may take before the benchmark gives up.
const FAILOVER_LIMIT: Duration = Duration::from_secs(30);

/// Servers on one database and the balancer in front of them.
pub(super) struct Replicas {
    pub(super) servers: Vec<Server>,
    pub(super) balancer: Balancer,
    _data: Vec<Scratch>,
}

impl Replicas {
    /// A fresh database `name` and `n` servers on it, each with a pool of
    /// `max_connections` and the given `--jobs-interval` (the server's
    /// default when `None`), balanced.
    pub(super) fn start(
        bench: &Ingest,
        cluster: &Cluster,
        name: &str,
        n: usize,
        max_connections: u32,
        jobs_interval: Option<&str>,
    ) -> anyhow::Result<Replicas> {
        cluster.create_database(name)?;
        let url = cluster.url(name);
        let mut servers = Vec::with_capacity(n);
        let mut data = Vec::with_capacity(n);
        for i in 0..n {
            let scratch = Scratch(bench.dir.join(format!("data-{name}-{i}")));
            let setup = bench.setup(
                Some(url.clone()),
                scratch.0.clone(),
                max_connections,
                jobs_interval,
                &format!("{name}-{i}"),
            );
            servers.push(Server::start(&setup)?);
            data.push(scratch);
        }
        let ports: Vec<u16> = servers.iter().map(|s| s.addr.port()).collect();
        let example = bench.root.join("deploy/haproxy/haproxy.cfg");
        let balancer = Balancer::start(&example, &ports)?;
        let mut replicas = Replicas {
            servers,
            balancer,
            _data: data,
        };
        replicas.wait_up()?;
        Ok(replicas)
    }

    pub(super) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.balancer.port))
    }

    /// Waits until every replica answered `/readyz` through the balancer.
    fn wait_up(&mut self) -> anyhow::Result<()> {
        let mut client = Client::new(self.addr());
        let mut seen = std::collections::BTreeSet::new();
        let start = Instant::now();
        while seen.len() < self.servers.len() {
            self.balancer.check_running()?;
            if start.elapsed() > UP_LIMIT {
                bail!("only {seen:?} answered through haproxy in {UP_LIMIT:?}");
            }
            if let Ok(r) = client.request("GET", "/readyz", &[], &[])
                && r.status == 200
                && let Some(name) = r.header(REPLICA_HEADER)
            {
                seen.insert(name.to_owned());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Enrolls `names` through the balancer with one token of that many uses.
    pub(super) fn enroll(&self, admin: &str, names: &[String]) -> anyhow::Result<Vec<Agent>> {
        let mut client = Client::new(self.addr());
        let body = serde_json::json!({"expires_in": "1h", "uses": names.len()}).to_string();
        let created = client
            .request(
                "POST",
                "/api/v1/enrollment-tokens",
                &[
                    ("Content-Type", "application/json"),
                    ("Authorization", admin),
                ],
                body.as_bytes(),
            )?
            .json("creating an enrollment token")?;
        let token = created["token"].as_str().context("no token")?.to_owned();
        let chunk = names.len().div_ceil(ENROLLING).max(1);
        let addr = self.addr();
        std::thread::scope(|s| {
            let handles: Vec<_> = names
                .chunks(chunk)
                .enumerate()
                .map(|(c, names)| {
                    let token = token.clone();
                    s.spawn(move || enroll_some(addr, &token, names, c * chunk))
                })
                .collect();
            let mut agents = Vec::with_capacity(names.len());
            for h in handles {
                agents.extend(
                    h.join()
                        .map_err(|_| anyhow::anyhow!("an enrolling thread panicked"))??,
                );
            }
            Ok(agents)
        })
    }

    /// Kills the leader with SIGKILL and waits until another replica leads
    /// and has run a round: the times from the kill to the first `/metrics`
    /// that shows a leader, and to its round done. The killed server is
    /// removed.
    pub(super) fn fail_over(&mut self) -> anyhow::Result<(Duration, Duration)> {
        let leader = self.leader()?;
        let mut victim = self.servers.remove(leader);
        let before = self.rounds()?;
        let killed = Instant::now();
        victim.kill9();
        let mut leads = None;
        loop {
            let after = self.rounds()?;
            if after.iter().any(|(l, _)| *l) {
                leads.get_or_insert(killed.elapsed());
            }
            let led = after
                .iter()
                .zip(&before)
                .any(|((l, now), (_, then))| *l && now > then);
            if let (true, Some(leads)) = (led, leads) {
                return Ok((leads, killed.elapsed()));
            }
            if killed.elapsed() > FAILOVER_LIMIT {
                bail!("no replica led the jobs {FAILOVER_LIMIT:?} after the leader was killed");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The index of the replica that leads, once one does.
    fn leader(&self) -> anyhow::Result<usize> {
        let start = Instant::now();
        loop {
            if let Some(i) = self.rounds()?.iter().position(|(leads, _)| *leads) {
                return Ok(i);
            }
            if start.elapsed() > FAILOVER_LIMIT {
                bail!("no replica leads the jobs");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Each replica's `vantage_jobs_leader` and `vantage_rollup_runs_total`.
    fn rounds(&self) -> anyhow::Result<Vec<(bool, f64)>> {
        self.servers
            .iter()
            .map(|s| {
                let m = s.metrics(&mut s.client())?;
                Ok((
                    m.get("vantage_jobs_leader") == Some(1.0),
                    m.get("vantage_rollup_runs_total").unwrap_or(0.0),
                ))
            })
            .collect()
    }
}

fn enroll_some(
    addr: SocketAddr,
    token: &str,
    names: &[String],
    first: usize,
) -> anyhow::Result<Vec<Agent>> {
    let mut client = Client::new(addr);
    names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let i = first + k;
            let address = format!(
                "10.{}.{}.{}",
                100 + i / 62_500,
                (i / 250) % 250,
                i % 250 + 1
            );
            enroll_agent(&mut client, token.to_owned(), name, address)
        })
        .collect()
}
