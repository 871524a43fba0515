//! Channels, routing, the outbox and deliveries (`alert_channels`,
//! `alert_routing`, `alert_outbox`, `alert_deliveries`, `alert_attempts`).
//! One replica runs on SQLite, so claims only guard against a restart
//! mid-send.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, AlertMatch, ChannelSpec, Routing, SilenceView};

use super::grouped;
use super::named::{self, Table};
use super::{SqliteStore, alert_states, id_list, micros, time_at};
use crate::store::notify::{parents_column, settled};
use crate::store::*;

fn attempt_row(row: &SqliteRow) -> StoreResult<Attempt> {
    let status: Option<i64> = row.try_get("status")?;
    Ok(Attempt {
        event_id: row.try_get("event_id")?,
        channel: row.try_get("channel")?,
        attempt: row
            .try_get::<i64, _>("attempt")?
            .clamp(0, i64::from(u32::MAX)) as u32,
        at: time_at(row, "at")?,
        ok: row.try_get("ok")?,
        status: status.and_then(|s| u16::try_from(s).ok()),
        latency_ms: row
            .try_get::<i64, _>("latency_ms")?
            .clamp(0, i64::from(u32::MAX)) as u32,
        error: row.try_get("error")?,
    })
}

impl NotifyStore for SqliteStore {
    async fn put_channel(&self, spec: &ChannelSpec, now: DateTime<Utc>) -> StoreResult<RuleSaved> {
        named::put(self, Table::Channels, &spec.name, spec, now).await
    }

    async fn delete_channel(&self, name: &str) -> StoreResult<bool> {
        named::delete(self, Table::Channels, name).await
    }

    async fn channels(&self) -> StoreResult<Vec<ChannelRow>> {
        named::all(self, Table::Channels).await
    }

    async fn routing(&self) -> StoreResult<(Routing, i64)> {
        let row = sqlx::query("SELECT spec, revision FROM alert_routing WHERE id = 1")
            .fetch_optional(&self.read)
            .await?;
        match row {
            None => Ok((Routing::default(), 0)),
            Some(row) => {
                let Json(routing): Json<Routing> = row.try_get("spec")?;
                Ok((routing, row.try_get("revision")?))
            }
        }
    }

    async fn put_routing(&self, routing: &Routing, now: DateTime<Utc>) -> StoreResult<i64> {
        let revision: i64 = sqlx::query_scalar(
            "INSERT INTO alert_routing (id, spec, revision, updated_at) VALUES (1, ?1, 1, ?2)
             ON CONFLICT (id) DO UPDATE SET spec = excluded.spec,
                 revision = alert_routing.revision + 1, updated_at = excluded.updated_at
             RETURNING revision",
        )
        .bind(Json(routing))
        .bind(micros(now))
        .fetch_one(&self.write)
        .await?;
        Ok(revision)
    }

    async fn outbox(&self, limit: u32) -> StoreResult<Vec<AlertEventView>> {
        alert_states::outbox(&self.read, limit).await
    }

