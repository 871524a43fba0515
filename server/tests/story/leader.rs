//! PostgreSQL only: real server processes on one database, one of which
//! leads the background jobs (an advisory lock on a session of its own).
//! A leader that stops hands over at once; one killed with SIGKILL hands
//! over as soon as the database sees its session end, well within 10 s,
//! and the new leader runs a round of the jobs at once.

use std::time::{Duration, Instant};

use crate::support::http::Client;
use crate::support::pg::fresh_database;
use crate::support::process::{ServerProcess, free_port};

const PASSWORD: &str = "leader-story-password";
/// The bound for a take-over after `kill -9`.
const FAILOVER: Duration = Duration::from_secs(10);

/// A replica's `vantage_jobs_leader` and `vantage_rollup_runs_total`.
pub(crate) async fn jobs(server: &ServerProcess) -> (bool, u64) {
    let text = Client::new(&server.url)
        .get("/metrics")
        .await
        .expect(200)
        .body_text();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics"))
    };
    (
        value("vantage_jobs_leader") == 1.0,
        value("vantage_rollup_runs_total") as u64,
    )
}

/// Waits until exactly one of `servers` leads and has run a round since
/// `rounds_before` (its rounds then); returns its index and the wait.
pub(crate) async fn one_leader(
    servers: &[ServerProcess],
    rounds_before: &[u64],
) -> (usize, Duration) {
    let start = Instant::now();
    loop {
        let mut leaders = Vec::new();
        for (i, server) in servers.iter().enumerate() {
            let (leads, rounds) = jobs(server).await;
            if leads {
                leaders.push((i, rounds));
            }
        }
        assert!(leaders.len() <= 1, "two replicas lead at once: {leaders:?}");
        if let [(i, rounds)] = leaders[..]
            && rounds > rounds_before[i]
        {
            return (i, start.elapsed());
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no replica leads and runs the jobs"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn rounds(servers: &[ServerProcess]) -> Vec<u64> {
    let mut all = Vec::new();
    for server in servers {
        all.push(jobs(server).await.1);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_leads_the_jobs_and_another_takes_over_when_it_stops_or_is_killed() {
    let Some(database) = fresh_database().await else {
        return;
    };
    let mut servers = Vec::new();
    for _ in 0..3 {
        let database = database.clone();
        servers.push(
            tokio::task::spawn_blocking(move || {
                ServerProcess::start(&database, free_port(), PASSWORD)
            })
            .await
            .unwrap(),
        );
    }
    let (leader, _) = one_leader(&servers, &[0, 0, 0]).await;

    // A stopping leader gives the lock back: the next replica's try leads.
    let stopping = servers.remove(leader);
    let stopped_at = Instant::now();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &stopping.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let before = rounds(&servers).await;
    let (leader, _) = one_leader(&servers, &before).await;
    let handed_over = stopped_at.elapsed();
    stopping.kill9();

    // A killed leader's session ends with its socket.
    let victim = servers.remove(leader);
    let before = rounds(&servers).await;
    let killed_at = Instant::now();
    victim.kill9();
    let (_, _) = one_leader(&servers, &before).await;
    let taken_over = killed_at.elapsed();
    eprintln!(
        "leader: stopped → next leader ran a round in {handed_over:?}; killed → {taken_over:?}"
    );
    assert!(handed_over < FAILOVER, "{handed_over:?}");
    assert!(taken_over < FAILOVER, "{taken_over:?}");
}
