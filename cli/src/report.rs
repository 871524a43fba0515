//! `vantage report --sla NAME [--period 2026-11 | --from T --to T]
//! [--format json|csv|html|pdf] [-o FILE]`: an SLA's report
//! (docs/reports.md), written to a file or shown.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use reqwest::Method;
use vantage_protocol::report::Report;

use crate::files;
use crate::server::ServerArgs;

const REPORTS: &str = "/api/v1/reports";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Json,
    Csv,
    Html,
    Pdf,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Html => "html",
            Format::Pdf => "pdf",
        }
    }
}

#[derive(Args)]
pub(crate) struct ReportCommand {
    /// The SLA's name.
    #[arg(long)]
    sla: String,
    /// A period of the SLA's kind: `2026-11-05`, `2026-W45`, `2026-11`,
    /// `2026-Q4`, `2026`; the current one when neither it nor a range is given.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    period: Option<String>,
    /// A range's start instead (RFC 3339).
    #[arg(long, requires = "to")]
    from: Option<DateTime<Utc>>,
    /// The range's end (exclusive).
    #[arg(long, requires = "from")]
    to: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Write the report here; without it, JSON is summed up and other
    /// formats go to standard output (PDF only to a file).
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

impl ReportCommand {
    pub(crate) fn run(self) -> Result<()> {
        if self.format == Format::Pdf && self.output.is_none() {
            bail!("a PDF report needs -o FILE");
        }
        let server = self.server.connect()?;
        let mut query = vec![
            ("sla", self.sla.clone()),
            ("format", self.format.name().to_owned()),
        ];
        if let Some(period) = &self.period {
            query.push(("period", period.clone()));
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            query.push(("from", from.to_rfc3339()));
            query.push(("to", to.to_rfc3339()));
        }
        let mut url = server.url(REPORTS, &[]);
        url.query_pairs_mut().extend_pairs(&query);
        let response = server.send(server.request(Method::GET, url.clone()))?;
        let bytes = response
            .bytes()
            .with_context(|| format!("reading the report from {url}"))?;
        match (&self.output, self.format) {
            (Some(path), _) => {
                files::write_atomic(path, &bytes)?;
                println!("wrote {} ({} bytes)", path.display(), bytes.len());
            }
            (None, Format::Json) => {
                let report: Report = serde_json::from_slice(&bytes)
                    .with_context(|| format!("the server's answer from {url} is not a report"))?;
                print!("{}", summary(&report));
            }
            (None, _) => print!("{}", String::from_utf8_lossy(&bytes)),
        }
        Ok(())
    }
}

/// A few lines a person reads: the period, the figures, the worst targets.
fn summary(r: &Report) -> String {
    let s = &r.summary;
    let percent = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.4} %"));
    let mut out = format!(
        "SLA {} — {} ({} to {}, {})\n",
        r.sla, r.period.label, r.period.from, r.period.to, r.period.timezone
    );
    out += &format!(
        "availability {} (objective {} %, previous {}); {}\n",
        percent(s.availability),
        r.objective,
        percent(r.previous.availability),
        s.down_phrase(r.count_by)
    );
    if let Some(b) = &s.error_budget {
        out += &format!(
            "error budget left {:.1} %, burn rate {:.2}\n",
            b.remaining * 100.0,
            b.burn_rate
        );
    }
    out += &format!("{} incidents\n", s.incidents);
    for t in r.targets.iter().take(5) {
        out += &format!(
            "  {} {} — {} ({} agents)\n",
            t.check,
            t.target,
            percent(t.figures.availability),
            t.agents
        );
    }
    out
}
