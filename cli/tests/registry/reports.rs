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
        csv.starts_with("# summary\nperiod,sla,objective_percent,availability_percent,"),
        "{csv}"
    );
    assert!(csv.contains("\n2026-11,edge,99.9,,0,0,"), "{csv}");

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
