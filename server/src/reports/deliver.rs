//! Reports sent once their period ends: for each SLA with `deliver`, the
//! period just ended, to each of its channels that has not had it, a few
//! minutes after the end (the rollups of its last minutes are in by
//! then). The jobs round runs it under its lease, so one replica sends;
//! the history (`report_deliveries`) keeps one row per (SLA, period,
//! channel), and a failed send is tried again at the next round. An
//! email channel mails a summary with the report attached, a webhook
//! channel posts the JSON report, signed as alerts are, and a chat or
//! push channel gets the summary with a link to the dashboard's reports.

use chrono::{DateTime, Duration, Utc};
use vantage_protocol::config::{ChannelKind, ReportDelivery, ReportFormat};
use vantage_protocol::report::Report;

use super::build::report_of;
use super::period::{containing, previous};
use super::sla::Sla;
use super::{csv, html, pdf};
use crate::alerting::notify::note::{self, Note, takes_notes};
use crate::alerting::notify::{self, email, services, webhook};
use crate::config::ServerConfig;
use crate::store::{ChannelRow, NotifyStore as _, ReportStore as _, Store, StoreResult};

/// How long after a period's end its report waits.
pub const SETTLE: Duration = Duration::minutes(5);

/// The channel kinds a report can go over (not paging services: they
/// open incidents).
pub fn carries_reports(kind: &ChannelKind) -> bool {
    matches!(
        kind,
        ChannelKind::Email { .. } | ChannelKind::Webhook { .. }
    ) || takes_notes(kind)
}

/// Sends every report due at `now`; how many sends were tried.
pub async fn due(store: &Store, config: &ServerConfig, now: DateTime<Utc>) -> StoreResult<u32> {
    let mut tried = 0;
    // Read once, and only when a report is owed.
    let mut channels: Option<Vec<ChannelRow>> = None;
    for saved in store.slas().await? {
        let Some(deliver) = saved.spec.deliver.clone() else {
            continue;
        };
        let Ok(sla) = Sla::compile(saved.spec) else {
            continue;
        };
        let kind = sla.spec.period;
        let ended = previous(kind, &containing(kind, now, sla.tz), sla.tz);
        if now < ended.to + SETTLE {
            continue;
        }
        let sent = store.delivered(&sla.spec.name, &ended.label).await?;
        let owed: Vec<&String> = deliver
            .channels
            .iter()
            .filter(|c| !sent.contains(c))
            .collect();
        if owed.is_empty() {
            continue;
        }
        let before = previous(kind, &ended, sla.tz);
        let report = report_of(store, &sla, &ended, &before, now).await?;
        let channels = match &mut channels {
            Some(channels) => channels,
            None => channels.insert(store.channels().await?),
        };
        for name in owed {
            tried += 1;
            let outcome = match channels.iter().find(|c| &c.spec.name == name) {
                Some(channel) => send(channel, &report, &deliver, &sla, config).await,
                None => Err(format!("no channel `{name}`")),
            };
            let (sent, detail) = match outcome {
                Ok(code) => (true, code.to_string()),
                Err(why) => {
                    tracing::warn!(
                        sla = sla.spec.name,
                        channel = name,
                        why,
                        "A report was not sent."
                    );
                    (false, why)
                }
            };
            store
                .record_delivery(
                    &sla.spec.name,
                    &ended.label,
                    name,
                    sent,
                    &detail,
                    Utc::now(),
                )
                .await?;
        }
    }
    Ok(tried)
}

