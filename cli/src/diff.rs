//! What applying a file changes on the server: named specs (checks,
//! alert rules, channels) compared as JSON values, field by field.

use std::fmt;

use serde::Serialize;
use serde_json::Value;
use vantage_protocol::secrets::REDACTED;

/// A spec a file defines by name.
pub(crate) trait Named: Clone + Serialize {
    fn name(&self) -> &str;
    /// What a new one is, in a line.
    fn summary(&self) -> String;
}

/// The changes that make the server's specs of a kind those of a file.
#[derive(Debug)]
pub(crate) struct Plan<T> {
    /// In the file, not on the server (file order).
    pub(crate) new: Vec<T>,
    /// On both, different (file order), with what differs.
    pub(crate) changed: Vec<(T, Vec<FieldChange>)>,
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

/// The plan from the file's specs and the server's.
pub(crate) fn plan<T: Named>(file: &[T], server: &[T]) -> Plan<T> {
    let mut plan = Plan {
        new: Vec::new(),
        changed: Vec::new(),
        unchanged: Vec::new(),
        absent: Vec::new(),
    };
    for spec in file {
        match server.iter().find(|s| s.name() == spec.name()) {
            None => plan.new.push(spec.clone()),
            Some(current) => {
                let fields = fields(current, spec);
                if fields.is_empty() {
                    plan.unchanged.push(spec.name().to_owned());
                } else {
                    plan.changed.push((spec.clone(), fields));
                }
            }
        }
    }
    plan.absent = server
        .iter()
        .filter(|s| !file.iter().any(|f| f.name() == s.name()))
        .map(|s| s.name().to_owned())
        .collect();
    plan
}

/// The fields in which two values differ.
pub(crate) fn fields<T: Serialize>(old: &T, new: &T) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_values("", Some(&json(old)), Some(&json(new)), &mut out);
    out
}

fn json<T: Serialize>(spec: &T) -> Value {
    serde_json::to_value(spec).expect("a spec serialises")
}

/// Objects are compared key by key; anything else as a whole. A secret
/// the server shows as `[redacted]` is never equal to the file's (the file
/// may hold a new one), unless the file says `[redacted]` too (keep it).
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
        // The server shows a secret to no one: the file's value is sent,
        // and the server keeps its revision when the secret is the same.
        if self.old.as_ref().and_then(Value::as_str) == Some(REDACTED) {
            return write!(
                f,
                "{}: a secret, sent (the server keeps it if unchanged)",
                self.field
            );
        }
        write!(
            f,
            "{}: {} → {}",
            self.field,
            show(self.old.as_ref()),
            show(self.new.as_ref())
        )
    }
}

impl<T: Named> Plan<T> {
    /// Whether applying it would send anything (with `prune`: deletions too).
    pub(crate) fn is_noop(&self, prune: bool) -> bool {
        self.new.is_empty() && self.changed.is_empty() && (!prune || self.absent.is_empty())
    }

    /// The diff: `+`, `~` with each field, `-`, and a count of `=`;
    /// `kind` names what is counted (`check`, `rule`).
    pub(crate) fn render(&self, prune: bool, kind: &str) -> String {
        let mut out = String::new();
        for spec in &self.new {
            out.push_str(&format!("+ {}: {}\n", spec.name(), spec.summary()));
        }
        for (spec, fields) in &self.changed {
            out.push_str(&format!("~ {}\n", spec.name()));
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
        match self.unchanged.len() {
            0 => {}
            1 => out.push_str(&format!("= 1 {kind} unchanged\n")),
            n => out.push_str(&format!("= {n} {kind}s unchanged\n")),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_redacted_secret_is_sent_without_showing_either_value() {
        let server = json!({"config": {"headers": {"Authorization": REDACTED, "Accept": "a"}}});
        let file = json!({"config": {"headers": {"Authorization": "Bearer t", "Accept": "a"}}});
        let changes = fields(&server, &file);
        assert_eq!(changes.len(), 1);
        let shown = changes[0].to_string();
        assert_eq!(
            shown,
            "config.headers.Authorization: a secret, sent (the server keeps it if unchanged)"
        );
        assert!(!shown.contains("Bearer"));
        // Kept as `[redacted]` in the file: nothing to send.
        assert!(fields(&server, &server).is_empty());
    }
}
