//! Judging a batch's readings in its transaction (`alert_states`), without
//! locking what does not change.
//!
//! The states a batch judges are read unlocked, in the statement that
//! inserts its results ([`read_states`]), or known (`alert_cache`). Most alerts of a healthy fleet stay `ok`
//! with nothing to store (`StateRow::steady`): they are done, nothing
//! locked or written. The others are written only where their row is still
//! the revision judged against (`rev`); a row another batch wrote meanwhile
//! is then locked, read again and judged again. Two batches that change
//! one alert so judge one after the other, and neither overwrites the
//! other's judgement.

use std::collections::HashMap;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use super::alert_cache::Known;
use super::{alert_groups, id32};
use crate::alerting::evaluate::{self, AlertKey, EventRow, Judge, Memory, StateRow};
use crate::alerting::quorum;
use crate::store::*;

/// The stored states of some alerts: each one's memory and its row's
/// revision; an alert absent has no row yet.
#[derive(Debug, Default)]
pub(super) struct Stored<'a> {
    memories: HashMap<AlertKey<'a>, Memory>,
    revs: HashMap<AlertKey<'a>, i64>,
}

/// The read of the alerts whose rules and check ids are the parameters
/// given (`$9`, `$10` when folded into the results insert, whose statement
/// has `$1`…`$8` and returns the new results' ids first): rows of a null
/// first column, `n` (the key's place, from 1), `packed`, `memory` and `rev`.
macro_rules! read_states {
    () => {
        read_states!("$9", "$10")
    };
    ($rules:literal, $checks:literal) => {
        concat!(
            "SELECT NULL::uuid, k.n, s.packed, s.memory, s.rev
             FROM UNNEST(",
            $rules,
            "::text[], ",
            $checks,
            "::int4[]) WITH ORDINALITY AS k (rule, check_id, n)
             JOIN alert_states s USING (rule, check_id)"
        )
    };
}
pub(super) use read_states;

/// The columns of [`read_states`]'s rows, by place (a name is looked up
/// for every value read).
const N: usize = 1;
const PACKED: usize = 2;
const MEMORY: usize = 3;
const REV: usize = 4;

impl<'a> Stored<'a> {
    /// Room for `n` alerts' states.
    pub(super) fn with_capacity(n: usize) -> Stored<'a> {
        Stored {
            memories: HashMap::with_capacity(n),
            revs: HashMap::with_capacity(n),
        }
    }

    /// Adds a state known here (`AlertCache`).
    pub(super) fn known(&mut self, key: AlertKey<'a>, rev: i64, memory: Memory) {
        self.memories.insert(key, memory);
        self.revs.insert(key, rev);
    }

    /// Adds a row of [`read_states`]: the state of `keys[n - 1]`.
    pub(super) fn add(&mut self, keys: &[AlertKey<'a>], row: &PgRow) -> StoreResult<()> {
        let n: i64 = row.try_get(N)?;
        let key = usize::try_from(n - 1)
            .ok()
            .and_then(|i| keys.get(i))
            .ok_or_else(|| StoreError::Corrupt(format!("alert key {n} of {}", keys.len())))?;
        self.memories.insert(*key, remembered(row)?);
        self.revs.insert(*key, row.try_get(REV)?);
        Ok(())
    }
}

/// A row's memory: packed, or JSON when written before the packed form.
fn remembered(row: &PgRow) -> StoreResult<Memory> {
    match row.try_get::<Option<&[u8]>, _>(PACKED)? {
        Some(packed) => Memory::unpack(packed)
            .map_err(|e| StoreError::Corrupt(format!("an alert's packed memory: {e}"))),
        None => Ok(row.try_get::<Json<Memory>, _>(MEMORY)?.0),
    }
}

/// The alerts' keys as the two arrays [`read_states`] takes.
pub(super) fn key_columns<'a>(keys: &[AlertKey<'a>]) -> StoreResult<(Vec<&'a str>, Vec<i32>)> {
    let rules = keys.iter().map(|(r, _)| *r).collect();
    let checks = keys
        .iter()
        .map(|(_, c)| id32(*c))
        .collect::<StoreResult<_>>()?;
    Ok((rules, checks))
}

