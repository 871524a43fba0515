//! Debian's HAProxy in front of the replicas, run with the example an
//! operator starts from (`deploy/haproxy/haproxy.cfg`, through
//! `vantage_netlab::Balancer`): round robin, `/readyz` health checks,
//! WebSockets tunnelled, `X-Forwarded-For` for the servers' rate limit and
//! audit, and the name of the replica that answered in
//! `x-vantage-replica`.

use std::path::Path;
use std::time::{Duration, Instant};

use vantage_netlab::{Balancer, HAPROXY};

pub(super) use vantage_netlab::REPLICA_HEADER;

use crate::support::required;

/// The example the story runs.
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/haproxy/haproxy.cfg");

/// A running HAProxy, stopped when dropped.
pub(super) struct Haproxy {
    balancer: Balancer,
    /// `http://127.0.0.1:port`.
    pub(super) url: String,
}

impl Haproxy {
    /// Whether HAProxy is installed; fails when it is not and the run
    /// requires it (`cargo xtask test` installs it).
    pub(super) fn available() -> bool {
        let there = Path::new(HAPROXY).exists();
        assert!(
            there || !required(),
            "{HAPROXY} is missing: install Debian's haproxy (cargo xtask test does)"
        );
        there
    }

    /// Balances over the replicas on `ports`, named `r0`, `r1`, … in order.
    pub(super) fn start(ports: &[u16]) -> Haproxy {
        let balancer = Balancer::start(Path::new(EXAMPLE), ports).unwrap();
        let url = format!("http://127.0.0.1:{}", balancer.port);
        Haproxy { balancer, url }
    }

    /// Waits until every one of `n` replicas has answered `/readyz` through
    /// the balancer (each was checked up), for up to 20 s.
    pub(super) async fn wait_all_up(&mut self, n: usize) {
        let client = super::http().build().unwrap();
        let start = Instant::now();
        let mut seen = std::collections::BTreeSet::new();
        while seen.len() < n {
            self.balancer.check_running().unwrap();
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "only {seen:?} of {n} replicas answered through haproxy"
            );
            if let Ok(reply) = client.get(format!("{}/readyz", self.url)).send().await
                && reply.status().is_success()
                && let Some(name) = reply.headers().get(REPLICA_HEADER)
            {
                seen.insert(name.to_str().unwrap().to_owned());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
