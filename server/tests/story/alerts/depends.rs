//! Dependencies: a parent check down with thirty children behind it sends
//! one notification; the children's steps are stored as suppressed. A
//! child still failing once its parent is back is told then; one that
//! recovered with its parent is not. A child whose result comes before
//! its parent's waits for the parent's verdict.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{put, quick_retry, run_at, webhook_all};
use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::http::Client;
use crate::support::receiver::Receiver;
use crate::support::server::{Backend, TestServer, start_with};

fn run(check: &str, at: DateTime<Utc>, ok: bool) -> Value {
    run_at("edge-1", check, at, ok)
}

fn children() -> Vec<String> {
    (0..30).map(|i| format!("web-{i:02}")).collect()
}

async fn ingest(edge: &Client, results: Vec<Value>) {
    edge.post("/api/v1/ingest", &batch(results))
        .await
        .expect(200);
}

/// Summaries of what the receiver got, in order.
fn summaries(got: &[crate::support::receiver::Received]) -> Vec<String> {
    got.iter()
        .map(|r| {
            let n = r.json();
            format!(
                "{} {}",
                n["rule"].as_str().unwrap(),
                n["check"].as_str().unwrap()
            ) + &format!(" {}", n["state"].as_str().unwrap())
        })
        .collect()
}

/// edge-1 runs `gw` and thirty `web-NN` checks, all fine `at`; `gw-down`
/// watches the gateway, `web-down` the children, depending on it.
async fn family(server: &TestServer, at: DateTime<Utc>) -> (Client, Receiver) {
    let admin = &server.admin;
    let (edge, _) = enroll(server, "edge-1").await;
    let mut fine = vec![run("gw", at, true)];
    fine.extend(children().iter().map(|c| run(c, at, true)));
    ingest(&edge, fine).await;
    let hook = webhook_all(admin).await;
    let gw = json!({"name": "gw-down", "select": {"check": "gw"}, "condition": {"kind": "status"}});
    put(admin, "gw-down", &gw).await.expect(201);
    let web = json!({
        "name": "web-down", "select": {"check": "web-*"}, "condition": {"kind": "status"},
        "depends_on": ["gw"]
    });
    put(admin, "web-down", &web).await.expect(201);
    (edge, hook)
}

both!(a_parent_down_with_thirty_children_sends_one_notification);
async fn a_parent_down_with_thirty_children_sends_one_notification(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let t0 = Utc::now() - chrono::Duration::minutes(10);
    let (edge, hook) = family(&server, t0).await;

    // A bad parent is named.
    let bad =
        json!({"name": "web-down", "condition": {"kind": "status"}, "depends_on": ["gw", "gw-["]});
    let p = put(admin, "web-down", &bad).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "depends_on[1]", "{p}");

    // The gateway and everything behind it fail together.
    let t1 = t0 + chrono::Duration::minutes(1);
    let mut down = vec![run("gw", t1, false)];
    down.extend(children().iter().map(|c| run(c, t1, false)));
    ingest(&edge, down).await;
    hook.wait_for(1).await;
    let got = hook.after(Duration::from_millis(1500)).await;
    assert_eq!(summaries(&got), ["gw-down gw firing"]);

    // The children's steps are in the history, suppressed, with why.
    let history = admin
        .get("/api/v1/alerts/history?rule=web-down")
        .await
        .expect(200)
        .json();
    let steps = history.as_array().unwrap();
    assert_eq!(steps.len(), 30, "{history}");
    for step in steps {
        assert_eq!(step["to"], "firing", "{step}");
        assert_eq!(
            step["suppressed_by"], "parent gw → 10.0.0.1 on edge-1 was raised (rule gw-down)",
            "{step}"
        );
    }
    // They are still firing alerts: suppression hides notifications, not
    // state.
    let active = admin
        .get("/api/v1/alerts?rule=web-down")
        .await
        .expect(200)
        .json();
    assert_eq!(active.as_array().unwrap().len(), 30);

    // The gateway comes back; web-00 is still down. It is told now; the
    // others recovered with the gateway, so their "resolved" is not sent
    // (nobody heard them fire).
    let t2 = t1 + chrono::Duration::minutes(1);
    let mut back = vec![run("gw", t2, true)];
    back.extend(
        children()
            .iter()
            .enumerate()
            .map(|(i, c)| run(c, t2, i != 0)),
    );
    ingest(&edge, back).await;
    let got = hook.wait_for(3).await;
    let mut told = summaries(&got[1..]);
    told.sort();
    assert_eq!(
        told,
        ["gw-down gw ok", "web-down web-00 firing"],
        "{told:?}"
    );

    // web-00 recovers: its "resolved" is sent as usual.
    ingest(
        &edge,
        vec![run("web-00", t2 + chrono::Duration::minutes(1), true)],
    )
    .await;
    let got = hook.wait_for(4).await;
    assert_eq!(summaries(&got[3..]), ["web-down web-00 ok"]);
    let got = hook.after(Duration::from_millis(1000)).await;
    assert_eq!(got.len(), 4, "{:?}", summaries(&got));
    let history = admin
        .get("/api/v1/alerts/history?rule=web-down&limit=29")
        .await
        .expect(200)
        .json();
    let why: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|s| s["suppressed_by"].as_str().unwrap_or("sent"))
        .collect();
    assert!(
        why.iter()
            .all(|w| *w == "the step it resolves was suppressed"),
        "{why:?}"
    );
}

