//! A report made: the check targets an SLA covers, their `check_up` over
//! the period and the one before, tallied into availability and
//! incidents, with latency and loss beside.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::{CountBy, SilenceView};
use vantage_protocol::report::{Figures, Incident, Report, ReportPeriod, TargetFigures};

use super::count::Tally;
use super::firing::{fired, firing, rules_during};
use super::hours::Counted;
use super::latency::{Spread, spreads};
use super::period::Period;
use super::scan::{Targets, scan};
use super::silenced::Silenced;
use super::sla::Sla;
use crate::alerting::windows::Window;
use crate::ingest::CHECK_UP;
use crate::store::{
    AgentStore as _, AlertStore as _, NotifyStore as _, ReportStore as _, SeriesFilter,
    SeriesStore as _, Store, StoreResult, WindowStore as _,
};

/// Counting by runs, an incident names the rules whose alert for its
/// check target fired from this long before it began until it ended.
const RULE_LEAD: chrono::Duration = chrono::Duration::minutes(5);

/// The check targets covered and their agents' `check_up` series.
struct Covered {
    targets: Vec<(String, String)>,
    places: HashMap<(String, String), usize>,
    /// Agents selected by placement; `None`: every one.
    placed: Option<HashSet<Uuid>>,
    /// `check_up` series id → (target's place, agent's name).
    series: HashMap<i64, (usize, String)>,
}

impl Covered {
    /// An alert's target's place: an agent's alert when the agent is
    /// covered, a group's (no agent) always.
    fn alert_place(&self, check: &str, target: &str, agent: Option<Uuid>) -> Option<usize> {
        match agent {
            Some(agent) => self.place(check, target, agent),
            None => self.target(check, target),
        }
    }

    fn place(&self, check: &str, target: &str, agent: Uuid) -> Option<usize> {
        if self.placed.as_ref().is_some_and(|p| !p.contains(&agent)) {
            return None;
        }
        self.target(check, target)
    }

    fn target(&self, check: &str, target: &str) -> Option<usize> {
        self.places
            .get(&(check.to_owned(), target.to_owned()))
            .copied()
    }
}

/// One period counted: each target's tally, agents, incidents and spread.
struct Counts {
    tallies: Vec<Tally>,
    agents: Vec<u32>,
    incidents: Vec<Vec<Incident>>,
    spreads: Vec<Spread>,
    /// Each target's counted seconds (less its silenced ones).
    counted_seconds: Vec<i64>,
    /// Counting by alerts: each target's counted seconds down.
    firing: Option<Vec<i64>>,
}

impl Counts {
    fn figures(&self, t: usize, objective: f64) -> Figures {
        let firing = self.firing.as_ref().map(|f| f[t]);
        let mut f = self.tallies[t].figures(
            objective,
            &self.incidents[t],
            self.counted_seconds[t],
            firing,
        );
        f.latency = self.spreads[t].latency();
        f.loss = self.spreads[t].loss();
        f
    }

    fn summary(&self, objective: f64) -> Figures {
        let mut all = Tally::default();
        let mut spread = Spread::default();
        for (t, s) in self.tallies.iter().zip(&self.spreads) {
            all.add(t);
            spread.merge(s);
        }
        let incidents: Vec<Incident> = self.incidents.iter().flatten().cloned().collect();
        let seconds = self.counted_seconds.iter().sum();
        let firing = self.firing.as_ref().map(|f| f.iter().sum());
        let mut f = all.figures(objective, &incidents, seconds, firing);
        f.latency = spread.latency();
        f.loss = spread.loss();
        f
    }
}

/// The SLA's report over `period`, beside `previous`, with the
/// maintenance windows it excludes read from the store (a window deleted
/// since excludes nothing).
pub async fn report_of(
    store: &Store,
    sla: &Sla,
    period: &Period,
    previous: &Period,
    now: DateTime<Utc>,
) -> StoreResult<Report> {
    let windows: Vec<Window> = store
        .windows()
        .await?
        .into_iter()
        .filter(|w| sla.spec.exclude_windows.contains(&w.spec.name))
        .filter_map(|w| Window::compile(w.spec).ok())
        .collect();
    let silences = if sla.spec.exclude_silences {
        store.silences(Some(previous.from)).await?
    } else {
        Vec::new()
    };
    let excluded = Excluded {
        windows: &windows,
        silences: &silences,
    };
    report(store, sla, &excluded, period, previous, now).await
}

/// What an SLA takes out of the counted time: maintenance windows, and
/// (with `exclude_silences`) silences.
struct Excluded<'a> {
    windows: &'a [Window],
    silences: &'a [SilenceView],
}

