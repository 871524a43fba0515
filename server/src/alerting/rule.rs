//! A rule as the server keeps it: its spec checked whole (every bad field
//! named), its selector compiled, its settings turned into a [`Policy`].

use std::collections::BTreeMap;
use std::time::Duration;

use globset::{Glob, GlobMatcher};
use vantage_protocol::config::{Aggregate, Condition, Quorum, RuleSpec};
use vantage_protocol::ingest::FieldError;
use vantage_protocol::rules;

use super::machine::Policy;
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

/// A name or glob a rule selects by: a name without glob characters is
/// compared as it is (every result meets one, and most rules name their
/// check), anything else is matched as the glob.
#[derive(Debug, Clone)]
enum Pattern {
    Exact(String),
    Glob(GlobMatcher),
}

impl Pattern {
    fn of(glob: Glob) -> Pattern {
        let text = glob.glob();
        if text.contains(GLOB_CHARS) {
            Pattern::Glob(glob.compile_matcher())
        } else {
            Pattern::Exact(text.to_owned())
        }
    }

    fn is_match(&self, name: &str) -> bool {
        match self {
            Pattern::Exact(exact) => exact == name,
            Pattern::Glob(glob) => glob.is_match(name),
        }
    }
}

/// What makes a pattern a glob rather than a name.
const GLOB_CHARS: [char; 7] = ['*', '?', '[', ']', '{', '}', '\\'];

/// A checked rule, ready to judge results.
#[derive(Debug, Clone)]
pub struct Rule {
    pub spec: RuleSpec,
    check: Option<Pattern>,
    target: Option<Pattern>,
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
        let mut glob = |field: &str, pattern: &Option<String>| match pattern {
            None => None,
            Some(p) if p.is_empty() || p.len() > 512 => {
                bad(field, "must be 1–512 bytes".into());
                None
            }
            Some(p) => match Glob::new(p) {
                Ok(g) => Some(Pattern::of(g)),
                Err(e) => {
                    bad(field, format!("is not a glob: {}", e.kind()));
                    None
                }
            },
        };
        let check = glob("select.check", &spec.select.check);
        let target = glob("select.target", &spec.select.target);
        let parents: Vec<Pattern> = spec
            .depends_on
            .iter()
            .enumerate()
            .filter_map(|(i, p)| glob(&format!("depends_on[{i}]"), &Some(p.clone())))
            .collect();
        if spec.depends_on.len() > MAX_PARENTS {
            bad(
                "depends_on",
                format!("names at most {MAX_PARENTS} parent checks"),
            );
        }
        for (i, group) in spec.select.groups.iter().enumerate() {
            if !is_name(group) {
                bad(
                    &format!("select.groups[{i}]"),
                    format!("`{group}` is not a group name"),
                );
            }
        }
        for key in spec.select.labels.keys() {
            if !is_name(key) {
                bad(
                    &format!("select.labels.{key}"),
                    "is not a label name".into(),
                );
            }
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
                check,
                target,
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
        let select = &self.spec.select;
        !self.spec.condition.is_agent_offline()
            && self.check.as_ref().is_none_or(|g| g.is_match(check))
            && self.target.as_ref().is_none_or(|g| g.is_match(target))
            && select.plugin.as_deref().is_none_or(|p| p == plugin)
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
        !self.spec.select.groups.is_empty() || !self.spec.select.labels.is_empty()
    }

