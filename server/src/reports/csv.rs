//! A report as CSV: one table per section (summary, targets, incidents),
//! each after a `# name` line and before a blank one, every table with
//! its header row. Availability and loss in percent, times in seconds,
//! instants in RFC 3339.

use vantage_protocol::report::{Figures, Report, SuppressedAlert};

/// The figures' columns, as the summary and target tables share them.
const FIGURES: [&str; 20] = [
    "availability_percent",
    "counted_seconds",
    "down_seconds",
    "runs",
    "failed_runs",
    "outvoted_runs",
    "excluded_runs",
    "down_minutes",
    "allowed_failed_runs",
    "allowed_down_seconds",
    "budget_remaining",
    "burn_rate",
    "incidents",
    "mttr_seconds",
    "mtbf_seconds",
    "latency_metrics",
    "latency_p50_seconds",
    "latency_p95_seconds",
    "latency_p99_seconds",
    "loss_percent",
];

fn figures(f: &Figures) -> Vec<String> {
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let budget = f.error_budget.as_ref();
    let latency = f.latency.as_ref();
    vec![
        opt(f.availability),
        f.counted_seconds.to_string(),
        f.down_seconds.to_string(),
        f.runs.to_string(),
        f.failed_runs.to_string(),
        f.outvoted_runs.to_string(),
        f.excluded_runs.to_string(),
        f.down_minutes.to_string(),
        opt(budget.map(|b| b.allowed_failed_runs)),
        opt(budget.map(|b| b.allowed_down_seconds)),
        opt(budget.map(|b| b.remaining)),
        opt(budget.map(|b| b.burn_rate)),
        f.incidents.to_string(),
        opt(f.mttr_seconds),
        opt(f.mtbf_seconds),
        latency.map(|l| l.metrics.join(" ")).unwrap_or_default(),
        opt(latency.map(|l| l.p50)),
        opt(latency.map(|l| l.p95)),
        opt(latency.map(|l| l.p99)),
        opt(f.loss.map(|l| l * 100.0)),
    ]
}

/// The report as CSV text.
pub fn csv(report: &Report) -> String {
    let mut out = String::new();
    let mut section = |name: &str, header: Vec<&str>, rows: Vec<Vec<String>>| {
        let mut table = ::csv::Writer::from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = table.write_record(header);
        for row in rows {
            let _ = table.write_record(row);
        }
        let bytes = table.into_inner().unwrap_or_default();
        out += &format!("# {name}\n{}\n", String::from_utf8_lossy(&bytes));
    };
    let p = &report.period;
    let period = |label: &str, f: &Figures| {
        let mut row = vec![
            label.to_owned(),
            report.sla.clone(),
            report.objective.to_string(),
            report.count_by.as_str().to_owned(),
        ];
        row.extend(figures(f));
        row
    };
    let mut header = vec!["period", "sla", "objective_percent", "count_by"];
    header.extend(FIGURES);
    section(
        "summary",
        header,
        vec![
            period(&p.label, &report.summary),
            period("previous", &report.previous),
        ],
    );
    let mut header = vec!["check", "target", "agents"];
    header.extend(FIGURES);
    let targets = report
        .targets
        .iter()
        .map(|t| {
            let mut row = vec![t.check.clone(), t.target.clone(), t.agents.to_string()];
            row.extend(figures(&t.figures));
            row
        })
        .collect();
    section("targets", header, targets);
    let incidents = report
        .incidents
        .iter()
        .map(|i| {
            vec![
                i.check.clone(),
                i.target.clone(),
                i.start.to_rfc3339(),
                i.end.to_rfc3339(),
                i.duration_seconds.to_string(),
                i.ongoing.to_string(),
                i.failed_runs.to_string(),
                i.first_agents.join(" "),
                i.rules.join(" "),
                i.suppressed
                    .iter()
                    .map(SuppressedAlert::label)
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect();
    section(
        "incidents",
        vec![
            "check",
            "target",
            "start",
            "end",
            "duration_seconds",
            "ongoing",
            "failed_runs",
            "first_agents",
            "rules",
            "suppressed",
        ],
        incidents,
    );
    out
}