    async fn enqueue(&self, routed: &Routed, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for (event_id, silence) in &routed.silenced {
            sqlx::query("UPDATE alert_events SET silenced_by = ?2 WHERE id = ?1")
                .bind(event_id)
                .bind(silence)
                .execute(&mut *tx)
                .await?;
        }
        for (event_id, window) in &routed.windowed {
            sqlx::query("UPDATE alert_events SET in_window = ?2 WHERE id = ?1")
                .bind(event_id)
                .bind(window)
                .execute(&mut *tx)
                .await?;
        }
        for (event_id, why) in &routed.suppressed {
            sqlx::query(
                "UPDATE alert_events SET suppressed_by = ?2, suppressed_parents = ?3 WHERE id = ?1",
            )
            .bind(event_id)
            .bind(&why.why)
            .bind(parents_column(&why.parents))
            .execute(&mut *tx)
            .await?;
        }
        for (event_id, channel) in &routed.deliveries {
            sqlx::query(
                "INSERT INTO alert_deliveries (event_id, channel, status, attempts, next_at, created_at)
                 VALUES (?1, ?2, 'pending', 0, ?3, ?3) ON CONFLICT DO NOTHING",
            )
            .bind(event_id)
            .bind(channel)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        }
        let mut taken: Vec<i64> = sqlx::query_scalar(
            "DELETE FROM alert_held WHERE event_id IN (SELECT value FROM json_each(?1))
             RETURNING event_id",
        )
        .bind(id_list(&routed.release))
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO alert_held (event_id) SELECT value FROM json_each(?1) WHERE true
             ON CONFLICT DO NOTHING",
        )
        .bind(id_list(&routed.hold))
        .execute(&mut *tx)
        .await?;
        let routed_now: Vec<i64> = sqlx::query_scalar(
            "DELETE FROM alert_outbox WHERE event_id IN (SELECT value FROM json_each(?1))
             RETURNING event_id",
        )
        .bind(id_list(&routed.done))
        .fetch_all(&mut *tx)
        .await?;
        taken.extend(routed_now);
        grouped::park(&mut tx, &routed.parked, &taken, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_silence(&self, s: &SilenceView) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO alert_silences (id, matches, starts_at, ends_at, comment, author, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(s.id)
        .bind(Json(&s.matches))
        .bind(micros(s.starts_at))
        .bind(micros(s.ends_at))
        .bind(&s.comment)
        .bind(&s.author)
        .bind(micros(s.created_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn silences(&self, after: Option<DateTime<Utc>>) -> StoreResult<Vec<SilenceView>> {
        let rows = sqlx::query(
            "SELECT id, matches, starts_at, ends_at, comment, author, created_at FROM alert_silences
             WHERE ?1 IS NULL OR ends_at > ?1 ORDER BY created_at DESC, id",
        )
        .bind(after.map(micros))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let Json(matches): Json<AlertMatch> = row.try_get("matches")?;
                Ok(SilenceView {
                    id: row.try_get("id")?,
                    matches,
                    starts_at: time_at(row, "starts_at")?,
                    ends_at: time_at(row, "ends_at")?,
                    comment: row.try_get("comment")?,
                    author: row.try_get("author")?,
                    created_at: time_at(row, "created_at")?,
                })
            })
            .collect()
    }

    async fn expire_silence(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE alert_silences SET ends_at = ?2 WHERE id = ?1 AND ends_at > ?2")
                .bind(id)
                .bind(micros(now))
                .execute(&self.write)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Claimed>> {
        let rows = sqlx::query(
            "UPDATE alert_deliveries SET claimed_until = ?2, attempts = attempts + 1
             WHERE (event_id, channel) IN (
                 SELECT event_id, channel FROM alert_deliveries
                 WHERE status = 'pending' AND next_at <= ?1
                   AND (claimed_until IS NULL OR claimed_until <= ?1)
                 ORDER BY next_at LIMIT ?3)
             RETURNING event_id, channel, attempts, grouped",
        )
        .bind(micros(now))
        .bind(micros(until))
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Claimed {
                    event_id: row.try_get("event_id")?,
                    channel: row.try_get("channel")?,
                    attempt: row
                        .try_get::<i64, _>("attempts")?
                        .clamp(0, i64::from(u32::MAX)) as u32,
                    group: row
                        .try_get::<Option<Json<Vec<i64>>>, _>("grouped")?
                        .map(|Json(ids)| ids)
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn flush_groups(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<usize> {
        grouped::flush(self, now, limit).await
    }

    async fn finish(&self, a: &Attempt, after: After) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO alert_attempts (event_id, channel, attempt, at, ok, status, latency_ms, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(a.event_id)
        .bind(&a.channel)
        .bind(a.attempt)
        .bind(micros(a.at))
        .bind(a.ok)
        .bind(a.status)
        .bind(a.latency_ms)
        .bind(a.error.as_deref())
        .execute(&mut *tx)
        .await?;
        let (status, next_at) = settled(after, a.at);
        sqlx::query(
            "UPDATE alert_deliveries SET status = ?3, next_at = ?4, claimed_until = NULL
             WHERE event_id = ?1 AND channel = ?2",
        )
        .bind(a.event_id)
        .bind(&a.channel)
        .bind(status)
        .bind(micros(next_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn attempts(&self, channel: &str, limit: u32) -> StoreResult<Vec<Attempt>> {
        let rows = sqlx::query(
            "SELECT event_id, channel, attempt, at, ok, status, latency_ms, error FROM alert_attempts
             WHERE channel = ?1 ORDER BY id DESC LIMIT ?2",
        )
        .bind(channel)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(attempt_row).collect()
    }

    async fn events(&self, ids: &[i64]) -> StoreResult<Vec<AlertEventView>> {
        alert_states::events(&self.read, ids).await
    }

    async fn delete_alert_history_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64> {
        let before = micros(before);
        let mut tx = self.begin().await?;
        let events = sqlx::query(
            "DELETE FROM alert_events WHERE id IN (
               SELECT e.id FROM alert_events e
               WHERE e.at < ?1
                 AND EXISTS (SELECT 1 FROM alert_events n
                             WHERE n.rule = e.rule AND n.check_id IS e.check_id
                               AND n.agent_id IS e.agent_id AND n.check_name IS e.check_name
                               AND n.target IS e.target AND n.at < ?1
                               AND (n.at > e.at OR (n.at = e.at AND n.id > e.id)))
                 AND e.id NOT IN (SELECT event_id FROM alert_outbox)
                 AND e.id NOT IN (SELECT event_id FROM alert_held)
                 AND e.id NOT IN (SELECT event_id FROM alert_parked)
                 AND e.id NOT IN (SELECT event_id FROM alert_deliveries WHERE status = 'pending')
                 AND NOT EXISTS (SELECT 1 FROM alert_deliveries d, json_each(d.grouped) g
                                 WHERE d.status = 'pending' AND g.value = e.id)
               LIMIT ?2)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let attempts = sqlx::query("DELETE FROM alert_attempts WHERE at < ?1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let deliveries = sqlx::query(
            "DELETE FROM alert_deliveries WHERE status <> 'pending' AND created_at < ?1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(events + attempts + deliveries)
    }
}
