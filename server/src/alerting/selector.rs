//! A result selector checked and compiled once: what a rule judges and
//! what an SLA covers (check and target globs, the plugin, agents' groups
//! and labels).

use std::collections::BTreeMap;

use vantage_protocol::config::ResultSelector;

use super::matcher::Pattern;
use crate::remote::validate::is_name;

/// A checked selector.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    spec: ResultSelector,
    check: Option<Pattern>,
    target: Option<Pattern>,
}

impl Selector {
    /// Checks `spec` (the field `field`), telling `bad` each bad part;
    /// what is bad selects nothing more than the rest says.
    pub fn compile(
        spec: &ResultSelector,
        field: &str,
        bad: &mut impl FnMut(&str, String),
    ) -> Selector {
        let mut glob = |name: &str, pattern: &Option<String>| {
            Pattern::parse(pattern.as_deref()?)
                .map_err(|reason| bad(&format!("{field}.{name}"), reason))
                .ok()
        };
        let check = glob("check", &spec.check);
        let target = glob("target", &spec.target);
        for (i, group) in spec.groups.iter().enumerate() {
            if !is_name(group) {
                bad(
                    &format!("{field}.groups[{i}]"),
                    format!("`{group}` is not a group name"),
                );
            }
        }
        for key in spec.labels.keys() {
            if !is_name(key) {
                bad(
                    &format!("{field}.labels.{key}"),
                    "is not a label name".into(),
                );
            }
        }
        Selector {
            spec: spec.clone(),
            check,
            target,
        }
    }

    /// Whether results of this check target are selected.
    pub fn selects(&self, check: &str, target: &str, plugin: &str) -> bool {
        self.check.as_ref().is_none_or(|g| g.is_match(check))
            && self.target.as_ref().is_none_or(|g| g.is_match(target))
            && self.spec.plugin.as_deref().is_none_or(|p| p == plugin)
    }

    /// Whether agents are selected by their groups or labels.
    pub fn by_placement(&self) -> bool {
        !self.spec.groups.is_empty() || !self.spec.labels.is_empty()
    }

    /// Whether an agent so placed is selected: in one of the groups, with
    /// each label.
    pub fn places(&self, groups: &[String], labels: &BTreeMap<String, String>) -> bool {
        (self.spec.groups.is_empty() || self.spec.groups.iter().any(|g| groups.contains(g)))
            && self
                .spec
                .labels
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
    }
}
