//! SLAs (operators save them, viewers read them) and the reports made of
//! them (docs/reports.md).

use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vantage_protocol::config::{ReportDelivery, ReportDeliveryView, SlaSpec, SlaView};
use vantage_protocol::ingest::FieldError;
use vantage_protocol::report::Report;

use super::alerts::{renamed, saved_status};
use crate::AppState;
use crate::auth::{Operator, Viewer};
use crate::error::{ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::reports::build::report_of;
use crate::reports::csv::csv;
use crate::reports::deliver::carries_reports;
use crate::reports::html::{POLICY, html};
use crate::reports::pdf;
use crate::reports::period::{self, Period};
use crate::reports::sla::Sla;
use crate::store::{AlertStore as _, NotifyStore as _, ReportStore as _, Saved, WindowStore as _};

/// The most channels an SLA's reports go to.
const MAX_REPORT_CHANNELS: usize = 16;

/// The longest range a report covers (a year, and a leap day).
const MAX_RANGE_DAYS: i64 = 366;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_slas))
        .routes(routes!(put_sla, delete_sla))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_report))
}

fn view(saved: Saved<SlaSpec>) -> SlaView {
    SlaView {
        spec: saved.spec,
        revision: saved.revision,
        updated_at: saved.updated_at,
    }
}

/// Every SLA.
#[utoipa::path(get, path = "/api/v1/slas", tag = "reports", security(("bearer" = ["viewer"])), responses(
    (status = 200, body = Vec<SlaView>)
))]
async fn list_slas(
    State(state): State<AppState>,
    _who: Viewer,
) -> ApiResult<axum::Json<Vec<SlaView>>> {
    Ok(axum::Json(
        state.store.slas().await?.into_iter().map(view).collect(),
    ))
}

/// Creates or replaces an SLA. Every bad field is named: an objective out
/// of (0, 100) or with more than 4 decimals, an unknown time zone, bad
/// business hours, a maintenance window that does not exist.
#[utoipa::path(put, path = "/api/v1/slas/{name}", tag = "reports", security(("bearer" = ["operator"])), params(("name" = String, Path)), request_body = SlaSpec, responses(
    (status = 200, body = SlaView, description = "replaced (or unchanged)"),
    (status = 201, body = SlaView, description = "created"),
    (status = 422, description = "every bad field, named", content_type = "application/problem+json")
))]
async fn put_sla(
    State(state): State<AppState>,
    who: Operator,
    PathParams(name): PathParams<String>,
    JsonBody(spec): JsonBody<SlaSpec>,
) -> ApiResult<(StatusCode, axum::Json<SlaView>)> {
    let mut errors = Sla::compile(spec.clone()).err().unwrap_or_default();
    errors.extend(renamed(&spec.name, &name));
    if let Some(deliver) = &spec.deliver {
        errors.extend(delivery_problems(&state, deliver).await?);
    }
    let windows: Vec<String> = (state.store.windows().await?.into_iter())
        .map(|w| w.spec.name)
        .collect();
    errors.extend(missing(
        "exclude_windows",
        "maintenance window",
        &spec.exclude_windows,
        &windows,
    ));
    if !spec.rules.is_empty() {
        let rules: Vec<String> = (state.store.rules().await?.into_iter())
            .map(|r| r.spec.name)
            .collect();
        errors.extend(missing("rules", "alert rule", &spec.rules, &rules));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let saved = state.store.put_sla(&spec, Utc::now()).await?;
    tracing::info!(
        sla = name,
        revision = saved.revision,
        by = who.0.username,
        "An SLA was saved."
    );
    Ok((
        saved_status(saved.created),
        axum::Json(SlaView {
            spec,
            revision: saved.revision,
            updated_at: saved.updated_at,
        }),
    ))
}

/// What is wrong with where an SLA's reports go: no channel, a channel
/// that does not exist or cannot carry a report.
async fn delivery_problems(
    state: &AppState,
    deliver: &ReportDelivery,
) -> ApiResult<Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut bad = |field: String, reason: String| {
        errors.push(FieldError {
            index: None,
            field,
            reason,
        })
    };
    if deliver.channels.is_empty() || deliver.channels.len() > MAX_REPORT_CHANNELS {
        bad(
            "deliver.channels".into(),
            format!("names 1 to {MAX_REPORT_CHANNELS} channels"),
        );
    }
    let channels = state.store.channels().await?;
    for (i, name) in deliver.channels.iter().enumerate() {
        match channels.iter().find(|c| &c.spec.name == name) {
            None => bad(
                format!("deliver.channels[{i}]"),
                format!("no channel `{name}`"),
            ),
            Some(c) if !carries_reports(&c.spec.kind) => bad(
                format!("deliver.channels[{i}]"),
                format!("`{name}` is a paging channel: it opens incidents, it carries no report"),
            ),
            Some(_) => {}
        }
    }
    Ok(errors)
}

