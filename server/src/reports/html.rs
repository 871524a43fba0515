//! A report as one HTML page: the dashboard's look (its colours and
//! type), printable on A4 (what the PDF is rendered from), no script and
//! nothing fetched. Every value goes through maud, which escapes it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use vantage_protocol::config::CountBy;
use vantage_protocol::report::{Figures, Report};

/// The page's content security policy: its own inline style, nothing
/// else loaded or run (as a header when served, a meta tag when printed).
pub const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

const STYLE: &str = r#"
@page { size: A4; margin: 14mm 12mm; }
:root { --ink: #14161a; --muted: #5f6b7a; --line: #dde2e8; --ok: #257953; --bad: #cc0f35; --accent: #485fc7; }
* { box-sizing: border-box; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 16px; margin: 22px 0 8px; border-bottom: 2px solid var(--accent); padding-bottom: 3px; }
.sub { color: var(--muted); margin: 0 0 14px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; break-inside: avoid; }
.card .k { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 18px; font-weight: 600; }
.met { color: var(--ok); } .missed { color: var(--bad); }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td.n, th.n { text-align: right; }
tr { break-inside: avoid; }
footer { color: var(--muted); font-size: 11px; margin-top: 22px; }
"#;

/// The report as an HTML page; instants shown in `tz`.
pub fn html(report: &Report, tz: Tz) -> String {
    let s = &report.summary;
    let met = s.availability.map(|a| a >= report.objective);
    let by_alerts = report.count_by == CountBy::Alerts;
    let page: Markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(POLICY);
                title { "SLA " (report.sla) " — " (report.period.label) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "SLA " (report.sla) " — " (report.period.label) }
                p.sub {
                    (local(report.period.from, tz)) " to " (local(report.period.to, tz))
                    " (" (report.period.timezone) "), objective " (percent(Some(report.objective)))
                }
                div.cards {
                    div.card {
                        div.k { "Availability" }
                        div.v.met[met == Some(true)].missed[met == Some(false)] { (percent(s.availability)) }
                    }
                    div.card { div.k { "Previous period" } div.v { (percent(report.previous.availability)) } }
                    div.card { div.k { "Error budget left" } div.v { (budget(s)) } }
                    div.card { div.k { "Burn rate" } div.v { (number(s.error_budget.as_ref().map(|b| b.burn_rate), 2)) } }
                    div.card { div.k { "Incidents" } div.v { (s.incidents) } }
                    div.card { div.k { "MTTR" } div.v { (duration(s.mttr_seconds)) } }
                    div.card { div.k { "MTBF" } div.v { (duration(s.mtbf_seconds)) } }
                    @if by_alerts {
                        div.card { div.k { "Time firing" } div.v { (duration(Some(s.down_seconds as f64))) } }
                    } @else {
                        div.card { div.k { "Failed runs" } div.v { (s.failed_runs) " of " (s.runs) } }
                    }
                    div.card { div.k { "Latency p50" } div.v { (ms(s.latency.as_ref().map(|l| l.p50))) } }
                    div.card { div.k { "Latency p95" } div.v { (ms(s.latency.as_ref().map(|l| l.p95))) } }
                    div.card { div.k { "Latency p99" } div.v { (ms(s.latency.as_ref().map(|l| l.p99))) } }
                    div.card { div.k { "Loss" } div.v { (percent(s.loss.map(|l| l * 100.0))) } }
                }
                h2 { "Check targets, least available first" }
                table {
                    thead { tr {
                        th { "Check" } th { "Target" } th.n { "Agents" } th.n { "Availability" }
                        th.n { "Failed runs" } th.n { "Incidents" } th.n { "p95" } th.n { "Loss" }
                    } }
                    tbody {
                        @for t in &report.targets {
                            tr {
                                td { (t.check) } td { (t.target) } td.n { (t.agents) }
                                td.n { (percent(t.figures.availability)) }
                                td.n { (t.figures.failed_runs) " / " (t.figures.runs) }
                                td.n { (t.figures.incidents) }
                                td.n { (ms(t.figures.latency.as_ref().map(|l| l.p95))) }
                                td.n { (percent(t.figures.loss.map(|l| l * 100.0))) }
                            }
                        }
                    }
                }
                h2 { "Incidents" }
                @if report.incidents.is_empty() {
                    p { "None." }
                } @else {
                    table {
                        thead { tr {
                            th { "Check" } th { "Target" } th { "Start" } th.n { "Duration" }
                            @if !by_alerts { th.n { "Failed runs" } }
                            th { "First failing agents" } th { "Alert rules" }
                            th { "Suppressed alerts" }
                        } }
                        tbody {
                            @for i in &report.incidents {
                                tr {
                                    td { (i.check) } td { (i.target) } td { (local(i.start, tz)) }
                                    td.n { (duration(Some(i.duration_seconds as f64))) @if i.ongoing { ", ongoing" } }
                                    @if !by_alerts { td.n { (i.failed_runs) } }
                                    td { (i.first_agents.join(", ")) }
                                    td { (i.rules.join(", ")) }
                                    td {
                                        @for s in &i.suppressed {
                                            div { (s.label()) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                footer {
                    @if by_alerts {
                        "Availability counts the time the SLA's alert rules were firing: a check target's group alert, or the SLA's quorum of its agents' alerts at once; "
                    } @else {
                        "Availability counts runs: a failed run counts only in a minute in which the SLA's quorum of agents failed; "
                    }
                    "minutes outside business hours or in an excluded maintenance window are left out. "
                    "Generated by Vantage at " (local(report.generated_at, tz)) "."
                }
            }
        }
    };
    page.into_string()
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// `99.9815 %`, or a dash.
fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.4} %"))
}

fn number(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
}

fn budget(f: &Figures) -> String {
    match &f.error_budget {
        Some(b) => format!("{:.1} %", b.remaining * 100.0),
        None => "–".to_owned(),
    }
}

/// Seconds as `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`.
fn duration(v: Option<f64>) -> String {
    let Some(secs) = v else {
        return "–".to_owned();
    };
    let s = secs.round() as i64;
    match s {
        ..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Seconds as milliseconds with three significant digits.
fn ms(v: Option<f64>) -> String {
    match v {
        None => "–".to_owned(),
        Some(v) if v * 1000.0 >= 100.0 => format!("{:.0} ms", v * 1000.0),
        Some(v) if v * 1000.0 >= 10.0 => format!("{:.1} ms", v * 1000.0),
        Some(v) => format!("{:.2} ms", v * 1000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_latencies_read_as_people_write_them() {
        assert_eq!(duration(Some(42.0)), "42 s");
        assert_eq!(duration(Some(2400.0)), "40 min");
        assert_eq!(duration(Some(11_100.0)), "3 h 05 min");
        assert_eq!(duration(Some(187_200.0)), "2 d 4 h");
        assert_eq!(duration(None), "–");
        assert_eq!(ms(Some(0.1502)), "150 ms");
        assert_eq!(ms(Some(0.0312)), "31.2 ms");
        assert_eq!(ms(Some(0.005)), "5.00 ms");
        assert_eq!(percent(Some(99.98148)), "99.9815 %");
    }
}
