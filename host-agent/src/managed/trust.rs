//! Which keys sign for this agent: the local `[trust]` keys and the roots
//! pinned at enrollment, the publisher keys those endorsed, minus every
//! revocation.

use std::collections::BTreeSet;

use vantage_protocol::config::DesiredState;
use vantage_protocol::keys::{KeyId, KeyRole, PublicKey};
use vantage_protocol::package::TrustStore;

use super::{Remote, revoked};
use crate::enroll::public_key;

impl Remote {
    /// The keys this agent trusts for `state` (see [`agent_trust`]), after
    /// adding what `state` and the held registry statement revoke to the
    /// agent's sticky revocations.
    pub(super) fn trust(&mut self, state: &DesiredState) -> TrustStore {
        let revoking = revoked::in_state(state).chain(self.statement.revoked());
        match revoked::record(&self.data_dir, &mut self.revoked, revoking) {
            Ok(added) if !added.is_empty() => {
                let ids: Vec<&str> = added.iter().map(|k| k.0.as_str()).collect();
                tracing::warn!(keys = ids.join(", "), "Keys revoked: recorded for good.");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "Storing revocations failed; they hold until the agent stops.")
            }
        }
        agent_trust(&self.local_trust, &self.roots, &self.revoked, state)
    }
}

/// The keys an agent trusts for `state`: its local `[trust]` keys and its
/// pinned roots, plus each publisher key that one of *those* endorsed for
/// plugins; minus
/// every revocation: local, `revoked` (the agent's sticky record) or in
/// `state`. A revoked root endorses nothing. A root the server names is
/// trusted only if it is pinned or local.
pub fn agent_trust(
    local: &TrustStore,
    pinned: &[PublicKey],
    revoked: &BTreeSet<KeyId>,
    state: &DesiredState,
) -> TrustStore {
    let mut trust = local.clone();
    let mut roots: Vec<PublicKey> = trust.keys().cloned().collect();
    roots.extend(pinned.iter().cloned());
    let mut revocations: BTreeSet<KeyId> = revoked.clone();
    revocations.extend(revoked::in_state(state).cloned());
    roots.retain(|r| !revocations.contains(&r.id()) && !local.is_revoked(&r.id()));
    for root in &roots {
        trust.add(root.clone());
    }
    for key in state.keys.iter().filter(|k| !k.root) {
        let (Some(endorsement), Ok(public)) = (&key.endorsement, public_key(key)) else {
            continue;
        };
        if endorsement.role != KeyRole::Plugins {
            // A release key signs agent builds, never a plugin.
            continue;
        }
        if roots.iter().any(|root| endorsement.verify(&public, root)) {
            trust.add(public);
        } else {
            tracing::debug!(key = %key.key_id, "A publisher key no trusted root endorsed is not trusted.");
        }
    }
    for id in revocations {
        trust.revoke(id);
    }
    trust
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use vantage_protocol::config::PublisherKey;
    use vantage_protocol::keys::SigningKeyPair;
    use vantage_protocol::manifest::Manifest;
    use vantage_protocol::package::Package;

    use super::*;

    fn registry_key(pair: &SigningKeyPair, root: Option<&SigningKeyPair>) -> PublisherKey {
        PublisherKey {
            key_id: pair.public().id(),
            name: pair.name.clone(),
            public_key: pair.public().to_base64(),
            root: root.is_none(),
            endorsement: root.map(|r| r.endorse(&pair.public())),
            created_at: Utc::now(),
            revoked_at: None,
        }
    }

    fn signed_by(pair: &SigningKeyPair) -> Package {
        let manifest = Manifest::from_json(
            br#"{"name": "t", "version": "1.0.0", "description": "t", "capabilities": [],
                 "config_schema": {"type": "object"}, "metrics": []}"#,
        )
        .unwrap();
        let mut package = Package::new(manifest, b"\0asm\x0d\0\x01\0".to_vec()).unwrap();
        package.sign(pair);
        package
    }

    fn state(keys: Vec<PublisherKey>, revoked: Vec<vantage_protocol::keys::KeyId>) -> DesiredState {
        DesiredState {
            version: "v".into(),
            checks: Vec::new(),
            keys,
            revoked_keys: revoked,
            statement: None,
            update: None,
        }
    }

    fn none() -> BTreeSet<KeyId> {
        BTreeSet::new()
    }

    #[test]
    fn a_revoked_root_endorses_nothing_and_a_recorded_revocation_holds() {
        let pinned = SigningKeyPair::from_seed("pinned", [1; 32]);
        let team = SigningKeyPair::from_seed("team", [2; 32]);
        let endorsed = state(vec![registry_key(&team, Some(&pinned))], Vec::new());
        let trust = agent_trust(&TrustStore::new(), &[pinned.public()], &none(), &endorsed);
        assert!(trust.verify(&signed_by(&team)).is_ok());
        // The root revoked (in the agent's record, not in this state): the
        // key it endorsed is not trusted either.
        let recorded = BTreeSet::from([pinned.public().id()]);
        let trust = agent_trust(&TrustStore::new(), &[pinned.public()], &recorded, &endorsed);
        assert!(trust.verify(&signed_by(&team)).is_err());
        assert!(trust.verify(&signed_by(&pinned)).is_err());
        // The publisher revoked in the record, absent from the state.
        let recorded = BTreeSet::from([team.public().id()]);
        let trust = agent_trust(&TrustStore::new(), &[pinned.public()], &recorded, &endorsed);
        assert!(trust.verify(&signed_by(&team)).is_err());
        assert!(!trust.trusts(&team.public().id()));
        assert!(trust.trusts(&pinned.public().id()));
    }

    #[test]
    fn only_keys_a_pinned_root_endorsed_are_trusted() {
        let pinned = SigningKeyPair::from_seed("pinned", [1; 32]);
        let team = SigningKeyPair::from_seed("team", [2; 32]);
        let rogue_root = SigningKeyPair::from_seed("rogue", [3; 32]);
        let rogue = SigningKeyPair::from_seed("rogue-team", [4; 32]);
        let s = state(
            vec![
                registry_key(&pinned, None),
                registry_key(&team, Some(&pinned)),
                // The server names a root of its own and a key it endorsed.
                registry_key(&rogue_root, None),
                registry_key(&rogue, Some(&rogue_root)),
            ],
            Vec::new(),
        );
        let trust = agent_trust(&TrustStore::new(), &[pinned.public()], &none(), &s);
        assert!(trust.verify(&signed_by(&pinned)).is_ok());
        assert!(trust.verify(&signed_by(&team)).is_ok());
        assert!(trust.verify(&signed_by(&rogue_root)).is_err());
        assert!(trust.verify(&signed_by(&rogue)).is_err());

        // A key the pinned root endorsed for agent releases signs no plugin.
        let mut release_key = registry_key(&rogue, None);
        release_key.root = false;
        release_key.endorsement = Some(pinned.endorse_for(&rogue.public(), KeyRole::Releases));
        let trust = agent_trust(
            &TrustStore::new(),
            &[pinned.public()],
            &none(),
            &state(vec![release_key], Vec::new()),
        );
        assert!(trust.verify(&signed_by(&rogue)).is_err());

        // A forged endorsement (the key renamed after signing) is ignored.
        let mut forged = registry_key(&rogue, Some(&pinned));
        forged.name = "someone-else".into();
        let trust = agent_trust(
            &TrustStore::new(),
            &[pinned.public()],
            &none(),
            &state(vec![forged], Vec::new()),
        );
        assert!(trust.verify(&signed_by(&rogue)).is_err());

        // Revocations from the server always narrow trust, roots included.
        let s = state(
            vec![registry_key(&team, Some(&pinned))],
            vec![team.public().id()],
        );
        let trust = agent_trust(&TrustStore::new(), &[pinned.public()], &none(), &s);
        assert!(trust.verify(&signed_by(&team)).is_err());
        let s = state(Vec::new(), vec![pinned.public().id()]);
        let trust = agent_trust(&TrustStore::new(), &[pinned.public()], &none(), &s);
        assert!(trust.verify(&signed_by(&pinned)).is_err());

        // Local [trust] keys are roots too.
        let mut local = TrustStore::new();
        local.add(rogue_root.public());
        let s = state(vec![registry_key(&rogue, Some(&rogue_root))], Vec::new());
        assert!(
            agent_trust(&local, &[], &none(), &s)
                .verify(&signed_by(&rogue))
                .is_ok()
        );
    }
}
