use std::io::Write as _;

use super::*;
use crate::bindings::vantage::plugin::logs::{ReadRequest, Source};

/// A folder of log files and a check granted `*.log` in it.
struct Logs {
    dir: tempfile::TempDir,
    scope: Scope,
    positions: FilePositions,
    read_once: bool,
}

impl Logs {
    fn new() -> Logs {
        let dir = tempfile::tempdir().unwrap();
        let grant = format!("{}/*.log", dir.path().display());
        Logs {
            scope: Scope::new("localhost", &[grant]).unwrap(),
            dir,
            positions: FilePositions::default(),
            read_once: false,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn append(&self, name: &str, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(name))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn glob(&self) -> String {
        format!("{}/*.log", self.dir.path().display())
    }

    /// Reads the granted glob with room for `lines` lines.
    fn read_max(&mut self, lines: u32) -> Tail {
        let mut quota = Quota::new(&ReadRequest {
            source: Source::Files(String::new()),
            max_lines: lines,
            max_bytes: 1 << 20,
        });
        let first = !self.read_once;
        self.read_once = true;
        read_glob(
            &self.glob(),
            &self.scope,
            &mut self.positions,
            first,
            &mut quota,
            7,
        )
        .unwrap()
    }

    /// The texts of every line a read returns.
    fn read(&mut self) -> Vec<String> {
        self.read_max(1000)
            .lines
            .into_iter()
            .map(|l| l.text)
            .collect()
    }
}

#[test]
fn the_first_read_starts_at_the_end_and_later_reads_take_new_whole_lines() {
    let mut logs = Logs::new();
    logs.append("app.log", "old 1\nold 2\n");
    assert!(logs.read().is_empty(), "the backlog is not shipped");
    logs.append("app.log", "new 1\r\nnew 2\npartial");
    assert_eq!(logs.read(), ["new 1", "new 2"]);
    logs.append("app.log", " line\n");
    let tail = logs.read_max(10);
    assert_eq!(tail.lines[0].text, "partial line");
    assert_eq!(
        tail.lines[0].origin,
        logs.path("app.log").display().to_string()
    );
    assert_eq!(tail.lines[0].at_ms, 7);
    assert!(logs.read().is_empty());
}

#[test]
fn a_file_that_appears_after_the_first_read_is_read_from_its_start() {
    let mut logs = Logs::new();
    logs.read();
    logs.append("new.log", "first\n");
    assert_eq!(logs.read(), ["first"]);
}

#[test]
fn a_renamed_file_is_read_to_its_end_before_its_successor() {
    let mut logs = Logs::new();
    logs.append("app.log", "before\n");
    logs.read();
    logs.append("app.log", "last of old\n");
    // logrotate's default: rename, then the program creates a new file.
    std::fs::rename(logs.path("app.log"), logs.path("app.log.1")).unwrap();
    logs.append("app.log", "first of new\n");
    assert_eq!(logs.read(), ["last of old", "first of new"]);
    logs.append("app.log", "second of new\n");
    assert_eq!(logs.read(), ["second of new"]);
    assert!(logs.positions.rotated.is_empty());
}

#[test]
fn a_rotation_read_across_runs_loses_and_repeats_nothing() {
    let mut logs = Logs::new();
    logs.append("app.log", "");
    logs.read();
    logs.append("app.log", "a\nb\nc\n");
    std::fs::rename(logs.path("app.log"), logs.path("app.log.1")).unwrap();
    logs.append("app.log", "d\n");
    let first = logs.read_max(2);
    assert!(first.more);
    let mut all: Vec<String> = first.lines.into_iter().map(|l| l.text).collect();
    all.extend(logs.read());
    assert_eq!(all, ["a", "b", "c", "d"]);
}

#[test]
fn a_rotated_file_the_glob_still_matches_is_not_read_twice() {
    let mut logs = Logs::new();
    let glob = format!("{}/app.log*", logs.dir.path().display());
    logs.scope = Scope::new("localhost", std::slice::from_ref(&glob)).unwrap();
    let read = |logs: &mut Logs, first| {
        let mut quota = Quota {
            lines: 100,
            bytes: 1 << 20,
        };
        let tail = read_glob(
            &glob,
            &logs.scope,
            &mut logs.positions,
            first,
            &mut quota,
            0,
        )
        .unwrap();
        tail.lines.into_iter().map(|l| l.text).collect::<Vec<_>>()
    };
    logs.append("app.log", "one\n");
    read(&mut logs, true);
    logs.append("app.log", "two\n");
    std::fs::rename(logs.path("app.log"), logs.path("app.log.1")).unwrap();
    logs.append("app.log", "three\n");
    assert_eq!(read(&mut logs, false), ["three", "two"]);
    assert!(read(&mut logs, false).is_empty());
}

#[test]
fn a_file_truncated_in_place_is_read_again_from_its_start() {
    let mut logs = Logs::new();
    logs.append("app.log", "a long line before the copy\n");
    logs.read();
    // copytruncate: the content is copied elsewhere and the file emptied.
    std::fs::File::create(logs.path("app.log")).unwrap();
    logs.append("app.log", "after\n");
    let tail = logs.read_max(10);
    assert_eq!(tail.lines[0].text, "after");
    assert!(tail.notes[0].contains("truncated"), "{:?}", tail.notes);
}

#[test]
fn a_file_rewritten_past_its_old_length_is_told_by_its_first_bytes() {
    let mut logs = Logs::new();
    logs.append("app.log", "aaaa\n");
    logs.read();
    std::fs::write(logs.path("app.log"), "bbbb\nlonger than before\n").unwrap();
    let tail = logs.read_max(10);
    let texts: Vec<_> = tail.lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["bbbb", "longer than before"]);
    assert!(tail.notes[0].contains("replaced"));
}

#[test]
fn a_line_longer_than_the_limit_is_cut_and_the_next_line_still_read() {
    let mut logs = Logs::new();
    logs.append("app.log", "");
    logs.read();
    logs.append("app.log", &format!("{}\nnext\n", "x".repeat(MAX_LINE * 2)));
    let lines = logs.read();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].len() <= MAX_LINE);
    assert_eq!(lines[1], "next");
}

