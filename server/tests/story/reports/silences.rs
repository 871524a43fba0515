//! Silences as maintenance: two agents' three days of `web`, both down
//! from 06:00 to 07:00 of the first day. A silence on the `web` check from
//! 06:30 on takes its time out of an SLA that excludes silences (the half
//! hour before it still counts); a silence on a rule, from the start,
//! takes nothing out; an SLA that does not exclude silences counts all.

use chrono::{Duration, DurationRound as _, Utc};
use serde_json::json;

use super::{put, range_path, server, web_runs};
use crate::both;
use crate::support::server::Backend;

both!(a_silence_on_a_check_takes_its_time_out_of_an_sla_that_excludes_silences);
async fn a_silence_on_a_check_takes_its_time_out_of_an_sla_that_excludes_silences(
    backend: Backend,
) {
    let Some(server) = server(backend).await else {
        return;
    };
    let admin = &server.admin;
    let day = Utc::now().duration_trunc(Duration::days(1)).unwrap() - Duration::days(4);
    let (from, to) = (day, day + Duration::days(3));
    let down = (day + Duration::hours(6), day + Duration::hours(7));
    web_runs(&server, &["a1", "a2"], (from, to), |_, t| {
        (down.0..down.1).contains(&t)
    })
    .await;
    let until = Utc::now() + Duration::hours(1);
    for (matches, starts_at) in [
        (json!({"check": "web"}), down.0 + Duration::minutes(30)),
        (json!({"rule": "web-down"}), from),
    ] {
        admin
            .post(
                "/api/v1/alerts/silences",
                &json!({"match": matches, "starts_at": starts_at, "ends_at": until,
                    "comment": "upgrading the web tier"}),
            )
            .await
            .expect(201);
    }
    for (name, exclude) in [("silenced", true), ("all", false)] {
        put(
            admin,
            &format!("/api/v1/slas/{name}"),
            &json!({"name": name, "objective": 99.9, "period": "year",
                "exclude_silences": exclude}),
        )
        .await;
    }

    let silenced = admin
        .get(&range_path("silenced", from, to))
        .await
        .expect(200)
        .json();
    let s = &silenced["summary"];
    // 06:30 on the first day onwards is out: 6.5 hours count.
    assert_eq!(s["counted_seconds"], 6 * 3600 + 1800);
    // Runs at 00:00 … 06:20, of which 06:00, 06:10, 06:20 failed, per agent.
    assert_eq!(
        (&s["runs"], &s["failed_runs"], &s["excluded_runs"]),
        (&json!(2 * 39), &json!(2 * 3), &json!(2 * (3 * 144 - 39)))
    );
    let incidents = silenced["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    // It ends where the silence begins: that minute does not count.
    assert_eq!(incidents[0]["end"], json!(down.0 + Duration::minutes(30)));

    let all = admin
        .get(&range_path("all", from, to))
        .await
        .expect(200)
        .json();
    let a = &all["summary"];
    assert_eq!(a["counted_seconds"], 3 * 86_400);
    assert_eq!(
        (&a["runs"], &a["failed_runs"], &a["excluded_runs"]),
        (&json!(2 * 3 * 144), &json!(2 * 6), &json!(0))
    );
}
