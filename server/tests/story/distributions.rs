//! A ping of 1,000 packets per run: one series per target, charted at every
//! range the dashboard offers, with quantiles the server computes (exact
//! from raw values, merged sketches from rollups).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::server::{Backend, start};

/// The round-trip times of one run, in the order the replies came: 0.1 ms
/// to 10 ms, ten packets at each of 100 levels, shuffled.
fn rtts() -> Vec<f64> {
    (0..1000u32)
        .map(|i| f64::from((i * 7919) % 1000 / 10 + 1) * 1e-4)
        .collect()
}

fn ping(started_at: DateTime<Utc>) -> Value {
    json!({
        "id": Uuid::now_v7(),
        "agent": "edge-1",
        "check": "ping-1000",
        "target": "10.0.0.1",
        "plugin": "ping",
        "plugin_version": "0.2.0",
        "status": "ok",
        "started_at": started_at,
        "duration": 1.5,
        "samples": [{"metric": "loss", "unit": "ratio", "value": 0.0}],
        "distributions": [{"metric": "rtt", "unit": "seconds", "values": rtts()}],
    })
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339().replace('+', "%2B")
}

/// The dashboard's ranges and the step it asks for (`bucketStep` in
/// web/src/lib/smoke.ts: about 240 buckets, none up to an hour).
const RANGES: [(&str, i64, Option<u32>); 6] = [
    ("5m", 300, None),
    ("1h", 3600, None),
    ("6h", 6 * 3600, Some(300)),
    ("24h", 86_400, Some(900)),
    ("7d", 7 * 86_400, Some(3600)),
    ("30d", 30 * 86_400, Some(10_800)),
];

both!(a_thousand_packet_ping_charts_at_every_range);
async fn a_thousand_packet_ping_charts_at_every_range(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (agent, agent_id) = enroll(&server, "edge-1").await;
    let now = Utc::now();
    // A run a minute for the last 4 minutes, and one an hour for six days.
    let mut runs: Vec<DateTime<Utc>> = (1..=4)
        .map(|m| now - chrono::Duration::minutes(m))
        .collect();
    runs.extend((2..6 * 24).map(|h| now - chrono::Duration::hours(h)));
    // 1,000 values count as 1,000 samples: 90 runs fit a batch.
    for chunk in runs.chunks(90) {
        let ack = agent
            .post(
                "/api/v1/ingest",
                &batch(chunk.iter().map(|t| ping(*t)).collect()),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(ack["accepted"], chunk.len());
    }
    // As the job would a minute from now, when the newest runs' minutes
    // have closed (it leaves a minute open until 5 s after its end).
    vantage_server::jobs::rollup(
        &server.state.store,
        Utc::now() + chrono::Duration::minutes(1),
    )
    .await
    .unwrap();

    let series = server
        .admin
        .get(&format!(
            "/api/v1/series?agent_id={agent_id}&check=ping-1000&metric=rtt"
        ))
        .await
        .expect(200)
        .json();
    assert_eq!(
        series.as_array().unwrap().len(),
        1,
        "one series, not one per packet"
    );

    for (range, seconds, step) in RANGES {
        let from = now - chrono::Duration::seconds(seconds);
        let mut q = format!(
            "agent_id={agent_id}&check=ping-1000&metric=rtt&from={}&to={}",
            at(from),
            at(now)
        );
        if let Some(step) = step {
            q += &format!("&step={step}");
        }
        let history = server
            .admin
            .get(&format!("/api/v1/series/history?{q}"))
            .await
            .expect(200)
            .json();
        let points = history["series"][0]["points"].as_array().unwrap();
        let runs_in_range = runs.iter().filter(|t| **t >= from).count() as i64;
        assert!(!points.is_empty(), "{range}: no points");
        let values: i64 = points.iter().map(|p| p["count"].as_i64().unwrap()).sum();
        // Rollup ranges widen to whole buckets and may take in one more run.
        assert!(
            values == 1000 * runs_in_range
                || (history["resolution"] != "raw" && values == 1000 * (runs_in_range + 1)),
            "{range}: {values} values for {runs_in_range} runs"
        );
        let exact = history["resolution"] == "raw";
        for p in points {
            assert_eq!(
                p["count"].as_i64().unwrap() % 1000,
                0,
                "{range}: whole runs"
            );
            let q = &p["quantiles"];
            let (p05, p50, p95) = (q["p05"].as_f64(), q["p50"].as_f64(), q["p95"].as_f64());
            let (p05, p50, p95) = (p05.unwrap(), p50.unwrap(), p95.unwrap());
            // Exact: ranks 49, 499, 949 of the levels (each ten times).
            let tolerance = if exact { 1e-12 } else { 0.0101 };
            for (got, want) in [(p05, 5e-4), (p50, 50e-4), (p95, 95e-4)] {
                assert!(
                    (got - want).abs() <= want * tolerance,
                    "{range}: {got} is not {want} ({p})"
                );
            }
            assert_eq!(
                (p["min"].as_f64(), p["max"].as_f64()),
                (Some(1e-4), Some(1e-2))
            );
        }
        match step {
            None => assert!(history.get("step").is_none()),
            Some(s) => assert_eq!(history["step"], s, "{range}: whole rollup buckets already"),
        }
    }

    // At raw resolution a run's values come back in the order measured.
    let q = format!(
        "agent_id={agent_id}&check=ping-1000&metric=rtt&from={}&values=true",
        at(now - chrono::Duration::minutes(2))
    );
    let history = server
        .admin
        .get(&format!("/api/v1/series/history?{q}"))
        .await
        .expect(200)
        .json();
    let point = &history["series"][0]["points"][0];
    let values: Vec<f64> = serde_json::from_value(point["values"].clone()).unwrap();
    assert_eq!(values, rtts());

    // Bad steps and options are named.
    for (query, field) in [
        ("/api/v1/series/history?check=ping-1000&step=0", "step"),
        ("/api/v1/series/history?check=ping-1000&step=7200", "step"),
        ("/api/v1/series/stats?check=ping-1000&step=60", "step"),
        ("/api/v1/series?values=true", "values"),
    ] {
        let problem = server.admin.get(query).await.expect(422).json();
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }

    // A distribution the rules refuse is named too, and nothing of the batch is stored.
    let mut empty = ping(now);
    empty["distributions"][0]["values"] = json!([]);
    let mut long = ping(now);
    long["distributions"][0]["values"] = json!(vec![0.001; 10_001]);
    let problem = agent
        .post("/api/v1/ingest", &batch(vec![empty, long]))
        .await
        .expect(422)
        .json();
    let fields: Vec<(u64, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            (0, "distributions[0].values"),
            (1, "distributions[0].values")
        ]
    );
}
