//! Which alerts a route or a silence takes: globs on the rule, check,
//! target and agent, compiled once, every bad one named.

use globset::{Glob, GlobMatcher};
use vantage_protocol::config::{AlertMatch, AlertSubject};
use vantage_protocol::ingest::FieldError;

/// An [`AlertMatch`], compiled.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    rule: Option<GlobMatcher>,
    check: Option<GlobMatcher>,
    target: Option<GlobMatcher>,
    agent: Option<GlobMatcher>,
}

impl Matcher {
    /// Compiles each glob; a bad one is named `{prefix}.{field}`.
    pub fn compile(m: &AlertMatch, prefix: &str, errors: &mut Vec<FieldError>) -> Matcher {
        let mut glob = |name: &str, pattern: &Option<String>| {
            let p = pattern.as_deref()?;
            let reason = if p.is_empty() || p.len() > 512 {
                "must be 1–512 bytes".to_owned()
            } else {
                match Glob::new(p) {
                    Ok(g) => return Some(g.compile_matcher()),
                    Err(e) => format!("is not a glob: {}", e.kind()),
                }
            };
            errors.push(FieldError {
                index: None,
                field: format!("{prefix}.{name}"),
                reason,
            });
            None
        };
        Matcher {
            rule: glob("rule", &m.rule),
            check: glob("check", &m.check),
            target: glob("target", &m.target),
            agent: glob("agent", &m.agent),
        }
    }

    /// Whether an alert matches. A quorum group (no agent) matches an agent
    /// glob by any of its raised `agents`.
    pub fn matches(&self, subject: &AlertSubject, agents: &[String]) -> bool {
        let hit = |g: &Option<GlobMatcher>, text: &str| g.as_ref().is_none_or(|g| g.is_match(text));
        hit(&self.rule, &subject.rule)
            && hit(&self.check, &subject.check)
            && hit(&self.target, &subject.target)
            && match &subject.agent {
                Some(agent) => hit(&self.agent, agent),
                None => self.agent.is_none() || agents.iter().any(|a| hit(&self.agent, a)),
            }
    }
}
