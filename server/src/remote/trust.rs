//! Which publisher keys the registry trusts: the roots it holds and the
//! keys one of them endorsed, none of them revoked.

use std::collections::BTreeSet;

use vantage_protocol::config::PublisherKey;
use vantage_protocol::keys::{KeyId, KeyRole, PublicKey};
use vantage_protocol::package::TrustStore;

/// The keys the registry trusts to sign plugins now: roots not revoked,
/// and keys not revoked whose plugin endorsement verifies against such a
/// root. Keys in the order given.
pub fn trusted(keys: &[PublisherKey]) -> Vec<&PublisherKey> {
    trusted_for(keys, KeyRole::Plugins)
}

/// The keys the registry trusts for `role`: roots not revoked, and keys
/// not revoked that such a root endorsed for `role`.
pub fn trusted_for(keys: &[PublisherKey], role: KeyRole) -> Vec<&PublisherKey> {
    let roots: Vec<PublicKey> = keys
        .iter()
        .filter(|k| k.root && k.revoked_at.is_none())
        .filter_map(public_key)
        .collect();
    keys.iter()
        .filter(|k| k.revoked_at.is_none())
        .filter(|k| {
            k.root
                || match (&k.endorsement, public_key(k)) {
                    (Some(e), Some(key)) => {
                        e.role == role && roots.iter().any(|root| e.verify(&key, root))
                    }
                    _ => false,
                }
        })
        .collect()
}

/// The ids of [`trusted`] keys.
pub fn trusted_ids(keys: &[PublisherKey]) -> BTreeSet<KeyId> {
    trusted(keys)
        .into_iter()
        .map(|k| k.key_id.clone())
        .collect()
}

/// A store of the [`trusted`] keys that also knows every revoked id, so
/// that a package signed by a revoked key is refused as such.
pub fn trust_store(keys: &[PublisherKey]) -> TrustStore {
    let mut store = TrustStore::new();
    for key in trusted(keys).into_iter().filter_map(public_key) {
        store.add(key);
    }
    for key in keys.iter().filter(|k| k.revoked_at.is_some()) {
        store.revoke(key.key_id.clone());
    }
    store
}

/// Who may publish a new version of a plugin name: anyone trusted when the
/// name is new; else a key that signed one of its versions (`owners`) or a
/// root. A new key joins the owners by publishing a version a root (or an
/// owner) signed too. The refusal names the owners.
pub fn may_publish(
    package: &vantage_protocol::package::Package,
    keys: &[PublisherKey],
    owners: &BTreeSet<KeyId>,
) -> Result<(), String> {
    if owners.is_empty() {
        return Ok(());
    }
    let digest = package.digest();
    let trusted = trusted(keys);
    let signed_by_owner_or_root = package.signatures().iter().any(|sig| {
        trusted
            .iter()
            .filter(|k| k.key_id == sig.key_id && (k.root || owners.contains(&k.key_id)))
            .filter_map(|k| public_key(k))
            .any(|key| sig.verify(&digest, &key).is_ok())
    });
    if signed_by_owner_or_root {
        return Ok(());
    }
    let owners: Vec<&str> = owners.iter().map(|k| k.0.as_str()).collect();
    Err(format!(
        "`{}` belongs to the keys that published it ({}): a version by another key needs one of theirs or a root's signature too",
        package.manifest().name,
        owners.join(", ")
    ))
}

/// The key of a registry row (rows hold only keys that parsed when added).
pub fn public_key(row: &PublisherKey) -> Option<PublicKey> {
    PublicKey::from_base64(&row.name, &row.public_key).ok()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use vantage_protocol::keys::SigningKeyPair;

    use super::*;

    fn row(key: &SigningKeyPair, root: Option<&SigningKeyPair>) -> PublisherKey {
        let public = key.public();
        PublisherKey {
            key_id: public.id(),
            name: public.name.clone(),
            public_key: public.to_base64(),
            root: root.is_none(),
            endorsement: root.map(|r| r.endorse(&public)),
            created_at: Utc::now(),
            revoked_at: None,
        }
    }

    #[test]
    fn roots_and_the_keys_they_endorsed_are_trusted_until_revoked() {
        let root = SigningKeyPair::from_seed("root", [1; 32]);
        let team = SigningKeyPair::from_seed("team", [2; 32]);
        let stranger = SigningKeyPair::from_seed("stranger", [3; 32]);
        let mut forged = row(&stranger, Some(&root));
        forged.name = "renamed".into();
        let mut keys = vec![row(&root, None), row(&team, Some(&root)), forged];
        let ids = |keys: &[PublisherKey]| -> Vec<String> {
            trusted(keys).iter().map(|k| k.name.clone()).collect()
        };
        assert_eq!(ids(&keys), ["root", "team"]);
        // A key endorsed for releases signs no plugin, and the other way round.
        let ci = SigningKeyPair::from_seed("ci", [4; 32]);
        let mut release_key = row(&ci, None);
        release_key.root = false;
        release_key.endorsement = Some(root.endorse_for(&ci.public(), KeyRole::Releases));
        keys.push(release_key);
        assert_eq!(ids(&keys), ["root", "team"]);
        let names = |role| -> Vec<String> {
            trusted_for(&keys, role)
                .iter()
                .map(|k| k.name.clone())
                .collect()
        };
        assert_eq!(names(KeyRole::Releases), ["root", "ci"]);
        keys.pop();
        // Revoking the root takes its endorsements with it.
        keys[0].revoked_at = Some(Utc::now());
        assert!(ids(&keys).is_empty());
        keys[0].revoked_at = None;
        keys[1].revoked_at = Some(Utc::now());
        assert_eq!(ids(&keys), ["root"]);
    }
}
