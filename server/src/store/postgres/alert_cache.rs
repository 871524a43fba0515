//! What this replica knows of its agents' alert states, so that a batch
//! need not read them back from the database.
//!
//! Every write of an agent's alert rows (ingest, the `no_data` sweep, a
//! rule deleted) moves the agent's `alerts_rev` in the same transaction.
//! A batch reads `alerts_rev` first; the states known here are used only
//! when they were known at that very revision, and are then exactly the
//! rows the database would return. After its commit, a batch whose own
//! update of `alerts_rev` shows no other writer since its read records
//! the states it leaves, at the new revision; otherwise the agent is
//! forgotten here. A wrong guess is impossible, a stale one only costs
//! the read it would have made anyway.

use std::collections::HashMap;
use std::sync::Mutex;

use uuid::Uuid;

use super::alert_judge::{Judged, Stored};
use crate::alerting::evaluate::{AlertKey, Memory};

/// States known at most, across agents; past it everything is forgotten.
const MAX_STATES: usize = 200_000;

/// An alert's row as known: its revision and memory.
#[derive(Debug, Clone)]
pub(super) struct Known {
    pub(super) rev: i64,
    pub(super) memory: Memory,
}

/// A rule's alert of a check: the rule's name and its state, if known.
type Place = (Box<str>, Option<Known>);

#[derive(Debug, Default)]
struct Agent {
    /// The agent's `alerts_rev` these states are true at.
    rev: i64,
    /// By check id, then rule: an alert's row, while not taken. A taken
    /// state keeps its place (and its rule's name) for its return.
    states: HashMap<i64, Vec<Place>>,
    /// Places, taken or not.
    count: usize,
}

impl Agent {
    /// Takes a state out: a batch judges it and gives it back (`set`)
    /// after its commit. A concurrent batch of the agent reads it instead.
    fn take(&mut self, (rule, check): AlertKey<'_>) -> Option<Known> {
        let rules = self.states.get_mut(&check)?;
        rules.iter_mut().find(|(r, _)| &**r == rule)?.1.take()
    }

