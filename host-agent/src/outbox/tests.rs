use super::*;
use crate::config::OutboxSection;
use vantage_protocol::result::Status;

fn limits(max_bytes: u64, segment_bytes: u64) -> OutboxSection {
    OutboxSection {
        max_bytes,
        segment_bytes,
        batch_results: 500,
    }
}

fn result(n: u32) -> CheckResult {
    CheckResult {
        id: uuid::Uuid::now_v7(),
        agent: "a".into(),
        check: format!("check-{n}"),
        target: "t".into(),
        plugin: "tcp".into(),
        plugin_version: "0.1.0".into(),
        status: Status::Ok,
        started_at: chrono::Utc::now(),
        duration: 0.1,
        message: None,
        samples: vec![],
        distributions: vec![],
        events: vec![],
    }
}

fn checks(batch: &[(RecordId, Vec<u8>)]) -> Vec<String> {
    batch
        .iter()
        .map(|(_, j)| serde_json::from_slice::<CheckResult>(j).unwrap().check)
        .collect()
}

#[test]
fn appended_results_survive_reopening_and_acks_are_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), &limits(1 << 20, 4096)).unwrap();
    for n in 0..30 {
        o.append(&result(n)).unwrap();
    }
    assert!(o.segments.len() > 1, "30 results roll over 4 KiB segments");
    let first = o.next_batch(10, 1 << 20).unwrap();
    o.ack(&ids(&first)).unwrap();
    drop(o);
    let o = Outbox::open(dir.path(), &limits(1 << 20, 4096)).unwrap();
    assert_eq!(o.pending(), 20);
    let rest = o.next_batch(100, 1 << 20).unwrap();
    let acked: HashSet<String> = checks(&first).into_iter().collect();
    assert!(
        checks(&rest).iter().all(|c| !acked.contains(c)),
        "an acknowledged record is never sent again"
    );
    assert_eq!(o.stats().backlog_results, 20);
}

use std::collections::HashSet;

#[test]
fn a_backlog_drains_oldest_first_with_half_of_each_batch_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), &limits(1 << 20, 1 << 16)).unwrap();
    for n in 0..100 {
        o.append(&result(n)).unwrap();
    }
    let batch = checks(&o.next_batch(10, 1 << 20).unwrap());
    let want: Vec<String> = (0..5)
        .chain(95..100)
        .map(|n| format!("check-{n}"))
        .collect();
    assert_eq!(batch, want);
}

#[test]
fn a_torn_tail_is_cut_off_and_appending_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), &limits(1 << 20, 1 << 16)).unwrap();
    for n in 0..3 {
        o.append(&result(n)).unwrap();
    }
    let path = o.segments.values().next_back().unwrap().path.clone();
    drop(o);
    // A crash mid-write: a header promising more bytes than follow.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(&500u32.to_le_bytes()).unwrap();
    f.write_all(&[1, 2, 3, 4, b'{']).unwrap();
    drop(f);
    let mut o = Outbox::open(dir.path(), &limits(1 << 20, 1 << 16)).unwrap();
    assert_eq!(o.pending(), 3);
    o.append(&result(3)).unwrap();
    drop(o);
    let o = Outbox::open(dir.path(), &limits(1 << 20, 1 << 16)).unwrap();
    assert_eq!(
        checks(&o.next_batch(10, 1 << 20).unwrap()),
        ["check-0", "check-1", "check-2", "check-3"]
    );
    assert_eq!(
        o.counters().corrupt_bytes,
        0,
        "a torn tail is expected after a crash, not corruption"
    );
}

#[test]
fn corruption_inside_an_older_segment_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), &limits(1 << 20, 2048)).unwrap();
    for n in 0..20 {
        o.append(&result(n)).unwrap();
    }
    let first = o.segments.values().next().unwrap();
    let (path, second_record) = (first.path.clone(), first.slots[1].offset);
    let first_count = first.slots.len();
    drop(o);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[second_record as usize + 10] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let o = Outbox::open(dir.path(), &limits(1 << 20, 2048)).unwrap();
    assert_eq!(o.pending(), 20 - (first_count - 1));
    assert!(o.counters().corrupt_bytes > 0);
}

