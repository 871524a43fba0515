//! Raw rows (samples, distributions) into their table by binary
//! `COPY … FROM STDIN`: PostgreSQL's bulk path, which inserts rows in
//! batches (`heap_multi_insert`) instead of one executor call per row of an
//! `INSERT … SELECT * FROM UNNEST(…)`, and needs no arrays decoded.
//!
//! The encoding is the documented binary format (PostgreSQL manual,
//! "COPY — Binary Format"): a signature, flags and an empty header
//! extension; each row a field count, then each field's length and its
//! value in network byte order; a trailer of −1.

use sqlx::PgConnection;

use super::columns::Raw;
use crate::store::StoreResult;

/// Signature, flags (no OIDs) and header extension length (0).
const HEADER: &[u8; 19] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Bytes of a row's field count, `series_id` and `ts`.
const ROW_HEAD: usize = 2 + (4 + 4) + (4 + 8);

/// A value column's binary encoding, its length word included.
pub(super) trait CopyValue {
    /// Bytes this value takes in the stream.
    fn size(&self) -> usize;
    fn put(&self, buf: &mut Vec<u8>);
}

impl CopyValue for f64 {
    fn size(&self) -> usize {
        4 + 8
    }

    fn put(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&8i32.to_be_bytes());
        buf.extend_from_slice(&self.to_bits().to_be_bytes());
    }
}

impl CopyValue for Vec<u8> {
    fn size(&self) -> usize {
        4 + self.len()
    }

    fn put(&self, buf: &mut Vec<u8>) {
        // A distribution is at most 80 kB (the protocol's value limit).
        buf.extend_from_slice(&(self.len() as i32).to_be_bytes());
        buf.extend_from_slice(self);
    }
}

/// `rows` as one binary `COPY` stream: `(series_id int4, ts timestamptz, value)`.
pub(super) fn encode<V: CopyValue>(rows: &Raw<V>) -> Vec<u8> {
    let body: usize = rows.values.iter().map(|v| ROW_HEAD + v.size()).sum();
    let mut buf = Vec::with_capacity(HEADER.len() + body + 2);
    buf.extend_from_slice(HEADER);
    for ((series_id, ts), value) in rows.series_ids.iter().zip(&rows.ts).zip(&rows.values) {
        buf.extend_from_slice(&3i16.to_be_bytes());
        buf.extend_from_slice(&4i32.to_be_bytes());
        buf.extend_from_slice(&series_id.to_be_bytes());
        buf.extend_from_slice(&8i32.to_be_bytes());
        let micros = ts.timestamp_micros() - PG_EPOCH_MICROS;
        buf.extend_from_slice(&micros.to_be_bytes());
        value.put(&mut buf);
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    buf
}

/// Copies `rows` into the table `statement` names (a `COPY … FROM STDIN
/// (FORMAT binary)` of three columns), on `conn`'s transaction. An error
/// from the database (a missing partition, say) comes back from here with
/// the connection still usable.
pub(super) async fn copy_in<V: CopyValue>(
    conn: &mut PgConnection,
    statement: &'static str,
    rows: &Raw<V>,
) -> StoreResult<()> {
    if rows.series_ids.is_empty() {
        return Ok(());
    }
    let data = encode(rows);
    let mut copy = conn.copy_in_raw(statement).await?;
    copy.send(data).await?;
    copy.finish().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn a_sample_row_is_encoded_as_the_binary_format_says() {
        let rows = Raw {
            series_ids: vec![7],
            ts: vec![Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1).unwrap()],
            values: vec![1.5f64],
        };
        let data = encode(&rows);
        let mut want = HEADER.to_vec();
        want.extend_from_slice(&[0, 3]);
        want.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 7]);
        want.extend_from_slice(&[0, 0, 0, 8]);
        want.extend_from_slice(&1_000_000i64.to_be_bytes());
        want.extend_from_slice(&[0, 0, 0, 8]);
        want.extend_from_slice(&1.5f64.to_be_bytes());
        want.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(data, want);
    }

    #[test]
    fn a_distribution_row_carries_its_length() {
        let rows = Raw {
            series_ids: vec![1],
            ts: vec![Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap()],
            values: vec![vec![9u8, 8, 7]],
        };
        let data = encode(&rows);
        let row = &data[HEADER.len()..data.len() - 2];
        assert_eq!(&row[14..22], &(-1_000_000i64).to_be_bytes());
        assert_eq!(&row[22..], &[0, 0, 0, 3, 9, 8, 7]);
    }
}
