//! PostgreSQL only: two replicas on one database. A page watching one sees
//! the heartbeats and results the other took in (LISTEN/NOTIFY, the rows
//! read back from the database); a listener whose connection dropped tells
//! its pages to resync and listens again; an agent long-polling one
//! replica hears of a change made on the other at once, not at the next
//! one-second recheck.

use std::time::Instant;

use super::live::{Socket, connect_to, heartbeat, next_event};
use super::*;
use crate::checks::{desired, place, port_check, put, registry, with};

/// The next event within `wait`, pings skipped; `None` when none came.
async fn event_within(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()?;
        match message.expect("the socket is open").unwrap() {
            Message::Text(text) => return Some(serde_json::from_str(&text).unwrap()),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The next result event, other events skipped.
async fn next_result(socket: &mut Socket) -> Value {
    loop {
        let event = next_event(socket).await;
        if event["type"] == "result" {
            return event;
        }
    }
}

/// Sends `send` until `socket` shows an event `wanted` accepts (the other
/// replica's listener may still be connecting), for up to 20 s.
async fn until_heard<F, Fut>(
    socket: &mut Socket,
    mut send: F,
    wanted: impl Fn(&Value) -> bool,
) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        send().await;
        while let Some(event) = event_within(socket, Duration::from_millis(500)).await {
            if wanted(&event) {
                return event;
            }
        }
    }
    panic!("the other replica's event never came");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_one_replica_sees_what_another_took_in() {
    let Some(a) = start(Backend::Postgres).await else {
        return;
    };
    let b = a.replica().await;
    let bearer = format!("Bearer {}", a.admin.token.clone().unwrap());
    let b_host = b.base.trim_start_matches("http://").to_owned();
    let mut socket = connect_to(&b_host, &[("authorization", &bearer)])
        .await
        .unwrap();

    // A heartbeat taken in by A.
    let (agent, agent_id) = enroll(&a, "edge-fan").await;
    let heard = until_heard(
        &mut socket,
        || async {
            agent
                .post("/api/v1/agents/heartbeat", &heartbeat())
                .await
                .expect(204);
        },
        |e| e["type"] == "agent",
    )
    .await;
    assert_eq!(heard["agent_id"], agent_id.to_string(), "{heard}");
    assert_eq!(heard["name"], "edge-fan");

    // A result stored by A, read back by B as A published it.
    let started = Utc::now() - chrono::Duration::seconds(5);
    let one = result("edge-fan", "ping-gw", started, &[0.010, 0.012]);
    let sent = batch(vec![one.clone()]);
    agent.post("/api/v1/ingest", &sent).await.expect(200);
    let event = next_result(&mut socket).await;
    let r = &event["result"];
    assert_eq!(r["result_id"], one["id"], "{event}");
    assert_eq!(
        (
            &r["agent"],
            &r["check"],
            &r["target"],
            &r["plugin"],
            &r["status"]
        ),
        (
            &json!("edge-fan"),
            &json!("ping-gw"),
            &json!("10.0.0.1"),
            &json!("ping"),
            &json!("ok")
        ),
        "{event}"
    );
    // Two rtt samples, rtt_avg, loss, and the check_up sample.
    assert_eq!(event["samples"].as_array().unwrap().len(), 5, "{event}");

    // Sent again (its answer lost): stored once, announced again, since the
    // replica that stored it may have died before it told the others.
    let replayed = agent.post("/api/v1/ingest", &sent).await.expect(200).json();
    assert_eq!(replayed["replayed"], true, "{replayed}");
    let again = next_result(&mut socket).await;
    assert_eq!(again["result"]["result_id"], one["id"], "{again}");
    assert_eq!(again["samples"], event["samples"]);

    // Both replicas' listeners dropped: B's page is told to resync, and B
    // listens again.
    let pool = sqlx::PgPool::connect(&a.url).await.unwrap();
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'vantage-server listener'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(ended, 2, "one listener per replica");
    let resync = until_heard(&mut socket, || async {}, |e| e["type"] == "resync").await;
    assert_eq!(resync["type"], "resync");
    let mut sent = Vec::new();
    let again = until_heard(
        &mut socket,
        || {
            let run = result(
                "edge-fan",
                "ping-gw",
                Utc::now() - chrono::Duration::seconds(1),
                &[0.011],
            );
            sent.push(run["id"].clone());
            let agent = agent.clone();
            async move {
                agent
                    .post("/api/v1/ingest", &batch(vec![run]))
                    .await
                    .expect(200);
            }
        },
        |e| e["type"] == "result",
    )
    .await;
    assert!(
        sent.contains(&again["result"]["result_id"]),
        "{again} is one of {sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_long_polling_one_replica_hears_of_a_change_on_another_at_once() {
    let Some(a) = start(Backend::Postgres).await else {
        return;
    };
    let b = a.replica().await;
    registry(&a).await;
    let (agent, agent_id) = enroll(&a, "edge-poll").await;
    place(&a, agent_id, json!({"groups": ["edge"]}))
        .await
        .expect(200);
    let on_b = b.as_(&agent);
    // Five changes made on A while the agent waits on B: without the
    // notice each would be seen at B's next recheck, up to a second later.
    let mut waits = Vec::new();
    for interval in ["30s", "31s", "32s", "33s", "34s", "35s"] {
        let version = desired(&on_b, None, 0).await.expect(200).headers["etag"]
            .to_str()
            .unwrap()
            .trim_matches('"')
            .to_owned();
        let poll = tokio::spawn({
            let on_b = on_b.clone();
            async move {
                let reply = desired(&on_b, Some(&version), 30).await;
                (reply.status.as_u16(), Instant::now())
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let saved = put(&a.admin, &with(port_check(), "interval", json!(interval))).await;
        assert!(saved.status.is_success(), "{saved:?}");
        let changed = Instant::now();
        let (status, answered) = poll.await.unwrap();
        assert_eq!(status, 200, "the poll ends with the new state");
        waits.push(answered.saturating_duration_since(changed));
    }
    // The first change may come before B listens.
    let waits = &waits[1..];
    eprintln!("fan-out: long polls on the other replica answered after {waits:?}");
    assert!(
        waits.iter().all(|w| *w < Duration::from_millis(500)),
        "{waits:?}"
    );
}
