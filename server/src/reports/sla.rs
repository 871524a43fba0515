//! An SLA as the server keeps it: its spec checked whole (every bad field
//! named), its selector, time zone and business hours compiled.

use std::str::FromStr as _;

use chrono_tz::Tz;
use vantage_protocol::config::{CountBy, MAX_LATENCY_METRICS, OBJECTIVE_DECIMALS, Quorum, SlaSpec};
use vantage_protocol::ingest::FieldError;
use vantage_protocol::rules;

use super::hours::Hours;
use crate::alerting::selector::Selector;
use crate::remote::validate::is_name;

/// A checked SLA.
#[derive(Debug, Clone)]
pub struct Sla {
    pub spec: SlaSpec,
    pub select: Selector,
    pub tz: Tz,
    pub hours: Option<Hours>,
}

impl Sla {
    /// Checks a spec: every bad field is named, none is skipped.
    pub fn compile(spec: SlaSpec) -> Result<Sla, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, reason: String| {
            errors.push(FieldError {
                index: None,
                field: field.to_owned(),
                reason,
            })
        };
        if !is_name(&spec.name) {
            bad(
                "name",
                "must be 1–64 letters, digits, `-`, `_` or `.`".into(),
            );
        }
        let scale = 10f64.powi(OBJECTIVE_DECIMALS as i32);
        let o = spec.objective;
        if !(o.is_finite() && o > 0.0 && o < 100.0) {
            bad(
                "objective",
                format!("must be a percentage above 0 and below 100, like 99.95 (got {o})"),
            );
        } else if ((o * scale).round() - o * scale).abs() > 1e-6 {
            bad(
                "objective",
                format!("has at most {OBJECTIVE_DECIMALS} decimals (got {o})"),
            );
        }
        let select = Selector::compile(&spec.select, "select", &mut bad);
        let tz = Tz::from_str(&spec.timezone)
            .map_err(|_| {
                bad(
                    "timezone",
                    format!(
                        "`{}` is not an IANA time zone (`Europe/Paris`, `UTC`)",
                        spec.timezone
                    ),
                )
            })
            .ok();
        for (i, window) in spec.exclude_windows.iter().enumerate() {
            if !is_name(window) {
                bad(
                    &format!("exclude_windows[{i}]"),
                    format!("`{window}` is not a window name"),
                );
            }
        }
        if spec.latency_metrics.len() > MAX_LATENCY_METRICS {
            bad(
                "latency_metrics",
                format!("names at most {MAX_LATENCY_METRICS} metrics"),
            );
        }
        for (i, metric) in spec.latency_metrics.iter().enumerate() {
            if let Err(why) = rules::check_metric_name(metric) {
                bad(&format!("latency_metrics[{i}]"), why);
            }
        }
        match (spec.count_by, spec.rules.is_empty()) {
            (CountBy::Alerts, true) => bad(
                "rules",
                "names the alert rules whose firing counts as down time (`count_by = \"alerts\"`)"
                    .into(),
            ),
            (CountBy::Runs, false) => bad(
                "rules",
                "counts only with `count_by = \"alerts\"` (counting by runs reads no rule)".into(),
            ),
            _ => {}
        }
        for (i, rule) in spec.rules.iter().enumerate() {
            if !is_name(rule) {
                bad(
                    &format!("rules[{i}]"),
                    format!("`{rule}` is not a rule name"),
                );
            }
        }
        if let Some(Quorum::Agents(0)) = spec.min_agents {
            bad("min_agents", "must be at least 1 agent".into());
        }
        let hours = match &spec.business_hours {
            Some(h) => Hours::compile(h, &mut errors),
            None => None,
        };
        match tz {
            Some(tz) if errors.is_empty() => Ok(Sla {
                spec,
                select,
                tz,
                hours,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sla(extra: serde_json::Value) -> Result<Sla, Vec<String>> {
        let mut spec = serde_json::json!({"name": "edge", "objective": 99.95, "period": "month"});
        spec.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let spec: SlaSpec = serde_json::from_value(spec).unwrap();
        Sla::compile(spec).map_err(|e| e.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn every_bad_field_of_an_sla_is_named() {
        let fields = sla(serde_json::json!({
            "name": "no spaces", "objective": 100.5, "timezone": "Mars/Olympus",
            "exclude_windows": ["ok", "not ok"], "min_agents": 0,
            "select": {"check": "web-[", "groups": ["bad group"]},
            "business_hours": {"days": ["mon"], "start": "18:00", "end": "08:00"}
        }))
        .unwrap_err();
        assert_eq!(
            fields,
            [
                "name",
                "objective",
                "select.check",
                "select.groups[0]",
                "timezone",
                "exclude_windows[1]",
                "min_agents",
                "business_hours.end"
            ]
        );
        assert_eq!(
            sla(serde_json::json!({"objective": 99.99995})).unwrap_err(),
            ["objective"]
        );
        assert_eq!(
            sla(serde_json::json!({"objective": 100})).unwrap_err(),
            ["objective"]
        );
        assert_eq!(
            sla(serde_json::json!({"objective": 0})).unwrap_err(),
            ["objective"]
        );
    }

    #[test]
    fn a_plain_sla_compiles_in_utc() {
        let s = sla(serde_json::json!({"objective": 99.9995})).unwrap();
        assert_eq!(s.tz, Tz::UTC);
        assert!(s.hours.is_none());
        assert!(s.select.selects("any", "thing", "at-all"));
    }
}
