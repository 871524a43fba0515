//! A golden month: three agents run a web and a DNS check every 10
//! minutes, with outages across both month boundaries, in and out of
//! business hours, in a maintenance window, and on one agent of three
//! alone. Every expected figure is counted here from the outages'
//! definition, not read back from the server.

use chrono::{DateTime, Datelike as _, Duration, Months, NaiveDate, TimeZone as _, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{assert_close, assert_within_1pct, formats, put, server};
use crate::api::enroll;
use crate::both;
use crate::support::batch;
use crate::support::server::Backend;

const TOKYO: Tz = chrono_tz::Asia::Tokyo;
const AGENTS: [&str; 3] = ["a1", "a2", "a3"];
/// Runs a day, one every 10 minutes.
const RUNS_A_DAY: i64 = 144;

/// The month before the current one in Tokyo, as `[from, to)`, and its
/// first day.
fn last_month(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>, NaiveDate) {
    let today = now.with_timezone(&TOKYO).date_naive();
    let this = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
    let last = this - Months::new(1);
    (local(last, 0, 0), local(this, 0, 0), last)
}

fn local(day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    TOKYO
        .from_local_datetime(&day.and_hms_opt(h, m, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// The first `weekday` of the month that starts on `first`.
fn first(weekday: Weekday, first: NaiveDate) -> NaiveDate {
    (0..7)
        .map(|d| first + Duration::days(d))
        .find(|d| d.weekday() == weekday)
        .unwrap()
}

/// The days of `[from, to)` (local) that are `weekday`s.
fn count_days(from: NaiveDate, to: NaiveDate, keep: impl Fn(Weekday) -> bool) -> i64 {
    from.iter_days()
        .take_while(|d| *d < to)
        .filter(|d| keep(d.weekday()))
        .count() as i64
}

/// An outage: these agents' runs of the check fail in `[from, to)`.
type Outage = (
    &'static [&'static str],
    &'static str,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// The outages of the month.
struct Outages(Vec<Outage>);

impl Outages {
    fn fails(&self, agent: &str, check: &str, t: DateTime<Utc>) -> bool {
        self.0.iter().any(|(agents, c, from, to)| {
            agents.contains(&agent) && *c == check && (*from..*to).contains(&t)
        })
    }
}

/// A run: web's `total_time` steps through 10, 11 … 19 ms by run
/// (`step`), DNS's `lookup_time` is 5 ms and its `loss` 1 when it failed.
fn run(agent: &str, check: &str, at: DateTime<Utc>, step: i64, ok: bool) -> Value {
    let (target, plugin, samples) = match check {
        "web" => (
            "10.0.0.1",
            "http",
            json!([{"metric": "total_time", "unit": "seconds", "value": web_time(step)}]),
        ),
        _ => (
            "10.0.0.2",
            "dns",
            json!([{"metric": "lookup_time", "unit": "seconds", "value": 0.005},
                   {"metric": "loss", "unit": "ratio", "value": if ok { 0.0 } else { 1.0 }}]),
        ),
    };
    json!({
        "id": Uuid::now_v7(), "agent": agent, "check": check, "target": target,
        "plugin": plugin, "plugin_version": "0.1.0",
        "status": if ok { "ok" } else { "timeout" },
        "started_at": at, "duration": 0.05, "samples": samples,
    })
}

fn web_time(step: i64) -> f64 {
    0.010 + 0.001 * (step % 10) as f64
}

both!(a_golden_month_gives_the_availability_counted_by_hand);
async fn a_golden_month_gives_the_availability_counted_by_hand(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let now = Utc::now();
    let (from, to, day1) = last_month(now);
    let next_month = day1 + Months::new(1);
    let wednesday = first(Weekday::Wed, day1);
    let saturday = first(Weekday::Sat, day1);
    let minutes = |m: i64| Duration::minutes(m);
    let outages = Outages(vec![
        // Across the month's start and its end, on every agent.
        (&AGENTS, "web", from - minutes(20), from + minutes(20)),
        (&AGENTS, "web", to - minutes(30), to + minutes(30)),
        // In business hours, and at night.
        (
            &AGENTS,
            "web",
            local(wednesday, 10, 0),
            local(wednesday, 11, 0),
        ),
        (
            &AGENTS,
            "web",
            local(wednesday, 2, 0),
            local(wednesday, 3, 0),
        ),
        // One agent of three, in business hours.
        (
            &["a3"],
            "dns",
            local(wednesday, 14, 0),
            local(wednesday, 16, 0),
        ),
        // In the maintenance window.
        (&AGENTS, "web", local(saturday, 4, 0), local(saturday, 5, 0)),
    ]);
    // From two days before the month to an hour after it (or now).
    let start = from - Duration::days(2);
    let end = (to + minutes(60)).min(now - minutes(1));
    for agent in AGENTS {
        let (client, _) = enroll(&server, agent).await;
        let mut runs = Vec::new();
        let mut t = start;
        while t < end {
            let step = (t - start).num_minutes() / 10;
            for check in ["web", "dns"] {
                runs.push(run(agent, check, t, step, !outages.fails(agent, check, t)));
            }
            t += minutes(10);
        }
        for chunk in runs.chunks(2000) {
            let ack = client
                .post("/api/v1/ingest", &batch(chunk.to_vec()))
                .await
                .expect(200)
                .json();
            assert_eq!(ack["accepted"], chunk.len());
        }
    }
    vantage_server::jobs::rollup(&server.state.store, Utc::now() + minutes(1))
        .await
        .unwrap();

    let admin = &server.admin;
    put(
        admin,
        "/api/v1/alerts/windows/saturday-maint",
        &json!({"name": "saturday-maint", "match": {"check": "web"}, "schedule": "0 4 * * SAT",
            "duration": "1h", "timezone": "Asia/Tokyo", "comment": "weekly upgrades"}),
    )
    .await;
    put(
        admin,
        "/api/v1/slas/edge",
        &json!({"name": "edge", "objective": 99.9, "period": "month", "timezone": "Asia/Tokyo",
            "exclude_windows": ["saturday-maint"], "min_agents": 2}),
    )
    .await;
    put(
        admin,
        "/api/v1/slas/office",
        &json!({"name": "office", "objective": 99.5, "period": "month", "timezone": "Asia/Tokyo",
            "select": {"check": "*"},
            "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"}}),
    )
    .await;
    let label = day1.format("%Y-%m").to_string();
    let report = |sla: &str| {
        let path = format!("/api/v1/reports?sla={sla}&period={label}");
        async move { admin.get(&path).await.expect(200).json() }
    };

    // Around the clock, without the Saturday windows, two agents of three.
    let edge = report("edge").await;
    assert_eq!(edge["period"]["label"], label.as_str());
    assert_eq!(edge["period"]["from"], json!(from));
    assert_eq!(edge["period"]["to"], json!(to));
    let days = (to - from).num_days();
    let saturdays = count_days(day1, next_month, |d| d == Weekday::Sat);
    let per_target = 3 * (days * RUNS_A_DAY - saturdays * 6);
    // web: 2 runs after the start, 3 before the end, 6 + 6 on Wednesday,
    // on each of the 3 agents; dns: one agent alone, outvoted.
    let figures = &edge["summary"];
    assert_eq!(figures["runs"], 2 * per_target);
    assert_eq!(figures["failed_runs"], 3 * 17);
    assert_eq!(figures["outvoted_runs"], 12);
    assert_eq!(figures["excluded_runs"], 2 * 3 * saturdays * 6);
    assert_eq!(figures["down_minutes"], 17);
    let availability = 100.0 * (1.0 - 51.0 / (2 * per_target) as f64);
    assert_close(&figures["availability"], availability);
    let allowed = 0.001 * (2 * per_target) as f64;
    assert_close(&figures["error_budget"]["allowed_failed_runs"], allowed);
    assert_close(&figures["error_budget"]["remaining"], 1.0 - 51.0 / allowed);
    let targets = edge["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(
        (&targets[0]["check"], &targets[0]["agents"]),
        (&json!("web"), &json!(3))
    );
    assert_eq!(targets[0]["failed_runs"], 51);
    assert_eq!(
        (&targets[1]["check"], &targets[1]["failed_runs"]),
        (&json!("dns"), &json!(0))
    );
    assert_close(&targets[1]["availability"], 100.0);
    // Incidents: the month's start (20 minutes), Wednesday night and
    // morning (an hour each), and its end, still down (30 minutes); none
    // in the window, none for the outvoted agent.
    let incidents: Vec<(String, i64, u64, bool)> = edge["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["start"].as_str().unwrap().to_owned(),
                i["duration_seconds"].as_i64().unwrap(),
                i["failed_runs"].as_u64().unwrap(),
                i["ongoing"].as_bool().unwrap(),
            )
        })
        .collect();
    let stamp = |t: DateTime<Utc>| json!(t).as_str().unwrap().to_owned();
    let mut want = vec![
        (stamp(from), 1200, 6, false),
        (stamp(local(wednesday, 2, 0)), 3600, 18, false),
        (stamp(local(wednesday, 10, 0)), 3600, 18, false),
        (stamp(to - minutes(30)), 1800, 9, true),
    ];
    want.sort();
    assert_eq!(incidents, want);
    assert_eq!(edge["incidents"][0]["first_agents"], json!(AGENTS));
    let counted = (days * 1440 - saturdays * 60) * 60;
    assert_eq!(figures["incidents"], 4);
    assert_close(&figures["mttr_seconds"], 10_200.0 / 4.0);
    assert_close(
        &figures["mtbf_seconds"],
        (2 * counted - 10_200) as f64 / 4.0,
    );
    // Latency: web's 10 steps and DNS's 5 ms, within the sketch's 1 %;
    // loss: the lone agent's 12 failed lookups over DNS's counted runs.
    let web = &targets[0];
    assert_eq!(web["latency"]["metrics"], json!(["total_time"]));
    assert_eq!(web["latency"]["values"], per_target);
    assert_within_1pct(&web["latency"]["p99"], web_time(9));
    assert_within_1pct(&web["latency"]["p95"], web_time(9));
    let p50 = web["latency"]["p50"].as_f64().unwrap();
    assert!(
        (web_time(4) * 0.99..=web_time(5) * 1.01).contains(&p50),
        "{p50}"
    );
    assert_eq!(web["loss"], Value::Null);
    let dns = &targets[1];
    assert_within_1pct(&dns["latency"]["p50"], 0.005);
    assert_close(&dns["loss"], 12.0 / per_target as f64);
    assert_eq!(
        figures["latency"]["metrics"],
        json!(["lookup_time", "total_time"])
    );
    assert_eq!(figures["latency"]["values"], 2 * per_target);
    assert_close(&figures["loss"], 12.0 / per_target as f64);
    // The month before holds the two days posted before this one: two
    // failed runs on each agent, the Saturday windows in them left out.
    let before_saturdays = count_days(day1 - Duration::days(2), day1, |d| d == Weekday::Sat);
    assert_eq!(
        edge["previous"]["runs"],
        2 * 3 * (2 * RUNS_A_DAY - before_saturdays * 6)
    );
    assert_eq!(edge["previous"]["failed_runs"], 6);
    // It is compared by availability: latency is the period's alone.
    assert_eq!(edge["previous"]["latency"], Value::Null);

    formats::say_what_the_json_says(admin, "edge", &label, &edge).await;

    // Business hours only: the Wednesday-morning outage and the lone
    // agent count, nothing at night, at the month's edges or on Saturday.
    let office = report("office").await;
    let weekdays = count_days(day1, next_month, |d| {
        !matches!(d, Weekday::Sat | Weekday::Sun)
    });
    let per_target = 3 * weekdays * 9 * 6;
    let figures = &office["summary"];
    assert_eq!(figures["runs"], 2 * per_target);
    assert_eq!(figures["failed_runs"], 18 + 12);
    assert_eq!(figures["outvoted_runs"], 0);
    assert_eq!(figures["down_minutes"], 6 + 12);
    assert_eq!(
        figures["excluded_runs"],
        2 * 3 * (days * RUNS_A_DAY) - 2 * per_target
    );
    assert_close(
        &figures["availability"],
        100.0 * (1.0 - 30.0 / (2 * per_target) as f64),
    );
    let incidents: Vec<(&str, &Value, &Value, &Value)> = office["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["check"].as_str().unwrap(),
                &i["start"],
                &i["duration_seconds"],
                &i["first_agents"],
            )
        })
        .collect();
    assert_eq!(
        incidents,
        [
            (
                "web",
                &json!(local(wednesday, 10, 0)),
                &json!(3600),
                &json!(AGENTS)
            ),
            (
                "dns",
                &json!(local(wednesday, 14, 0)),
                &json!(7200),
                &json!(["a3"])
            )
        ]
    );
    let targets = office["targets"].as_array().unwrap();
    assert_eq!(
        (&targets[0]["check"], &targets[0]["failed_runs"]),
        (&json!("web"), &json!(18))
    );
    assert_eq!(
        (&targets[1]["check"], &targets[1]["failed_runs"]),
        (&json!("dns"), &json!(12))
    );
}
