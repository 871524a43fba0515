//! The alerts file: `[[rule]]`, `[[channel]]`, `[[route]]`, `[[window]]`
//! and `[[sla]]` tables, each as the server's API takes them.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use vantage_protocol::config::{ChannelSpec, Route, RuleSpec, SlaPeriod, SlaSpec, WindowSpec};

use crate::diff::Named;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertsFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) rule: Vec<RuleSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) channel: Vec<ChannelSpec>,
    /// The routing, in order; when absent the server's is left alone
    /// (`route = []` sends nothing anywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) route: Option<Vec<Route>>,
    /// Maintenance windows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) window: Vec<WindowSpec>,
    /// SLAs (docs/reports.md): they name the file's windows and channels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) sla: Vec<SlaSpec>,
}

/// The alerts file `path` held as `text`.
pub(crate) fn parse(text: &str, path: &Path) -> Result<AlertsFile> {
    let file: AlertsFile =
        toml::from_str(text).with_context(|| format!("reading alerts file {}", path.display()))?;
    twice(file.rule.iter().map(|r| r.name.as_str()), "rule", path)?;
    twice(
        file.channel.iter().map(|c| c.name.as_str()),
        "channel",
        path,
    )?;
    twice(file.sla.iter().map(|s| s.name.as_str()), "sla", path)?;
    Ok(file)
}

fn twice<'a>(names: impl Iterator<Item = &'a str>, what: &str, path: &Path) -> Result<()> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            bail!(
                "alerts file {} defines {what} `{name}` twice",
                path.display()
            );
        }
    }
    Ok(())
}

/// The file [`parse`] reads back as `file`.
pub(crate) fn to_toml(file: &AlertsFile) -> Result<String> {
    toml::to_string(file).context("writing the alerts as TOML")
}

impl Named for RuleSpec {
    fn name(&self) -> &str {
        &self.name
    }

    /// `status, check ping-*`: the condition's kind and what it selects.
    fn summary(&self) -> String {
        let condition = serde_json::to_value(&self.condition).unwrap_or_default();
        let kind = condition["kind"].as_str().unwrap_or("?").to_owned();
        let s = &self.select;
        let mut selects: Vec<String> = [
            ("check", &s.check),
            ("target", &s.target),
            ("plugin", &s.plugin),
        ]
        .into_iter()
        .filter_map(|(what, v)| v.as_ref().map(|v| format!("{what} {v}")))
        .collect();
        if !s.groups.is_empty() {
            selects.push(format!("groups {}", s.groups.join(", ")));
        }
        for (k, v) in &s.labels {
            selects.push(format!("label {k}={v}"));
        }
        if selects.is_empty() {
            selects.push("everything".into());
        }
        format!("{kind}, {}", selects.join(", "))
    }
}

impl Named for ChannelSpec {
    fn name(&self) -> &str {
        &self.name
    }

    /// `webhook https://…`: the kind and where it sends.
    fn summary(&self) -> String {
        let spec = serde_json::to_value(self).unwrap_or_default();
        let kind = spec["kind"].as_str().unwrap_or("?").to_owned();
        match (self.kind.urls().first(), &spec["host"], &spec["topic"]) {
            (Some((_, url)), _, _) => format!("{kind} {url}"),
            (None, serde_json::Value::String(host), _) => format!("{kind} via {host}"),
            _ => kind,
        }
    }
}

impl Named for WindowSpec {
    fn name(&self) -> &str {
        &self.name
    }

    /// `30 2 * * SUN in Europe/Paris, for 2h`.
    fn summary(&self) -> String {
        format!(
            "{} in {}, for {}",
            self.schedule,
            self.timezone,
            humantime::format_duration(self.duration)
        )
    }
}

impl Named for SlaSpec {
    fn name(&self) -> &str {
        &self.name
    }

    /// `99.95 % a month in Europe/Paris, check web-*`.
    fn summary(&self) -> String {
        let period = match self.period {
            SlaPeriod::Day => "day",
            SlaPeriod::Week => "week",
            SlaPeriod::Month => "month",
            SlaPeriod::Quarter => "quarter",
            SlaPeriod::Year => "year",
        };
        let s = &self.select;
        let selects: Vec<String> = [("check", &s.check), ("target", &s.target)]
            .into_iter()
            .filter_map(|(what, v)| v.as_ref().map(|v| format!("{what} {v}")))
            .collect();
        let selects = if selects.is_empty() {
            "everything".to_owned()
        } else {
            selects.join(", ")
        };
        format!(
            "{} % a {period} in {}, {selects}",
            self.objective, self.timezone
        )
    }
}