/// The stored states of these alerts (in key order), locked or not.
pub(super) async fn read<'a>(
    tx: &mut PgConnection,
    keys: &[AlertKey<'a>],
    lock: bool,
) -> StoreResult<Stored<'a>> {
    let mut stored = Stored::with_capacity(keys.len());
    if keys.is_empty() {
        return Ok(stored);
    }
    let (rules, checks) = key_columns(keys)?;
    let sql = if lock {
        concat!(
            read_states!("$1", "$2"),
            " ORDER BY s.rule, s.check_id FOR UPDATE OF s"
        )
    } else {
        read_states!("$1", "$2")
    };
    let rows = sqlx::query(sql)
        .bind(&rules)
        .bind(&checks)
        .fetch_all(&mut *tx)
        .await?;
    for row in &rows {
        stored.add(keys, row)?;
    }
    Ok(stored)
}

/// What judging a batch did.
#[derive(Debug, Default)]
pub(super) struct Judged<'a> {
    /// A step went to the outbox.
    pub(super) told: bool,
    /// An alert's row was written: the agent's `alerts_rev` must move.
    pub(super) wrote: bool,
    /// The rows of the alerts judged as the batch leaves them, for the
    /// cache (`None`: written without knowing its revision).
    pub(super) left: Vec<(AlertKey<'a>, Option<Known>)>,
}

/// Judges the readings against `stored` (read unlocked, or known) and
/// writes the states that change, their quorum groups and the history.
pub(super) async fn judge<'a>(
    tx: &mut PgConnection,
    judges: Vec<Judge<'a>>,
    stored: Stored<'a>,
) -> StoreResult<Judged<'a>> {
    if judges.is_empty() {
        return Ok(Judged::default());
    }
    let groups = quorum::touched(&judges);
    let at = judges.iter().map(|j| j.at).max().unwrap_or_default();
    let Stored { memories, revs } = stored;
    let (states, mut events) = evaluate::run(judges.clone(), memories);
    let changing: Vec<&StateRow<'a>> = states.iter().filter(|s| !s.steady).collect();
    let lost = write(tx, &changing, Some(&revs)).await?;
    let wrote = !changing.is_empty();
    if !lost.is_empty() {
        // Another batch wrote these meanwhile: their steps as judged here
        // are void; judge them again under their row locks.
        let lost_key = |rule: &str, check_id: i64| lost.contains(&(rule, check_id));
        events.retain(|e| e.check_id.is_none_or(|c| !lost_key(&e.rule, c)));
        let mut judges = judges;
        judges.retain(|j| lost.contains(&j.key()));
        let again = read(tx, &lost, true).await?;
        let (states, steps) = evaluate::run(judges, again.memories);
        write(tx, &states.iter().collect::<Vec<_>>(), None).await?;
        events.extend(steps);
        events.sort_by_key(|e| e.at);
    }
    let left = states
        .into_iter()
        .map(|s| {
            let key = (s.rule, s.check_id);
            let known = match (s.stored, revs.get(&key)) {
                _ if lost.contains(&key) => None,
                // Steady: the row as it was.
                (Some(memory), Some(&rev)) => Some(Known { rev, memory }),
                (Some(_), None) => None,
                // Written where its row was `rev`, or made.
                (None, rev) => Some(Known {
                    rev: rev.map_or(0, |r| r + 1),
                    memory: s.memory,
                }),
            };
            (key, known)
        })
        .collect();
    events.extend(alert_groups::judge(tx, groups, at).await?);
    for e in &events {
        alert_groups::append(tx, e).await?;
    }
    Ok(Judged {
        told: events.iter().any(EventRow::tells),
        wrote,
        left,
    })
}

