//! Other replicas' stored batches, read back as live events
//! ([`crate::fanout`]): the results their notices name, with their samples
//! and distributions, as the replicas that stored them published them.
//! The notices that came together are read in one round of three queries:
//! a listener that read each alone fell behind by seconds under 200
//! batches a second (`server/tests/story/scale.rs`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::PgStore;
use super::series::latest_row;
use crate::live::{LiveDistribution, LiveEvent, LiveSample};
use crate::query::Point;
use crate::store::{StoreResult, values_from_bytes};

/// Results a notice named: those of `ids` that `agent_id` ran, started
/// within `[from, to]`.
#[derive(Debug, Clone)]
pub struct Named {
    pub agent_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub ids: Vec<Uuid>,
}

impl PgStore {
    /// The results `named`, as live events in the order they are named;
    /// ids not found (removed since, or not the agent's) are left out.
    pub async fn live_results(&self, named: &[Named]) -> StoreResult<Vec<LiveEvent>> {
        let (Some(from), Some(to)) = (
            named.iter().map(|n| n.from).min(),
            named.iter().map(|n| n.to).max(),
        ) else {
            return Ok(Vec::new());
        };
        let (ids, agents): (Vec<Uuid>, Vec<Uuid>) = named
            .iter()
            .flat_map(|n| n.ids.iter().map(|id| (*id, n.agent_id)))
            .unzip();
        // Each id is looked for within its own notice's span below; the
        // whole span bounds the partitions scanned.
        let spans: (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) = named
            .iter()
            .flat_map(|n| n.ids.iter().map(|_| (n.from, n.to)))
            .unzip();
        let rows = sqlx::query(
            "SELECT c.id AS check_id, c.agent_id, a.name AS agent, c.name AS check_name, c.target, c.plugin,
                    r.plugin_version, r.id AS result_id, r.status, r.started_at, r.duration, r.message
             FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[])
                  AS want(id, agent_id, from_ts, to_ts)
             JOIN results r ON r.id = want.id
                  AND r.started_at BETWEEN want.from_ts AND want.to_ts
                  AND r.started_at BETWEEN $5 AND $6
             JOIN checks c ON c.id = r.check_id AND c.agent_id = want.agent_id
             JOIN agents a ON a.id = c.agent_id",
        )
        .bind(&ids)
        .bind(&agents)
        .bind(&spans.0)
        .bind(&spans.1)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        let mut results = HashMap::with_capacity(rows.len());
        for row in &rows {
            let latest = latest_row(row)?;
            results.insert(latest.result_id, (latest, Vec::new(), Vec::new()));
        }
        let runs: Vec<Uuid> = results.keys().copied().collect();
        let checks: Vec<i32> = runs
            .iter()
            .map(|id| results[id].0.check_id as i32)
            .collect();
        let starts: Vec<DateTime<Utc>> = runs.iter().map(|id| results[id].0.started_at).collect();
        // A run's samples and distributions are its check's series at the
        // run's start.
        let samples = sqlx::query(
            "SELECT run.id, s.series_id, s.value
             FROM unnest($1::uuid[], $2::int4[], $3::timestamptz[]) AS run(id, check_id, started_at)
             JOIN series se ON se.check_id = run.check_id
             JOIN samples s ON s.series_id = se.id AND s.ts = run.started_at
             ORDER BY s.series_id",
        )
        .bind(&runs)
        .bind(&checks)
        .bind(&starts)
        .fetch_all(&self.pool)
        .await?;
        for row in &samples {
            if let Some((_, s, _)) = results.get_mut(&row.try_get::<Uuid, _>("id")?) {
                s.push(LiveSample {
                    series_id: row.try_get::<i32, _>("series_id")?.into(),
                    value: row.try_get("value")?,
                });
            }
        }
        let distributions = sqlx::query(
            "SELECT run.id, run.started_at, d.series_id, d.vals
             FROM unnest($1::uuid[], $2::int4[], $3::timestamptz[]) AS run(id, check_id, started_at)
             JOIN series se ON se.check_id = run.check_id
             JOIN distributions d ON d.series_id = se.id AND d.ts = run.started_at
             ORDER BY d.series_id",
        )
        .bind(&runs)
        .bind(&checks)
        .bind(&starts)
        .fetch_all(&self.pool)
        .await?;
        for row in &distributions {
            if let Some((_, _, d)) = results.get_mut(&row.try_get::<Uuid, _>("id")?) {
                let values = values_from_bytes(row.try_get::<&[u8], _>("vals")?)?;
                if let Some(point) = Point::exact(row.try_get("started_at")?, &values) {
                    d.push(LiveDistribution {
                        series_id: row.try_get::<i32, _>("series_id")?.into(),
                        point,
                    });
                }
            }
        }
        Ok(ids
            .iter()
            .filter_map(|id| results.remove(id))
            .map(|(result, samples, distributions)| LiveEvent::Result {
                result: Box::new(result),
                samples,
                distributions,
            })
            .collect())
    }
}
