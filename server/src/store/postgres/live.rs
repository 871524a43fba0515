//! Another replica's stored batch, read back as live events
//! ([`crate::fanout`]): the results it names, with their samples and
//! distributions, as the replica that stored them published them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::PgStore;
use super::series::latest_row;
use crate::live::{LiveDistribution, LiveEvent, LiveSample};
use crate::query::Point;
use crate::store::{StoreResult, values_from_bytes};

impl PgStore {
    /// The results `ids` of `agent_id`, whose runs started within
    /// `[from, to]`, as live events in the order of `ids`; ids not found
    /// (removed since) are left out.
    pub async fn live_results(
        &self,
        agent_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        ids: &[Uuid],
    ) -> StoreResult<Vec<LiveEvent>> {
        let rows = sqlx::query(
            "SELECT c.id AS check_id, c.agent_id, a.name AS agent, c.name AS check_name, c.target, c.plugin,
                    r.plugin_version, r.id AS result_id, r.status, r.started_at, r.duration, r.message
             FROM results r
             JOIN checks c ON c.id = r.check_id
             JOIN agents a ON a.id = c.agent_id
             WHERE r.id = ANY($1) AND r.started_at BETWEEN $2 AND $3 AND c.agent_id = $4",
        )
        .bind(ids)
        .bind(from)
        .bind(to)
        .bind(agent_id)
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
