//! Ingest: validation, id resolution with a per-process cache, and the
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
    CheckKey, DistributionRow, IngestStore as _, ResultRow, SampleRow, SeriesKey, Store,
    StoreBatch, StoreResult,
};
use crate::telemetry::{GaugeGuard, Telemetry};
use validate::{ValidBatch, canonical_labels};

/// The series the server adds to every check: 1 for a run that ended `ok`,
/// 0 otherwise. Its average over a range is the check's availability, at
/// any resolution. Plugins may not emit it (`vantage_protocol::rules`).
pub use vantage_protocol::rules::CHECK_UP;

/// Entries kept before a cache starts over (ids are cheap to look up again).
const CACHE_LIMIT: usize = 200_000;

/// Check and series ids by key. Ids never change once made, so a stale
/// cache is impossible; replicas each keep their own.
#[derive(Debug, Default)]
pub struct IdCache {
    checks: Mutex<HashMap<CheckKey, i64>>,
    series: Mutex<HashMap<SeriesKey, i64>>,
}

impl IdCache {
    async fn check(&self, store: &Store, key: CheckKey) -> StoreResult<i64> {
        if let Some(id) = self.checks.lock().ok().and_then(|m| m.get(&key).copied()) {
            return Ok(id);
        }
        let id = store.check_id(&key).await?;
        if let Ok(mut m) = self.checks.lock() {
            if m.len() >= CACHE_LIMIT {
                m.clear();
            }
            m.insert(key, id);
        }
        Ok(id)
    }

    async fn series(&self, store: &Store, key: SeriesKey) -> StoreResult<i64> {
        if let Some(id) = self.series.lock().ok().and_then(|m| m.get(&key).copied()) {
            return Ok(id);
        }
        let id = store.series_id(&key).await?;
        if let Ok(mut m) = self.series.lock() {
            if m.len() >= CACHE_LIMIT {
                m.clear();
            }
            m.insert(key, id);
        }
        Ok(id)
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
        let mut results = Vec::with_capacity(valid.results.len());
        for r in valid.results {
            let check_id = self
                .check(
                    store,
                    CheckKey {
                        agent_id,
                        check: r.check,
                        target: r.target,
                        plugin: r.plugin,
                    },
                )
                .await?;
            let mut samples = Vec::with_capacity(r.samples.len());
            for s in r.samples {
                let series_id = self
                    .series(
                        store,
                        SeriesKey {
                            check_id,
                            metric: s.metric,
                            unit: s.unit,
                            labels: canonical_labels(&s.labels),
                        },
                    )
                    .await?;
                samples.push(SampleRow {
                    series_id,
                    value: s.value,
                });
            }
            let mut distributions = Vec::with_capacity(r.distributions.len());
            for d in r.distributions {
                let series_id = self
                    .series(
                        store,
                        SeriesKey {
                            check_id,
                            metric: d.metric,
                            unit: d.unit,
                            labels: canonical_labels(&d.labels),
                        },
                    )
                    .await?;
                distributions.push(DistributionRow {
                    series_id,
                    values: d.values,
                });
            }
            // Every run also feeds its check's availability series.
            let up = self
                .series(
                    store,
                    SeriesKey {
                        check_id,
                        metric: CHECK_UP.into(),
                        unit: BaseUnit::Ratio,
                        labels: "{}".into(),
                    },
                )
                .await?;
            samples.push(SampleRow {
                series_id: up,
                value: if r.status == Status::Ok { 1.0 } else { 0.0 },
            });
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
