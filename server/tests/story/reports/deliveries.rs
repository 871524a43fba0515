//! Reports sent when their period ends: last month's report reaches a real
//! SMTP server once, over STARTTLS with the PDF attached, a webhook once,
//! signed, and Discord (a stand-in) once, its summary with a link; a
//! channel whose receiver is down is tried again at the next round
//! without sending the others again; the history says so.

use chrono::{Datelike as _, Duration, NaiveDate, TimeZone as _, Utc};
use hyper::Method;
use serde_json::json;
use uuid::Uuid;

use super::{config, put, server};
use crate::api::enroll;
use crate::both;
use crate::registry::send_json;
use crate::support::batch;
use crate::support::receiver::{Receiver, closed_url};
use crate::support::required;
use crate::support::server::Backend;
use crate::support::smtp::SmtpSink;

both!(a_month_s_report_is_sent_once_to_each_channel_when_the_month_ends);
async fn a_month_s_report_is_sent_once_to_each_channel_when_the_month_ends(backend: Backend) {
    if !std::path::Path::new("/usr/bin/chromium").exists() && !required() {
        eprintln!("skipping: no Chromium to print the PDF");
        return;
    }
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let Some(server) = server(backend).await else {
        return;
    };
    let hook = Receiver::start(0).await;
    let admin = &server.admin;
    // A round just after this month began, or now: last month has ended.
    let today = Utc::now().date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
    let start = Utc.from_utc_datetime(&this_month.and_hms_opt(0, 0, 0).unwrap());
    let now = Utc::now().max(start + Duration::minutes(6));
    let last = start - Duration::days(20);
    let label = last.format("%Y-%m").to_string();

    let (edge, _) = enroll(&server, "edge-1").await;
    let runs: Vec<_> = (0..3)
        .map(|i| {
            json!({"id": Uuid::now_v7(), "agent": "edge-1", "check": "web", "target": "10.0.0.1",
                "plugin": "http", "plugin_version": "0.1.0", "status": if i == 1 { "timeout" } else { "ok" },
                "started_at": last + Duration::minutes(10 * i), "duration": 0.05, "samples": []})
        })
        .collect();
    edge.post("/api/v1/ingest", &batch(runs)).await.expect(200);
    vantage_server::jobs::rollup(&server.state.store, Utc::now() + Duration::minutes(1))
        .await
        .unwrap();

    for channel in [
        json!({"name": "mail", "kind": "email", "host": "127.0.0.1", "port": sink.port,
               "security": "starttls", "from": "Vantage <vantage@example.net>",
               "to": ["sla@example.net"], "ca": sink.ca_pem}),
        json!({"name": "hook", "kind": "webhook", "url": hook.url, "secret": "s3cret"}),
        json!({"name": "down", "kind": "webhook", "url": closed_url().await}),
        json!({"name": "chat", "kind": "discord", "url": format!("{}/discord", hook.base)}),
        json!({"name": "pager", "kind": "pagerduty", "routing_key": "k", "api_url": hook.base}),
    ] {
        let path = format!(
            "/api/v1/alerts/channels/{}",
            channel["name"].as_str().unwrap()
        );
        put(admin, &path, &channel).await;
    }
    // Channels that do not exist, or cannot carry a report, are named.
    let mut sla = json!({"name": "monthly", "objective": 99.9, "period": "month",
        "deliver": {"channels": ["mail", "nope", "pager"]}});
    let problem = send_json(admin, Method::PUT, "/api/v1/slas/monthly", &sla)
        .await
        .problem(422);
    assert_eq!(
        crate::support::fields(&problem),
        ["deliver.channels[1]", "deliver.channels[2]"],
        "{problem}"
    );
    sla["deliver"]["channels"] = json!(["mail", "hook", "down", "chat"]);
    put(admin, "/api/v1/slas/monthly", &sla).await;

    let store = &server.state.store;
    let config = config();
    // Before the month has settled: nothing yet.
    let early = start + Duration::minutes(1);
    let tried = vantage_server::reports::deliver::due(store, &config, early)
        .await
        .unwrap();
    assert_eq!(tried, 0);
    let tried = vantage_server::reports::deliver::due(store, &config, now)
        .await
        .unwrap();
    assert_eq!(tried, 4);

    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["tls"], true);
    let data = mails[0]["data"].as_str().unwrap();
    // The subject and the text: one run of three failed.
    assert!(
        data.contains(&format!("{label}: 66.6667 % (objective 99.9 %)")),
        "{data}"
    );
    assert!(data.contains("Incidents: 1; 1 failed of 3 runs."), "{data}");
    assert!(data.contains("Content-Type: application/pdf"), "{data}");
    assert!(
        data.contains(&format!("filename=\"monthly-{label}.pdf\"")),
        "{data}"
    );
    // The attachment, base64: "%PDF-" begins "JVBERi0".
    assert!(data.contains("JVBERi0"), "no PDF in the mail");
    let posts = hook.wait_for(2).await;
    assert_eq!(posts.len(), 2);
    let (posts, chat): (Vec<_>, Vec<_>) = posts.into_iter().partition(|p| p.path == "/hook");
    let discord = chat[0].json();
    assert_eq!(chat[0].path, "/discord");
    assert_eq!(
        discord["embeds"][0]["title"],
        format!("SLA monthly — {label}: 66.6667 % (objective 99.9 %)")
    );
    assert!(
        discord["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("1 failed of 3 runs")
    );
    let report = posts[0].json();
    assert_eq!(
        (&report["sla"], &report["period"]["label"]),
        (&json!("monthly"), &json!(label))
    );
    assert_eq!(report["summary"]["runs"], 3);
    assert_eq!(report["summary"]["failed_runs"], 1);
    assert!(!posts[0].header("x-vantage-signature").is_empty(), "signed");

    // The next round tries only the channel that failed.
    let tried = vantage_server::reports::deliver::due(store, &config, now)
        .await
        .unwrap();
    assert_eq!(tried, 1);
    assert_eq!(sink.mails().len(), 1, "mailed once");
    assert_eq!(hook.count(), 2, "posted once to each");
    let history = admin
        .get("/api/v1/slas/monthly/deliveries")
        .await
        .expect(200)
        .json();
    let rows: Vec<(String, bool, i64)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["period"], label.as_str());
            (
                d["channel"].as_str().unwrap().to_owned(),
                d["sent"].as_bool().unwrap(),
                d["attempts"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut rows = rows;
    rows.sort();
    assert_eq!(
        rows,
        [
            ("chat".to_owned(), true, 1),
            ("down".to_owned(), false, 2),
            ("hook".to_owned(), true, 1),
            ("mail".to_owned(), true, 1)
        ]
    );
    admin.get("/api/v1/slas/nope/deliveries").await.expect(404);
}
