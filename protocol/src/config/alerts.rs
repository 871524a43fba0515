//! Alert rules as an operator defines them (`PUT /api/v1/alerts/rules/{name}`,
//! and one `[[rule]]` of `vantage alerts apply -f alerts.toml`).
//!
//! ```toml
//! [[rule]]
//! name = "core-loss"
//! select = { check = "ping-*", groups = ["core"] }
//! condition = { kind = "threshold", metric = "loss", op = ">", value = 0.05 }
//! k_of_m = [3, 5]
//! for = "2m"
//! min_agents = "60%"
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which results a rule judges. Every field given must match; empty
/// selects every result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResultSelector {
    /// A check name, or a glob of them (`ping-*`, `web-?`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// A target, or a glob of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The plugin's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// Agents in any one of these groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Agents carrying each of these labels with exactly this value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// How a threshold compares the measured value with its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Comparison {
    /// `>`
    #[serde(rename = ">")]
    Above,
    /// `>=`
    #[serde(rename = ">=")]
    AtLeast,
    /// `<`
    #[serde(rename = "<")]
    Below,
    /// `<=`
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    /// Whether `value` breaks the limit.
    pub fn breaks(self, value: f64, limit: f64) -> bool {
        match self {
            Comparison::Above => value > limit,
            Comparison::AtLeast => value >= limit,
            Comparison::Below => value < limit,
            Comparison::AtMost => value <= limit,
        }
    }
}

/// What a threshold compares: the last value, or an aggregate of the
/// values over the rule's `window` (`avg`, `min`, `max`, `sum`,
/// `p50`…`p99`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    /// The newest value.
    Last,
    /// The mean over the window.
    Avg,
    /// The smallest over the window.
    Min,
    /// The largest over the window.
    Max,
    /// The sum over the window: a count reported per run (log lines
    /// matched) totalled over the window.
    Sum,
    /// A percentile, written `p95`.
    #[serde(untagged)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "p95"))]
    Percentile(#[serde(serialize_with = "percentile")] u8),
}

fn percentile<S: serde::Serializer>(p: &u8, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("p{p}"))
}

/// By hand, so that a bad value is named (`p100` is not a percentile)
/// rather than refused as matching no variant.
impl<'de> Deserialize<'de> for Aggregate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let percentile = || {
            text.strip_prefix('p')
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|n| (1..=99).contains(n))
        };
        Ok(match text.as_str() {
            "last" => Aggregate::Last,
            "avg" => Aggregate::Avg,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "sum" => Aggregate::Sum,
            _ => Aggregate::Percentile(percentile().ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not last, avg, min, max, sum or a percentile p1…p99"
                ))
            })?),
        })
    }
}

/// What makes a result bad.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The run's status is not `ok`. (Struct variants, even empty, so
    /// that an unknown field next to `kind` is refused.)
    Status {},
    /// A metric's value breaks a limit: `loss > 0.05`, `rtt p95 > 80ms`
    /// (values in the metric's base unit: seconds, ratio…).
    Threshold {
        /// The metric's name, as its plugin declares it (or `check_up`).
        metric: String,
        /// `>`, `>=`, `<` or `<=`.
        op: Comparison,
        /// The limit, in the metric's base unit.
        value: f64,
        /// `last` (the default), `avg`, `min`, `max`, `sum` or `pN`.
        #[serde(default = "last")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "p95", pattern = "^(last|avg|min|max|sum|p[1-9][0-9]?)$"))]
        aggregate: Aggregate,
        /// The values an aggregate other than `last` covers.
        #[serde(
            default,
            with = "humantime_serde",
            skip_serializing_if = "Option::is_none"
        )]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "5m"))]
        window: Option<Duration>,
    },
    /// No result for `intervals` times the check's interval.
    NoData {
        /// Check intervals without a result (at least 1).
        intervals: u32,
    },
    /// The traceroute's path fingerprint changed since the previous run.
    PathChange {},
    /// The certificate expires within `days` days.
    CertExpiry {
        /// Days before the expiry (at least 1).
        days: u32,
    },
    /// The agent has not been heard from for the server's `offline_after`.
    /// Selects agents by `groups` and `labels` only. While it fires, every
    /// other alert of the agent is suppressed.
    AgentOffline {},
}

impl Condition {
    /// Whether the rule is about agents rather than check results.
    pub fn is_agent_offline(&self) -> bool {
        matches!(self, Condition::AgentOffline {})
    }
}

fn last() -> Aggregate {
    Aggregate::Last
}

/// How many of a check's agents must fail before its alert fires: a
/// number, or a share written `"60%"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Quorum {
    /// This many agents.
    Agents(u32),
    /// This share of the agents that run the check, `"60%"`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "60%"))]
    Share(#[serde(serialize_with = "share")] f64),
}

fn share<S: serde::Serializer>(share: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}%", share * 100.0))
}

/// By hand, so that a bad value is named rather than refused as matching
/// no variant.
impl<'de> Deserialize<'de> for Quorum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        let bad = |what: String| {
            serde::de::Error::custom(format!(
                "`{what}` is neither a number of agents nor a share like `60%`"
            ))
        };
        match Raw::deserialize(d)? {
            Raw::Number(n) if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => {
                Ok(Quorum::Agents(n as u32))
            }
            Raw::Number(n) => Err(bad(n.to_string())),
            Raw::Text(text) => text
                .strip_suffix('%')
                .and_then(|n| n.trim().parse::<f64>().ok())
                .filter(|n| *n > 0.0 && *n <= 100.0)
                .map(|n| Quorum::Share(n / 100.0))
                .ok_or_else(|| bad(text)),
        }
    }
}

