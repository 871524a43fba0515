//! Names and globs, compiled once ([`Pattern`]), and which alerts a route
//! or a silence takes: patterns on the rule, check, target and agent,
//! every bad one named.

use globset::{Glob, GlobMatcher};
use vantage_protocol::config::{AlertMatch, AlertSubject};
use vantage_protocol::ingest::FieldError;

/// What makes a pattern a glob rather than a name.
pub const GLOB_CHARS: [char; 7] = ['*', '?', '[', ']', '{', '}', '\\'];

/// A name or a glob (`ping-*`, `web-?`, `{a,b}`): a name without glob
/// characters is compared as it is (most rules name their check, and
/// every result meets those), anything else is matched as the glob.
#[derive(Debug, Clone)]
pub enum Pattern {
    Exact(String),
    Glob(GlobMatcher),
}

impl Pattern {
    /// The pattern, or why it is not one.
    pub fn parse(pattern: &str) -> Result<Pattern, String> {
        if pattern.is_empty() || pattern.len() > 512 {
            return Err("must be 1–512 bytes".to_owned());
        }
        if !pattern.contains(GLOB_CHARS) {
            return Ok(Pattern::Exact(pattern.to_owned()));
        }
        Glob::new(pattern)
            .map(|g| Pattern::Glob(g.compile_matcher()))
            .map_err(|e| format!("is not a glob: {}", e.kind()))
    }

    pub fn is_match(&self, name: &str) -> bool {
        match self {
            Pattern::Exact(exact) => exact == name,
            Pattern::Glob(glob) => glob.is_match(name),
        }
    }
}

/// An [`AlertMatch`], compiled.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    rule: Option<Pattern>,
    check: Option<Pattern>,
    target: Option<Pattern>,
    agent: Option<Pattern>,
}

impl Matcher {
    /// Compiles each glob; a bad one is named `{prefix}.{field}`.
    pub fn compile(m: &AlertMatch, prefix: &str, errors: &mut Vec<FieldError>) -> Matcher {
        let mut glob = |name: &str, pattern: &Option<String>| {
            Pattern::parse(pattern.as_deref()?)
                .map_err(|reason| {
                    errors.push(FieldError {
                        index: None,
                        field: format!("{prefix}.{name}"),
                        reason,
                    })
                })
                .ok()
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
        let hit = |g: &Option<Pattern>, text: &str| g.as_ref().is_none_or(|g| g.is_match(text));
        hit(&self.rule, &subject.rule)
            && hit(&self.check, &subject.check)
            && hit(&self.target, &subject.target)
            && match &subject.agent {
                Some(agent) => hit(&self.agent, agent),
                None => self.agent.is_none() || agents.iter().any(|a| hit(&self.agent, a)),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_compared_and_a_glob_matched_as_globset_would() {
        for (pattern, name, hit) in [
            ("ping-a", "ping-a", true),
            ("ping-a", "ping-ab", false),
            ("ping-*", "ping-ab", true),
            ("web-?", "web-1", true),
            ("{a,b}-x", "b-x", true),
            ("c-1", "C-1", false),
        ] {
            let p = Pattern::parse(pattern).unwrap();
            assert_eq!(p.is_match(name), hit, "{pattern} ~ {name}");
            let glob = Glob::new(pattern).unwrap().compile_matcher();
            assert_eq!(glob.is_match(name), hit, "globset: {pattern} ~ {name}");
        }
        assert!(matches!(Pattern::parse("ping-a"), Ok(Pattern::Exact(_))));
        assert_eq!(Pattern::parse("").unwrap_err(), "must be 1–512 bytes");
        assert!(
            Pattern::parse("ping-[")
                .unwrap_err()
                .starts_with("is not a glob")
        );
    }
}
