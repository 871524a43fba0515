//! The hour rollups follow their minutes as they arrive: new minutes are
//! merged into the hour row, late data into minutes already rolled up
//! makes the hour be recomputed, and a series with nothing new is left
//! alone. Each step's hour equals what the raw samples give.

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use serde_json::Value;

use super::enroll;
use crate::both;
use crate::support::server::{Backend, TestServer};
use crate::support::{batch, result};

/// Count, min and max of `check`'s `rtt` over the hour at 1h resolution.
async fn hour_stats(
    server: &TestServer,
    agent: uuid::Uuid,
    check: &str,
    hour: DateTime<Utc>,
) -> Value {
    let q = format!(
        "agent_id={agent}&check={check}&metric=rtt&from={}&to={}&resolution=1h",
        hour.to_rfc3339().replace('+', "%2B"),
        (hour + Duration::hours(1)).to_rfc3339().replace('+', "%2B"),
    );
    let stats = server
        .admin
        .get(&format!("/api/v1/series/stats?{q}"))
        .await
        .expect(200)
        .json();
    stats["series"][0]["stats"].clone()
}

async fn roll_up(server: &TestServer) {
    vantage_server::jobs::rollup(&server.state.store, Utc::now())
        .await
        .unwrap();
}

/// One result a minute from `first` for `minutes`, RTT `ms` ms each.
fn runs(check: &str, hour: DateTime<Utc>, first: i64, minutes: i64, ms: f64) -> Vec<Value> {
    (first..first + minutes)
        .map(|m| {
            result(
                "edge-roll",
                check,
                hour + Duration::minutes(m) + Duration::seconds(7),
                &[ms / 1000.0],
            )
        })
        .collect()
}

both!(hours_follow_their_minutes_as_they_arrive_and_when_late_data_comes);
async fn hours_follow_their_minutes_as_they_arrive_and_when_late_data_comes(backend: Backend) {
    let Some(server) = crate::support::server::start(backend).await else {
        return;
    };
    let (agent, agent_id) = enroll(&server, "edge-roll").await;
    let hour = (Utc::now() - Duration::hours(3))
        .duration_trunc(Duration::hours(1))
        .unwrap();
    let count = |s: &Value| (s["count"].as_i64(), s["min"].as_f64(), s["max"].as_f64());

    // Minutes 0–9 of both checks, rolled up: the hour holds them.
    let mut first = runs("ping-a", hour, 0, 10, 5.0);
    first.extend(runs("ping-b", hour, 0, 10, 7.0));
    agent
        .post("/api/v1/ingest", &batch(first))
        .await
        .expect(200);
    roll_up(&server).await;
    assert_eq!(
        count(&hour_stats(&server, agent_id, "ping-a", hour).await),
        (Some(10), Some(0.005), Some(0.005))
    );

    // Minutes 10–19 of ping-a only: merged into its hour; ping-b's is left.
    agent
        .post("/api/v1/ingest", &batch(runs("ping-a", hour, 10, 10, 9.0)))
        .await
        .expect(200);
    roll_up(&server).await;
    assert_eq!(
        count(&hour_stats(&server, agent_id, "ping-a", hour).await),
        (Some(20), Some(0.005), Some(0.009))
    );
    assert_eq!(
        count(&hour_stats(&server, agent_id, "ping-b", hour).await),
        (Some(10), Some(0.007), Some(0.007))
    );

    // A late run in minute 3, rolled up already: that minute is rolled up
    // again, and ping-a's hour recomputed from its minutes.
    let late = result(
        "edge-roll",
        "ping-a",
        hour + Duration::minutes(3) + Duration::seconds(30),
        &[0.001],
    );
    agent
        .post("/api/v1/ingest", &batch(vec![late]))
        .await
        .expect(200);
    roll_up(&server).await;
    let a = hour_stats(&server, agent_id, "ping-a", hour).await;
    assert_eq!(count(&a), (Some(21), Some(0.001), Some(0.009)));
    assert_eq!(
        count(&hour_stats(&server, agent_id, "ping-b", hour).await),
        (Some(10), Some(0.007), Some(0.007))
    );

    // Rolling up with nothing new changes nothing.
    roll_up(&server).await;
    assert_eq!(hour_stats(&server, agent_id, "ping-a", hour).await, a);
}
