//! A rule as the server keeps it: its spec checked whole (every bad field
//! named), its selector compiled, its settings turned into a [`Policy`].

use std::collections::BTreeMap;
use std::time::Duration;

use vantage_protocol::config::{Aggregate, Condition, Quorum, RuleSpec};
use vantage_protocol::ingest::FieldError;
use vantage_protocol::rules;

use super::machine::Policy;
use super::matcher::{GLOB_CHARS, Pattern};
use super::selector::Selector;
use crate::remote::validate::is_name;

/// The longest `for`, `keep_firing_for` or aggregate window.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most check intervals a `no_data` condition may wait.
const MAX_INTERVALS: u32 = 1000;
/// The furthest a certificate's expiry may be looked ahead, in days.
const MAX_DAYS: u32 = 3650;

/// The shortest and longest `repeat_interval`.
pub(crate) const MIN_REPEAT: Duration = Duration::from_secs(60);
pub(crate) const MAX_REPEAT: Duration = Duration::from_secs(30 * 24 * 3600);
/// The most parent checks a rule may depend on.
const MAX_PARENTS: usize = 16;

/// A checked rule, ready to judge results.
#[derive(Debug, Clone)]
pub struct Rule {
    pub spec: RuleSpec,
    select: Selector,
    parents: Vec<Pattern>,
    pub policy: Policy,
}

impl Rule {
    /// Checks a spec: every bad field is named, none is skipped.
    pub fn compile(spec: RuleSpec) -> Result<Rule, Vec<FieldError>> {
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
        let select = Selector::compile(&spec.select, "select", &mut bad);
        let parents: Vec<Pattern> = spec
            .depends_on
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                Pattern::parse(p)
                    .map_err(|reason| bad(&format!("depends_on[{i}]"), reason))
                    .ok()
            })
            .collect();
        if spec.depends_on.len() > MAX_PARENTS {
            bad(
                "depends_on",
                format!("names at most {MAX_PARENTS} parent checks"),
            );
        }
        condition(&spec.condition, &mut bad);
        let (k, m) = match (spec.failure_threshold, spec.k_of_m) {
            (Some(_), Some(_)) => {
                bad(
                    "k_of_m",
                    "give either failure_threshold or k_of_m, not both".into(),
                );
                (1, 1)
            }
            (Some(n), None) => (n, n),
            (None, Some([k, m])) => (k, m),
            (None, None) => (1, 1),
        };
        let mut duration = |field: &str, d: Option<Duration>| {
            let d = d.unwrap_or_default();
            if d > MAX_DURATION {
                bad(field, "must be at most 7 days".into());
            }
            chrono::Duration::from_std(d.min(MAX_DURATION)).unwrap_or_default()
        };
        let policy = Policy {
            k,
            m,
            hold: duration("for", spec.hold),
            success_threshold: spec.success_threshold.unwrap_or(1),
            keep_firing_for: duration("keep_firing_for", spec.keep_firing_for),
        };
        for (field, reason) in policy.problems() {
            let field = match (field, spec.failure_threshold) {
                ("k_of_m", Some(_)) => "failure_threshold",
                _ => field,
            };
            bad(field, reason);
        }
        if let Some(Quorum::Agents(0)) = spec.min_agents {
            bad("min_agents", "must be at least 1 agent".into());
        }
        if let Some(every) = spec.repeat_interval
            && !(MIN_REPEAT..=MAX_REPEAT).contains(&every)
        {
            bad(
                "repeat_interval",
                "must be between 1 minute and 30 days".into(),
            );
        }
        if spec.condition.is_agent_offline() {
            offline_rule(&spec, &mut bad);
        }
        if errors.is_empty() {
            Ok(Rule {
                spec,
                select,
                parents,
                policy,
            })
        } else {
            Err(errors)
        }
    }

    /// Whether the rule judges results of this check target (an
    /// `agent_offline` rule judges none).
    pub fn selects(&self, check: &str, target: &str, plugin: &str) -> bool {
        !self.spec.condition.is_agent_offline() && self.select.selects(check, target, plugin)
    }

    /// The one check the rule selects, when it names one rather than a
    /// glob (for the rule book's index).
    pub fn exact_check(&self) -> Option<&str> {
        self.spec
            .select
            .check
            .as_deref()
            .filter(|c| !c.contains(GLOB_CHARS))
    }

    /// Whether the rule's steps wait on parent checks (`depends_on`).
    pub fn has_parents(&self) -> bool {
        !self.parents.is_empty()
    }

    /// Whether a check is one of the rule's parents.
    pub fn is_parent(&self, check: &str) -> bool {
        self.parents.iter().any(|g| g.is_match(check))
    }

    /// Whether the rule selects agents by their groups or labels.
    pub fn by_placement(&self) -> bool {
        self.select.by_placement()
    }

    /// Whether an agent so placed is selected: in one of the groups, with
    /// each label.
    pub fn places(&self, groups: &[String], labels: &BTreeMap<String, String>) -> bool {
        self.select.places(groups, labels)
    }
}

/// An `agent_offline` rule selects agents, and fires on the agent's
/// silence alone: what selects or shapes results does not apply.
fn offline_rule(spec: &RuleSpec, bad: &mut impl FnMut(&str, String)) {
    let why =
        || "does not apply to agent_offline (it selects agents by groups and labels)".to_owned();
    let select = &spec.select;
    for (field, given) in [
        ("select.check", select.check.is_some()),
        ("select.target", select.target.is_some()),
        ("select.plugin", select.plugin.is_some()),
        ("failure_threshold", spec.failure_threshold.is_some()),
        ("k_of_m", spec.k_of_m.is_some()),
        ("for", spec.hold.is_some()),
        ("success_threshold", spec.success_threshold.is_some()),
        ("keep_firing_for", spec.keep_firing_for.is_some()),
        ("min_agents", spec.min_agents.is_some()),
        ("depends_on", !spec.depends_on.is_empty()),
    ] {
        if given {
            bad(field, why());
        }
    }
}

fn condition(c: &Condition, bad: &mut impl FnMut(&str, String)) {
    match c {
        Condition::Status {} | Condition::PathChange {} | Condition::AgentOffline {} => {}
        Condition::Threshold {
            metric,
            value,
            aggregate,
            window,
            ..
        } => {
            if !rules::is_name(metric) {
                bad(
                    "condition.metric",
                    format!("must match {}", rules::NAME_PATTERN),
                );
            }
            if !value.is_finite() {
                bad("condition.value", "must be a finite number".into());
            }
            match (aggregate, window) {
                (Aggregate::Last, Some(_)) => bad(
                    "condition.window",
                    "applies to an aggregate (avg, min, max, sum, pN), not to last".into(),
                ),
                (Aggregate::Last, None) => {}
                (_, None) => bad(
                    "condition.window",
                    "is needed by an aggregate other than last".into(),
                ),
                (_, Some(w)) if w.is_zero() || *w > MAX_DURATION => {
                    bad("condition.window", "must be between 1 s and 7 days".into())
                }
                (_, Some(_)) => {}
            }
        }
        Condition::NoData { intervals } => {
            if !(1..=MAX_INTERVALS).contains(intervals) {
                bad(
                    "condition.intervals",
                    format!("must be between 1 and {MAX_INTERVALS}"),
                );
            }
        }
        Condition::CertExpiry { days } => {
            if !(1..=MAX_DAYS).contains(days) {
                bad(
                    "condition.days",
                    format!("must be between 1 and {MAX_DAYS}"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
