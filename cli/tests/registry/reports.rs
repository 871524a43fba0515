//! `vantage report` against the real `vantage-server`: an SLA's report
//! summed up, written as CSV and PDF, and the server's 422 for a period
//! of the wrong kind shown with its field.

use std::fs;

use super::server::TestServer;
use super::{says, vantage};
use crate::common::Workdir;

#[test]
fn an_operator_fetches_an_sla_report_in_each_format() {
    let server = TestServer::start(None);
    let w = Workdir::new();
    let v = |args: &[&str]| vantage(&w, &server, args);
    server.put(
        "/api/v1/slas/edge",
        serde_json::json!({"name": "edge", "objective": 99.9, "period": "month", "timezone": "Europe/Paris"}),
    );

    let run = v(&["report", "--sla", "edge", "--period", "2026-11"]).ok();
    says(
        &run,
        "SLA edge — 2026-11 (2026-10-31 23:00:00 UTC to 2026-11-30 23:00:00 UTC, Europe/Paris)",
    );
    says(
        &run,
        "availability – (objective 99.9 %, previous –); 0 failed of 0 runs",
    );

    let run = v(&[
        "report", "--sla", "edge", "--period", "2026-11", "--format", "csv", "-o", "nov.csv",
    ])
    .ok();
    says(&run, "wrote nov.csv");
    let csv = fs::read_to_string(w.join("nov.csv")).unwrap();
    assert!(
        csv.starts_with("# summary\nperiod,sla,objective_percent,count_by,availability_percent,"),
        "{csv}"
    );
    assert!(csv.contains("\n2026-11,edge,99.9,runs,,0,0,0,0,"), "{csv}");

    v(&["report", "--sla", "edge", "--format", "pdf"]).fails(1, "a PDF report needs -o FILE");
    if std::path::Path::new("/usr/bin/chromium").exists() {
        v(&[
            "report", "--sla", "edge", "--period", "2026-11", "--format", "pdf", "-o", "nov.pdf",
        ])
        .ok();
        let pdf = fs::read(w.join("nov.pdf")).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }

    v(&["report", "--sla", "edge", "--period", "2026-W45"]).fails(
        1,
        "422 Unprocessable Entity\n  period: `2026-W45` is not a month (`2026-11`)",
    );
    v(&["report", "--sla", "nope"]).fails(1, "sla: no SLA `nope`");
}

const SLAS: &str = r#"
[[channel]]
name = "sla-hook"
kind = "webhook"
url = "http://127.0.0.1:9/reports"

[[window]]
name = "patching"
match = { check = "web-*" }
schedule = "30 2 * * SUN"
duration = "2h"
timezone = "Europe/Paris"
comment = "weekly patching"

[[sla]]
name = "edge"
objective = 99.95
select = { check = "web-*" }
period = "month"
timezone = "Europe/Paris"
exclude_windows = ["patching"]
min_agents = 2
deliver = { channels = ["sla-hook"] }
"#;

#[test]
fn an_operator_keeps_slas_in_the_alerts_file_beside_their_windows_and_channels() {
    let server = TestServer::start(None);
    let w = Workdir::new();
    let v = |args: &[&str]| vantage(&w, &server, args);
    fs::write(w.join("alerts.toml"), SLAS).unwrap();

    let run = v(&["alerts", "apply", "-f", "alerts.toml", "--dry-run"]).ok();
    says(&run, "+ edge: 99.95 % a month in Europe/Paris, check web-*");
    let run = v(&["alerts", "apply", "-f", "alerts.toml"]).ok();
    // The window and the channel it names exist before the SLA is saved.
    says(&run, "created window patching (revision 1)");
    says(&run, "created sla edge (revision 1)");
    let slas = server.get("/api/v1/slas");
    assert_eq!(
        slas[0]["spec"]["deliver"]["channels"],
        serde_json::json!(["sla-hook"])
    );
    assert_eq!(slas[0]["spec"]["min_agents"], 2);

    let run = v(&["alerts", "apply", "-f", "alerts.toml"]).ok();
    says(&run, "= 1 sla unchanged");
    // Exported, the file applies back unchanged.
    let run = v(&["alerts", "export"]).ok();
    assert!(run.stdout.contains("[[sla]]"), "{}", run.stdout);
    fs::write(w.join("exported.toml"), &run.stdout).unwrap();
    let run = v(&["alerts", "apply", "-f", "exported.toml", "--dry-run"]).ok();
    says(&run, "= 1 sla unchanged");

    // A bad SLA is the server's 422, naming the field.
    fs::write(w.join("bad.toml"), SLAS.replace("99.95", "100.5")).unwrap();
    v(&["alerts", "apply", "-f", "bad.toml"])
        .fails(1, "objective: must be a percentage above 0 and below 100");

    fs::write(w.join("none.toml"), "").unwrap();
    let run = v(&["alerts", "apply", "-f", "none.toml", "--prune"]).ok();
    says(&run, "deleted sla edge");
    assert_eq!(server.get("/api/v1/slas"), serde_json::json!([]));
}