/// An alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Letters, digits, `-`, `_` and `.`; at most 64 characters.
    pub name: String,
    /// Which results it judges.
    #[serde(default)]
    pub select: ResultSelector,
    /// What makes a result bad.
    pub condition: Condition,
    /// Fire after this many bad results in a row (default 1). Not with `k_of_m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    /// Fire when `k` of the last `m` results are bad: `[3, 5]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k_of_m: Option<[u32; 2]>,
    /// The bad results must have lasted this long.
    #[serde(
        rename = "for",
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "2m"))]
    pub hold: Option<Duration>,
    /// Good results in a row that resolve (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_threshold: Option<u32>,
    /// Stay firing this long after the first good result.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "5m"))]
    pub keep_firing_for: Option<Duration>,
    /// Agents of a check that must be failing before it fires (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_agents: Option<Quorum>,
    /// Tell a firing alert again this often while it fires and nothing
    /// else was told (1 minute to 30 days; default: once).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "4h"))]
    pub repeat_interval: Option<Duration>,
    /// Parent checks (names or globs): while one of them has a raised
    /// alert (any rule's) on the same agent, or a raised quorum group, this
    /// rule's steps are stored as suppressed and sent nowhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// A rule as the server shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleView {
    /// The rule as it was last saved.
    pub spec: RuleSpec,
    /// Bumped by every change of the spec.
    pub revision: i64,
    /// When the spec last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_reads_from_toml_with_every_setting() {
        let rule: RuleSpec = toml::from_str(
            r#"
            name = "core-loss"
            select = { check = "ping-*", groups = ["core"] }
            condition = { kind = "threshold", metric = "rtt", op = ">", value = 0.08, aggregate = "p95", window = "5m" }
            k_of_m = [3, 5]
            for = "2m"
            min_agents = "60%"
            "#,
        )
        .unwrap();
        assert_eq!(
            rule.condition,
            Condition::Threshold {
                metric: "rtt".into(),
                op: Comparison::Above,
                value: 0.08,
                aggregate: Aggregate::Percentile(95),
                window: Some(Duration::from_secs(300)),
            }
        );
        assert_eq!(rule.k_of_m, Some([3, 5]));
        assert_eq!(rule.hold, Some(Duration::from_secs(120)));
        assert_eq!(rule.min_agents, Some(Quorum::Share(0.6)));
        assert_eq!(rule.select.check.as_deref(), Some("ping-*"));
        // JSON round trip, as the API speaks it.
        let json = serde_json::to_value(&rule).unwrap();
        assert_eq!(json["condition"]["aggregate"], "p95");
        assert_eq!(json["min_agents"], "60%");
        assert_eq!(json["for"], "2m");
        assert_eq!(serde_json::from_value::<RuleSpec>(json).unwrap(), rule);
    }

    #[test]
    fn bad_kinds_aggregates_shares_and_fields_are_refused() {
        let parse = |rule: serde_json::Value| {
            serde_json::from_value::<RuleSpec>(rule)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        let with = |condition: serde_json::Value, extra: serde_json::Value| {
            let mut rule = serde_json::json!({"name": "r", "condition": condition});
            for (k, v) in extra.as_object().unwrap() {
                rule[k] = v.clone();
            }
            parse(rule)
        };
        let none = serde_json::json!({});
        let e = with(serde_json::json!({"kind": "sometimes"}), none.clone());
        assert!(e.contains("unknown variant `sometimes`"), "{e}");
        let e = with(
            serde_json::json!({"kind": "threshold", "metric": "rtt", "op": ">", "value": 1, "aggregate": "p100"}),
            none.clone(),
        );
        assert!(
            e.contains("`p100` is not last, avg, min, max, sum or a percentile"),
            "{e}"
        );
        let e = with(
            serde_json::json!({"kind": "status"}),
            serde_json::json!({"min_agents": "150%"}),
        );
        assert!(
            e.contains("`150%` is neither a number of agents nor a share"),
            "{e}"
        );
        let e = with(
            serde_json::json!({"kind": "status"}),
            serde_json::json!({"min_agents": 1.5}),
        );
        assert!(e.contains("`1.5` is neither"), "{e}");
        let e = with(
            serde_json::json!({"kind": "status", "metric": "x"}),
            none.clone(),
        );
        assert!(e.contains("unknown field `metric`"), "{e}");
        let e = with(
            serde_json::json!({"kind": "status"}),
            serde_json::json!({"flap": 1}),
        );
        assert!(e.contains("unknown field `flap`"), "{e}");
        let e = with(
            serde_json::json!({"kind": "threshold", "metric": "rtt", "value": 1}),
            none,
        );
        assert!(e.contains("missing field `op`"), "{e}");
    }

    #[test]
    fn comparisons_break_their_limits() {
        assert!(Comparison::Above.breaks(0.06, 0.05) && !Comparison::Above.breaks(0.05, 0.05));
        assert!(Comparison::AtLeast.breaks(0.05, 0.05));
        assert!(Comparison::Below.breaks(1.0, 2.0) && !Comparison::Below.breaks(2.0, 2.0));
        assert!(Comparison::AtMost.breaks(2.0, 2.0));
    }
}
