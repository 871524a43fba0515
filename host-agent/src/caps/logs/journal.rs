//! Reading a systemd unit's journal entries since the last read, through
//! `journalctl` (as Vector does): the journal's file format is systemd's to
//! change, and `journalctl --output=json` with `--after-cursor` is its
//! stable interface. The cursor is the position; a unit read for the first
//! time starts after its newest entry.

use std::path::PathBuf;
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::time::Instant;

use super::{Line, Quota};

/// Where `journalctl` reads from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalOptions {
    /// The `journalctl` to run; `None` finds it on `PATH`.
    pub command: Option<PathBuf>,
    /// A journal folder to read instead of the system's (`--directory`).
    pub directory: Option<PathBuf>,
}

/// Where a unit's journal was read up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JournalPos {
    /// After this entry.
    Cursor(String),
    /// From this time (µs since the epoch): the unit had no entry yet.
    Since(u64),
}

/// One line of `journalctl --output=json`.
#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "__CURSOR")]
    cursor: String,
    #[serde(rename = "__REALTIME_TIMESTAMP", default)]
    realtime: Option<String>,
    /// A string, or an array of bytes when it is not valid UTF-8; absent
    /// or null for an entry without one.
    #[serde(rename = "MESSAGE", default)]
    message: Option<serde_json::Value>,
}

impl JournalOptions {
    fn command(&self) -> tokio::process::Command {
        let program = self.command.clone().unwrap_or_else(|| "journalctl".into());
        let mut command = tokio::process::Command::new(program);
        if let Some(dir) = &self.directory {
            command.arg(format!("--directory={}", dir.display()));
        }
        command
            .args(["--output=json", "--no-pager", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// The position after the unit's newest entry (a first read).
    pub(crate) async fn end(
        &self,
        unit: &str,
        deadline: Instant,
        now_us: u64,
    ) -> Result<JournalPos, String> {
        let mut command = self.command();
        command.arg(format!("--unit={unit}")).arg("--lines=1");
        let entries = run(command, 1, deadline).await?;
        Ok(match entries.0.into_iter().next_back() {
            Some(entry) => JournalPos::Cursor(entry.cursor),
            None => JournalPos::Since(now_us),
        })
    }

    /// The unit's entries after `pos`, within `quota`; the new position
    /// and whether more were waiting.
    pub(crate) async fn read(
        &self,
        unit: &str,
        pos: &JournalPos,
        quota: &mut Quota,
        deadline: Instant,
    ) -> Result<(Vec<Line>, JournalPos, bool), String> {
        let mut command = self.command();
        command.arg(format!("--unit={unit}"));
        match pos {
            JournalPos::Cursor(cursor) => command.arg(format!("--after-cursor={cursor}")),
            JournalPos::Since(us) => {
                command.arg(format!("--since=@{}.{:06}", us / 1_000_000, us % 1_000_000))
            }
        };
        let (entries, mut more) =
            run(command, quota.lines_left().saturating_add(1), deadline).await?;
        let mut lines = Vec::new();
        let mut next = pos.clone();
        for entry in entries {
            let text = message(entry.message.as_ref());
            if !quota.take(text.len()) {
                more = true;
                break;
            }
            let at_ms = entry
                .realtime
                .as_deref()
                .and_then(|t| t.parse::<u64>().ok())
                .map_or(0, |us| us / 1000);
            lines.push(Line {
                origin: unit.to_owned(),
                text,
                at_ms,
            });
            next = JournalPos::Cursor(entry.cursor);
        }
        Ok((lines, next, more))
    }
}

/// Runs `journalctl`, reading at most `max` entries; whether it had more.
async fn run(
    mut command: tokio::process::Command,
    max: usize,
    deadline: Instant,
) -> Result<(Vec<Entry>, bool), String> {
    let mut child = command
        .spawn()
        .map_err(|e| format!("journalctl could not be started: {e}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut reader = BufReader::new(stdout).lines();
    let mut entries = Vec::new();
    let mut more = false;
    let read = async {
        while let Some(line) = reader.next_line().await.map_err(|e| e.to_string())? {
            if entries.len() == max {
                more = true;
                break;
            }
            let entry: Entry = serde_json::from_str(&line)
                .map_err(|e| format!("journalctl printed an entry that is not JSON: {e}"))?;
            entries.push(entry);
        }
        Ok::<_, String>(())
    };
    match tokio::time::timeout_at(deadline, read).await {
        Err(_) => return Err("journalctl did not answer before the run's deadline".into()),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(())) => {}
    }
    if more {
        // Enough read: the rest waits for the next run.
        let _ = child.start_kill();
        let _ = child.wait().await;
        return Ok((entries, true));
    }
    let output = tokio::time::timeout_at(deadline, child.wait_with_output())
        .await
        .map_err(|_| "journalctl did not finish before the run's deadline".to_owned())?
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "journalctl failed ({}): {}",
            output.status,
            vantage_protocol::text::prefix(stderr.trim(), 512)
        ));
    }
    Ok((entries, false))
}

/// An entry's `MESSAGE` as text.
fn message(value: Option<&serde_json::Value>) -> String {
    let text = match value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(bytes)) => {
            let bytes: Vec<u8> = bytes
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => String::new(),
    };
    vantage_protocol::text::clip(text, super::tail::MAX_LINE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_text_whether_journalctl_prints_a_string_or_bytes() {
        assert_eq!(message(Some(&serde_json::json!("disk full"))), "disk full");
        assert_eq!(
            message(Some(&serde_json::json!([104, 105, 255]))),
            "hi\u{fffd}"
        );
        assert_eq!(message(None), "");
        let long = "x".repeat(super::super::tail::MAX_LINE + 10);
        assert!(message(Some(&serde_json::json!(long))).len() <= super::super::tail::MAX_LINE);
    }
}
