//! Grouped messages (`alert_parked`, `alert_group_last`): the routing
//! statement parks steps (`notify::enqueue`), and each due group becomes
//! one delivery. Replicas flush at once safely: the steps one statement
//! deletes are its alone (a second replica's delete waits on their row
//! locks, then finds them gone and makes no message).

use chrono::{DateTime, Utc};

use vantage_protocol::config::GROUP_INTERVAL_RANGE;

use super::PgStore;
use crate::alerting::group::Parked;
use crate::store::StoreResult;

/// Parked steps as columns, for `UNNEST`.
#[derive(Debug, Default)]
pub(super) struct Parking<'a> {
    pub(super) channels: Vec<&'a str>,
    pub(super) keys: Vec<&'a str>,
    pub(super) events: Vec<i64>,
    /// Microseconds.
    pub(super) waits: Vec<i64>,
    pub(super) intervals: Vec<i64>,
}

impl<'a> Parking<'a> {
    pub(super) fn of(parked: &'a [Parked]) -> Parking<'a> {
        let us = |d: std::time::Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        let mut out = Parking::default();
        for p in parked {
            out.channels.push(&p.channel);
            out.keys.push(&p.key);
            out.events.push(p.event_id);
            out.waits.push(us(p.wait));
            out.intervals.push(us(p.interval));
        }
        out
    }
}

pub(super) async fn flush(store: &PgStore, now: DateTime<Utc>, limit: u32) -> StoreResult<usize> {
    let due: Vec<(String, String)> = sqlx::query_as(
        "SELECT channel, group_key FROM alert_parked GROUP BY channel, group_key
         HAVING MIN(due_at) <= $1 LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    let mut made = 0;
    for (channel, key) in &due {
        let one: Option<i64> = sqlx::query_scalar(
            "WITH taken AS (DELETE FROM alert_parked WHERE channel = $1 AND group_key = $2
                            RETURNING event_id),
                  message AS (SELECT MIN(event_id) AS first,
                                     array_agg(event_id ORDER BY event_id) AS steps
                              FROM taken HAVING COUNT(*) > 0),
                  made AS (INSERT INTO alert_deliveries
                               (event_id, channel, status, attempts, next_at, created_at, grouped)
                           SELECT first, $1, 'pending', 0, $3, $3,
                                  CASE WHEN cardinality(steps) > 1 THEN steps END
                           FROM message ON CONFLICT DO NOTHING),
                  last AS (INSERT INTO alert_group_last (channel, group_key, made_at)
                           SELECT $1, $2, $3 FROM message
                           ON CONFLICT (channel, group_key) DO UPDATE SET made_at = excluded.made_at)
             SELECT first FROM message",
        )
        .bind(channel)
        .bind(key)
        .bind(now)
        .fetch_optional(&store.pool)
        .await?;
        made += usize::from(one.is_some());
    }
    if made > 0 {
        // Older than the longest group_interval: a group new again.
        let forgotten =
            now - chrono::Duration::from_std(GROUP_INTERVAL_RANGE.1).unwrap_or_default();
        sqlx::query("DELETE FROM alert_group_last WHERE made_at < $1")
            .bind(forgotten)
            .execute(&store.pool)
            .await?;
    }
    Ok(made)
}