    fn set(&mut self, (rule, check): AlertKey<'_>, known: Option<Known>) {
        let rules = self.states.entry(check).or_default();
        match rules.iter_mut().find(|(r, _)| &**r == rule) {
            Some(place) => place.1 = known,
            None if known.is_some() => {
                rules.push((rule.into(), known));
                self.count += 1;
            }
            None => {}
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct AlertCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    agents: HashMap<Uuid, Agent>,
    /// States known, across agents.
    count: usize,
}

impl AlertCache {
    /// Takes out the states of `keys` known at `rev` of the agent's
    /// alerts, by key's place; `None` where not known (the agent's whole
    /// list when `rev` is not the one they were known at). They come back
    /// with the batch's `put`, as it leaves them.
    pub(super) fn take(&self, agent: Uuid, rev: i64, keys: &[AlertKey<'_>]) -> Vec<Option<Known>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.agents.get_mut(&agent).filter(|a| a.rev == rev) {
            Some(a) => keys.iter().map(|k| a.take(*k)).collect(),
            None => vec![None; keys.len()],
        }
    }

    /// Records, after a commit, the states a batch left at the agent's
    /// revision `to`, when it moved the revision from `from` alone. States
    /// known at `from` are kept; `None` forgets a key (a row written
    /// without knowing its revision).
    pub(super) fn put(
        &self,
        agent: Uuid,
        from: i64,
        to: i64,
        states: Vec<(AlertKey<'_>, Option<Known>)>,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut known = match inner.agents.remove(&agent) {
            Some(a) => {
                inner.count -= a.count;
                if a.rev == from { a } else { Agent::default() }
            }
            None => Agent::default(),
        };
        known.rev = to;
        for (key, state) in states {
            known.set(key, state);
        }
        if inner.count + known.count > MAX_STATES {
            inner.agents.clear();
            inner.count = 0;
        }
        inner.count += known.count;
        inner.agents.insert(agent, known);
    }

    /// The alert states known here at the agent's revision `rev`, and the
    /// keys of those to read.
    pub(super) fn known<'a>(
        &self,
        agent: Uuid,
        rev: Option<i64>,
        keys: Vec<AlertKey<'a>>,
    ) -> (Stored<'a>, Vec<AlertKey<'a>>) {
        let mut states = Stored::with_capacity(keys.len());
        let Some(rev) = rev.filter(|_| !keys.is_empty()) else {
            return (states, keys);
        };
        let mut unknown = Vec::new();
        for (key, known) in keys.iter().zip(self.take(agent, rev, &keys)) {
            match known {
                Some(Known { rev, memory }) => states.known(*key, rev, memory),
                None => unknown.push(*key),
            }
        }
        (states, unknown)
    }

    /// After a commit: what the batch left is known at the agent's new
    /// revision, if the batch alone moved it since `from`.
    pub(super) fn remember(
        &self,
        agent: Uuid,
        from: Option<i64>,
        judged: Judged<'_>,
        to: Option<i64>,
    ) {
        match (from, to) {
            // Nothing judged, nothing moved: what is known stays so.
            (Some(from), Some(to)) if to == from && judged.left.is_empty() => {}
            (Some(from), Some(to)) if to == from + i64::from(judged.wrote) => {
                self.put(agent, from, to, judged.left);
            }
            _ => self.forget(agent),
        }
    }

    /// Forgets an agent's states (its revision moved under another writer).
    pub(super) fn forget(&self, agent: Uuid) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = inner.agents.remove(&agent) {
            inner.count -= a.count;
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn known(rev: i64) -> Known {
        let at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        Known {
            rev,
            memory: Memory::new(at),
        }
    }

    fn revs(found: &[Option<Known>]) -> Vec<Option<i64>> {
        found.iter().map(|k| k.as_ref().map(|k| k.rev)).collect()
    }

    #[test]
    fn states_are_known_only_at_the_revision_they_were_left_at() {
        let cache = AlertCache::default();
        let agent = Uuid::now_v7();
        let keys = [("a", 1), ("b", 1), ("a", 2)];
        cache.put(
            agent,
            0,
            1,
            vec![(keys[0], Some(known(7))), (keys[2], Some(known(3)))],
        );
        assert_eq!(revs(&cache.take(agent, 2, &keys)), [None, None, None]);
        assert_eq!(
            revs(&cache.take(Uuid::now_v7(), 1, &keys)),
            [None, None, None]
        );
        assert_eq!(revs(&cache.take(agent, 1, &keys)), [Some(7), None, Some(3)]);
        // Taken: a concurrent batch of the agent reads them instead.
        assert_eq!(revs(&cache.take(agent, 1, &keys)), [None, None, None]);

        // Given back at revision 2, built on 1: one known again, one made,
        // one forgotten (written without knowing its revision).
        let left = vec![
            (keys[0], Some(known(8))),
            (keys[1], Some(known(1))),
            (keys[2], None),
        ];
        cache.put(agent, 1, 2, left);
        assert_eq!(revs(&cache.take(agent, 2, &keys)), [Some(8), Some(1), None]);
        cache.put(agent, 2, 3, vec![(keys[0], Some(known(9)))]);
        // Built on another revision than the one known: only its own keys.
        cache.put(agent, 5, 6, vec![(keys[2], Some(known(4)))]);
        assert_eq!(revs(&cache.take(agent, 6, &keys)), [None, None, Some(4)]);
        cache.forget(agent);
        assert_eq!(revs(&cache.take(agent, 6, &keys)), [None, None, None]);
        assert_eq!(cache.inner.lock().unwrap().count, 0);
    }

    #[test]
    fn past_its_bound_everything_is_forgotten() {
        let cache = AlertCache::default();
        let names: Vec<String> = (0..MAX_STATES / 1_000 + 1)
            .map(|i| format!("r{i}"))
            .collect();
        for (n, name) in names.iter().enumerate() {
            let states = (0..1_000)
                .map(|c| ((name.as_str(), c), Some(known(0))))
                .collect();
            cache.put(Uuid::now_v7(), 0, n as i64, states);
        }
        let inner = cache.inner.lock().unwrap();
        assert_eq!((inner.agents.len(), inner.count), (1, 1_000));
    }
}