/// Sends one report over one channel: the receiver's answer.
async fn send(
    channel: &ChannelRow,
    report: &Report,
    deliver: &ReportDelivery,
    sla: &Sla,
    config: &ServerConfig,
) -> Result<u16, String> {
    let name = format!("{}-{}", report.sla, report.period.label);
    let work = async {
        match &channel.spec.kind {
            kind @ ChannelKind::Email { .. } => {
                let relay = email::Relay::of(kind).ok_or("not an email channel")?;
                let (ext, kind) = deliver.attach.file();
                let bytes = render(report, deliver.attach, sla, config).await?;
                let mail = email::with_attachment(
                    &relay,
                    &subject(report),
                    summary(report, config.public_url.as_deref()),
                    (format!("{name}.{ext}"), kind, bytes),
                )?;
                email::deliver(&relay, mail).await
            }
            ChannelKind::Webhook {
                url,
                secret,
                headers,
            } => {
                let client = notify::client().map_err(|e| e.to_string())?;
                let body = serde_json::to_vec(report).map_err(|e| e.to_string())?;
                let hook = webhook::Hook {
                    url,
                    secret: secret.as_deref(),
                    headers,
                };
                webhook::post(&client, &hook, &format!("report-{name}"), body).await
            }
            kind if takes_notes(kind) => {
                let client = notify::client().map_err(|e| e.to_string())?;
                let link = config
                    .public_url
                    .as_deref()
                    .map(|u| format!("{}/reports", u.trim_end_matches('/')));
                let title = subject(report);
                let text = figures(report);
                let note = Note {
                    title: &title,
                    text: &text,
                    link: link.as_deref(),
                };
                services::post(&client, note::outgoing(kind, &note)?).await
            }
            _ => Err("a paging channel cannot carry a report".into()),
        }
    };
    // Printing a PDF takes up to a minute; the send itself 10 s.
    match tokio::time::timeout(std::time::Duration::from_secs(90), work).await {
        Ok(Ok(code)) if code < 400 => Ok(code),
        Ok(Ok(code)) => Err(format!("the receiver answered {code}")),
        Ok(Err(why)) => Err(why),
        Err(_) => Err("no answer within 90 s".into()),
    }
}

async fn render(
    report: &Report,
    format: ReportFormat,
    sla: &Sla,
    config: &ServerConfig,
) -> Result<Vec<u8>, String> {
    Ok(match format {
        ReportFormat::Json => serde_json::to_vec_pretty(report).map_err(|e| e.to_string())?,
        ReportFormat::Csv => csv::csv(report).into_bytes(),
        ReportFormat::Html => html::html(report, sla.tz).into_bytes(),
        ReportFormat::Pdf => {
            let chromium = pdf::chromium(config.chromium.as_deref())
                .ok_or("a PDF needs Chromium on the server (`chromium`); none was found")?;
            pdf::pdf(&html::html(report, sla.tz), &chromium)
                .await
                .map_err(|e| format!("{e:#}"))?
        }
    })
}

fn subject(report: &Report) -> String {
    let availability = report
        .summary
        .availability
        .map_or_else(|| "no runs".to_owned(), |a| format!("{a:.4} %"));
    format!(
        "SLA {} — {}: {availability} (objective {} %)",
        report.sla, report.period.label, report.objective
    )
}

/// The mail's text: the subject, the figures, and where to see more.
fn summary(report: &Report, public_url: Option<&str>) -> String {
    let mut text = format!("{}\n\n{}", subject(report), figures(report));
    if let Some(url) = public_url {
        text += &format!("\n{}/reports\n", url.trim_end_matches('/'));
    }
    text
}

/// The figures that matter, a line each, and the least available targets.
fn figures(report: &Report) -> String {
    let s = &report.summary;
    let percent = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.4} %"));
    let mut text = format!(
        "Availability {} against an objective of {} % (the period before: {}).\n",
        percent(s.availability),
        report.objective,
        percent(report.previous.availability)
    );
    if let Some(b) = &s.error_budget {
        text += &format!(
            "Error budget left: {:.1} %, burn rate {:.2}.\n",
            b.remaining * 100.0,
            b.burn_rate
        );
    }
    text += &format!(
        "Incidents: {}; {}.\n",
        s.incidents,
        s.down_phrase(report.count_by)
    );
    for t in report.targets.iter().take(5) {
        text += &format!(
            "  {} {}: {}\n",
            t.check,
            t.target,
            percent(t.figures.availability)
        );
    }
    text
}
