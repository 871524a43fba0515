//! A mergeable quantile sketch with 1 % relative accuracy (the DDSketch
//! scheme: logarithmic buckets `(γ^(i-1), γ^i]` with γ = 1.01/0.99).
//!
//! Rollup rows carry one per bucket so that percentiles over any range come
//! from merging sketches rather than re-reading raw samples. Stored sparse:
//! a typical ping series spans a few dozen buckets.

use std::collections::BTreeMap;

/// Relative accuracy of a quantile estimate.
pub const RELATIVE_ACCURACY: f64 = 0.01;
/// Magnitudes at or below this count as zero.
const ZERO_THRESHOLD: f64 = 1e-12;
/// The stored form, little-endian: what [`Sketch::to_bytes`] writes.
const FORMAT: u8 = 1;
/// The same layout big-endian: what TimescaleDB's rollup views build with
/// `int4send`/`int8send` (migrations/postgres/0025_native_rollups.sql).
const FORMAT_BIG_ENDIAN: u8 = 2;

fn gamma_ln() -> f64 {
    ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln()
}

/// Counts of values per logarithmic bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sketch {
    zero: u64,
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
}

impl Sketch {
    pub fn new() -> Sketch {
        Sketch::default()
    }

    /// Adds one value. Non-finite values are ignored (ingest refuses them).
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        let magnitude = value.abs();
        if magnitude <= ZERO_THRESHOLD {
            self.zero += 1;
            return;
        }
        let index = (magnitude.ln() / gamma_ln()).ceil() as i32;
        let side = if value > 0.0 {
            &mut self.positive
        } else {
            &mut self.negative
        };
        *side.entry(index).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Sketch) {
        self.zero += other.zero;
        for (i, n) in &other.positive {
            *self.positive.entry(*i).or_default() += n;
        }
        for (i, n) in &other.negative {
            *self.negative.entry(*i).or_default() += n;
        }
    }

    pub fn count(&self) -> u64 {
        self.zero + self.positive.values().sum::<u64>() + self.negative.values().sum::<u64>()
    }

    /// The value at quantile `q` (0 ≤ q ≤ 1), within 1 % of a value whose
    /// rank is `q·(n−1)`; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (n - 1) as f64).floor() as u64;
        let mut seen = 0u64;
        // Most negative first: the largest magnitudes of the negative side.
        for (i, c) in self.negative.iter().rev() {
            seen += c;
            if seen > rank {
                return Some(-bucket_value(*i));
            }
        }
        seen += self.zero;
        if seen > rank {
            return Some(0.0);
        }
        for (i, c) in &self.positive {
            seen += c;
            if seen > rank {
                return Some(bucket_value(*i));
            }
        }
        // Unreachable with consistent counts; the largest bucket is the honest answer.
        self.positive.keys().next_back().map(|i| bucket_value(*i))
    }

    /// The stored form: a format byte, the zero count, then each side as a
    /// count of `(i32 index, u64 count)` pairs, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + 12 * (self.positive.len() + self.negative.len()));
        out.push(FORMAT);
        out.extend_from_slice(&self.zero.to_le_bytes());
        for side in [&self.positive, &self.negative] {
            out.extend_from_slice(&(side.len() as u32).to_le_bytes());
            for (i, c) in side {
                out.extend_from_slice(&i.to_le_bytes());
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out
    }

    /// Adds a stored sketch ([`Sketch::to_bytes`]) straight from its
    /// bytes: a report merges millions, and a map apiece would cost more
    /// than the merge.
    /// Either stored form ([`FORMAT`], or [`FORMAT_BIG_ENDIAN`] from
    /// TimescaleDB's views).
    pub fn merge_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut r = Reader::open(bytes)?;
        self.zero += r.number(u64::from_le_bytes, u64::from_be_bytes)?;
        for side in [&mut self.positive, &mut self.negative] {
            let len = r.number(u32::from_le_bytes, u32::from_be_bytes)?;
            for _ in 0..len {
                let i = r.number(i32::from_le_bytes, i32::from_be_bytes)?;
                let c = r.number(u64::from_le_bytes, u64::from_be_bytes)?;
                *side.entry(i).or_default() += c;
            }
        }
        r.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Sketch, String> {
        let mut sketch = Sketch::new();
        sketch.merge_bytes(bytes)?;
        Ok(sketch)
    }
}

/// The estimate for bucket `i`: the point with equal relative error to both ends.
fn bucket_value(i: i32) -> f64 {
    let g = gamma_ln().exp();
    2.0 * (i as f64 * gamma_ln()).exp() / (g + 1.0)
}

/// The stored form's fields, in its byte order.
struct Reader<'a> {
    rest: &'a [u8],
    big_endian: bool,
}

