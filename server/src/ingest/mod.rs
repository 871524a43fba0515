//! Ingest: validation, id resolution (a per-process cache in two
//! generations, each batch's misses looked up at once), and the
//! concurrency gate in front of the database.

pub mod validate;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use uuid::Uuid;
use vantage_protocol::ingest::OutboxStats;
use vantage_protocol::manifest::BaseUnit;
use vantage_protocol::result::Status;

use crate::alerting::evaluate::AlertInput;
use crate::error::ApiError;
use crate::store::{
    CheckKey, DistributionRow, EventIn, IngestStore as _, ResultRow, SampleRow, SeriesKey, Store,
    StoreBatch, StoreResult,
};
use crate::telemetry::{GaugeGuard, Telemetry};
use validate::{ValidBatch, canonical_labels};

/// The series the server adds to every check: 1 for a run that ended `ok`,
/// 0 otherwise. Its average over a range is the check's availability, at
/// any resolution. Plugins may not emit it (`vantage_protocol::rules`).
pub use vantage_protocol::rules::CHECK_UP;

/// Entries a cache generation holds; a full one becomes the old
/// generation, and what is used from there moves back to the new one, so
/// the series a fleet keeps using stay while the rest age out.
const GENERATION: usize = 200_000;

/// A map in two generations: a bounded cache without a cliff when it
/// fills (a look-up misses only what was not used for a generation).
#[derive(Debug)]
struct Generations<K, V> {
    new: HashMap<K, V>,
    old: HashMap<K, V>,
}

