//! The golden month's report as CSV, HTML and PDF: each says what the
//! JSON says. The PDF is printed by the server's Chromium and read back
//! with `pdftotext`.

use serde_json::Value;

use crate::support::http::Client;
use crate::support::required;

/// Checks every other format of `sla`'s report over `label` against its
/// JSON form, `json`.
pub(crate) async fn say_what_the_json_says(admin: &Client, sla: &str, label: &str, json: &Value) {
    let path = |format: &str| format!("/api/v1/reports?sla={sla}&period={label}&format={format}");
    let availability = format!("{:.4} %", json["summary"]["availability"].as_f64().unwrap());
    let incidents = json["incidents"].as_array().unwrap();

    let csv = admin.get(&path("csv")).await.expect(200);
    assert_eq!(csv.content_type(), "text/csv; charset=utf-8");
    assert_eq!(
        csv.headers["content-disposition"],
        format!("attachment; filename=\"{sla}-{label}.csv\"").as_str()
    );
    let text = csv.body_text();
    let sections: Vec<Vec<&str>> = text
        .split("\n\n")
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.lines().collect())
        .collect();
    let titles: Vec<&str> = sections.iter().map(|s| s[0]).collect();
    assert_eq!(titles, ["# summary", "# targets", "# incidents"], "{text}");
    let summary: Vec<&str> = sections[0][2].split(',').collect();
    assert_eq!(summary[..3], [label, sla, &json["objective"].to_string()]);
    let header: Vec<&str> = sections[0][1].split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(
        summary[column("availability_percent")],
        json["summary"]["availability"].to_string()
    );
    assert_eq!(
        summary[column("failed_runs")],
        json["summary"]["failed_runs"].to_string()
    );
    // A header, then a row per target and per incident.
    assert_eq!(
        sections[1].len(),
        2 + json["targets"].as_array().unwrap().len()
    );
    assert_eq!(sections[2].len(), 2 + incidents.len());

    let html = admin.get(&path("html")).await.expect(200);
    assert_eq!(html.content_type(), "text/html; charset=utf-8");
    // Nothing in the page may load or run anything.
    assert_eq!(
        html.headers["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    let page = html.body_text();
    assert!(page.contains(&format!("SLA {sla} — {label}")), "{page}");
    assert!(page.contains(&availability), "{availability} not in {page}");
    assert!(!page.contains("<script"), "a report runs nothing");

    let pdf = admin.get(&path("pdf")).await;
    if pdf.status == 422 && !required() {
        eprintln!("skipping the PDF: no Chromium here ({})", pdf.body_text());
        return;
    }
    let pdf = pdf.expect(200);
    assert_eq!(pdf.content_type(), "application/pdf");
    assert!(pdf.body.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &pdf.body).unwrap();
    let out = match std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&file)
        .arg("-")
        .output()
    {
        Ok(out) => out,
        Err(e) if !required() => {
            eprintln!("skipping the PDF's text: no pdftotext ({e})");
            return;
        }
        Err(e) => panic!("pdftotext: {e} (poppler-utils)"),
    };
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [format!("SLA {sla}"), availability, "Incidents".to_owned()] {
        assert!(
            text.contains(&want),
            "{want:?} not in the PDF's text:\n{text}"
        );
    }
    for incident in incidents {
        let check = incident["check"].as_str().unwrap();
        assert!(text.contains(check), "{check} not in the PDF's text");
    }
}