impl<'a> Reader<'a> {
    fn open(bytes: &'a [u8]) -> Result<Reader<'a>, String> {
        let mut r = Reader {
            rest: bytes,
            big_endian: false,
        };
        r.big_endian = match r.take::<1>()?[0] {
            FORMAT => false,
            FORMAT_BIG_ENDIAN => true,
            other => return Err(format!("sketch format {other} is unknown")),
        };
        Ok(r)
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        if self.rest.len() < N {
            return Err("sketch is truncated".into());
        }
        let (head, rest) = self.rest.split_at(N);
        self.rest = rest;
        Ok(head.try_into().expect("split at N"))
    }

    /// A number in the form's byte order.
    fn number<const N: usize, T>(
        &mut self,
        le: fn([u8; N]) -> T,
        be: fn([u8; N]) -> T,
    ) -> Result<T, String> {
        let bytes = self.take()?;
        Ok(if self.big_endian {
            be(bytes)
        } else {
            le(bytes)
        })
    }

    fn finish(self) -> Result<(), String> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err("sketch has trailing bytes".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
    }

    #[test]
    fn merging_bytes_is_merging_the_decoded_sketch() {
        let (mut a, mut b) = (Sketch::new(), Sketch::new());
        for i in 0..500 {
            a.add(0.001 * (1 + i % 37) as f64);
            b.add(-0.5 + 0.003 * i as f64);
        }
        let mut by_bytes = a.clone();
        by_bytes.merge_bytes(&b.to_bytes()).unwrap();
        a.merge(&b);
        assert_eq!(by_bytes, a);
        assert!(by_bytes.merge_bytes(&b.to_bytes()[..20]).is_err());
    }

    #[test]
    fn quantiles_are_within_relative_accuracy() {
        // RTT-like values from 50 µs to 2 s, spread over five decades.
        let mut values: Vec<f64> = (0..10_000)
            .map(|i| 50e-6 * (1.0 + (i as f64 * 0.618_034).fract() * 40_000.0))
            .collect();
        let mut sketch = Sketch::new();
        for v in &values {
            sketch.add(*v);
        }
        values.sort_by(f64::total_cmp);
        for q in [0.0, 0.01, 0.5, 0.95, 0.99, 1.0] {
            let want = exact(&values, q);
            let got = sketch.quantile(q).unwrap();
            assert!(
                (got - want).abs() <= want * RELATIVE_ACCURACY * 1.0001,
                "q={q}: got {got}, want {want}"
            );
        }
    }

    #[test]
    fn merging_equals_adding_everything_to_one() {
        let (mut a, mut b, mut all) = (Sketch::new(), Sketch::new(), Sketch::new());
        for i in 0..500 {
            let v = (i as f64 - 100.0) * 0.37;
            if i % 2 == 0 {
                a.add(v)
            } else {
                b.add(v)
            }
            all.add(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        assert_eq!(a.count(), 500);
        // Negative, zero and positive values keep their order.
        assert!(a.quantile(0.0).unwrap() < 0.0);
        assert!(a.quantile(1.0).unwrap() > 100.0);
    }

    /// The big-endian form of `to_bytes`, as the TimescaleDB views build it.
    fn big_endian(s: &Sketch) -> Vec<u8> {
        let mut out = vec![FORMAT_BIG_ENDIAN];
        out.extend_from_slice(&s.zero.to_be_bytes());
        for side in [&s.positive, &s.negative] {
            out.extend_from_slice(&(side.len() as u32).to_be_bytes());
            for (i, c) in side {
                out.extend_from_slice(&i.to_be_bytes());
                out.extend_from_slice(&c.to_be_bytes());
            }
        }
        out
    }

    #[test]
    fn the_big_endian_form_reads_as_the_same_sketch() {
        let mut s = Sketch::new();
        for v in [0.0, 1e-3, 2e-3, 2e-3, -5.0, 1e9, -1e-9] {
            s.add(v);
        }
        let be = big_endian(&s);
        assert_eq!(Sketch::from_bytes(&be).unwrap(), s);
        let mut merged = s.clone();
        merged.merge_bytes(&be).unwrap();
        assert_eq!(merged.count(), 2 * s.count());
        assert!(Sketch::from_bytes(&be[..be.len() - 3]).is_err());
    }

    #[test]
    fn the_sql_bucket_divisor_is_ln_gamma_to_the_last_bit() {
        // migrations/postgres/0025_native_rollups.sql divides by this literal.
        let sql = include_str!("../../migrations/postgres/0025_native_rollups.sql");
        let literal = "0.020000666706669435";
        assert!(
            sql.contains(&format!("/ {literal}::float8")),
            "the migration names {literal}"
        );
        assert_eq!(
            literal.parse::<f64>().unwrap().to_bits(),
            gamma_ln().to_bits()
        );
    }

    #[test]
    fn bytes_round_trip_and_bad_bytes_are_refused() {
        let mut s = Sketch::new();
        for v in [0.0, 1e-3, 2e-3, -5.0, 1e9] {
            s.add(v);
        }
        let bytes = s.to_bytes();
        assert_eq!(Sketch::from_bytes(&bytes).unwrap(), s);
        assert!(Sketch::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Sketch::from_bytes(&[9]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Sketch::from_bytes(&longer).is_err());
        assert_eq!(Sketch::new().quantile(0.5), None);
    }
}
