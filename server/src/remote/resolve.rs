//! Which package version a check runs: the newest published version that
//! matches its requirement, is not yanked, is signed by a trusted key,
//! accepts its configuration, and requests nothing the operator has not
//! reviewed. A newer version that requests more waits as a pending upgrade.

use std::collections::BTreeSet;

use semver::VersionReq;
use vantage_protocol::config::{CheckSpec, PendingUpgrade};
use vantage_protocol::keys::KeyId;
use vantage_protocol::manifest::Capability;

use crate::store::PackageRow;

/// How a check resolves now.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub resolved: Option<PackageRow>,
    /// Why no version qualifies, when none does.
    pub unresolved: Option<String>,
    pub pending_upgrade: Option<PendingUpgrade>,
}

impl Resolution {
    pub(crate) fn none(why: String) -> Resolution {
        Resolution {
            resolved: None,
            unresolved: Some(why),
            pending_upgrade: None,
        }
    }
}

/// The versions of `plugin`, newest first.
pub fn versions_of<'a>(packages: &'a [PackageRow], plugin: &str) -> Vec<&'a PackageRow> {
    let mut versions: Vec<&PackageRow> = packages.iter().filter(|p| p.name() == plugin).collect();
    versions.sort_by(|a, b| b.version().cmp(a.version()));
    versions
}