#[test]
fn the_quota_stops_a_read_and_the_next_carries_on() {
    let mut logs = Logs::new();
    logs.append("app.log", "");
    logs.read();
    logs.append("app.log", "1\n2\n3\n");
    let tail = logs.read_max(2);
    assert!(tail.more);
    assert_eq!(tail.lines.len(), 2);
    assert_eq!(logs.read(), ["3"]);
}

#[test]
fn a_glob_outside_the_grant_is_denied_and_a_link_out_of_it_skipped() {
    let mut logs = Logs::new();
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::os::unix::fs::symlink(secret.path(), logs.path("sneaky.log")).unwrap();
    logs.append("app.log", "x\n");
    let tail = logs.read_max(10);
    assert!(
        tail.notes
            .iter()
            .any(|n| n.contains("sneaky.log") && n.contains("outside"))
    );
    assert!(logs.positions.files.keys().all(|p| !p.contains("sneaky")));

    let mut quota = Quota {
        lines: 1,
        bytes: 1 << 20,
    };
    for glob in ["/etc/*", &format!("{}/*", logs.dir.path().display())] {
        let denied = read_glob(glob, &logs.scope, &mut logs.positions, false, &mut quota, 0);
        assert!(denied.unwrap_err().starts_with("denied"), "{glob}");
    }
    let bad = read_glob(
        "relative/*.log",
        &logs.scope,
        &mut logs.positions,
        false,
        &mut quota,
        0,
    );
    assert!(bad.unwrap_err().contains("not an absolute path"));
}

#[test]
fn positions_of_deleted_files_are_forgotten() {
    let mut logs = Logs::new();
    logs.append("a.log", "x\n");
    logs.append("b.log", "y\n");
    logs.read();
    std::fs::remove_file(logs.path("a.log")).unwrap();
    logs.read();
    let kept: Vec<_> = logs.positions.files.keys().cloned().collect();
    assert_eq!(kept, [logs.path("b.log").display().to_string()]);
}
