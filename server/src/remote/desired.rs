//! What one agent should run: a pure function of the agent, every agent
//! (for the mesh), the checks with their resolutions, and the keys.

use std::collections::BTreeSet;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use vantage_protocol::config::{
    AgentSelector, DesiredCheck, DesiredState, DesiredTarget, MeshSpec, PublisherKey, UpdateOffer,
};
use vantage_protocol::keys::KeyId;
use vantage_protocol::statement::RegistryStatement;

use super::resolve::Resolution;
use super::trust;
use crate::store::{AgentRow, CheckRow};

/// A check's timeout when its spec names none: the interval, at most 10 s.
pub fn effective_timeout(interval: Duration, timeout: Option<Duration>) -> Duration {
    timeout.unwrap_or(interval.min(Duration::from_secs(10)))
}

/// A check with how it resolves now.
#[derive(Debug, Clone)]
pub struct ResolvedCheck {
    pub row: CheckRow,
    pub resolution: Resolution,
}

/// Whether the selector picks the agent: in one of its groups (when any
/// are named) and carrying every one of its labels.
pub fn selects(selector: &AgentSelector, agent: &AgentRow) -> bool {
    (selector.groups.is_empty() || selector.groups.iter().any(|g| agent.groups.contains(g)))
        && selector
            .labels
            .iter()
            .all(|(k, v)| agent.labels.get(k) == Some(v))
}

/// The members of a group that are not revoked, by name.
pub fn members<'a>(agents: &'a [AgentRow], group: &str) -> Vec<&'a AgentRow> {
    let mut members: Vec<&AgentRow> = agents
        .iter()
        .filter(|a| a.revoked_at.is_none() && a.groups.iter().any(|g| g == group))
        .collect();
    members.sort_by(|a, b| a.name.cmp(&b.name));
    members
}

/// The peers `agent` probes in a mesh: every other member with an address,
/// at its first address; in a group larger than `max_peers`, a sample
/// that is stable for the agent (peers ordered by sha256(agent ‖ peer)).
fn mesh_targets(agent: &AgentRow, agents: &[AgentRow], mesh: &MeshSpec) -> Vec<DesiredTarget> {
    let mut peers: Vec<(&AgentRow, &String)> = members(agents, &mesh.group)
        .into_iter()
        .filter(|p| p.id != agent.id)
        .filter_map(|p| p.info.addresses.first().map(|a| (p, a)))
        .collect();
    if peers.len() > mesh.max_peers as usize {
        peers.sort_by_cached_key(|(p, _)| {
            Sha256::new()
                .chain_update(agent.id.as_bytes())
                .chain_update(p.id.as_bytes())
                .finalize()
        });
        peers.truncate(mesh.max_peers as usize);
    }
    let mut targets: Vec<DesiredTarget> = peers
        .into_iter()
        .map(|(p, address)| DesiredTarget {
            target: address.clone(),
            peer: Some(p.name.clone()),
        })
        .collect();
    targets.sort_by(|a, b| a.target.cmp(&b.target));
    targets
}

fn desired_check(
    agent: &AgentRow,
    agents: &[AgentRow],
    check: &ResolvedCheck,
) -> Option<DesiredCheck> {
    let pin = check.resolution.resolved.as_ref()?.pin();
    let spec = &check.row.spec;
    let targets = assigned_targets(agent, agents, check)?;
    Some(DesiredCheck {
        name: spec.name.clone(),
        plugin: pin,
        targets,
        interval_ms: spec.interval.as_millis() as u64,
        timeout_ms: effective_timeout(spec.interval, spec.timeout).as_millis() as u64,
        config: spec.config.clone(),
        grants: spec.grants.clone(),
        allow: spec.allow.clone(),
    })
}