/// Writes the states: with `revs`, each only where its row is still the
/// revision judged against (or, absent there, still has no row), returning
/// the keys not written; without, unconditionally (their rows locked).
async fn write<'a>(
    tx: &mut PgConnection,
    states: &[&StateRow<'a>],
    revs: Option<&HashMap<AlertKey<'a>, i64>>,
) -> StoreResult<Vec<AlertKey<'a>>> {
    if states.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = StateColumns::default();
    for s in states {
        let m = &s.memory;
        c.rules.push(s.rule);
        c.checks.push(id32(s.check_id)?);
        c.states.push(m.machine.state().as_str());
        c.since.push(m.machine.since());
        c.values.push(m.value);
        c.flapping.push(m.machine.is_flapping());
        c.evaluated.push(m.last_at);
        c.packed.push(m.pack());
        c.gaps.push(m.gap_ms);
        c.revs
            .push(revs.and_then(|r| r.get(&(s.rule, s.check_id)).copied()));
    }
    if revs.is_none() {
        // A key absent when read may be inserted by a twin batch meanwhile:
        // its insert waits for ours, then updates (the later run wins).
        c.bind(sqlx::query(
            "INSERT INTO alert_states (rule, check_id, state, since, value, flapping, evaluated_at,
                                       packed, gap_ms)
             SELECT * FROM UNNEST($1::text[], $2::int4[], $3::text[], $4::timestamptz[],
                 $5::float8[], $6::bool[], $7::timestamptz[], $8::bytea[], $9::int8[])
             ON CONFLICT (rule, check_id) DO UPDATE SET state = excluded.state, since = excluded.since,
                 value = excluded.value, flapping = excluded.flapping,
                 evaluated_at = excluded.evaluated_at, packed = excluded.packed, memory = NULL,
                 gap_ms = excluded.gap_ms, rev = alert_states.rev + 1",
        ))
        .execute(&mut *tx)
        .await?;
        return Ok(Vec::new());
    }
    // States are in key order, and so are the rows this locks (most
    // likely: the plan walks `u`); two batches that still deadlock are
    // tried again whole (`ingest`).
    let written = c
        .bind(sqlx::query(
            "WITH u AS (
                 SELECT * FROM UNNEST($1::text[], $2::int4[], $3::text[], $4::timestamptz[],
                     $5::float8[], $6::bool[], $7::timestamptz[], $8::bytea[], $9::int8[], $10::int8[])
                     WITH ORDINALITY AS u (r, c, s, t, v, f, e, m, g, rev, n)
             ), updated AS (
                 UPDATE alert_states a SET state = u.s, since = u.t, value = u.v, flapping = u.f,
                     evaluated_at = u.e, packed = u.m, memory = NULL, gap_ms = u.g, rev = a.rev + 1
                 FROM u WHERE a.rule = u.r AND a.check_id = u.c AND a.rev = u.rev
                 RETURNING u.n
             ), inserted AS (
                 INSERT INTO alert_states (rule, check_id, state, since, value, flapping, evaluated_at,
                                           packed, gap_ms)
                 SELECT r, c, s, t, v, f, e, m, g FROM u WHERE u.rev IS NULL
                 ON CONFLICT (rule, check_id) DO NOTHING
                 RETURNING rule, check_id
             )
             SELECT n FROM updated
             UNION ALL
             SELECT u.n FROM inserted i JOIN u ON u.r = i.rule AND u.c = i.check_id",
        ))
        .bind(&c.revs)
        .fetch_all(&mut *tx)
        .await?;
    let mut done = vec![false; states.len()];
    for row in &written {
        let n: i64 = row.try_get(0)?;
        if let Some(d) = usize::try_from(n - 1).ok().and_then(|i| done.get_mut(i)) {
            *d = true;
        }
    }
    Ok(states
        .iter()
        .zip(done)
        .filter(|(_, done)| !done)
        .map(|(s, _)| (s.rule, s.check_id))
        .collect())
}

impl<'a> StateColumns<'a> {
    /// Binds the columns both writes take, `$1`…`$9`.
    fn bind<'q>(&'q self, query: PgQuery<'q>) -> PgQuery<'q> {
        query
            .bind(&self.rules)
            .bind(&self.checks)
            .bind(&self.states)
            .bind(&self.since)
            .bind(&self.values)
            .bind(&self.flapping)
            .bind(&self.evaluated)
            .bind(&self.packed)
            .bind(&self.gaps)
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, PgArguments>;

/// The states to write, a column each.
#[derive(Default)]
struct StateColumns<'a> {
    rules: Vec<&'a str>,
    checks: Vec<i32>,
    states: Vec<&'static str>,
    since: Vec<chrono::DateTime<chrono::Utc>>,
    values: Vec<Option<f64>>,
    flapping: Vec<bool>,
    evaluated: Vec<chrono::DateTime<chrono::Utc>>,
    packed: Vec<Vec<u8>>,
    gaps: Vec<Option<i64>>,
    revs: Vec<Option<i64>>,
}
