//! Channels, routing, the outbox and deliveries (`alert_channels`,
//! `alert_routing`, `alert_outbox`, `alert_deliveries`, `alert_attempts`).
//! Replicas claim deliveries with `FOR UPDATE SKIP LOCKED` under a lease:
//! each is sent by one replica, and again only when that one died mid-send.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, AlertMatch, ChannelSpec, Routing, SilenceView};

use super::grouped;
use super::named::{self, Table};
use super::{PgStore, alert_states};
use crate::store::notify::{parents_column, settled};
use crate::store::*;

fn attempt_row(row: &PgRow) -> StoreResult<Attempt> {
    let status: Option<i32> = row.try_get("status")?;
    Ok(Attempt {
        event_id: row.try_get("event_id")?,
        channel: row.try_get("channel")?,
        attempt: row.try_get::<i32, _>("attempt")?.max(0) as u32,
        at: row.try_get("at")?,
        ok: row.try_get("ok")?,
        status: status.and_then(|s| u16::try_from(s).ok()),
        latency_ms: row.try_get::<i32, _>("latency_ms")?.max(0) as u32,
        error: row.try_get("error")?,
    })
}

fn int4(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl NotifyStore for PgStore {
    /// Compares under the row lock, so the revision moves once per change.
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
            .fetch_optional(&self.pool)
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
            "INSERT INTO alert_routing (id, spec, revision, updated_at) VALUES (1, $1, 1, $2)
             ON CONFLICT (id) DO UPDATE SET spec = excluded.spec,
                 revision = alert_routing.revision + 1, updated_at = excluded.updated_at
             RETURNING revision",
        )
        .bind(Json(routing))
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(revision)
    }

    async fn outbox(&self, limit: u32) -> StoreResult<Vec<AlertEventView>> {
        alert_states::outbox(&self.pool, limit).await
    }

    /// Replicas may route the same steps at once: the deliveries' key
    /// keeps one of each.
    async fn enqueue(&self, routed: &Routed, now: DateTime<Utc>) -> StoreResult<()> {
        let ids: Vec<i64> = routed.deliveries.iter().map(|(e, _)| *e).collect();
        let channels: Vec<&str> = routed.deliveries.iter().map(|(_, c)| c.as_str()).collect();
        let quiet: Vec<i64> = routed.silenced.iter().map(|(e, _)| *e).collect();
        let by: Vec<Uuid> = routed.silenced.iter().map(|(_, s)| *s).collect();
        let kept: Vec<i64> = routed.suppressed.iter().map(|(e, _)| *e).collect();
        let why: Vec<&str> = routed
            .suppressed
            .iter()
            .map(|(_, w)| w.why.as_str())
            .collect();
        let parents: Vec<Option<String>> = routed
            .suppressed
            .iter()
            .map(|(_, w)| parents_column(&w.parents))
            .collect();
        let in_window: Vec<i64> = routed.windowed.iter().map(|(e, _)| *e).collect();
        let window: Vec<&str> = routed.windowed.iter().map(|(_, w)| w.as_str()).collect();
        let park = grouped::Parking::of(&routed.parked);
        sqlx::query(
            "WITH routed AS (DELETE FROM alert_outbox WHERE event_id = ANY($3) RETURNING event_id),
                  hushed AS (UPDATE alert_events e SET silenced_by = u.s
                             FROM UNNEST($5::int8[], $6::uuid[]) AS u (e, s) WHERE e.id = u.e),
                  kept AS (UPDATE alert_events e SET suppressed_by = u.w, suppressed_parents = u.p
                           FROM UNNEST($7::int8[], $8::text[], $18::text[]) AS u (e, w, p)
                           WHERE e.id = u.e),
                  windowed AS (UPDATE alert_events e SET in_window = u.w
                               FROM UNNEST($11::int8[], $12::text[]) AS u (e, w) WHERE e.id = u.e),
                  released AS (DELETE FROM alert_held WHERE event_id = ANY($9) RETURNING event_id),
                  held AS (INSERT INTO alert_held (event_id) SELECT UNNEST($10::int8[])
                           ON CONFLICT DO NOTHING),
                  parked AS (INSERT INTO alert_parked (channel, group_key, event_id, due_at)
                      SELECT u.c, u.k, u.e, GREATEST($4 + u.w * interval '1 microsecond',
                                                     l.made_at + u.i * interval '1 microsecond')
                      FROM UNNEST($13::text[], $14::text[], $15::int8[], $16::int8[], $17::int8[])
                          AS u (c, k, e, w, i)
                      LEFT JOIN alert_group_last l ON l.channel = u.c AND l.group_key = u.k
                      -- Only steps this statement took: one that another
                      -- replica routed too is parked once.
                      WHERE u.e IN (SELECT event_id FROM routed
                                    UNION ALL SELECT event_id FROM released)
                      ON CONFLICT DO NOTHING)
             INSERT INTO alert_deliveries (event_id, channel, status, attempts, next_at, created_at)
             SELECT e, c, 'pending', 0, $4, $4 FROM UNNEST($1::int8[], $2::text[]) AS u (e, c)
             ON CONFLICT DO NOTHING",
        )
        .bind(&ids)
        .bind(&channels)
        .bind(&routed.done)
        .bind(now)
        .bind(&quiet)
        .bind(&by)
        .bind(&kept)
        .bind(&why)
        .bind(&routed.release)
        .bind(&routed.hold)
        .bind(&in_window)
        .bind(&window)
        .bind(&park.channels)
        .bind(&park.keys)
        .bind(&park.events)
        .bind(&park.waits)
        .bind(&park.intervals)
        .bind(&parents)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn add_silence(&self, s: &SilenceView) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO alert_silences (id, matches, starts_at, ends_at, comment, author, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(s.id)
        .bind(serde_json::to_string(&s.matches).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(s.starts_at)
        .bind(s.ends_at)
        .bind(&s.comment)
        .bind(&s.author)
        .bind(s.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn silences(&self, after: Option<DateTime<Utc>>) -> StoreResult<Vec<SilenceView>> {
        let rows = sqlx::query(
            "SELECT id, matches, starts_at, ends_at, comment, author, created_at FROM alert_silences
             WHERE $1::timestamptz IS NULL OR ends_at > $1 ORDER BY created_at DESC, id",
        )
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let matches: String = row.try_get("matches")?;
                let matches: AlertMatch = serde_json::from_str(&matches)
                    .map_err(|e| StoreError::Corrupt(format!("silence matches: {e}")))?;
                Ok(SilenceView {
                    id: row.try_get("id")?,
                    matches,
                    starts_at: row.try_get("starts_at")?,
                    ends_at: row.try_get("ends_at")?,
                    comment: row.try_get("comment")?,
                    author: row.try_get("author")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn expire_silence(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE alert_silences SET ends_at = $2 WHERE id = $1 AND ends_at > $2")
                .bind(id)
                .bind(now)
                .execute(&self.pool)
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
            "UPDATE alert_deliveries d SET claimed_until = $2, attempts = d.attempts + 1
             FROM (SELECT event_id, channel FROM alert_deliveries
                   WHERE status = 'pending' AND next_at <= $1
                     AND (claimed_until IS NULL OR claimed_until <= $1)
                   ORDER BY next_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
             WHERE d.event_id = due.event_id AND d.channel = due.channel
             RETURNING d.event_id, d.channel, d.attempts, d.grouped",
        )
        .bind(now)
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Claimed {
                    event_id: row.try_get("event_id")?,
                    channel: row.try_get("channel")?,
                    attempt: row.try_get::<i32, _>("attempts")?.max(0) as u32,
                    group: row
                        .try_get::<Option<Vec<i64>>, _>("grouped")?
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn flush_groups(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<usize> {
        grouped::flush(self, now, limit).await
    }

    async fn finish(&self, a: &Attempt, after: After) -> StoreResult<()> {
        let (status, next_at) = settled(after, a.at);
        sqlx::query(
            "WITH logged AS (
                 INSERT INTO alert_attempts (event_id, channel, attempt, at, ok, status, latency_ms, error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8))
             UPDATE alert_deliveries SET status = $9, next_at = $10, claimed_until = NULL
             WHERE event_id = $1 AND channel = $2",
        )
        .bind(a.event_id)
        .bind(&a.channel)
        .bind(int4(a.attempt))
        .bind(a.at)
        .bind(a.ok)
        .bind(a.status.map(i32::from))
        .bind(int4(a.latency_ms))
        .bind(a.error.as_deref())
        .bind(status)
        .bind(next_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn attempts(&self, channel: &str, limit: u32) -> StoreResult<Vec<Attempt>> {
        let rows = sqlx::query(
            "SELECT event_id, channel, attempt, at, ok, status, latency_ms, error FROM alert_attempts
             WHERE channel = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(channel)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(attempt_row).collect()
    }

    async fn events(&self, ids: &[i64]) -> StoreResult<Vec<AlertEventView>> {
        alert_states::events(&self.pool, ids).await
    }

    async fn delete_alert_history_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let events = sqlx::query(
            "DELETE FROM alert_events WHERE id IN (
               SELECT e.id FROM alert_events e
               WHERE e.at < $1
                 AND EXISTS (SELECT 1 FROM alert_events n
                             WHERE n.rule = e.rule
                               AND n.check_id IS NOT DISTINCT FROM e.check_id
                               AND n.agent_id IS NOT DISTINCT FROM e.agent_id
                               AND n.check_name IS NOT DISTINCT FROM e.check_name
                               AND n.target IS NOT DISTINCT FROM e.target AND n.at < $1
                               AND (n.at > e.at OR (n.at = e.at AND n.id > e.id)))
                 AND NOT EXISTS (SELECT 1 FROM alert_outbox o WHERE o.event_id = e.id)
                 AND NOT EXISTS (SELECT 1 FROM alert_held h WHERE h.event_id = e.id)
                 AND NOT EXISTS (SELECT 1 FROM alert_parked p WHERE p.event_id = e.id)
                 AND NOT EXISTS (SELECT 1 FROM alert_deliveries d
                                 WHERE d.status = 'pending'
                                   AND (d.event_id = e.id OR e.id = ANY(d.grouped)))
               LIMIT $2)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let attempts = sqlx::query("DELETE FROM alert_attempts WHERE at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let deliveries = sqlx::query(
            "DELETE FROM alert_deliveries WHERE status <> 'pending' AND created_at < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(events + attempts + deliveries)
    }
}
