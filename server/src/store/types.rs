//! What every storage concern shares: the error, the storage mode, and the
//! row mapping both backends use (status codes, units).

use serde::Serialize;
use vantage_protocol::manifest::BaseUnit;
use vantage_protocol::result::Status;

/// A storage failure. Callers answer 500/503 and log it; it never reaches a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database holds bad data: {0}")]
    Corrupt(String),
    /// A write that shared a transaction with others, which failed as a whole.
    #[error("database writer: {0}")]
    Writer(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How samples are kept, chosen when the database is first migrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageMode {
    Sqlite,
    /// PostgreSQL with native daily range partitions.
    Postgres,
    /// PostgreSQL with TimescaleDB hypertables.
    Timescaledb,
}

/// Status codes in the database.
pub fn status_code(s: Status) -> i16 {
    match s {
        Status::Ok => 0,
        Status::Timeout => 1,
        Status::Unreachable => 2,
        Status::Refused => 3,
        Status::Error => 4,
    }
}

pub fn status_from_code(code: i64) -> StoreResult<Status> {
    Ok(match code {
        0 => Status::Ok,
        1 => Status::Timeout,
        2 => Status::Unreachable,
        3 => Status::Refused,
        4 => Status::Error,
        other => return Err(StoreError::Corrupt(format!("status code {other}"))),
    })
}

pub fn unit_from_str(s: &str) -> StoreResult<BaseUnit> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| StoreError::Corrupt(format!("unit {s:?}")))
}

/// A distribution's values as stored: little-endian f64s, in order.
pub fn values_to_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn values_from_bytes(bytes: &[u8]) -> StoreResult<Vec<f64>> {
    let chunks = bytes.chunks_exact(8);
    if !chunks.remainder().is_empty() {
        return Err(StoreError::Corrupt(format!(
            "distribution of {} bytes, not a multiple of 8",
            bytes.len()
        )));
    }
    Ok(chunks
        .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_values_round_trip_in_order_and_bad_lengths_are_corrupt() {
        let values = [3e-3, 1e-3, 0.0, -2.5, 1e9];
        let bytes = values_to_bytes(&values);
        assert_eq!(bytes.len(), 40);
        assert_eq!(values_from_bytes(&bytes).unwrap(), values);
        assert!(values_from_bytes(&bytes[..39]).is_err());
        assert!(values_from_bytes(&[]).unwrap().is_empty());
    }
}
