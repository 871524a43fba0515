//! Checks and placements are checked whole before anything is stored; a
//! refusal names every bad field.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use semver::VersionReq;
use vantage_protocol::config::{AgentPlacement, AgentSelector, CheckSpec};
use vantage_protocol::ingest::FieldError;
use vantage_protocol::keys::KeyId;
use vantage_protocol::manifest::Capability;

use super::desired::effective_timeout;
use super::resolve::{newest_trusted, versions_of};
use crate::store::PackageRow;

const MIN_INTERVAL: Duration = Duration::from_millis(100);
const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
const MAX_TARGET: usize = 512;
const MAX_TARGETS: usize = 1000;

/// Letters, digits, `-`, `_` and `.`; 1–64 characters: names of checks,
/// groups and label keys.
pub fn is_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError {
            index: None,
            field: field.into(),
            reason: reason.into(),
        });
    }

    fn done<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

const NAME_RULE: &str = "must be 1–64 letters, digits, `-`, `_` or `.`";

fn names<'a>(errors: &mut Errors, field: &str, names: impl Iterator<Item = &'a String>) {
    for (i, name) in names.enumerate() {
        if !is_name(name) {
            errors.push(format!("{field}[{i}]"), format!("`{name}` {NAME_RULE}"));
        }
    }
}

fn labels(errors: &mut Errors, field: &str, labels: &BTreeMap<String, String>) {
    for (key, value) in labels {
        if !is_name(key) {
            errors.push(format!("{field}.{key}"), format!("the key {NAME_RULE}"));
        } else if value.len() > 256 || value.chars().any(char::is_control) {
            errors.push(
                format!("{field}.{key}"),
                "the value must be at most 256 printable bytes",
            );
        }
    }
}

/// Checks a placement (`PATCH /api/v1/agents/{id}`).
pub fn placement(p: &AgentPlacement) -> Result<(), Vec<FieldError>> {
    let mut errors = Errors::default();
    if let Some(groups) = &p.groups {
        names(&mut errors, "groups", groups.iter());
    }
    if let Some(l) = &p.labels {
        labels(&mut errors, "labels", l);
    }
    errors.done(())
}

fn selector(errors: &mut Errors, s: &AgentSelector) {
    names(errors, "agents.groups", s.groups.iter());
    labels(errors, "agents.labels", &s.labels);
}

/// The checks that need no registry.
fn shape(spec: &CheckSpec, path_name: &str, errors: &mut Errors) {
    if !is_name(&spec.name) {
        errors.push("name", NAME_RULE);
    } else if spec.name != path_name {
        errors.push(
            "name",
            format!(
                "`{}` differs from the name in the path, `{path_name}`",
                spec.name
            ),
        );
    }
    match (&spec.mesh, spec.targets.is_empty()) {
        (Some(_), false) | (None, true) => {
            errors.push("targets", "give exactly one of `targets` and `mesh`")
        }
        _ => {}
    }
    if spec.targets.len() > MAX_TARGETS {
        errors.push("targets", format!("at most {MAX_TARGETS}"));
    }
    for (i, t) in spec.targets.iter().enumerate() {
        if t.trim().is_empty() || t.len() > MAX_TARGET || t.chars().any(char::is_control) {
            errors.push(
                format!("targets[{i}]"),
                format!("must be 1–{MAX_TARGET} printable bytes"),
            );
        }
    }
    if let Some(mesh) = &spec.mesh {
        if !is_name(&mesh.group) {
            errors.push("mesh.group", NAME_RULE);
        }
        if mesh.max_peers == 0 {
            errors.push("mesh.max_peers", "must be at least 1");
        }
        if spec.agents != AgentSelector::default() {
            errors.push(
                "agents",
                "a mesh check runs on its group's members: leave `agents` empty",
            );
        }
    }
    if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&spec.interval) {
        errors.push("interval", "must be between 100ms and 24h");
    }
    let timeout = effective_timeout(spec.interval, spec.timeout);
    if timeout.is_zero() || timeout > spec.interval {
        errors.push("timeout", "must be more than 0 and at most the interval");
    }
    for (i, entry) in spec.allow.iter().enumerate() {
        if let Err(reason) = vantage_protocol::allow::Allow::parse(entry) {
            errors.push(format!("allow[{i}]"), reason);
        }
    }
    if spec.depends_on.len() > MAX_PARENTS {
        errors.push("depends_on", format!("at most {MAX_PARENTS} parents"));
    }
    for (i, parent) in spec.depends_on.iter().enumerate() {
        if let Err(e) = globset::Glob::new(parent) {
            errors.push(format!("depends_on[{i}]"), format!("is not a glob: {e}"));
        } else if parent.is_empty() || parent.len() > 128 {
            errors.push(format!("depends_on[{i}]"), "must be 1–128 bytes");
        } else if parent == &spec.name {
            errors.push(
                format!("depends_on[{i}]"),
                "a check cannot depend on itself",
            );
        }
    }
    selector(errors, &spec.agents);
}

/// The most parent checks a check names.
const MAX_PARENTS: usize = 20;

/// What a valid check was checked against.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// The capabilities the resolved version requests: what saving approves.
    pub reviewed: BTreeSet<Capability>,
    /// The resolved version's configuration schema (its secrets).
    pub schema: serde_json::Value,
}

/// Checks a check about to be saved under `path_name` against the registry
/// (`packages`, `trusted` keys). Returns the capabilities saving it reviews
/// (those the newest qualifying version requests) and that version's
/// configuration schema.
pub fn check(
    spec: &CheckSpec,
    path_name: &str,
    packages: &[PackageRow],
    trusted: &BTreeSet<KeyId>,
) -> Result<Checked, Vec<FieldError>> {
    let mut errors = Errors::default();
    shape(spec, path_name, &mut errors);
    let req = match VersionReq::parse(&spec.version) {
        Ok(req) => Some(req),
        Err(e) => {
            errors.push(
                "version",
                format!("`{}` is not a semver requirement: {e}", spec.version),
            );
            None
        }
    };
    let versions = versions_of(packages, &spec.plugin);
    if versions.is_empty() {
        errors.push(
            "plugin",
            format!(
                "unknown plugin `{}`: publish it to the registry first",
                spec.plugin
            ),
        );
    }
    let candidate = match req {
        Some(req) if !versions.is_empty() => newest_trusted(&versions, &req, trusted),
        _ => return errors.done(Checked::default()),
    };
    let candidate = match candidate {
        Ok(candidate) => candidate,
        Err(why) => {
            errors.push("version", why);
            return errors.done(Checked::default());
        }
    };
    let requested = &candidate.manifest.capabilities;
    let extra: Vec<&str> = spec
        .grants
        .difference(requested)
        .map(|c| c.as_str())
        .collect();
    if !extra.is_empty() {
        errors.push(
            "grants",
            format!(
                "{} does not request {}: grant only what it requests",
                candidate.manifest.id(),
                extra.join(", ")
            ),
        );
    }
    if let Err(problems) = candidate.manifest.validate_config(&spec.config) {
        for problem in problems {
            errors.push(
                "config",
                format!("{} (schema of {})", problem, candidate.manifest.id()),
            );
        }
    }
    errors.done(Checked {
        reviewed: requested.clone(),
        schema: candidate.manifest.config_schema.clone(),
    })
}
