//! A report as PDF: its HTML page printed by headless Chromium, from a
//! file in a folder of its own (with Chromium's profile beside it),
//! without header and footer, within a time limit. The page's own policy
//! (`html::POLICY`) lets it load and run nothing. (Chromium's
//! `scriptEnabled=false` setting would also stop it printing.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};

/// How long Chromium may take to print one report.
const LIMIT: Duration = Duration::from_secs(60);

/// Where Chromium is looked for when the configuration names none.
const CANDIDATES: [&str; 4] = [
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
];

/// The Chromium to print with: the configured one, else the first found;
/// none when that is not a file.
pub fn chromium(configured: Option<&Path>) -> Option<PathBuf> {
    match configured {
        Some(path) => path.is_file().then(|| path.to_owned()),
        None => CANDIDATES.iter().map(PathBuf::from).find(|p| p.is_file()),
    }
}

/// Prints `html` to PDF with `chromium`.
pub async fn pdf(html: &str, chromium: &Path) -> anyhow::Result<Vec<u8>> {
    let dir = tempfile::Builder::new()
        .prefix("vantage-report-")
        .tempdir()
        .context("a folder to print the report in")?;
    let page = dir.path().join("report.html");
    let out = dir.path().join("report.pdf");
    tokio::fs::write(&page, html).await?;
    let mut command = tokio::process::Command::new(chromium);
    command
        .arg("--headless")
        .arg("--disable-gpu")
        .arg("--no-first-run")
        .arg("--disable-extensions")
        .arg("--no-pdf-header-footer")
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    // Chromium's sandbox needs a user other than root.
    if running_as_root() {
        command.arg("--no-sandbox");
    }
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", chromium.display()))?;
    let done = tokio::time::timeout(LIMIT, child.wait_with_output())
        .await
        .with_context(|| format!("Chromium took longer than {LIMIT:?} to print"))??;
    if !done.status.success() {
        let said = String::from_utf8_lossy(&done.stderr);
        bail!(
            "Chromium printed no PDF ({}): {}",
            done.status,
            vantage_protocol::text::clip(said.trim().to_owned(), 2000)
        );
    }
    let bytes = tokio::fs::read(&out)
        .await
        .context("Chromium exited without writing the PDF")?;
    if !bytes.starts_with(b"%PDF-") {
        bail!("Chromium wrote something other than a PDF");
    }
    Ok(bytes)
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}
