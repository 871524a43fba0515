//! Routing: the notifier takes the steps the ingest transaction put in
//! the outbox and makes each a delivery per channel its routes name —
//! unless a silence that is on or an open maintenance window matches it
//! (stored as silenced, or with the window's name), or a
//! raised parent explains it (`depends`: stored as suppressed, and held to
//! be sent should its alert outlast the parent). Held steps are looked at
//! again on every pass. A step for a route that groups is parked for its
//! group's message (`group`).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vantage_protocol::config::{AlertEventView, AlertState, Notice, SilenceView};

use super::book::RuleBook;
use super::depends::{self, CheckParents, Family, Verdict};
use super::group::Parked;
use super::matcher::Matcher;
use super::route::Router;
use super::rule::Rule;
use super::windows::Window;
use crate::store::{
    DependStore as _, NotifyStore as _, Routed, Store, StoreResult, Suppression, WindowStore as _,
};

/// Steps looked at in one pass.
const BATCH: u32 = 500;

/// One alert: its rule, agent (none for a group), check and target.
type AlertKey = (String, Option<Uuid>, String, String);

fn key(e: &AlertEventView) -> AlertKey {
    let s = &e.subject;
    (
        s.rule.clone(),
        s.agent_id,
        s.check.clone(),
        s.target.clone(),
    )
}

/// One routing pass over the outbox and the held steps; how many steps
/// it took out of the outbox.
pub async fn route(
    store: &Store,
    book: &RuleBook,
    offline_after: std::time::Duration,
) -> StoreResult<usize> {
    let pending = store.outbox(BATCH).await?;
    let held = store.held(BATCH).await?;
    if pending.is_empty() && held.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let rules = book.rules(store).await?;
    let rule_of = |e: &AlertEventView| {
        rules
            .iter()
            .find(|r| r.spec.name == e.subject.rule)
            .map(|r| &**r)
    };
    let router = router(store).await?;
    let silences = silences(store, now).await?;
    let watching_agents = rules.iter().any(|r| r.spec.condition.is_agent_offline());
    let check_parents = CheckParents::load(store).await?;
    let family = if watching_agents
        || pending
            .iter()
            .chain(&held)
            .any(|e| rule_of(e).is_some_and(|r| check_parents.named(r, e).any()))
    {
        Family::load(store, pending.iter().chain(&held), offline_after).await?
    } else {
        Family::default()
    };
    let depends = |rule: &Rule, e: &AlertEventView| {
        check_parents.named(rule, e).any() || family.watches_agents()
    };
    let windows = open_windows(store, now).await?;
    let hush = |e: &AlertEventView| {
        let silence = silences
            .iter()
            .find(|(_, m)| m.matches(&e.subject, &e.agents))
            .map(|(s, _)| Hush::Silence(s.id));
        silence.or_else(|| {
            windows
                .iter()
                .find(|w| w.matcher.matches(&e.subject, &e.agents))
                .map(|w| Hush::Window(w.spec.name.clone()))
        })
    };

    let mut routed = Routed::default();
    let mut holding: HashMap<AlertKey, i64> = held.iter().map(|h| (key(h), h.id)).collect();
    // An alert with a step waiting keeps its later steps waiting too.
    let mut waiting: HashSet<AlertKey> = HashSet::new();
    for e in &pending {
        let k = key(e);
        if waiting.contains(&k) {
            continue;
        }
        let quiet = hush(e);
        let verdict = match rule_of(e) {
            _ if quiet.is_some() => Verdict::Free,
            Some(rule) if depends(rule, e) => {
                depends::judge(store, &family, check_parents.named(rule, e), e, now).await?
            }
            _ => Verdict::Free,
        };
        if verdict == Verdict::Wait {
            waiting.insert(k);
            continue;
        }
        routed.done.push(e.id);
        // A newer step of an alert lets go of its held one.
        let earlier = holding.remove(&k);
        routed.release.extend(earlier);
        if let Some(quiet) = quiet {
            quiet.mark(e.id, &mut routed);
            continue;
        }
        match verdict {
            Verdict::Suppressed(why) => {
                routed.suppressed.push((e.id, why));
                if e.to != AlertState::Ok {
                    routed.hold.push(e.id);
                }
            }
            // Nobody heard it fire: nobody needs to hear it resolve.
            Verdict::Free if earlier.is_some() && e.notices.contains(&Notice::Resolved) => {
                routed.suppressed.push((
                    e.id,
                    Suppression {
                        why: "the step it resolves was suppressed".to_owned(),
                        parents: Vec::new(),
                    },
                ))
            }
            _ => to(&router, e, rule_of(e), &mut routed),
        }
    }
    // Held steps no newer step replaced: sent once their parents settle.
    for h in held.iter().filter(|h| holding.get(&key(h)) == Some(&h.id)) {
        let free = match rule_of(h) {
            // The rule is gone, and its alerts with it.
            None => {
                routed.release.push(h.id);
                continue;
            }
            Some(rule) => {
                !depends(rule, h) || depends::settled(&family, check_parents.named(rule, h), h)
            }
        };
        if !free {
            continue;
        }
        routed.release.push(h.id);
        match hush(h) {
            Some(quiet) => quiet.mark(h.id, &mut routed),
            None => to(&router, h, rule_of(h), &mut routed),
        }
    }
    if routed == Routed::default() {
        return Ok(0);
    }
    store.enqueue(&routed, now).await?;
    Ok(routed.done.len())
}

