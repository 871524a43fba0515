//! How a check reads in a diff (`crate::diff`): compared as JSON, field
//! by field; a new one in a line.

use vantage_protocol::config::CheckSpec;

use crate::diff::Named;

impl Named for CheckSpec {
    fn name(&self) -> &str {
        &self.name
    }

    fn summary(&self) -> String {
        summary(self)
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::checks::file;
    use crate::diff::plan;

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
            crate::diff::plan(&server, &server).render(false, "check"),
            "= 2 checks unchanged\n"
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
            plan.render(false, "check"),
            "+ mesh: tcp@*, every 1m, mesh core (at most 64 peers), grants none\n\
             ~ port\n    config.expect: ok → ready\n    config.read_max: (none) → 64\n    \
             interval: 30s → 10s\n    timeout: (none) → 2s\n\
             - old: kept (not in file; --prune deletes it)\n"
        );
        assert!(plan.render(true, "check").contains("- old\n"));
        assert_eq!(
            summary(&checks(SERVER)[0]),
            "tcp@^0.1, every 30s, targets db:5432, grants tcp"
        );
    }
}