/// The targets `check` gives `agent`, sorted; None when it gives none, or
/// when the check resolves to no plugin (the agent does not run it).
pub fn assigned_targets(
    agent: &AgentRow,
    agents: &[AgentRow],
    check: &ResolvedCheck,
) -> Option<Vec<DesiredTarget>> {
    check.resolution.resolved.as_ref()?;
    let spec = &check.row.spec;
    let targets = match &spec.mesh {
        Some(mesh) => {
            if agent.revoked_at.is_some() || !agent.groups.contains(&mesh.group) {
                return None;
            }
            mesh_targets(agent, agents, mesh)
        }
        None if selects(&spec.agents, agent) => {
            let mut targets: Vec<DesiredTarget> = spec
                .targets
                .iter()
                .map(|t| DesiredTarget {
                    target: t.clone(),
                    peer: None,
                })
                .collect();
            targets.sort_by(|a, b| a.target.cmp(&b.target));
            targets
        }
        None => return None,
    };
    (!targets.is_empty()).then_some(targets)
}

/// The desired state of `agent`. Its version is a digest of the rest, so
/// every replica computes the same one for the same inputs.
pub fn desired_state(
    agent: &AgentRow,
    agents: &[AgentRow],
    checks: &[ResolvedCheck],
    keys: &[PublisherKey],
    statement: Option<&RegistryStatement>,
    update: Option<&UpdateOffer>,
) -> DesiredState {
    let mut checks: Vec<DesiredCheck> = checks
        .iter()
        .filter_map(|c| desired_check(agent, agents, c))
        .collect();
    checks.sort_by(|a, b| a.name.cmp(&b.name));
    let mut trusted: Vec<PublisherKey> = trust::trusted(keys).into_iter().cloned().collect();
    trusted.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    let revoked_keys: Vec<KeyId> = keys
        .iter()
        .filter(|k| k.revoked_at.is_some())
        .map(|k| k.key_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let body = serde_json::to_vec(&(&checks, &trusted, &revoked_keys, statement, update))
        .expect("a desired state serialises");
    let version = hex::encode(&Sha256::digest(&body)[..16]);
    DesiredState {
        version,
        checks,
        keys: trusted,
        revoked_keys,
        statement: statement.cloned(),
        update: update.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;
    use uuid::Uuid;
    use vantage_protocol::config::CheckSpec;
    use vantage_protocol::ingest::AgentInfo;
    use vantage_protocol::keys::KeyId;
    use vantage_protocol::manifest::Manifest;

    use super::*;
    use crate::store::PackageRow;

    fn agent(
        name: &str,
        groups: &[&str],
        labels: &[(&str, &str)],
        address: Option<&str>,
    ) -> AgentRow {
        AgentRow {
            id: Uuid::now_v7(),
            name: name.into(),
            info: AgentInfo {
                hostname: name.into(),
                os: "linux".into(),
                arch: "x86_64".into(),
                version: "0.1.0".into(),
                addresses: address.map(|a| vec![a.to_owned()]).unwrap_or_default(),
            },
            enrolled_at: Utc::now(),
            last_seen_at: None,
            revoked_at: None,
            outbox: Default::default(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            config_status: None,
        }
    }

    fn check(spec: serde_json::Value) -> ResolvedCheck {
        let spec: CheckSpec = serde_json::from_value(spec).unwrap();
        let manifest = Manifest::from_json(
            br#"{"name":"tcp","version":"1.0.0","description":"d","capabilities":["tcp"],
                "config_schema":{"type":"object"},"metrics":[]}"#,
        )
        .unwrap();
        let package = PackageRow {
            manifest,
            digest: "d".into(),
            sha256: "s".into(),
            size: 1,
            signer: KeyId("k".into()),
            published_at: Utc::now(),
            published_by: Uuid::nil(),
            yanked_at: None,
        };
        ResolvedCheck {
            row: CheckRow {
                spec,
                reviewed: Default::default(),
                revision: 1,
                updated_at: Utc::now(),
            },
            resolution: Resolution {
                resolved: Some(package),
                unresolved: None,
                pending_upgrade: None,
            },
        }
    }

    fn names(state: &DesiredState) -> Vec<&str> {
        state.checks.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn selectors_pick_by_group_and_label() {
        let checks = vec![
            check(
                serde_json::json!({"name": "everywhere", "plugin": "tcp", "targets": ["b:1", "a:1"], "interval": "30s", "grants": []}),
            ),
            check(
                serde_json::json!({"name": "edge", "plugin": "tcp", "targets": ["e:1"], "interval": "30s", "grants": [],
                "agents": {"groups": ["edge", "core"], "labels": {"site": "fra"}}}),
            ),
        ];
        let fra = agent("fra", &["edge"], &[("site", "fra")], None);
        let ams = agent("ams", &["edge"], &[("site", "ams")], None);
        let all = [fra.clone(), ams.clone()];
        let state = desired_state(&fra, &all, &checks, &[], None, None);
        assert_eq!(names(&state), ["edge", "everywhere"]);
        let targets: Vec<&str> = state.checks[1]
            .targets
            .iter()
            .map(|t| t.target.as_str())
            .collect();
        assert_eq!(targets, ["a:1", "b:1"]);
        assert_eq!(state.checks[1].timeout_ms, 10_000);
        assert_eq!(
            names(&desired_state(&ams, &all, &checks, &[], None, None)),
            ["everywhere"]
        );
        // Equal inputs, equal versions; another check set, another version.
        assert_eq!(
            state.version,
            desired_state(&fra, &all, &checks, &[], None, None).version
        );
        assert_ne!(
            state.version,
            desired_state(&fra, &all, &checks[..1], &[], None, None).version
        );
    }

    #[test]
    fn mesh_peers_are_the_other_members_with_an_address_and_samples_are_stable() {
        let mesh = vec![check(
            serde_json::json!({"name": "mesh", "plugin": "tcp", "mesh": {"group": "m", "max_peers": 3},
            "interval": "1s", "grants": []}),
        )];
        let mut all: Vec<AgentRow> = (0..6)
            .map(|i| agent(&format!("a{i}"), &["m"], &[], Some(&format!("10.0.0.{i}"))))
            .collect();
        all.push(agent("silent", &["m"], &[], None));
        all.push(agent("outsider", &[], &[], Some("10.0.1.1")));
        let mut revoked = agent("gone", &["m"], &[], Some("10.0.2.1"));
        revoked.revoked_at = Some(Utc::now());
        all.push(revoked);

        let state = desired_state(&all[0], &all[..3], &mesh, &[], None, None);
        let targets: Vec<(&str, Option<&str>)> = state.checks[0]
            .targets
            .iter()
            .map(|t| (t.target.as_str(), t.peer.as_deref()))
            .collect();
        assert_eq!(
            targets,
            [("10.0.0.1", Some("a1")), ("10.0.0.2", Some("a2"))]
        );
        assert!(
            desired_state(&all[7], &all, &mesh, &[], None, None)
                .checks
                .is_empty(),
            "not a member"
        );

        // Five eligible peers, three probed: the same three every time.
        let sample = |a: &AgentRow| -> Vec<String> {
            desired_state(a, &all, &mesh, &[], None, None).checks[0]
                .targets
                .iter()
                .map(|t| t.peer.clone().unwrap())
                .collect()
        };
        let first = sample(&all[0]);
        assert_eq!(first.len(), 3);
        assert!(
            first.iter().all(|p| p.starts_with('a') && p != "a0"),
            "{first:?}"
        );
        assert_eq!(sample(&all[0]), first);
        let mut shuffled = all.clone();
        shuffled.reverse();
        assert_eq!(
            desired_state(&all[0], &shuffled, &mesh, &[], None, None).checks[0]
                .targets
                .len(),
            3
        );
        assert_eq!(
            desired_state(&all[0], &shuffled, &mesh, &[], None, None).version,
            desired_state(&all[0], &all, &mesh, &[], None, None).version
        );
    }
}
