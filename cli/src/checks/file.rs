//! The checks file: `[[check]]` tables, each a [`CheckSpec`].

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use vantage_protocol::config::CheckSpec;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksFile {
    #[serde(default)]
    check: Vec<CheckSpec>,
}

/// The checks of a checks file, `path` being where `text` came from.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Vec<CheckSpec>> {
    let file: ChecksFile =
        toml::from_str(text).with_context(|| format!("reading checks file {}", path.display()))?;
    let mut names = BTreeSet::new();
    for check in &file.check {
        if !names.insert(check.name.as_str()) {
            bail!(
                "checks file {} defines check `{}` twice",
                path.display(),
                check.name
            );
        }
        if has_datetime(&check.config) {
            bail!(
                "checks file {}: check `{}`: config holds a TOML date or time, which JSON has not: quote it",
                path.display(),
                check.name
            );
        }
    }
    Ok(file.check)
}

/// Whether TOML put one of its dates into the JSON value (as this marker).
fn has_datetime(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            map.contains_key("$__toml_private_datetime") || map.values().any(has_datetime)
        }
        serde_json::Value::Array(items) => items.iter().any(has_datetime),
        _ => false,
    }
}

/// A checks file holding `checks`, which [`parse`] reads back as they are.
pub(crate) fn to_toml(checks: &[CheckSpec]) -> Result<String> {
    let file = ChecksFile {
        check: checks.to_vec(),
    };
    let text = toml::to_string(&file).map_err(|e| {
        // TOML has no null: name the check whose configuration holds one.
        let culprit = checks.iter().find(|c| {
            toml::to_string(&ChecksFile {
                check: vec![(*c).clone()],
            })
            .is_err()
        });
        match culprit {
            Some(c) => anyhow::anyhow!("check `{}` cannot be written as TOML: {e}", c.name),
            None => anyhow::Error::new(e).context("writing the checks as TOML"),
        }
    })?;
    Ok(without_empty_defaults(&text))
}

/// Leaves out the headers `[check.config]` and `[check.agents]` where no
/// key follows them: an empty table is the default, and a sub-table such as
/// `[check.agents.labels]` makes its parent by itself.
fn without_empty_defaults(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let is_default = matches!(*line, "[check.config]" | "[check.agents]")
            && lines[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty())
                .is_none_or(|l| l.starts_with('['));
        // Also the blank line that separated it from what came before.
        if is_default || (line.is_empty() && out.ends_with("\n\n")) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned() + "\n"
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use vantage_protocol::config::MeshSpec;
    use vantage_protocol::manifest::Capability;

    use super::*;

    const FILE: &str = r#"
[[check]]
name = "shop"
plugin = "http"
version = "^0.1"
targets = ["https://shop.example.com/health"]
interval = "30s"
timeout = "5s"
grants = ["http"]
agents = { groups = ["edge"], labels = { site = "fra" } }
[check.config]
expect_status = [200]
headers = { accept = "text/plain" }

[[check]]
name = "backbone"
plugin = "ping"
mesh = { group = "core" }
interval = "10s"
grants = ["icmp"]
"#;

    fn parsed() -> Vec<CheckSpec> {
        parse(FILE, Path::new("checks.toml")).unwrap()
    }

    #[test]
    fn check_tables_become_specs_with_their_defaults() {
        let [shop, backbone] = parsed().try_into().unwrap();
        assert_eq!(shop.version, "^0.1");
        assert_eq!(shop.interval, Duration::from_secs(30));
        assert_eq!(shop.timeout, Some(Duration::from_secs(5)));
        assert_eq!(shop.grants, [Capability::Http].into());
        assert_eq!(shop.agents.groups, ["edge"]);
        assert_eq!(shop.agents.labels["site"], "fra");
        assert_eq!(
            shop.config,
            serde_json::json!({"expect_status": [200], "headers": {"accept": "text/plain"}})
        );

        assert_eq!(backbone.version, "*");
        assert_eq!(
            backbone.mesh,
            Some(MeshSpec {
                group: "core".into(),
                max_peers: 64
            })
        );
        assert_eq!(backbone.config, serde_json::json!({}));
        assert!(backbone.targets.is_empty() && backbone.timeout.is_none());
    }

    #[test]
    fn export_reads_back_as_the_same_checks() {
        let mut checks = parsed();
        let text = to_toml(&checks).unwrap();
        assert_eq!(parse(&text, Path::new("exported.toml")).unwrap(), checks);
        // Empty defaults are left out.
        assert!(
            text.ends_with(
                "grants = [\"icmp\"]\n\n[check.mesh]\ngroup = \"core\"\nmax_peers = 64\n"
            ),
            "{text}"
        );

        // Tables holding only tables, or an empty table, are kept.
        checks[1].config = serde_json::json!({"headers": {}, "nested": {"a": {"b": 1}}});
        checks[1].agents.labels.insert("site".into(), "fra".into());
        let text = to_toml(&checks).unwrap();
        assert_eq!(parse(&text, Path::new("exported.toml")).unwrap(), checks);
        assert_eq!(to_toml(&[]).unwrap().trim(), "check = []");
    }

    #[test]
    fn a_null_in_a_config_names_the_check_that_cannot_be_exported() {
        let mut checks = parsed();
        checks[1].config = serde_json::json!({"count": null});
        let e = to_toml(&checks).unwrap_err().to_string();
        assert!(e.contains("check `backbone`"), "{e}");
    }

    #[track_caller]
    fn refused(text: &str, needles: &[&str]) {
        let e = format!("{:#}", parse(text, Path::new("bad.toml")).unwrap_err());
        for needle in needles {
            assert!(e.contains(needle), "{needle:?} not in: {e}");
        }
    }

    #[test]
    fn bad_files_are_refused_naming_the_file_and_what_is_wrong() {
        let one = "name = \"a\"\nplugin = \"tcp\"\ntargets = [\"x:1\"]\ngrants = []\n";
        refused(
            &format!("[[check]]\n{one}interval = \"30s\"\n[[check]]\n{one}interval = \"1m\"\n"),
            &["bad.toml", "check `a` twice"],
        );
        refused(
            &format!("[[check]]\n{one}interval = \"soon\"\n"),
            &["bad.toml", "line 6"],
        );
        refused(&format!("[[check]]\n{one}"), &["bad.toml", "interval"]);
        refused(
            &format!("[[check]]\n{one}interval = \"1s\"\ncolour = \"red\"\n"),
            &["bad.toml", "colour"],
        );
        refused(
            &format!(
                "[[check]]\n{}interval = \"1s\"\n",
                one.replace("[]", "[\"teleport\"]")
            ),
            &["bad.toml", "unknown variant `teleport`"],
        );
        refused(
            &format!("[[check]]\n{one}interval = \"1s\"\nconfig = {{ at = 1979-05-27 }}\n"),
            &["bad.toml", "check `a`", "quote it"],
        );
        refused("[[checks]]\nname = \"a\"\n", &["bad.toml", "checks"]);
        refused("[[check]\n", &["bad.toml"]);
    }
}