/// An SLA's delivered reports (and failed tries), newest first.
#[utoipa::path(get, path = "/api/v1/slas/{name}/deliveries", tag = "reports", security(("bearer" = ["viewer"])), params(("name" = String, Path)), responses(
    (status = 200, body = Vec<ReportDeliveryView>),
    (status = 404, description = "no such SLA", content_type = "application/problem+json")
))]
async fn list_deliveries(
    State(state): State<AppState>,
    _who: Viewer,
    PathParams(name): PathParams<String>,
) -> ApiResult<axum::Json<Vec<ReportDeliveryView>>> {
    if !state
        .store
        .slas()
        .await?
        .iter()
        .any(|s| s.spec.name == name)
    {
        return Err(ApiError::NotFound(format!("no SLA `{name}`")));
    }
    Ok(axum::Json(state.store.deliveries(&name, 500).await?))
}

/// Deletes an SLA.
#[utoipa::path(delete, path = "/api/v1/slas/{name}", tag = "reports", security(("bearer" = ["operator"])), params(("name" = String, Path)), responses(
    (status = 204, description = "deleted"),
    (status = 404, description = "no such SLA", content_type = "application/problem+json")
))]
async fn delete_sla(
    State(state): State<AppState>,
    who: Operator,
    PathParams(name): PathParams<String>,
) -> ApiResult<StatusCode> {
    if !state.store.delete_sla(&name).await? {
        return Err(ApiError::NotFound(format!("no SLA `{name}`")));
    }
    tracing::info!(sla = name, by = who.0.username, "An SLA was deleted.");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// The SLA's name.
    sla: String,
    /// A period of the SLA's kind (`2026-11`, `2026-W45`, `2026-Q4`…);
    /// the current one when neither it nor `from`/`to` is given.
    period: Option<String>,
    /// Instead of `period`: a range's start (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// With `from`: the range's end (exclusive, at most 366 days on).
    to: Option<DateTime<Utc>>,
    /// `json` (the default), `csv` (a table per section), `html` (a
    /// printable page) or `pdf` (that page printed by Chromium).
    format: Option<String>,
}

/// A report's forms.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Html,
    /// Printed by this Chromium.
    Pdf(PathBuf),
}

impl Format {
    fn parse(text: Option<&str>, chromium: Option<&Path>) -> ApiResult<Format> {
        Ok(match text.unwrap_or("json") {
            "json" => Format::Json,
            "csv" => Format::Csv,
            "html" => Format::Html,
            "pdf" => Format::Pdf(pdf::chromium(chromium).ok_or_else(|| {
                ApiError::field(
                    "format",
                    "pdf needs Chromium on the server (`chromium` in its configuration); none was found",
                )
            })?),
            other => {
                return Err(ApiError::field(
                    "format",
                    format!("`{other}` is not a report format (json, csv, html, pdf)"),
                ));
            }
        })
    }
}