/// What keeps a step from the channels.
enum Hush {
    Silence(Uuid),
    /// A maintenance window, by name.
    Window(String),
}

impl Hush {
    fn mark(self, step: i64, routed: &mut Routed) {
        match self {
            Hush::Silence(id) => routed.silenced.push((step, id)),
            Hush::Window(name) => routed.windowed.push((step, name)),
        }
    }
}

/// The maintenance windows open now (one that no longer compiles is
/// skipped, and said).
async fn open_windows(store: &Store, now: DateTime<Utc>) -> StoreResult<Vec<Window>> {
    Ok(store
        .windows()
        .await?
        .into_iter()
        .filter_map(|w| match Window::compile(w.spec) {
            Ok(window) => Some(window),
            Err(errors) => {
                tracing::error!(
                    ?errors,
                    "A stored maintenance window does not compile; it is skipped."
                );
                None
            }
        })
        .filter(|w| w.open_since(now).is_some())
        .collect())
}

/// Sends a step to its channels: at once, or parked for its group's
/// message on a channel whose route groups. A reminder goes only to the
/// channels that repeat at its interval.
fn to(router: &Router, e: &AlertEventView, rule: Option<&Rule>, routed: &mut Routed) {
    let rule_every = rule.and_then(|r| r.spec.repeat_interval);
    for target in router.targets(&e.subject, &e.agents) {
        if e.repeat_every.is_some() && target.repeat_every(rule_every) != e.repeat_every {
            continue;
        }
        match target.grouping {
            None => routed.deliveries.push((e.id, target.channel)),
            Some(grouping) => routed.parked.push(Parked {
                event_id: e.id,
                key: grouping.key(&e.subject),
                channel: target.channel,
                wait: grouping.wait,
                interval: grouping.interval,
            }),
        }
    }
}

/// The stored routing, compiled.
pub(super) async fn router(store: &Store) -> StoreResult<Router> {
    let (routing, _) = store.routing().await?;
    let names: BTreeSet<String> = store
        .channels()
        .await?
        .into_iter()
        .map(|c| c.spec.name)
        .collect();
    // Saved routing names only channels that exist, and a channel a route
    // names cannot be deleted; should both still disagree, the routes that
    // do compile are used.
    Ok(Router::compile(&routing, &names).unwrap_or_else(|errors| {
        tracing::error!(
            ?errors,
            "The stored routing does not compile; alerts go nowhere."
        );
        Router::default()
    }))
}

/// Silences that are on now: a step is held when it would be sent (the
/// notifier routes within a poll of the step being judged; the run itself
/// may be older, sent late by an agent that was cut off).
async fn silences(store: &Store, now: DateTime<Utc>) -> StoreResult<Vec<(SilenceView, Matcher)>> {
    Ok(store
        .silences(Some(now))
        .await?
        .into_iter()
        .filter(|s| s.starts_at <= now)
        .map(|s| {
            let matcher = Matcher::compile(&s.matches, "match", &mut Vec::new());
            (s, matcher)
        })
        .collect())
}
