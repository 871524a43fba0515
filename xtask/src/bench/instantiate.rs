//! `cargo xtask bench instantiate`: the criterion benchmark of one run
//! (`host-agent/benches/instantiate.rs`), its median table recorded in
//! `docs/bench-history.csv` with `run/native` as the peer of `run/wasm`.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context as _, bail};

use super::record::{Figure, Record};
use crate::cargo;

/// The line before the table the benchmark prints last.
const TABLE: &str = "median per run (µs), ratio to run/native:";

pub(crate) fn start(root: &Path) -> anyhow::Result<()> {
    crate::packages::build_plugins_with(root, crate::packages::Plugins::Rust, None)?;
    let record = Record::begin(root, "instantiate");
    let out = cargo()
        .current_dir(root)
        .args(["bench", "-p", "vantage-agent", "--bench", "instantiate"])
        .stderr(Stdio::inherit())
        .output()
        .context("running the instantiate benchmark")?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    if !out.status.success() {
        bail!("the instantiate benchmark failed");
    }
    let medians = table(&text)?;
    let native = medians
        .iter()
        .find(|(name, _)| name == "run/native")
        .map(|(_, v)| *v)
        .context("no run/native row in the benchmark's table")?;
    let figures: Vec<Figure> = medians
        .into_iter()
        .map(|(name, value)| {
            let figure = Figure::new(format!("{name} median"), value, "us");
            if name == "run/wasm" {
                figure.against(native)
            } else {
                figure
            }
        })
        .collect();
    record.append(root, &figures)
}

/// The rows of the median table: benchmark and median µs.
fn table(text: &str) -> anyhow::Result<Vec<(String, f64)>> {
    let after = text
        .split_once(TABLE)
        .map(|(_, rest)| rest)
        .context("the benchmark printed no median table")?;
    let rows: Vec<(String, f64)> = after
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let name = parts.next()?;
            let value = parts.next()?.parse().ok()?;
            parts.next()?.strip_suffix('×')?;
            Some((name.to_owned(), value))
        })
        .collect();
    if rows.is_empty() {
        bail!("the benchmark's median table is empty");
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_table_is_read_row_by_row() {
        let text = format!(
            "Benchmarking run/wasm\ntime: [9.1 µs 9.2 µs 9.3 µs]\n\n{TABLE}\n  run/wasm    9.80   15.1×\n  run/native   0.65    1.0×\n"
        );
        assert_eq!(
            table(&text).unwrap(),
            [
                ("run/wasm".to_owned(), 9.8),
                ("run/native".to_owned(), 0.65)
            ]
        );
        assert!(table("no table").is_err());
        assert!(table(&format!("{TABLE}\n")).is_err());
    }
}
