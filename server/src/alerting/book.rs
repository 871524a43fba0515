//! The rules each replica judges with: read from the store, compiled once,
//! and read again when they change (checked at most once a second, and at
//! once after this replica saves or deletes one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;
use vantage_protocol::result::CheckResult;

use super::evaluate::{AlertInput, GroupOf, read};
use super::rule::Rule;
use crate::store::{AgentStore as _, AlertStore as _, RulesVersion, Store, StoreResult};

/// How stale another replica's change of rules may be here.
const RECHECK: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Loaded {
    rules: Arc<Vec<Arc<Rule>>>,
    index: Arc<Index>,
    version: Option<RulesVersion>,
    checked: Option<Instant>,
}

/// The rules that may select a result, by its check's name: those naming
/// it exactly, then the others (a glob, or no check), each in the rules'
/// order. With thousands of rules a result meets a handful, not all; and
/// whether any rule selects by placement is known before a batch comes (a pass
/// over 10 000 rules per batch cost the benchmark a tenth of its rate).
#[derive(Debug, Default)]
struct Index {
    exact: HashMap<String, Vec<Arc<Rule>>>,
    other: Vec<Arc<Rule>>,
    /// Some rule selects agents by group or label.
    by_placement: bool,
}

impl Index {
    fn of(rules: &[Arc<Rule>]) -> Index {
        let mut index = Index::default();
        for rule in rules {
            index.by_placement |= rule.by_placement();
            match rule.exact_check() {
                Some(check) => index
                    .exact
                    .entry(check.to_owned())
                    .or_default()
                    .push(Arc::clone(rule)),
                None => index.other.push(Arc::clone(rule)),
            }
        }
        index
    }

    fn candidates<'a>(&'a self, check: &str) -> impl Iterator<Item = &'a Arc<Rule>> {
        self.exact
            .get(check)
            .into_iter()
            .flatten()
            .chain(&self.other)
    }
}

/// The compiled rules, shared by every ingest.
#[derive(Debug, Default)]
pub struct RuleBook {
    loaded: Mutex<Loaded>,
    /// One reload at a time; the others use the rules they have.
    reloading: tokio::sync::Mutex<()>,
}

impl RuleBook {
    /// Reads the rules again on the next use (this replica changed them).
    pub fn invalidate(&self) {
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.checked = None;
        }
    }

    /// The current rules, read again when they changed.
    pub async fn rules(&self, store: &Store) -> StoreResult<Arc<Vec<Arc<Rule>>>> {
        Ok(self.load(store).await?.0)
    }

    async fn load(&self, store: &Store) -> StoreResult<(Arc<Vec<Arc<Rule>>>, Arc<Index>)> {
        let (rules, index, fresh, known) = {
            let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = loaded.checked.is_some_and(|t| t.elapsed() < RECHECK);
            (
                loaded.rules.clone(),
                loaded.index.clone(),
                fresh,
                loaded.version,
            )
        };
        if fresh {
            return Ok((rules, index));
        }
        // One reload at a time; the others use the rules they have, unless
        // they have none yet (they wait for it rather than judge nothing).
        let _turn = match self.reloading.try_lock() {
            Ok(turn) => turn,
            Err(_) if known.is_some() => return Ok((rules, index)),
            Err(_) => {
                let turn = self.reloading.lock().await;
                let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
                if loaded.version.is_some() {
                    return Ok((loaded.rules.clone(), loaded.index.clone()));
                }
                drop(loaded);
                turn
            }
        };
        let version = store.rules_version().await?;
        let (rules, index) = if known == Some(version) {
            (rules, index)
        } else {
            let compiled: Vec<Arc<Rule>> = store
                .rules()
                .await?
                .into_iter()
                .filter_map(|row| match Rule::compile(row.spec) {
                    Ok(rule) => Some(Arc::new(rule)),
                    Err(errors) => {
                        tracing::error!(
                            ?errors,
                            "A stored alert rule no longer compiles; it is skipped."
                        );
                        None
                    }
                })
                .collect();
            let index = Arc::new(Index::of(&compiled));
            (Arc::new(compiled), index)
        };
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        *loaded = Loaded {
            rules: rules.clone(),
            index: index.clone(),
            version: Some(version),
            checked: Some(Instant::now()),
        };
        Ok((rules, index))
    }

    /// What each rule that selects a result of this agent's batch reads of it.
    pub async fn plan(
        &self,
        store: &Store,
        agent_id: Uuid,
        results: &[CheckResult],
    ) -> StoreResult<Vec<AlertInput>> {
        let (rules, index) = self.load(store).await?;
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        // Placement only when some rule selects by it.
        let placement = if index.by_placement {
            store.agent(agent_id).await?.map(|a| (a.groups, a.labels))
        } else {
            None
        };
        let placed = |r: &Rule| {
            !r.by_placement()
                || placement
                    .as_ref()
                    .is_some_and(|(groups, labels)| r.places(groups, labels))
        };
        let mut inputs = Vec::with_capacity(results.len());
        for (i, result) in results.iter().enumerate() {
            for rule in index.candidates(&result.check) {
                if placed(rule)
                    && rule.selects(&result.check, &result.target, &result.plugin)
                    && let Some(reading) = read(rule, result)
                {
                    inputs.push(AlertInput {
                        result: i,
                        rule: Arc::clone(rule),
                        reading,
                        group: rule.spec.min_agents.is_some().then(|| {
                            Box::new(GroupOf {
                                check: result.check.clone(),
                                target: result.target.clone(),
                                plugin: result.plugin.clone(),
                            })
                        }),
                    });
                }
            }
        }
        Ok(inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, check: Option<&str>) -> Arc<Rule> {
        let mut spec = serde_json::json!({"name": name, "condition": {"kind": "status"}});
        if let Some(check) = check {
            spec["select"] = serde_json::json!({ "check": check });
        }
        Arc::new(Rule::compile(serde_json::from_value(spec).unwrap()).unwrap())
    }

    #[test]
    fn a_result_meets_the_rules_naming_its_check_and_the_globs() {
        let rules = [
            rule("a", Some("ping-a")),
            rule("glob", Some("ping-*")),
            rule("b", Some("ping-b")),
            rule("any", None),
            rule("a2", Some("ping-a")),
        ];
        let index = Index::of(&rules);
        let names = |check: &str| -> Vec<String> {
            index
                .candidates(check)
                .map(|r| r.spec.name.clone())
                .collect()
        };
        assert_eq!(names("ping-a"), ["a", "a2", "glob", "any"]);
        assert_eq!(names("ping-b"), ["b", "glob", "any"]);
        assert_eq!(names("dns"), ["glob", "any"]);
        assert!(!index.by_placement);
        let placed: Rule = serde_json::from_value(serde_json::json!({
            "name": "placed", "select": {"groups": ["core"]}, "condition": {"kind": "status"}}))
        .map(|spec| Rule::compile(spec).unwrap())
        .unwrap();
        let index = Index::of(&[rules[0].clone(), Arc::new(placed)]);
        assert!(index.by_placement);
        assert_eq!(rules[0].exact_check(), Some("ping-a"));
        assert_eq!(rules[1].exact_check(), None);
        assert_eq!(rules[3].exact_check(), None);
    }
}
