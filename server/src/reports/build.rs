//! A report made: the check targets an SLA covers, their minutes of
//! `check_up` over the period and the one before, tallied.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::report::{Report, ReportPeriod, TargetAvailability};

use super::count::Tally;
use super::hours::Counted;
use super::period::Period;
use super::sla::Sla;
use crate::alerting::windows::Window;
use crate::ingest::CHECK_UP;
use crate::store::{
    AgentStore as _, ReportStore as _, SeriesFilter, SeriesStore as _, Store, StoreResult,
};

/// The check targets covered: (check, target) → their agents' `check_up`
/// series.
struct Covered {
    targets: Vec<(String, String)>,
    /// series id → (target index, agent id).
    series: HashMap<i64, (usize, Uuid)>,
}

/// The SLA's report over `period`, beside `previous`; `windows` are the
/// maintenance windows it excludes.
pub async fn report(
    store: &Store,
    sla: &Sla,
    windows: &[Window],
    period: &Period,
    previous: &Period,
    now: DateTime<Utc>,
) -> StoreResult<Report> {
    let covered = covered(store, sla).await?;
    let (this, agents) = tally(store, sla, windows, &covered, period).await?;
    let (before, _) = tally(store, sla, windows, &covered, previous).await?;
    let objective = sla.spec.objective;
    let sum = |tallies: &[Tally]| {
        let mut all = Tally::default();
        tallies.iter().for_each(|t| all.add(t));
        all.figures(objective)
    };
    let mut targets: Vec<TargetAvailability> = covered
        .targets
        .iter()
        .zip(&this)
        .zip(agents)
        .map(|(((check, target), t), agents)| TargetAvailability {
            check: check.clone(),
            target: target.clone(),
            agents,
            figures: t.figures(objective),
        })
        .collect();
    // The least available first; those without runs last.
    targets.sort_by(|a, b| {
        let key = |t: &TargetAvailability| t.figures.availability.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| (&a.check, &a.target).cmp(&(&b.check, &b.target)))
    });
    Ok(Report {
        sla: sla.spec.name.clone(),
        objective,
        period: ReportPeriod {
            label: period.label.clone(),
            from: period.from,
            to: period.to,
            timezone: sla.spec.timezone.clone(),
        },
        summary: sum(&this),
        previous: sum(&before),
        targets,
        generated_at: now,
    })
}

async fn covered(store: &Store, sla: &Sla) -> StoreResult<Covered> {
    let placed: Option<HashSet<Uuid>> = if sla.select.by_placement() {
        let mut ids = HashSet::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.agents(after.as_deref(), 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.name.clone());
            ids.extend(
                page.iter()
                    .filter(|a| sla.select.places(&a.groups, &a.labels))
                    .map(|a| a.id),
            );
        }
        Some(ids)
    } else {
        None
    };
    let rows = store
        .series(&SeriesFilter {
            metric: Some(CHECK_UP.into()),
            ..SeriesFilter::default()
        })
        .await?;
    let mut index: BTreeMap<(String, String), Vec<(i64, Uuid)>> = BTreeMap::new();
    for s in rows {
        if sla.select.selects(&s.check, &s.target, &s.plugin)
            && placed.as_ref().is_none_or(|p| p.contains(&s.agent_id))
        {
            index
                .entry((s.check, s.target))
                .or_default()
                .push((s.series_id, s.agent_id));
        }
    }
    let mut covered = Covered {
        targets: Vec::with_capacity(index.len()),
        series: HashMap::new(),
    };
    for (i, (target, series)) in index.into_iter().enumerate() {
        covered.targets.push(target);
        covered
            .series
            .extend(series.into_iter().map(|(id, agent)| (id, (i, agent))));
    }
    Ok(covered)
}

/// Each covered target's tally over `period`, and how many agents ran it.
async fn tally(
    store: &Store,
    sla: &Sla,
    windows: &[Window],
    covered: &Covered,
    period: &Period,
) -> StoreResult<(Vec<Tally>, Vec<u32>)> {
    let spans: Vec<_> = windows
        .iter()
        .flat_map(|w| w.open_spans(period.from, period.to))
        .collect();
    let counted = Counted::new(period.from, period.to, sla.tz, sla.hours.as_ref(), &spans);
    let ids: Vec<i64> = covered.series.keys().copied().collect();
    let rows = store.minutes(&ids, period.from, period.to).await?;
    let mut tallies = vec![Tally::default(); covered.targets.len()];
    let mut agents: Vec<HashSet<Uuid>> = vec![HashSet::new(); covered.targets.len()];
    let quorum = sla.spec.min_agents;
    // Rows come by minute: a minute's rows, by target.
    let mut minute: BTreeMap<usize, Vec<(i64, f64)>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some((target, agent)) = covered.series.get(&row.series_id) {
            minute.entry(*target).or_default().push((row.runs, row.up));
            agents[*target].insert(*agent);
        }
        if rows.get(i + 1).is_none_or(|next| next.bucket != row.bucket) {
            let counts = counted.counts(row.bucket);
            for (target, runs) in std::mem::take(&mut minute) {
                tallies[target].minute(&runs, quorum, counts);
            }
        }
    }
    let agents = agents.iter().map(|a| a.len() as u32).collect();
    Ok((tallies, agents))
}
