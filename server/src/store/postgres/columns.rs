//! A batch as column arrays for `INSERT … SELECT * FROM UNNEST(…)`.

use std::ops::Range;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::id32;
use crate::store::*;

/// A batch as column arrays, results ordered by id so that concurrent
/// batches sharing result ids lock them in the same order (no deadlock).
pub(super) struct Columns<'a> {
    pub(super) ids: Vec<Uuid>,
    pub(super) started_at: Vec<DateTime<Utc>>,
    pub(super) check_ids: Vec<i32>,
    pub(super) statuses: Vec<i16>,
    pub(super) durations: Vec<f64>,
    pub(super) plugin_versions: Vec<&'a str>,
    pub(super) messages: Vec<Option<&'a str>>,
    /// Samples of result `i` are `samples[sample_ranges[i]]`.
    pub(super) sample_ranges: Vec<Range<usize>>,
    pub(super) samples: Raw<f64>,
    /// Distributions of result `i` are `distributions[distribution_ranges[i]]`.
    pub(super) distribution_ranges: Vec<Range<usize>>,
    /// Each distribution's values as stored (`values_to_bytes`).
    pub(super) distributions: Raw<Vec<u8>>,
    /// Events of result `i` are `events[event_ranges[i]]`.
    pub(super) event_ranges: Vec<Range<usize>>,
    pub(super) events: Events<'a>,
}

/// Events as columns.
#[derive(Default)]
pub(super) struct Events<'a> {
    pub(super) check_ids: Vec<i32>,
    pub(super) result_ids: Vec<Uuid>,
    pub(super) seqs: Vec<i16>,
    pub(super) at: Vec<DateTime<Utc>>,
    pub(super) texts: Vec<&'a str>,
    pub(super) labels: Vec<&'a str>,
}

impl<'a> Events<'a> {
    pub(super) fn len(&self) -> usize {
        self.check_ids.len()
    }

    fn push(&mut self, r: &'a ResultRow) -> StoreResult<()> {
        for (seq, e) in r.events.iter().enumerate() {
            self.check_ids.push(id32(r.check_id)?);
            self.result_ids.push(r.id);
            self.seqs.push(
                i16::try_from(seq)
                    .map_err(|_| StoreError::Corrupt(format!("event {seq} of a result")))?,
            );
            self.at.push(e.at);
            self.texts.push(&e.text);
            self.labels.push(&e.labels);
        }
        Ok(())
    }

    pub(super) fn extend_from(&mut self, other: &Events<'a>, range: Range<usize>) {
        self.check_ids
            .extend_from_slice(&other.check_ids[range.clone()]);
        self.result_ids
            .extend_from_slice(&other.result_ids[range.clone()]);
        self.seqs.extend_from_slice(&other.seqs[range.clone()]);
        self.at.extend_from_slice(&other.at[range.clone()]);
        self.texts.extend_from_slice(&other.texts[range.clone()]);
        self.labels.extend_from_slice(&other.labels[range]);
    }
}

/// Raw rows (samples or distributions) as columns.
pub(super) struct Raw<V> {
    pub(super) series_ids: Vec<i32>,
    pub(super) ts: Vec<DateTime<Utc>>,
    pub(super) values: Vec<V>,
}

impl<V> Default for Raw<V> {
    fn default() -> Self {
        Raw {
            series_ids: Vec::new(),
            ts: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<V: Clone> Raw<V> {
    pub(super) fn len(&self) -> usize {
        self.series_ids.len()
    }

    fn push(&mut self, series_id: i64, ts: DateTime<Utc>, value: V) -> StoreResult<()> {
        self.series_ids.push(id32(series_id)?);
        self.ts.push(ts);
        self.values.push(value);
        Ok(())
    }

    pub(super) fn extend_from(&mut self, other: &Raw<V>, range: Range<usize>) {
        self.series_ids
            .extend_from_slice(&other.series_ids[range.clone()]);
        self.ts.extend_from_slice(&other.ts[range.clone()]);
        self.values.extend_from_slice(&other.values[range]);
    }
}

impl<'a> Columns<'a> {
    pub(super) fn new(results: &'a [ResultRow]) -> StoreResult<Columns<'a>> {
        let mut order: Vec<&ResultRow> = results.iter().collect();
        order.sort_by_key(|r| r.id);
        let n = order.len();
        let mut c = Columns {
            ids: Vec::with_capacity(n),
            started_at: Vec::with_capacity(n),
            check_ids: Vec::with_capacity(n),
            statuses: Vec::with_capacity(n),
            durations: Vec::with_capacity(n),
            plugin_versions: Vec::with_capacity(n),
            messages: Vec::with_capacity(n),
            sample_ranges: Vec::with_capacity(n),
            samples: Raw::default(),
            distribution_ranges: Vec::with_capacity(n),
            distributions: Raw::default(),
            event_ranges: Vec::with_capacity(n),
            events: Events::default(),
        };
        for r in order {
            c.ids.push(r.id);
            c.started_at.push(r.started_at);
            c.check_ids.push(id32(r.check_id)?);
            c.statuses.push(status_code(r.status));
            c.durations.push(r.duration);
            c.plugin_versions.push(&r.plugin_version);
            c.messages.push(r.message.as_deref());
            let start = c.samples.len();
            for s in &r.samples {
                c.samples.push(s.series_id, r.started_at, s.value)?;
            }
            c.sample_ranges.push(start..c.samples.len());
            let start = c.distributions.len();
            for d in &r.distributions {
                c.distributions
                    .push(d.series_id, r.started_at, values_to_bytes(&d.values))?;
            }
            c.distribution_ranges.push(start..c.distributions.len());
            let start = c.events.len();
            c.events.push(r)?;
            c.event_ranges.push(start..c.events.len());
        }
        Ok(c)
    }
}

/// Series keys as the columns `UNNEST` takes.
pub(super) struct SeriesColumns {
    pub(super) check_ids: Vec<i32>,
    pub(super) metrics: Vec<String>,
    pub(super) units: Vec<&'static str>,
    pub(super) labels: Vec<String>,
}

impl SeriesColumns {
    pub(super) fn of<'a>(keys: impl Iterator<Item = &'a SeriesKey>) -> StoreResult<SeriesColumns> {
        let mut c = SeriesColumns {
            check_ids: Vec::new(),
            metrics: Vec::new(),
            units: Vec::new(),
            labels: Vec::new(),
        };
        for k in keys {
            c.check_ids.push(id32(k.check_id)?);
            c.metrics.push(k.metric.clone());
            c.units.push(k.unit.as_str());
            c.labels.push(k.labels.clone());
        }
        Ok(c)
    }
}
