//! Statements over a multi-row `VALUES` list, one per power-of-two row count:
//! mostly `INSERT … VALUES`, also a lookup or an update joined to the list.
//!
//! A batch of `n` rows goes in as statements of the largest size while that
//! fits, then one statement per set bit of the rest (500 rows: 256 + 128 +
//! 64 + 32 + 16 + 4). The SQL of each size is built once, so the connection's
//! statement cache prepares each size once too, however batch sizes vary.

use std::ops::Range;
use std::sync::OnceLock;

/// SQLite's bound on `?` parameters in one statement (bundled 3.51).
const MAX_VARIABLES: usize = 32_766;
/// Size classes: 2^0 … 2^15 rows.
const CLASSES: usize = 16;

/// One statement's bulk form.
pub(super) struct BulkValues {
    /// Up to `VALUES`, e.g. `INSERT INTO samples (series_id, ts, value) VALUES `.
    head: &'static str,
    columns: usize,
    /// After the rows, e.g. ` ON CONFLICT DO NOTHING RETURNING id`.
    tail: &'static str,
    /// Rows of the largest statement: `2^max_class`.
    max_class: u32,
    sql: [OnceLock<String>; CLASSES],
}

impl BulkValues {
    /// `2^max_class` rows of `columns` parameters must stay below SQLite's
    /// limit (checked at compile time for the `static`s that use this).
    pub(super) const fn new(
        head: &'static str,
        columns: usize,
        tail: &'static str,
        max_class: u32,
    ) -> BulkValues {
        assert!((max_class as usize) < CLASSES);
        assert!(columns > 0 && columns * (1 << max_class) <= MAX_VARIABLES);
        BulkValues {
            head,
            columns,
            tail,
            max_class,
            sql: [const { OnceLock::new() }; CLASSES],
        }
    }

    /// The statements that insert rows `0..n`: each a range of rows and the
    /// SQL with a parameter tuple for each of them.
    pub(super) fn statements(
        &'static self,
        n: usize,
    ) -> impl Iterator<Item = (Range<usize>, &'static str)> {
        let max = 1usize << self.max_class;
        let mut start = 0;
        std::iter::from_fn(move || {
            let left = n - start;
            if left == 0 {
                return None;
            }
            let rows = if left >= max { max } else { 1 << left.ilog2() };
            let range = start..start + rows;
            start += rows;
            Some((range, self.sql(rows.trailing_zeros())))
        })
    }

    fn sql(&'static self, class: u32) -> &'static str {
        self.sql[class as usize].get_or_init(|| {
            let rows = 1usize << class;
            let tuple = format!("({})", vec!["?"; self.columns].join(","));
            let mut sql =
                String::with_capacity(self.head.len() + rows * (tuple.len() + 1) + self.tail.len());
            sql.push_str(self.head);
            for i in 0..rows {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&tuple);
            }
            sql.push_str(self.tail);
            sql
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PAIRS: BulkValues =
        BulkValues::new("INSERT INTO t (a, b) VALUES ", 2, " RETURNING a", 3);

    #[test]
    fn rows_split_into_power_of_two_statements() {
        let sizes = |n| {
            PAIRS
                .statements(n)
                .map(|(r, _)| r.len())
                .collect::<Vec<_>>()
        };
        assert!(sizes(0).is_empty());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(7), [4, 2, 1]);
        assert_eq!(sizes(21), [8, 8, 4, 1]);
        let ranges: Vec<_> = PAIRS.statements(21).map(|(r, _)| r).collect();
        assert_eq!(ranges, [0..8, 8..16, 16..20, 20..21]);
        let (_, sql) = PAIRS.statements(2).next().unwrap();
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES (?,?),(?,?) RETURNING a");
    }
}