    /// Whether an agent so placed is selected: in one of the groups, with
    /// each label.
    pub fn places(&self, groups: &[String], labels: &BTreeMap<String, String>) -> bool {
        let select = &self.spec.select;
        (select.groups.is_empty() || select.groups.iter().any(|g| groups.contains(g)))
            && select.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
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
                    "applies to an aggregate (avg, min, max, pN), not to last".into(),
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
mod tests {
    use super::*;

    fn spec(toml_text: &str) -> RuleSpec {
        toml::from_str(toml_text).unwrap()
    }

    fn fields(toml_text: &str) -> Vec<String> {
        Rule::compile(spec(toml_text))
            .map(|_| Vec::new())
            .unwrap_or_else(|e| e.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn a_rule_compiles_its_selector_and_policy() {
        let rule = Rule::compile(spec(
            r#"
            name = "edge-loss"
            select = { check = "ping-*", target = "10.0.*", plugin = "ping" }
            condition = { kind = "threshold", metric = "loss", op = ">", value = 0.05 }
            k_of_m = [3, 5]
            for = "2m"
            success_threshold = 2
            "#,
        ))
        .unwrap();
        assert_eq!(
            (rule.policy.k, rule.policy.m, rule.policy.success_threshold),
            (3, 5, 2)
        );
        assert_eq!(rule.policy.hold, chrono::Duration::minutes(2));
        assert!(rule.selects("ping-core", "10.0.0.1", "ping"));
        assert!(!rule.selects("dns-core", "10.0.0.1", "ping"));
        assert!(!rule.selects("ping-core", "192.0.2.1", "ping"));
        assert!(!rule.selects("ping-core", "10.0.0.1", "fping"));
        let n = Rule::compile(spec(
            "name = \"n\"\ncondition = { kind = \"status\" }\nfailure_threshold = 4",
        ))
        .unwrap();
        assert_eq!((n.policy.k, n.policy.m), (4, 4));
        assert!(n.selects("anything", "anywhere", "any"));
        assert!(!n.by_placement());
        let placed = Rule::compile(spec(
            "name = \"p\"\nselect = { groups = [\"core\", \"edge\"], labels = { site = \"par\" } }\ncondition = { kind = \"status\" }",
        ))
        .unwrap();
        let site = |s: &str| BTreeMap::from([("site".to_owned(), s.to_owned())]);
        assert!(placed.by_placement());
        assert!(placed.places(&["edge".into()], &site("par")));
        assert!(!placed.places(&["edge".into()], &site("ams")));
        assert!(!placed.places(&["lab".into()], &site("par")));
        assert!(!placed.places(&[], &BTreeMap::new()));
        assert!(!placed.has_parents());
        let child = Rule::compile(spec(
            "name = \"c\"\ncondition = { kind = \"status\" }\ndepends_on = [\"gw-*\", \"uplink\"]",
        ))
        .unwrap();
        assert!(child.has_parents());
        assert!(child.is_parent("gw-paris") && child.is_parent("uplink"));
        assert!(!child.is_parent("web"));
    }

    #[test]
    fn an_agent_offline_rule_refuses_what_shapes_results() {
        let offline = "name = \"r\"\ncondition = { kind = \"agent_offline\" }\n";
        assert!(fields(&format!("{offline}select = {{ groups = [\"core\"] }}")).is_empty());
        assert_eq!(
            fields(&format!(
                "{offline}select = {{ check = \"ping\" }}\nfor = \"1m\"\nmin_agents = 2\ndepends_on = [\"gw\"]"
            )),
            ["select.check", "for", "min_agents", "depends_on"]
        );
        let rule = Rule::compile(spec(offline)).unwrap();
        assert!(!rule.selects("ping", "10.0.0.1", "ping"));
    }

    #[test]
    fn a_bad_parent_is_named_by_its_place() {
        let status = "name = \"r\"\ncondition = { kind = \"status\" }\n";
        assert_eq!(
            fields(&format!("{status}depends_on = [\"gw\", \"gw-[\", \"\"]")),
            ["depends_on[1]", "depends_on[2]"]
        );
        let many: Vec<String> = (0..17).map(|i| format!("\"p{i}\"")).collect();
        assert_eq!(
            fields(&format!("{status}depends_on = [{}]", many.join(", "))),
            ["depends_on"]
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let got = fields(
            r#"
            name = "bad name!"
            select = { check = "ping-[", groups = ["no spaces"] }
            condition = { kind = "threshold", metric = "Bad-Metric", op = ">", value = 1, aggregate = "p95" }
            failure_threshold = 3
            k_of_m = [3, 5]
            keep_firing_for = "8d"
            min_agents = 0
            "#,
        );
        assert_eq!(
            got,
            [
                "name",
                "select.check",
                "select.groups[0]",
                "condition.metric",
                "condition.window",
                "k_of_m",
                "keep_firing_for",
                "min_agents"
            ]
        );
    }

    #[test]
    fn conflicting_or_out_of_range_settings_are_named() {
        let status = "name = \"r\"\ncondition = { kind = \"status\" }\n";
        assert_eq!(fields(&format!("{status}k_of_m = [4, 3]")), ["k_of_m"]);
        assert_eq!(
            fields(&format!("{status}repeat_interval = \"30s\"")),
            ["repeat_interval"]
        );
        assert!(fields(&format!("{status}repeat_interval = \"4h\"")).is_empty());
        assert_eq!(
            fields(&format!("{status}failure_threshold = 0")),
            ["failure_threshold"]
        );
        assert_eq!(
            fields(&format!("{status}success_threshold = 0")),
            ["success_threshold"]
        );
        assert_eq!(
            fields(
                "name = \"r\"\ncondition = { kind = \"threshold\", metric = \"rtt\", op = \">\", value = 1, window = \"1m\" }"
            ),
            ["condition.window"]
        );
        assert_eq!(
            fields("name = \"r\"\ncondition = { kind = \"no_data\", intervals = 0 }"),
            ["condition.intervals"]
        );
        assert_eq!(
            fields("name = \"r\"\ncondition = { kind = \"cert_expiry\", days = 0 }"),
            ["condition.days"]
        );
        assert!(fields(&format!("{status}min_agents = \"50%\"")).is_empty());
    }
}