both!(a_child_whose_result_comes_first_waits_for_its_parent);
async fn a_child_whose_result_comes_first_waits_for_its_parent(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    // The gateway runs every 10 s; its patience is 20 s.
    let now = Utc::now();
    let (edge, hook) = family(&server, now - chrono::Duration::seconds(20)).await;
    ingest(
        &edge,
        vec![run("gw", now - chrono::Duration::seconds(10), true)],
    )
    .await;

    // A child fails first; the gateway's failing run comes 1.5 s later.
    ingest(&edge, vec![run("web-07", now, false)]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hook.received().len(), 0, "the child waits");
    ingest(
        &edge,
        vec![run("gw", now + chrono::Duration::seconds(2), false)],
    )
    .await;
    let got = hook.wait_for(1).await;
    assert_eq!(summaries(&got), ["gw-down gw firing"]);
    let got = hook.after(Duration::from_millis(1000)).await;
    assert_eq!(got.len(), 1, "{:?}", summaries(&got));

    // Another child fails while the gateway answers fine a little later:
    // its own news, sent once the gateway's run is judged.
    ingest(
        &edge,
        vec![run("gw", now + chrono::Duration::seconds(12), true)],
    )
    .await;
    let got = hook.wait_for(3).await;
    let mut told = summaries(&got[1..]);
    told.sort();
    // web-07, held, is told once the gateway is back.
    assert_eq!(told, ["gw-down gw ok", "web-down web-07 firing"]);
    ingest(
        &edge,
        vec![run("web-08", now + chrono::Duration::seconds(13), false)],
    )
    .await;
    let got = hook.after(Duration::from_millis(1500)).await;
    assert_eq!(got.len(), 3, "web-08 waits for the gateway");
    ingest(
        &edge,
        vec![run("gw", now + chrono::Duration::seconds(22), true)],
    )
    .await;
    let got = hook.wait_for(4).await;
    assert_eq!(summaries(&got[3..]), ["web-down web-08 firing"]);
}

both!(a_check_that_depends_on_its_gateway_is_quiet_while_the_gateway_is_down);
async fn a_check_that_depends_on_its_gateway_is_quiet_while_the_gateway_is_down(backend: Backend) {
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    crate::checks::registry(&server).await;
    let web = |depends_on: Value| {
        json!({"name": "web", "plugin": "tcp", "version": "^1", "targets": ["10.0.0.1:443"],
            "interval": "30s", "grants": ["tcp"], "depends_on": depends_on})
    };
    let save = |spec: Value| async move {
        crate::registry::send_json(admin, hyper::Method::PUT, "/api/v1/checks/web", &spec).await
    };
    // A bad parent, or the check itself, is named.
    let p = save(web(json!(["gw", "gw-["]))).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "depends_on[1]", "{p}");
    let p = save(web(json!(["web"]))).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "depends_on[0]", "{p}");
    save(web(json!(["gw"]))).await.expect(201);

    // One rule over every check, without depends_on of its own.
    let t0 = Utc::now() - chrono::Duration::minutes(10);
    let (edge, _) = enroll(&server, "edge-1").await;
    ingest(&edge, vec![run("gw", t0, true), run("web", t0, true)]).await;
    let hook = webhook_all(admin).await;
    let down = json!({"name": "down", "condition": {"kind": "status"}});
    put(admin, "down", &down).await.expect(201);

    // Both fail: only the gateway is told; web's step is suppressed.
    let t1 = t0 + chrono::Duration::minutes(1);
    ingest(&edge, vec![run("gw", t1, false), run("web", t1, false)]).await;
    hook.wait_for(1).await;
    let got = hook.after(Duration::from_millis(1500)).await;
    assert_eq!(summaries(&got), ["down gw firing"]);
    let history = admin
        .get("/api/v1/alerts/history?rule=down")
        .await
        .expect(200)
        .json();
    let web_step = history
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["check"] == "web")
        .unwrap_or_else(|| panic!("{history}"));
    assert_eq!(
        web_step["suppressed_by"], "parent gw → 10.0.0.1 on edge-1 was raised (rule down)",
        "{web_step}"
    );
}