/// An SLA's report over a period: availability counted by runs against
/// the quorum, the error budget and its burn rate, every check target
/// (the least available first), and the period before.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", security(("bearer" = ["viewer"])), params(ReportQuery), responses(
    (status = 200, description = "the report, as `format` asks", content(
        (Report = "application/json"),
        (String = "text/csv"),
        (String = "text/html"),
        (Vec<u8> = "application/pdf")
    )),
    (status = 422, description = "an unknown SLA, a period that is not one of the SLA's kind, an inverted or too long range, an unknown format", content_type = "application/problem+json")
))]
async fn get_report(
    State(state): State<AppState>,
    _who: Viewer,
    QueryParams(q): QueryParams<ReportQuery>,
) -> ApiResult<Response> {
    let format = Format::parse(q.format.as_deref(), state.config.chromium.as_deref())?;
    let saved = state.store.slas().await?;
    let spec = saved
        .into_iter()
        .find(|s| s.spec.name == q.sla)
        .ok_or_else(|| ApiError::field("sla", format!("no SLA `{}`", q.sla)))?
        .spec;
    let sla = Sla::compile(spec).map_err(ApiError::invalid)?;
    let now = Utc::now();
    let (this, before) = periods(&sla, &q, now)?;
    let report = report_of(&state.store, &sla, &this, &before, now).await?;
    let name = format!(
        "{}-{}",
        report.sla,
        report.period.label.replace([':', '/'], "_")
    );
    let file = |ext: &str, kind: &'static str, body: Vec<u8>| {
        let disposition = format!("attachment; filename=\"{name}.{ext}\"");
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&disposition)
                        .unwrap_or(HeaderValue::from_static("attachment")),
                ),
            ],
            body,
        )
            .into_response()
    };
    Ok(match format {
        Format::Json => axum::Json(report).into_response(),
        Format::Csv => file("csv", "text/csv; charset=utf-8", csv(&report).into_bytes()),
        Format::Html => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(POLICY),
                ),
            ],
            html(&report, sla.tz),
        )
            .into_response(),
        Format::Pdf(chromium) => {
            let bytes = pdf::pdf(&html(&report, sla.tz), &chromium).await?;
            file("pdf", "application/pdf", bytes)
        }
    })
}

/// The period asked for and the one before it.
fn periods(sla: &Sla, q: &ReportQuery, now: DateTime<Utc>) -> ApiResult<(Period, Period)> {
    let kind = sla.spec.period;
    match (&q.period, q.from, q.to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(ApiError::field(
            "period",
            "give either period or from and to, not both",
        )),
        (Some(label), None, None) => {
            let p = period::parse(kind, label, sla.tz).map_err(|e| ApiError::field("period", e))?;
            let before = period::previous(kind, &p, sla.tz);
            Ok((p, before))
        }
        (None, None, None) => {
            let p = period::containing(kind, now, sla.tz);
            let before = period::previous(kind, &p, sla.tz);
            Ok((p, before))
        }
        (None, Some(from), Some(to)) => {
            if to <= from {
                return Err(ApiError::field("to", "must be after from"));
            }
            if to - from > chrono::Duration::days(MAX_RANGE_DAYS) {
                return Err(ApiError::field(
                    "to",
                    format!("must be at most {MAX_RANGE_DAYS} days after from"),
                ));
            }
            let p = Period {
                label: format!("{}/{}", from.to_rfc3339(), to.to_rfc3339()),
                from,
                to,
            };
            let before = period::previous_range(&p);
            Ok((p, before))
        }
        (None, Some(_), None) => Err(ApiError::field("to", "is needed with from")),
        (None, None, Some(_)) => Err(ApiError::field("from", "is needed with to")),
    }
}

/// A field error for each name of `wanted` (the list `field`) that is not
/// among `existing`.
fn missing(field: &str, what: &str, wanted: &[String], existing: &[String]) -> Vec<FieldError> {
    wanted
        .iter()
        .enumerate()
        .filter(|(_, name)| !existing.contains(name))
        .map(|(i, name)| FieldError {
            index: None,
            field: format!("{field}[{i}]"),
            reason: format!("no {what} `{name}`"),
        })
        .collect()
}
