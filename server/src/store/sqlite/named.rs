//! Specs saved by name with a revision that moves only on change
//! (`alert_rules`, `alert_channels`, `alert_windows`, `slas`): one way to save, list and delete
//! them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;

use super::{SqliteStore, micros, time_at};
use crate::store::*;

/// A table of named specs.
#[derive(Debug, Clone, Copy)]
pub(super) enum Table {
    Rules,
    Channels,
    Windows,
    Slas,
}

impl Table {
    fn one(self) -> &'static str {
        match self {
            Table::Rules => "SELECT spec, revision, updated_at FROM alert_rules WHERE name = ?1",
            Table::Channels => {
                "SELECT spec, revision, updated_at FROM alert_channels WHERE name = ?1"
            }
            Table::Windows => {
                "SELECT spec, revision, updated_at FROM alert_windows WHERE name = ?1"
            }
            Table::Slas => "SELECT spec, revision, updated_at FROM slas WHERE name = ?1",
        }
    }

    fn all(self) -> &'static str {
        match self {
            Table::Rules => "SELECT spec, revision, updated_at FROM alert_rules ORDER BY name",
            Table::Channels => {
                "SELECT spec, revision, updated_at FROM alert_channels ORDER BY name"
            }
            Table::Windows => "SELECT spec, revision, updated_at FROM alert_windows ORDER BY name",
            Table::Slas => "SELECT spec, revision, updated_at FROM slas ORDER BY name",
        }
    }

    fn upsert(self) -> &'static str {
        match self {
            Table::Rules => {
                "INSERT INTO alert_rules (name, spec, revision, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, revision = excluded.revision,
                                                  updated_at = excluded.updated_at"
            }
            Table::Channels => {
                "INSERT INTO alert_channels (name, spec, revision, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, revision = excluded.revision,
                                                  updated_at = excluded.updated_at"
            }
            Table::Windows => {
                "INSERT INTO alert_windows (name, spec, revision, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, revision = excluded.revision,
                                                  updated_at = excluded.updated_at"
            }
            Table::Slas => {
                "INSERT INTO slas (name, spec, revision, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, revision = excluded.revision,
                                                  updated_at = excluded.updated_at"
            }
        }
    }

    fn delete(self) -> &'static str {
        match self {
            Table::Rules => "DELETE FROM alert_rules WHERE name = ?1",
            Table::Channels => "DELETE FROM alert_channels WHERE name = ?1",
            Table::Windows => "DELETE FROM alert_windows WHERE name = ?1",
            Table::Slas => "DELETE FROM slas WHERE name = ?1",
        }
    }
}

fn saved<T: DeserializeOwned>(row: &SqliteRow) -> StoreResult<Saved<T>> {
    let Json(spec): Json<T> = row.try_get("spec")?;
    Ok(Saved {
        spec,
        revision: row.try_get("revision")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

/// Saves a spec; the revision moves only when it changed.
pub(super) async fn put<T>(
    store: &SqliteStore,
    table: Table,
    name: &str,
    spec: &T,
    now: DateTime<Utc>,
) -> StoreResult<RuleSaved>
where
    T: Serialize + DeserializeOwned + PartialEq,
{
    let mut tx = store.begin().await?;
    let old: Option<Saved<T>> = sqlx::query(table.one())
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(saved)
        .transpose()?;
    if let Some(old) = &old
        && old.spec == *spec
    {
        tx.rollback().await?;
        return Ok(RuleSaved {
            revision: old.revision,
            created: false,
            updated_at: old.updated_at,
        });
    }
    let revision = old.as_ref().map_or(1, |o| o.revision + 1);
    sqlx::query(table.upsert())
        .bind(name)
        .bind(Json(spec))
        .bind(revision)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(RuleSaved {
        revision,
        updated_at: now,
        created: old.is_none(),
    })
}

pub(super) async fn all<T: DeserializeOwned>(
    store: &SqliteStore,
    table: Table,
) -> StoreResult<Vec<Saved<T>>> {
    let rows = sqlx::query(table.all()).fetch_all(&store.read).await?;
    rows.iter().map(saved).collect()
}

/// True when it existed.
pub(super) async fn delete(store: &SqliteStore, table: Table, name: &str) -> StoreResult<bool> {
    let gone = sqlx::query(table.delete())
        .bind(name)
        .execute(&store.write)
        .await?;
    Ok(gone.rows_affected() == 1)
}

impl WindowStore for SqliteStore {
    async fn put_window(
        &self,
        spec: &vantage_protocol::config::WindowSpec,
        now: DateTime<Utc>,
    ) -> StoreResult<RuleSaved> {
        put(self, Table::Windows, &spec.name, spec, now).await
    }

    async fn delete_window(&self, name: &str) -> StoreResult<bool> {
        delete(self, Table::Windows, name).await
    }

    async fn windows(&self) -> StoreResult<Vec<Saved<vantage_protocol::config::WindowSpec>>> {
        all(self, Table::Windows).await
    }
}
