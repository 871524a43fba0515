//! Rollouts and the agents their waves asked.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;
use vantage_protocol::config::{RolloutSpec, RolloutState, UpdateStep};

use super::PgStore;
use crate::store::rollouts::{step_name, step_of};
use crate::store::*;

fn rollout_row(row: &PgRow) -> StoreResult<RolloutRow> {
    let Json(spec): Json<RolloutSpec> = row.try_get("spec")?;
    let state: String = row.try_get("state")?;
    let wave: i32 = row.try_get("wave")?;
    let revision: i64 = row.try_get("revision")?;
    Ok(RolloutRow {
        id: row.try_get("id")?,
        spec,
        state: RolloutState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("rollout state {state}")))?,
        wave: wave as usize,
        settled_at: row.try_get("settled_at")?,
        reason: row.try_get("reason")?,
        revision: revision as u64,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn agent_row(row: &PgRow) -> StoreResult<RolloutAgentRow> {
    let wave: i32 = row.try_get("wave")?;
    let step: Option<String> = row.try_get("step")?;
    Ok(RolloutAgentRow {
        agent_id: row.try_get("agent_id")?,
        wave: wave as usize,
        step: step.as_deref().and_then(step_of),
        reason: row.try_get("reason")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl RolloutStore for PgStore {
    async fn insert_rollout(&self, r: &RolloutRow) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO rollouts (id, version, spec, state, active, wave, settled_at, reason,
                                   revision, created_at, created_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT DO NOTHING",
        )
        .bind(r.id)
        .bind(r.spec.version.to_string())
        .bind(Json(&r.spec))
        .bind(r.state.as_str())
        .bind(r.state.active().then_some(1i16))
        .bind(r.wave as i32)
        .bind(r.settled_at)
        .bind(&r.reason)
        .bind(r.revision as i64)
        .bind(r.created_at)
        .bind(r.created_by)
        .bind(r.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn rollouts(&self) -> StoreResult<Vec<RolloutRow>> {
        let rows = sqlx::query(
            "SELECT id, spec, state, wave, settled_at, reason, revision, created_at, created_by,
                    updated_at
             FROM rollouts ORDER BY created_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rollout_row).collect()
    }

    async fn update_rollout(&self, r: &RolloutRow) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE rollouts SET state = $2, active = $3, wave = $4, settled_at = $5, reason = $6,
                                 revision = $7, updated_at = $8
             WHERE id = $1 AND revision = $7 - 1",
        )
        .bind(r.id)
        .bind(r.state.as_str())
        .bind(r.state.active().then_some(1i16))
        .bind(r.wave as i32)
        .bind(r.settled_at)
        .bind(&r.reason)
        .bind(r.revision as i64)
        .bind(r.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn assign_agents(
        &self,
        rollout: Uuid,
        wave: usize,
        agents: &[Uuid],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let mut added = 0;
        for agent in agents {
            added += sqlx::query(
                "INSERT INTO rollout_agents (rollout_id, agent_id, wave, updated_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(rollout)
            .bind(agent)
            .bind(wave as i32)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn rollout_agents(&self, rollout: Uuid) -> StoreResult<Vec<RolloutAgentRow>> {
        let rows = sqlx::query(
            "SELECT agent_id, wave, step, reason, updated_at FROM rollout_agents
             WHERE rollout_id = $1 ORDER BY wave, agent_id",
        )
        .bind(rollout)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(agent_row).collect()
    }

    async fn record_update(
        &self,
        rollout: Uuid,
        agent: Uuid,
        step: UpdateStep,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE rollout_agents SET step = $3, reason = $4, updated_at = $5
             WHERE rollout_id = $1 AND agent_id = $2",
        )
        .bind(rollout)
        .bind(agent)
        .bind(step_name(step))
        .bind(reason)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }
}
