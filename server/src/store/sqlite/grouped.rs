//! Grouped messages (`alert_parked`, `alert_group_last`): steps parked by
//! the routing transaction, and each due group turned into one delivery.

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

use vantage_protocol::config::GROUP_INTERVAL_RANGE;

use super::{SqliteStore, id_list, micros};
use crate::alerting::group::Parked;
use crate::store::StoreResult;

fn us(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Parks the steps of `parked` that this transaction took out of the
/// outbox or let go of (`taken`): a step routed twice is parked once.
pub(super) async fn park(
    tx: &mut Transaction<'static, Sqlite>,
    parked: &[Parked],
    taken: &[i64],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for p in parked.iter().filter(|p| taken.contains(&p.event_id)) {
        sqlx::query(
            "INSERT INTO alert_parked (channel, group_key, event_id, due_at)
             SELECT ?1, ?2, ?3, MAX(?4 + ?5, COALESCE(
                 (SELECT made_at + ?6 FROM alert_group_last WHERE channel = ?1 AND group_key = ?2),
                 0))
             WHERE true ON CONFLICT DO NOTHING",
        )
        .bind(&p.channel)
        .bind(&p.key)
        .bind(p.event_id)
        .bind(micros(now))
        .bind(us(p.wait))
        .bind(us(p.interval))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(super) async fn flush(
    store: &SqliteStore,
    now: DateTime<Utc>,
    limit: u32,
) -> StoreResult<usize> {
    let due: Vec<(String, String)> = sqlx::query_as(
        "SELECT channel, group_key FROM alert_parked GROUP BY channel, group_key
         HAVING MIN(due_at) <= ?1 LIMIT ?2",
    )
    .bind(micros(now))
    .bind(limit)
    .fetch_all(&store.read)
    .await?;
    let mut made = 0;
    for (channel, key) in &due {
        let mut tx = store.begin().await?;
        let mut steps: Vec<i64> = sqlx::query_scalar(
            "DELETE FROM alert_parked WHERE channel = ?1 AND group_key = ?2 RETURNING event_id",
        )
        .bind(channel)
        .bind(key)
        .fetch_all(&mut *tx)
        .await?;
        steps.sort_unstable();
        let Some(&first) = steps.first() else {
            continue;
        };
        sqlx::query(
            "INSERT INTO alert_deliveries
                 (event_id, channel, status, attempts, next_at, created_at, grouped)
             VALUES (?1, ?2, 'pending', 0, ?3, ?3, ?4) ON CONFLICT DO NOTHING",
        )
        .bind(first)
        .bind(channel)
        .bind(micros(now))
        .bind((steps.len() > 1).then(|| id_list(&steps)))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO alert_group_last (channel, group_key, made_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel, group_key) DO UPDATE SET made_at = excluded.made_at",
        )
        .bind(channel)
        .bind(key)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        made += 1;
    }
    if made > 0 {
        // Older than the longest group_interval: a group new again.
        sqlx::query("DELETE FROM alert_group_last WHERE made_at < ?1")
            .bind(micros(now) - us(GROUP_INTERVAL_RANGE.1))
            .execute(&store.write)
            .await?;
    }
    Ok(made)
}
