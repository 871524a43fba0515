//! What applying a checks file changes on the server: specs compared as
//! JSON values, field by field.

use std::fmt;

use serde_json::Value;
use vantage_protocol::config::CheckSpec;

/// The changes that make the server's checks those of a file.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// In the file, not on the server (file order).
    pub(crate) new: Vec<CheckSpec>,
    /// On both, different (file order), with what differs.
    pub(crate) changed: Vec<(CheckSpec, Vec<FieldChange>)>,
    /// On both, the same.
    pub(crate) unchanged: Vec<String>,
    /// On the server, not in the file (server order).
    pub(crate) absent: Vec<String>,
}

/// One field that differs, by its dotted path (`config.expect_status`).
#[derive(Debug, PartialEq)]
pub(crate) struct FieldChange {
    pub(crate) field: String,
    pub(crate) old: Option<Value>,
    pub(crate) new: Option<Value>,
}

/// The plan from the file's checks and the server's.
pub(crate) fn plan(file: &[CheckSpec], server: &[CheckSpec]) -> Plan {
    let mut plan = Plan::default();
    for spec in file {
        match server.iter().find(|s| s.name == spec.name) {
            None => plan.new.push(spec.clone()),
            Some(current) => {
                let mut fields = Vec::new();
                diff_values("", Some(&json(current)), Some(&json(spec)), &mut fields);
                if fields.is_empty() {
                    plan.unchanged.push(spec.name.clone());
                } else {
                    plan.changed.push((spec.clone(), fields));
                }
            }
        }
    }
    plan.absent = server
        .iter()
        .filter(|s| !file.iter().any(|f| f.name == s.name))
        .map(|s| s.name.clone())
        .collect();
    plan
}

fn json(spec: &CheckSpec) -> Value {
    serde_json::to_value(spec).expect("a check spec serialises")
}

/// Objects are compared key by key; anything else as a whole.
fn diff_values(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Some(Value::Object(old)), Some(Value::Object(new))) => {
            let mut keys: Vec<&String> = new.keys().chain(old.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff_values(&path, old.get(key), new.get(key), out);
            }
        }
        (old, new) if old == new => {}
        (old, new) => out.push(FieldChange {
            field: path.to_owned(),
            old: old.cloned(),
            new: new.cloned(),
        }),
    }
}

/// A value as an operator wrote it: strings bare, the rest as JSON.
fn show(value: Option<&Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} → {}",
            self.field,
            show(self.old.as_ref()),
            show(self.new.as_ref())
        )
    }
}

/// `plugin@requirement, targets … | mesh …, grants …`: a new check in a line.
pub(crate) fn summary(spec: &CheckSpec) -> String {
    let probes = match &spec.mesh {
        Some(mesh) => format!("mesh {} (at most {} peers)", mesh.group, mesh.max_peers),
        None => format!("targets {}", spec.targets.join(", ")),
    };
    let grants: Vec<&str> = spec.grants.iter().map(|c| c.as_str()).collect();
    let grants = if grants.is_empty() {
        "none".to_owned()
    } else {
        grants.join(", ")
    };
    format!(
        "{}@{}, every {}, {probes}, grants {grants}",
        spec.plugin,
        spec.version,
        humantime::format_duration(spec.interval)
    )
}

impl Plan {
    /// Whether applying it would send anything (with `prune`: deletions too).
    pub(crate) fn is_noop(&self, prune: bool) -> bool {
        self.new.is_empty() && self.changed.is_empty() && (!prune || self.absent.is_empty())
    }

    /// The diff: `+`, `~` with each field, `-`, and a count of `=`.
    pub(crate) fn render(&self, prune: bool) -> String {
        let mut out = String::new();
        for spec in &self.new {
            out.push_str(&format!("+ {}: {}\n", spec.name, summary(spec)));
        }
        for (spec, fields) in &self.changed {
            out.push_str(&format!("~ {}\n", spec.name));
            for field in fields {
                out.push_str(&format!("    {field}\n"));
            }
        }
        for name in &self.absent {
            if prune {
                out.push_str(&format!("- {name}\n"));
            } else {
                out.push_str(&format!(
                    "- {name}: kept (not in file; --prune deletes it)\n"
                ));
            }
        }
        if !self.unchanged.is_empty() {
            out.push_str(&format!("= {} unchanged\n", self.unchanged.len()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::checks::file;

    fn checks(text: &str) -> Vec<CheckSpec> {
        file::parse(text, Path::new("checks.toml")).unwrap()
    }

    const SERVER: &str = r#"
[[check]]
name = "port"
plugin = "tcp"
version = "^0.1"
targets = ["db:5432"]
interval = "30s"
grants = ["tcp"]
[check.config]
expect = "ok"

[[check]]
name = "old"
plugin = "tcp"
targets = ["x:1"]
interval = "1m"
grants = []
"#;

    #[test]
    fn the_same_checks_are_unchanged_whatever_the_defaults_spelled() {
        let server = checks(SERVER);
        // `version = "*"` spelt out, `config = {}` given, fields reordered.
        let file = checks(
            r#"
[[check]]
interval = "60s"
name = "old"
version = "*"
grants = []
plugin = "tcp"
targets = ["x:1"]
config = {}
"#,
        );
        let plan = plan(&file, &server);
        assert_eq!(plan.unchanged, ["old"]);
        assert!(plan.new.is_empty() && plan.changed.is_empty());
        assert_eq!(plan.absent, ["port"]);
        assert!(plan.is_noop(false));
        assert!(!plan.is_noop(true));
        assert_eq!(
            super::plan(&server, &server).render(false),
            "= 2 unchanged\n"
        );
    }

    #[test]
    fn changes_name_each_field_and_new_checks_say_what_they_run() {
        let server = checks(SERVER);
        let file = checks(
            &SERVER
                .replace("interval = \"30s\"", "interval = \"10s\"\ntimeout = \"2s\"")
                .replace("expect = \"ok\"", "expect = \"ready\"\nread_max = 64")
                .replace(
                    "name = \"old\"",
                    "name = \"mesh\"\nmesh = { group = \"core\" }",
                )
                .replace("targets = [\"x:1\"]\n", ""),
        );
        let plan = plan(&file, &server);
        let (spec, fields) = &plan.changed[0];
        assert_eq!(spec.name, "port");
        let fields: Vec<String> = fields.iter().map(ToString::to_string).collect();
        assert_eq!(
            fields,
            [
                "config.expect: ok → ready",
                "config.read_max: (none) → 64",
                "interval: 30s → 10s",
                "timeout: (none) → 2s",
            ]
        );
        assert_eq!(
            plan.render(false),
            "+ mesh: tcp@*, every 1m, mesh core (at most 64 peers), grants none\n\
             ~ port\n    config.expect: ok → ready\n    config.read_max: (none) → 64\n    \
             interval: 30s → 10s\n    timeout: (none) → 2s\n\
             - old: kept (not in file; --prune deletes it)\n"
        );
        assert!(plan.render(true).contains("- old\n"));
        assert_eq!(
            summary(&checks(SERVER)[0]),
            "tcp@^0.1, every 30s, targets db:5432, grants tcp"
        );
    }
}
