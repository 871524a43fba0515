//! A channel's `template`: the line people read, with `{name}` filled in
//! from the notification (`TEMPLATE_FIELDS`) and `{{`, `}}` for braces.
//! Checked whole when the channel is saved, so rendering cannot fail.

use vantage_protocol::config::{Notification, TEMPLATE_FIELDS};

/// The longest template, in bytes.
const MAX_BYTES: usize = 2048;

/// One piece of a template.
enum Piece<'a> {
    Text(&'a str),
    Field(&'a str),
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push(Piece::Text(&rest[..i]));
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push(Piece::Text("{"));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push(Piece::Text("}"));
            rest = after;
        } else if let Some(after) = tail.strip_prefix('{') {
            let end = after.find('}').ok_or_else(|| {
                "has a `{` that is not closed (write `{{` for a brace)".to_owned()
            })?;
            let name = &after[..end];
            if !TEMPLATE_FIELDS.contains(&name) {
                return Err(format!(
                    "`{{{name}}}` is not one of {}",
                    TEMPLATE_FIELDS.map(|f| format!("{{{f}}}")).join(", ")
                ));
            }
            out.push(Piece::Field(name));
            rest = &after[end + 1..];
        } else {
            return Err("has a `}` that closes nothing (write `}}` for a brace)".into());
        }
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Why a template cannot be used, if it cannot.
pub fn check(template: &str) -> Result<(), String> {
    if template.trim().is_empty() || template.len() > MAX_BYTES {
        return Err(format!("must be 1–{MAX_BYTES} bytes"));
    }
    pieces(template).map(drop)
}

/// The template filled in; the summary when it does not check (a stored
/// one always does).
pub fn render(template: &str, n: &Notification) -> String {
    let Ok(pieces) = pieces(template) else {
        return n.summary.clone();
    };
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Field(name) => out.push_str(&field(name, n)),
        }
    }
    out
}

fn field(name: &str, n: &Notification) -> String {
    match name {
        "rule" => n.rule.clone(),
        "state" => n.state.as_str().to_owned(),
        "from" => n.from.as_str().to_owned(),
        "check" => n.check.clone(),
        "target" => n.target.clone(),
        "agents" => n.agents.join(", "),
        "value" => n.value.map_or_else(|| "–".to_owned(), |v| v.to_string()),
        "at" => n.at.to_rfc3339(),
        "summary" => n.summary.clone(),
        "url" => n.url.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification() -> Notification {
        serde_json::from_value(serde_json::json!({
            "version": 1, "event_id": 7, "notices": ["firing"], "summary": "FIRING down: …",
            "rule": "down", "agent": "edge-1", "agent_id": null, "agents": ["edge-1", "edge-2"],
            "check": "ping-core", "target": "10.0.0.1", "plugin": "ping", "from": "pending",
            "state": "firing", "at": "2026-12-05T10:21:00Z", "value": 0.5, "causes": [],
            "url": "https://vantage.example.net/alerts?rule=down"
        }))
        .unwrap()
    }

    #[test]
    fn fields_are_filled_in_and_doubled_braces_are_braces() {
        let n = notification();
        assert_eq!(
            render(
                "{state}: {check} → {target} on {agents} ({value}) {{ok}} {url}",
                &n
            ),
            "firing: ping-core → 10.0.0.1 on edge-1, edge-2 (0.5) {ok} https://vantage.example.net/alerts?rule=down"
        );
        assert_eq!(render("{summary}", &n), "FIRING down: …");
        assert_eq!(render("plain", &n), "plain");
    }

    #[test]
    fn a_bad_template_says_what_is_wrong() {
        assert!(
            check("{state} {bogus}")
                .unwrap_err()
                .contains("`{bogus}` is not one of {rule}")
        );
        assert!(check("{state").unwrap_err().contains("not closed"));
        assert!(check("state}").unwrap_err().contains("closes nothing"));
        assert!(check("  ").is_err());
        assert!(check(&"x".repeat(3000)).is_err());
        assert!(check("{{literal}} {rule}").is_ok());
        // A stored template always checks; if not, the summary stands.
        assert_eq!(render("{bogus}", &notification()), "FIRING down: …");
    }
}
