//! A rule on a count: `lines_matched` summed over five minutes fires at
//! five lines and not at four, every pattern counted, each run once.

use super::*;
use crate::alerts::put;

/// The raised alerts of the rule `errors`.
async fn raised(admin: &Client) -> Vec<Value> {
    let all = admin
        .get("/api/v1/alerts?rule=errors")
        .await
        .expect(200)
        .json();
    all.as_array().unwrap().clone()
}

both!(a_sum_of_lines_matched_fires_at_five_in_its_window_and_not_at_four);
async fn a_sum_of_lines_matched_fires_at_five_in_its_window_and_not_at_four(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let (web, _) = enroll(&server, "web-1").await;
    let now = Utc::now();
    let ago = |m: i64| now - Duration::minutes(m);
    let run = |minutes: i64, lines: &[(&str, &str)]| {
        let lines: Vec<_> = lines.iter().map(|(p, t)| (*p, *t, ago(minutes))).collect();
        batch(vec![log_run(
            "web-1",
            "app-log",
            "app.log",
            ago(minutes),
            &lines,
        )])
    };
    // The check exists before its rule; this run is not judged.
    send(&web, &run(30, &[("error", "ERROR before the rule")])).await;
    let rule = json!({
        "name": "errors",
        "select": {"check": "app-log"},
        "condition": {"kind": "threshold", "metric": "lines_matched", "op": ">=", "value": 5,
                      "aggregate": "sum", "window": "5m"}
    });
    put(admin, "errors", &rule).await.expect(201);
    let saved = admin
        .get("/api/v1/alerts/rules/errors")
        .await
        .expect(200)
        .json();
    assert_eq!(saved["spec"]["condition"]["aggregate"], "sum", "{saved}");

    // Four lines in four minutes, of both patterns: not yet.
    send(&web, &run(4, &[("error", "ERROR a"), ("panic", "PANIC b")])).await;
    send(&web, &run(3, &[])).await;
    let third = run(2, &[("error", "ERROR c"), ("error", "ERROR d")]);
    send(&web, &third).await;
    assert!(raised(admin).await.is_empty());
    // The same run again, replayed or in a new batch, counts once.
    assert_eq!(send(&web, &third).await["replayed"], true);
    let again = batch(third["results"].as_array().unwrap().clone());
    assert_eq!(send(&web, &again).await["duplicates"], 1);
    assert!(raised(admin).await.is_empty());

    // The fifth line within five minutes fires, with the sum as its value.
    send(&web, &run(1, &[("panic", "PANIC e")])).await;
    let alerts = raised(admin).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["state"], "firing", "{alerts:?}");
    assert_eq!(alerts[0]["value"], 5.0);
    // A quiet run four minutes on: the first two lines left the window.
    send(&web, &run(-1, &[])).await;
    let alerts = raised(admin).await;
    assert!(alerts.iter().all(|a| a["state"] != "firing"), "{alerts:?}");
}
