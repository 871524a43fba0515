//! `vantage alerts apply | export | list` against the real `vantage-server`:
//! a dry run first, channels before routes before rules, write-only
//! secrets, bad rules named, pruning.

use std::fs;

use super::server::TestServer;
use super::{says, vantage};
use crate::common::Workdir;

const ALERTS: &str = r#"
[[rule]]
name = "web-down"
select = { check = "web-*" }
condition = { kind = "status" }

[[rule]]
name = "offline"
condition = { kind = "agent_offline" }

[[channel]]
name = "ops"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "whsec-1"

[[route]]
match = { rule = "web-*" }
channels = ["ops"]

[[window]]
name = "patching"
match = { check = "web-*" }
schedule = "30 2 * * SUN"
duration = "2h"
timezone = "Europe/Paris"
comment = "weekly patching"
"#;

fn revision(server: &TestServer, path: &str) -> i64 {
    server.get(path)["revision"].as_i64().unwrap()
}

#[test]
fn an_admin_keeps_alerting_in_a_file_and_applies_it() {
    let server = TestServer::start(None);
    let w = Workdir::new();
    let v = |args: &[&str]| vantage(&w, &server, args);
    fs::write(w.join("alerts.toml"), ALERTS).unwrap();

    // A dry run says what would change, in the order it would be made.
    let run = v(&["alerts", "apply", "-f", "alerts.toml", "--dry-run"]).ok();
    assert_eq!(
        run.stdout,
        "+ ops: webhook http://127.0.0.1:9/hook\n\
         ~ routes: 1 in order\n    1. rule=web-* → ops\n\
         + web-down: status, check web-*\n\
         + offline: agent_offline, everything\n\
         + patching: 30 2 * * SUN in Europe/Paris, for 2h\n\
         dry run: nothing sent\n"
    );
    assert_eq!(server.get("/api/v1/alerts/rules"), serde_json::json!([]));

    let run = v(&["alerts", "apply", "-f", "alerts.toml"]).ok();
    says(&run, "created channel ops (revision 1)");
    says(&run, "updated routes (revision 1)");
    says(&run, "created rule web-down (revision 1)");
    says(&run, "created window patching (revision 1)");
    let patching = server.get("/api/v1/alerts/windows");
    assert_eq!(patching[0]["spec"]["timezone"], "Europe/Paris");
    let ops = server.get("/api/v1/alerts/channels/ops");
    assert_eq!(ops["secrets_set"], serde_json::json!(["secret"]));

    // Again: the secret is sent (the server cannot show it) and kept as it
    // is; nothing else.
    let run = v(&["alerts", "apply", "-f", "alerts.toml"]).ok();
    says(&run, "= 1 channel unchanged");
    says(
        &run,
        "~ ops: write-only secrets sent (kept as they are if the same)",
    );
    says(&run, "= 2 rules unchanged");
    says(&run, "sent channel ops (revision 1)");
    assert!(!run.stdout.contains("routes"), "{}", run.stdout);

    // A changed rule names its field; a bad one is named by the server and
    // the others are still applied.
    let changed = ALERTS.replace(
        "condition = { kind = \"status\" }",
        "condition = { kind = \"status\" }\nfailure_threshold = 3",
    ) + "\n[[rule]]\nname = \"bad\"\nselect = { check = \"web-[\" }\ncondition = { kind = \"status\" }\n";
    fs::write(w.join("changed.toml"), changed).unwrap();
    let run = v(&["alerts", "apply", "-f", "changed.toml"]).fails(1, "select.check");
    says(&run, "~ web-down\n    failure_threshold: (none) → 3\n");
    says(&run, "updated rule web-down (revision 2)");
    assert!(run.stderr.contains("error: bad: 422"), "{}", run.stderr);
    assert_eq!(revision(&server, "/api/v1/alerts/rules/web-down"), 2);

    // Export reads back as the same alerting (without the secret, which
    // the server keeps).
    let run = v(&["alerts", "export"]).ok();
    assert!(!run.stdout.contains("whsec"), "{}", run.stdout);
    fs::write(w.join("exported.toml"), &run.stdout).unwrap();
    let run = v(&["alerts", "apply", "-f", "exported.toml"]).ok();
    says(&run, "nothing to apply");
    assert_eq!(
        server.get("/api/v1/alerts/channels/ops")["secrets_set"],
        serde_json::json!(["secret"])
    );

    // Pruned: routes first, so the channel they named can go.
    fs::write(
        w.join("less.toml"),
        "route = []\n[[rule]]\nname = \"web-down\"\nselect = { check = \"web-*\" }\ncondition = { kind = \"status\" }\nfailure_threshold = 3\n",
    )
    .unwrap();
    let run = v(&["alerts", "apply", "-f", "less.toml"]).ok();
    says(&run, "- offline: kept (not in file; --prune deletes it)");
    says(&run, "- ops: kept (not in file; --prune deletes it)");
    let run = v(&["alerts", "apply", "-f", "less.toml", "--prune"]).ok();
    says(&run, "deleted rule offline");
    says(&run, "deleted window patching");
    says(&run, "deleted channel ops");
    assert_eq!(server.get("/api/v1/alerts/channels"), serde_json::json!([]));

    // No alert is raised yet.
    let run = v(&["alerts", "list"]).ok();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    says(&run, "RULE");
}