#[test]
fn the_bound_drops_the_oldest_segments_and_counts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), &limits(4096, 1024)).unwrap();
    for n in 0..100 {
        o.append(&result(n)).unwrap();
        let on_disk: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("seg-"))
            .map(|e| e.metadata().unwrap().len())
            .sum();
        assert!(on_disk <= 4096, "the outbox holds {on_disk} bytes");
    }
    let stats = o.stats();
    assert_eq!(stats.dropped_results + stats.backlog_results, 100);
    assert!(stats.dropped_results > 50);
    let kept = checks(&o.next_batch(1000, 1 << 20).unwrap());
    let first_kept: u32 = kept[0].trim_start_matches("check-").parse().unwrap();
    assert_eq!(
        u64::from(first_kept),
        stats.dropped_results,
        "the oldest were dropped: {kept:?}"
    );
    drop(o);
    let o = Outbox::open(dir.path(), &limits(4096, 1024)).unwrap();
    assert_eq!(
        o.stats().dropped_results,
        stats.dropped_results,
        "the count is persisted"
    );
}

#[test]
fn rejected_results_are_kept_aside_and_not_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), &limits(1 << 20, 1 << 16)).unwrap();
    for n in 0..4 {
        o.append(&result(n)).unwrap();
    }
    let batch = o.next_batch(10, 1 << 20).unwrap();
    assert!(o.holds(&ids(&batch)));
    o.reject(&batch[1..2], "samples[0].unit: bad").unwrap();
    assert_eq!(o.pending(), 3);
    let kept = std::fs::read_to_string(dir.path().join("rejected.jsonl")).unwrap();
    assert!(
        kept.contains("check-1") && kept.contains("samples[0].unit"),
        "{kept}"
    );
    assert_eq!(o.counters().rejected_results, 1);
}

#[test]
fn a_batch_respects_its_byte_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), &limits(1 << 20, 1 << 16)).unwrap();
    for n in 0..10 {
        o.append(&result(n)).unwrap();
    }
    let one = o.next_batch(10, 10).unwrap();
    assert_eq!(one.len(), 1, "at least one record, even over the limit");
}

#[cfg(unix)]
#[test]
fn every_outbox_file_is_readable_by_the_agent_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("outbox");
    let mut o = Outbox::open(&dir, &limits(1 << 20, 1 << 16)).unwrap();
    for n in 0..3 {
        o.append(&result(n)).unwrap();
    }
    let batch = o.next_batch(10, 1 << 20).unwrap();
    o.ack(&ids(&batch[..1])).unwrap();
    o.reject(&batch[1..2], "bad").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files.len() >= 3,
        "segment, state and rejected files: {files:?}"
    );
    for file in files {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn inspecting_reads_every_record_and_changes_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        inspect(&dir.path().join("none")).unwrap(),
        Inspection {
            segments: 0,
            records: 0
        }
    );
    let mut o = Outbox::open(dir.path(), &limits(1 << 20, 4096)).unwrap();
    for n in 0..30 {
        o.append(&result(n)).unwrap();
    }
    o.sync().unwrap();
    // A torn tail, as after a crash mid-write.
    let last = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .max()
        .unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap()
        .write_all(b"\x10\0\0\0torn")
        .unwrap();
    let snapshot = |d: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let before = snapshot(dir.path());
    let found = inspect(dir.path()).unwrap();
    assert_eq!(found.records, 30);
    assert!(found.segments >= 2, "{found:?}");
    assert_eq!(snapshot(dir.path()), before, "inspecting wrote nothing");
    std::fs::write(dir.path().join("state.json"), b"{not json").unwrap();
    assert!(inspect(dir.path()).is_err());
}