impl<K, V> Default for Generations<K, V> {
    fn default() -> Self {
        Generations {
            new: HashMap::new(),
            old: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V: Copy> Generations<K, V> {
    fn get(&mut self, key: &K) -> Option<V> {
        if let Some(v) = self.new.get(key) {
            return Some(*v);
        }
        let (key, v) = self.old.remove_entry(key)?;
        self.insert(key, v);
        Some(v)
    }

    fn insert(&mut self, key: K, value: V) {
        if self.new.len() >= GENERATION {
            self.old = std::mem::take(&mut self.new);
        }
        self.new.insert(key, value);
    }
}

/// Ids looked up in a cache: those found, and the keys to ask the store for.
struct Lookup<K> {
    ids: Vec<i64>,
    /// Where each wanted key's id goes in `ids`.
    missing: Vec<usize>,
    wanted: Vec<K>,
}

impl<K: std::hash::Hash + Eq + Clone> Lookup<K> {
    fn new(cache: &Mutex<Generations<K, i64>>, keys: Vec<K>) -> Lookup<K> {
        let mut ids = vec![0; keys.len()];
        let mut missing = Vec::new();
        if let Ok(mut m) = cache.lock() {
            for (i, key) in keys.iter().enumerate() {
                match m.get(key) {
                    Some(id) => ids[i] = id,
                    None => missing.push(i),
                }
            }
        } else {
            missing = (0..keys.len()).collect();
        }
        let wanted = missing.iter().map(|&i| keys[i].clone()).collect();
        Lookup {
            ids,
            missing,
            wanted,
        }
    }

    /// Puts the store's ids of `wanted` in place, and in the cache.
    fn fill(&mut self, cache: &Mutex<Generations<K, i64>>, found: Vec<i64>) {
        let mut cache = cache.lock().ok();
        for ((&i, key), id) in self.missing.iter().zip(self.wanted.drain(..)).zip(found) {
            self.ids[i] = id;
            if let Some(m) = cache.as_mut() {
                m.insert(key, id);
            }
        }
    }
}

/// Check and series ids by key. Ids never change once made, so a stale
/// cache is impossible; replicas each keep their own.
#[derive(Debug, Default)]
pub struct IdCache {
    checks: Mutex<Generations<CheckKey, i64>>,
    series: Mutex<Generations<SeriesKey, i64>>,
}

impl IdCache {
    /// The ids of `keys`, in order: the cached ones, and the others from
    /// one store call.
    async fn checks(&self, store: &Store, keys: Vec<CheckKey>) -> StoreResult<Vec<i64>> {
        let mut lookup = Lookup::new(&self.checks, keys);
        if !lookup.missing.is_empty() {
            let found = store.check_ids(&lookup.wanted).await?;
            lookup.fill(&self.checks, found);
        }
        Ok(lookup.ids)
    }

    /// The same for series.
    async fn series(&self, store: &Store, keys: Vec<SeriesKey>) -> StoreResult<Vec<i64>> {
        let mut lookup = Lookup::new(&self.series, keys);
        if !lookup.missing.is_empty() {
            let found = store.series_ids(&lookup.wanted).await?;
            lookup.fill(&self.series, found);
        }
        Ok(lookup.ids)
    }

    /// Turns validated results into rows with ids.
    pub async fn resolve(
        &self,
        store: &Store,
        agent_id: Uuid,
        batch_id: Uuid,
        valid: ValidBatch,
        outbox: OutboxStats,
        alerts: Vec<AlertInput>,
    ) -> StoreResult<StoreBatch> {
        // Every series of the batch, looked up at once: per result its
        // samples, its distributions, then its availability series.
        // Names move into the keys: the rows keep only ids and values.
        let mut runs = valid.results;
        let check_keys = runs
            .iter_mut()
            .map(|r| CheckKey {
                agent_id,
                check: std::mem::take(&mut r.check),
                target: std::mem::take(&mut r.target),
                plugin: std::mem::take(&mut r.plugin),
            })
            .collect();
        let check_ids = self.checks(store, check_keys).await?;
        let mut keys = Vec::new();
        for (r, &check_id) in runs.iter_mut().zip(&check_ids) {
            let key = |metric: String, unit: BaseUnit, labels: String| SeriesKey {
                check_id,
                metric,
                unit,
                labels,
            };
            for s in &mut r.samples {
                let labels = canonical_labels(&s.labels);
                keys.push(key(std::mem::take(&mut s.metric), s.unit, labels));
            }
            for d in &mut r.distributions {
                let labels = canonical_labels(&d.labels);
                keys.push(key(std::mem::take(&mut d.metric), d.unit, labels));
            }
            keys.push(key(CHECK_UP.into(), BaseUnit::Ratio, "{}".into()));
        }
        let mut series = self.series(store, keys).await?.into_iter();
        let mut results = Vec::with_capacity(runs.len());
        for (r, check_id) in runs.into_iter().zip(check_ids) {
            let mut samples: Vec<SampleRow> = r
                .samples
                .into_iter()
                .zip(series.by_ref())
                .map(|(s, series_id)| SampleRow {
                    series_id,
                    value: s.value,
                })
                .collect();
            let distributions = r
                .distributions
                .into_iter()
                .zip(series.by_ref())
                .map(|(d, series_id)| DistributionRow {
                    series_id,
                    values: d.values,
                })
                .collect();
            // Every run also feeds its check's availability series.
            let up = series.next().ok_or_else(|| {
                crate::store::StoreError::Corrupt("a series id went missing".into())
            })?;
            samples.push(SampleRow {
                series_id: up,
                value: if r.status == Status::Ok { 1.0 } else { 0.0 },
            });
            let events = r
                .events
                .into_iter()
                .map(|e| EventIn {
                    labels: canonical_labels(&e.labels),
                    at: e.at,
                    text: e.text,
                })
                .collect();
            results.push(ResultRow {
                id: r.id,
                check_id,
                started_at: r.started_at,
                status: r.status,
                duration: r.duration,
                plugin_version: r.plugin_version,
                message: r.message,
                samples,
                distributions,
                events,
            });
        }
        Ok(StoreBatch {
            agent_id,
            batch_id,
            results,
            outbox,
            expired: valid.expired,
            alerts,
        })
    }
}

/// Bounds the batches storing at once (each holds a connection) and the
/// batches queued behind them; beyond the queue, clients get 429.
#[derive(Debug)]
pub struct IngestGate {
    permits: Semaphore,
    queue: usize,
}

impl IngestGate {
    pub fn new(concurrent: usize, queue: usize) -> IngestGate {
        IngestGate {
            permits: Semaphore::new(concurrent.max(1)),
            queue,
        }
    }

    /// Waits for a turn, or refuses at once when the queue is full.
    pub async fn enter<'a>(
        &'a self,
        telemetry: &'a Telemetry,
    ) -> Result<(SemaphorePermit<'a>, GaugeGuard<'a>), ApiError> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok((permit, telemetry.ingest_gauge(false)));
        }
        if telemetry.ingest_waiting() as usize >= self.queue {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: 1 + rand::random_range(0..3),
            });
        }
        let waiting = telemetry.ingest_gauge(true);
        let permit = tokio::time::timeout(Duration::from_secs(20), self.permits.acquire())
            .await
            .map_err(|_| ApiError::Unavailable {
                retry_after_secs: 2 + rand::random_range(0..4),
            })?
            .map_err(|_| ApiError::Unavailable {
                retry_after_secs: 5,
            })?;
        drop(waiting);
        Ok((permit, telemetry.ingest_gauge(false)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_generation_ages_into_the_old_one_and_what_is_used_comes_back() {
        let mut g = Generations::<u32, u32>::default();
        for k in 0..GENERATION as u32 {
            g.insert(k, k);
        }
        // Full: the next insert starts a new generation, nothing is lost.
        g.insert(u32::MAX, 1);
        assert_eq!(g.get(&7), Some(7));
        assert_eq!(g.get(&u32::MAX), Some(1));
        // 7 moved back to the new generation; when that fills, the old one
        // (with everything not used since) goes, and 7 stays.
        for k in 0..GENERATION as u32 {
            g.insert(GENERATION as u32 + k, k);
        }
        assert_eq!(g.get(&7), Some(7));
        assert_eq!(g.get(&8), None);
    }
}
