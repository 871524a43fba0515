//! The rules each replica judges with: read from the store, compiled once,
//! and read again when they change (checked at most once a second, and at
//! once after this replica saves or deletes one).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;
use vantage_protocol::result::CheckResult;

use super::evaluate::{AlertInput, read};
use super::rule::Rule;
use crate::store::{AgentStore as _, AlertStore as _, RulesVersion, Store, StoreResult};

/// How stale another replica's change of rules may be here.
const RECHECK: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Loaded {
    rules: Arc<Vec<Arc<Rule>>>,
    version: Option<RulesVersion>,
    checked: Option<Instant>,
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
        let (rules, fresh, known) = {
            let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = loaded.checked.is_some_and(|t| t.elapsed() < RECHECK);
            (loaded.rules.clone(), fresh, loaded.version)
        };
        if fresh {
            return Ok(rules);
        }
        let Ok(_turn) = self.reloading.try_lock() else {
            return Ok(rules);
        };
        let version = store.rules_version().await?;
        let rules = if known == Some(version) {
            rules
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
            Arc::new(compiled)
        };
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        *loaded = Loaded {
            rules: rules.clone(),
            version: Some(version),
            checked: Some(Instant::now()),
        };
        Ok(rules)
    }

    /// What each rule that selects a result of this agent's batch reads of it.
    pub async fn plan(
        &self,
        store: &Store,
        agent_id: Uuid,
        results: &[CheckResult],
    ) -> StoreResult<Vec<AlertInput>> {
        let rules = self.rules(store).await?;
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        // Placement only when some rule selects by it.
        let placement = if rules.iter().any(|r| r.by_placement()) {
            store.agent(agent_id).await?.map(|a| (a.groups, a.labels))
        } else {
            None
        };
        let rules: Vec<&Arc<Rule>> = rules
            .iter()
            .filter(|r| {
                !r.by_placement()
                    || placement
                        .as_ref()
                        .is_some_and(|(groups, labels)| r.places(groups, labels))
            })
            .collect();
        let mut inputs = Vec::new();
        for (i, result) in results.iter().enumerate() {
            for rule in &rules {
                if rule.selects(&result.check, &result.target, &result.plugin)
                    && let Some(reading) = read(rule, result)
                {
                    inputs.push(AlertInput {
                        result: i,
                        rule: Arc::clone(rule),
                        reading,
                        check: result.check.clone(),
                        target: result.target.clone(),
                        plugin: result.plugin.clone(),
                    });
                }
            }
        }
        Ok(inputs)
    }
}