/// The channel without its secrets (as the server shows it), and whether
/// it had any.
pub(crate) fn public(spec: &ChannelSpec) -> (ChannelSpec, bool) {
    let mut public = spec.clone();
    let mut had = false;
    for (_, secret) in public.kind.secrets_mut() {
        had |= secret.take().is_some();
    }
    (public, had)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[rule]]
name = "core-down"
select = { check = "ping-*", groups = ["core"] }
condition = { kind = "status" }
failure_threshold = 3

[[rule]]
name = "offline"
condition = { kind = "agent_offline" }

[[channel]]
name = "ops"
kind = "webhook"
url = "https://hooks.example.net/vantage"
secret = "whsec-1"

[[channel]]
name = "mail"
kind = "email"
host = "smtp.example.net"
from = "vantage@example.net"
to = ["ops@example.net"]

[[route]]
match = { rule = "core-*" }
channels = ["ops"]
continue = true

[[route]]
channels = ["mail"]

[[window]]
name = "patching"
match = { check = "ping-*" }
schedule = "30 2 * * SUN"
duration = "2h"
timezone = "Europe/Paris"
comment = "weekly patching"
"#;

    #[test]
    fn rules_channels_and_routes_read_back_as_written() {
        let file = parse(FILE, Path::new("alerts.toml")).unwrap();
        assert_eq!(file.rule.len(), 2);
        assert_eq!(file.rule[0].failure_threshold, Some(3));
        assert_eq!(file.rule[0].summary(), "status, check ping-*, groups core");
        assert_eq!(file.rule[1].summary(), "agent_offline, everything");
        assert_eq!(
            file.channel[0].summary(),
            "webhook https://hooks.example.net/vantage"
        );
        assert_eq!(file.channel[1].summary(), "email via smtp.example.net");
        let routes = file.route.as_ref().unwrap();
        assert!(routes[0].go_on && !routes[1].go_on);
        let again = parse(&to_toml(&file).unwrap(), Path::new("x.toml")).unwrap();
        assert_eq!(again.rule, file.rule);
        assert_eq!(again.channel, file.channel);
        assert_eq!(again.route, file.route);
        assert_eq!(again.window, file.window);
        assert_eq!(
            file.window[0].summary(),
            "30 2 * * SUN in Europe/Paris, for 2h"
        );
        // No `[[route]]`: the server's routing is left alone.
        let rules_only = parse(
            "[[rule]]\nname = \"r\"\ncondition = { kind = \"status\" }",
            Path::new("x"),
        )
        .unwrap();
        assert!(rules_only.route.is_none());
    }

    #[test]
    fn secrets_are_told_apart_from_what_the_server_shows() {
        let file = parse(FILE, Path::new("alerts.toml")).unwrap();
        let (shown, had) = public(&file.channel[0]);
        assert!(had);
        assert!(!serde_json::to_string(&shown).unwrap().contains("whsec"));
        assert!(!public(&file.channel[1]).1);
    }

    #[test]
    fn bad_files_are_refused_naming_the_file_and_what_is_wrong() {
        let twice =
            format!("{FILE}\n[[rule]]\nname = \"offline\"\ncondition = {{ kind = \"status\" }}");
        let e = parse(&twice, Path::new("alerts.toml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "alerts file alerts.toml defines rule `offline` twice"
        );
        let e = parse("[[rules]]\nname = \"r\"", Path::new("alerts.toml")).unwrap_err();
        let text = crate::report(&e);
        assert!(
            text.contains("alerts file alerts.toml") && text.contains("rules"),
            "{text}"
        );
        let e = parse(
            "[[rule]]\nname = \"r\"\ncondition = { kind = \"sometimes\" }",
            Path::new("a.toml"),
        )
        .unwrap_err();
        assert!(crate::report(&e).contains("sometimes"));
    }
}