fn list(versions: &[&PackageRow]) -> String {
    versions
        .iter()
        .map(|p| p.version().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The newest version matching `req` that is not yanked and whose signer
/// is trusted: what saving a check reviews. The error says what exists.
pub fn newest_trusted<'a>(
    versions: &[&'a PackageRow],
    req: &VersionReq,
    trusted: &BTreeSet<KeyId>,
) -> Result<&'a PackageRow, String> {
    let matching: Vec<&PackageRow> = versions
        .iter()
        .copied()
        .filter(|p| req.matches(p.version()))
        .collect();
    if matching.is_empty() {
        return Err(format!(
            "no published version matches `{req}` (published: {})",
            if versions.is_empty() {
                "none".into()
            } else {
                list(versions)
            }
        ));
    }
    let live: Vec<&PackageRow> = matching
        .iter()
        .copied()
        .filter(|p| p.yanked_at.is_none())
        .collect();
    if live.is_empty() {
        return Err(format!(
            "every version matching `{req}` is yanked ({})",
            list(&matching)
        ));
    }
    live.iter()
        .copied()
        .find(|p| trusted.contains(&p.signer))
        .ok_or_else(|| {
            format!(
                "no version matching `{req}` is signed by a key the registry trusts now ({})",
                list(&live)
            )
        })
}

/// Resolves `spec` against the published `packages` (any plugins, any order).
pub fn resolve(
    spec: &CheckSpec,
    reviewed: &BTreeSet<Capability>,
    packages: &[PackageRow],
    trusted: &BTreeSet<KeyId>,
) -> Resolution {
    let req = match VersionReq::parse(&spec.version) {
        Ok(req) => req,
        Err(e) => {
            return Resolution::none(format!(
                "`{}` is not a semver requirement: {e}",
                spec.version
            ));
        }
    };
    let versions = versions_of(packages, &spec.plugin);
    if versions.is_empty() {
        return Resolution::none(format!("no version of `{}` is published", spec.plugin));
    }
    let newest = match newest_trusted(&versions, &req, trusted) {
        Ok(p) => p,
        Err(why) => return Resolution::none(why),
    };
    let candidates: Vec<&PackageRow> = versions
        .iter()
        .copied()
        .filter(|p| {
            req.matches(p.version())
                && p.yanked_at.is_none()
                && trusted.contains(&p.signer)
                && p.manifest.validate_config(&spec.config).is_ok()
        })
        .collect();
    let Some(first) = candidates.first() else {
        let problems = newest
            .manifest
            .validate_config(&spec.config)
            .err()
            .unwrap_or_default();
        return Resolution::none(format!(
            "the check's config is not valid for any matching version ({}: {})",
            newest.version(),
            problems.join("; ")
        ));
    };
    let resolved = candidates
        .iter()
        .find(|p| p.manifest.capabilities.is_subset(reviewed))
        .map(|p| (*p).clone());
    let pending_upgrade =
        (!first.manifest.capabilities.is_subset(reviewed)).then(|| PendingUpgrade {
            version: first.version().clone(),
            new_capabilities: first
                .manifest
                .capabilities
                .difference(reviewed)
                .copied()
                .collect(),
        });
    let unresolved = resolved.is_none().then(|| {
        "every matching version requests capabilities not yet reviewed: save the check again to approve them".to_owned()
    });
    Resolution {
        resolved,
        unresolved,
        pending_upgrade,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use vantage_protocol::manifest::Manifest;

    use super::*;

    fn package(version: &str, caps: &[&str], signer: &str) -> PackageRow {
        let manifest = Manifest::from_json(
            serde_json::json!({
                "name": "tcp", "version": version, "description": "connects",
                "capabilities": caps,
                "config_schema": {"type": "object", "properties": {"port": {"type": "integer"}}},
                "metrics": []
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        PackageRow {
            manifest,
            digest: format!("digest-{version}"),
            sha256: format!("sha-{version}"),
            size: 1,
            signer: KeyId(signer.into()),
            published_at: Utc::now(),
            published_by: uuid::Uuid::nil(),
            yanked_at: None,
        }
    }

    fn spec(version: &str, config: serde_json::Value) -> CheckSpec {
        serde_json::from_value(serde_json::json!({
            "name": "c", "plugin": "tcp", "version": version, "targets": ["x:1"],
            "interval": "10s", "grants": ["tcp"], "config": config
        }))
        .unwrap()
    }

    fn caps(names: &[&str]) -> BTreeSet<Capability> {
        names.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn the_newest_reviewed_version_runs_and_a_greedier_one_waits() {
        let trusted = [KeyId("k".into())].into();
        let packages = vec![
            package("1.0.0", &["tcp"], "k"),
            package("1.2.0", &["tcp", "dns"], "k"),
            package("1.1.0", &["tcp"], "k"),
            package("2.0.0", &["tcp"], "k"),
            package("1.3.0", &["tcp"], "stranger"),
        ];
        let r = resolve(
            &spec("^1", serde_json::json!({})),
            &caps(&["tcp"]),
            &packages,
            &trusted,
        );
        assert_eq!(r.resolved.unwrap().version().to_string(), "1.1.0");
        let pending = r.pending_upgrade.unwrap();
        assert_eq!(
            (pending.version.to_string(), pending.new_capabilities),
            ("1.2.0".into(), caps(&["dns"]))
        );

        let r = resolve(
            &spec("^1", serde_json::json!({})),
            &caps(&["tcp", "dns"]),
            &packages,
            &trusted,
        );
        assert_eq!(r.resolved.unwrap().version().to_string(), "1.2.0");
        assert_eq!(r.pending_upgrade, None);

        // A config the schema refuses, a yanked set, an unmatched requirement.
        let r = resolve(
            &spec("^1", serde_json::json!({"port": "x"})),
            &caps(&["tcp"]),
            &packages,
            &trusted,
        );
        assert!(r.unresolved.unwrap().contains("config.port"));
        let mut yanked = packages.clone();
        for p in &mut yanked {
            p.yanked_at = Some(Utc::now());
        }
        let r = resolve(
            &spec("^1", serde_json::json!({})),
            &caps(&["tcp"]),
            &yanked,
            &trusted,
        );
        assert!(r.unresolved.unwrap().contains("yanked"));
        let r = resolve(
            &spec("^3", serde_json::json!({})),
            &caps(&["tcp"]),
            &packages,
            &trusted,
        );
        assert!(
            r.unresolved
                .unwrap()
                .contains("published: 2.0.0, 1.3.0, 1.2.0")
        );
    }
}