/// The SLA's report over `period`, beside `previous`, less `excluded`.
async fn report(
    store: &Store,
    sla: &Sla,
    excluded: &Excluded<'_>,
    period: &Period,
    previous: &Period,
    now: DateTime<Utc>,
) -> StoreResult<Report> {
    let covered = covered(store, sla).await?;
    // Both periods at once: the database sums one while the other's
    // latency streams. The period before is compared by availability: no
    // latency.
    let (this, before) = tokio::try_join!(
        count(store, sla, excluded, &covered, period, true),
        count(store, sla, excluded, &covered, previous, false),
    )?;
    let objective = sla.spec.objective;
    let mut targets: Vec<TargetFigures> = covered
        .targets
        .iter()
        .enumerate()
        .map(|(t, (check, target))| TargetFigures {
            check: check.clone(),
            target: target.clone(),
            agents: this.agents[t],
            figures: this.figures(t, objective),
        })
        .collect();
    // The least available first; those without runs last.
    targets.sort_by(|a, b| {
        let key = |t: &TargetFigures| t.figures.availability.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| (&a.check, &a.target).cmp(&(&b.check, &b.target)))
    });
    let mut incidents: Vec<Incident> = this.incidents.iter().flatten().cloned().collect();
    incidents.sort_by(|a, b| (a.start, &a.check, &a.target).cmp(&(b.start, &b.check, &b.target)));
    Ok(Report {
        sla: sla.spec.name.clone(),
        objective,
        count_by: sla.spec.count_by,
        period: ReportPeriod {
            label: period.label.clone(),
            from: period.from,
            to: period.to,
            timezone: sla.spec.timezone.clone(),
        },
        summary: this.summary(objective),
        previous: before.summary(objective),
        targets,
        incidents,
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
    let mut index: BTreeMap<(String, String), Vec<(i64, String)>> = BTreeMap::new();
    for s in rows {
        if sla.select.selects(&s.check, &s.target, &s.plugin)
            && placed.as_ref().is_none_or(|p| p.contains(&s.agent_id))
        {
            index
                .entry((s.check, s.target))
                .or_default()
                .push((s.series_id, s.agent));
        }
    }
    let mut covered = Covered {
        targets: Vec::with_capacity(index.len()),
        places: HashMap::with_capacity(index.len()),
        placed,
        series: HashMap::new(),
    };
    for (t, (target, series)) in index.into_iter().enumerate() {
        covered.places.insert(target.clone(), t);
        covered.targets.push(target);
        covered
            .series
            .extend(series.into_iter().map(|(id, agent)| (id, (t, agent))));
    }
    Ok(covered)
}

/// Each covered target's counts over `period`, with latency and loss when
/// `latency`.
async fn count(
    store: &Store,
    sla: &Sla,
    excluded: &Excluded<'_>,
    covered: &Covered,
    period: &Period,
    latency: bool,
) -> StoreResult<Counts> {
    let spans: Vec<_> = excluded
        .windows
        .iter()
        .flat_map(|w| w.open_spans(period.from, period.to))
        .collect();
    let counted = Counted::new(period.from, period.to, sla.tz, sla.hours.as_ref(), &spans);
    let targets = Targets {
        names: &covered.targets,
        series: &covered.series,
    };
    let hourly = counted.hourly();
    let silenced = Silenced::of(excluded.silences, &covered.targets, period);
    let scanned = scan(
        store,
        &targets,
        &counted,
        &hourly,
        &silenced,
        sla.spec.min_agents,
        period,
    )
    .await?;
    let n = covered.targets.len();
    let metrics = sla.spec.latency_metrics();
    let spreads = if latency {
        spreads(
            store,
            &metrics,
            n,
            |check, target, agent| covered.place(check, target, agent),
            &counted,
            &hourly,
            period,
        )
        .await?
    } else {
        vec![Spread::default(); n]
    };
    let mut incidents = scanned.incidents;
    let place = |check: &str, target: &str, agent| covered.alert_place(check, target, agent);
    let firing = match sla.spec.count_by {
        CountBy::Alerts => {
            let steps = store
                .alert_steps(&sla.spec.rules, period.from, period.to, true)
                .await?;
            let quorum = sla.spec.min_agents;
            let found = firing(
                &steps,
                place,
                &covered.targets,
                &scanned.agents,
                quorum,
                |t, from, to| silenced.seconds_in(t, &counted, from, to),
                period,
            );
            incidents = found.incidents;
            Some(found.seconds)
        }
        // Only the steps into `firing` near an incident matter.
        CountBy::Runs if incidents.iter().all(Vec::is_empty) => None,
        CountBy::Runs => {
            let rules: Vec<String> = store
                .rules()
                .await?
                .into_iter()
                .map(|r| r.spec.name)
                .collect();
            let steps = store
                .alert_steps(&rules, period.from - RULE_LEAD, period.to, false)
                .await?;
            let fired = fired(&steps, place);
            for (t, list) in incidents.iter_mut().enumerate() {
                for i in list {
                    i.rules = rules_during(fired.get(&t), i.start, i.end, RULE_LEAD);
                }
            }
            None
        }
    };
    if incidents.iter().any(|list| !list.is_empty()) {
        let children = store
            .suppressed_steps(period.from - RULE_LEAD, period.to + RULE_LEAD)
            .await?;
        super::children::attach(&mut incidents, &children, RULE_LEAD);
    }
    Ok(Counts {
        tallies: scanned.tallies,
        agents: scanned.agents,
        incidents,
        spreads,
        counted_seconds: (0..n)
            .map(|t| silenced.counted_seconds(t, &counted))
            .collect(),
        firing,
    })
}
