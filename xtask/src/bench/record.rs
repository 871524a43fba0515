//! `docs/bench-history.csv`: every figure a benchmark reports, appended
//! with the date, the commit (and whether the tree had changes), the
//! machine's cores and its load when the benchmark began, and the peer's
//! figure of the same run where there is one. docs/benchmarks.md quotes
//! rows of it; a figure there without a row here is a figure nobody can
//! trace.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

const FILE: &str = "docs/bench-history.csv";
const HEADER: &str = "date,commit,dirty,bench,measure,value,unit,peer,ratio,cores,load1\n";

/// One figure: `value` in `unit`, against `peer` (same unit) when the run
/// measured one.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    pub(crate) measure: String,
    pub(crate) value: f64,
    pub(crate) unit: &'static str,
    pub(crate) peer: Option<f64>,
}

impl Figure {
    pub(crate) fn new(measure: impl Into<String>, value: f64, unit: &'static str) -> Figure {
        Figure {
            measure: measure.into(),
            value,
            unit,
            peer: None,
        }
    }

    pub(crate) fn against(mut self, peer: f64) -> Figure {
        self.peer = Some(peer);
        self
    }
}

/// A benchmark's record, begun when it begins (for the load).
#[derive(Debug)]
pub(crate) struct Record {
    file: PathBuf,
    bench: String,
    load: f64,
}

impl Record {
    pub(crate) fn begin(root: &Path, bench: &str) -> Record {
        Record {
            file: root.join(FILE),
            bench: bench.to_owned(),
            load: load(),
        }
    }

    /// Appends `figures`, one row each; says where.
    pub(crate) fn append(&self, root: &Path, figures: &[Figure]) -> anyhow::Result<()> {
        let (commit, dirty) = commit(root);
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let mut rows = String::new();
        for f in figures {
            let (peer, ratio) = match f.peer {
                Some(p) if p > 0.0 => (format!("{p:.4}"), format!("{:.4}", f.value / p)),
                _ => (String::new(), String::new()),
            };
            rows.push_str(&format!(
                "{date},{commit},{dirty},{},{},{:.4},{},{peer},{ratio},{cores},{:.2}\n",
                field(&self.bench),
                field(&f.measure),
                f.value,
                f.unit,
                self.load
            ));
        }
        let new = !self.file.exists();
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .with_context(|| format!("opening {}", self.file.display()))?;
        if new {
            out.write_all(HEADER.as_bytes())?;
        }
        out.write_all(rows.as_bytes())?;
        println!("\nrecorded {} figures in {FILE}", figures.len());
        Ok(())
    }
}

/// A CSV field: quoted when it holds a comma or a quote.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The short commit, and whether tracked files differ from it.
fn commit(root: &Path) -> (String, bool) {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short=10", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // The record itself does not make the tree dirty: two runs in a row
    // would otherwise count the first one's rows as a change.
    let dirty = git(&[
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        &format!(":!{FILE}"),
    ])
    .is_some_and(|s| !s.is_empty());
    (commit, dirty)
}

/// The machine's 1-minute load average.
pub(in crate::bench) fn load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_the_ratio_and_quote_what_needs_it() {
        let dir = tempfile_dir();
        let record = Record {
            file: dir.join("h.csv"),
            bench: "ingest".into(),
            load: 1.5,
        };
        record
            .append(
                &dir,
                &[
                    Figure::new("stored samples/s, PostgreSQL", 150.0, "1/s").against(200.0),
                    Figure::new("p95", 12.5, "ms"),
                ],
            )
            .unwrap();
        record
            .append(&dir, &[Figure::new("p95", 13.0, "ms")])
            .unwrap();
        let text = std::fs::read_to_string(dir.join("h.csv")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "one header, three rows: {text}");
        assert_eq!(lines[0], HEADER.trim_end());
        assert!(
            lines[1]
                .contains(",ingest,\"stored samples/s, PostgreSQL\",150.0000,1/s,200.0000,0.7500,"),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains(",p95,12.5000,ms,,,"), "{}", lines[2]);
        assert!(lines[3].ends_with(",1.50"), "{}", lines[3]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vantage-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
