//! Reading the lines appended to files since the last read, through
//! rotation: a file's position is its identity (device and inode; volume
//! and file index on Windows, [`crate::platform::file_id`]) and offset,
//! plus a digest of its first bytes.
//!
//! - A file renamed away (`access.log` → `access.log.1`, a new `access.log`
//!   created) is found again by inode in its folder and read to its end
//!   before the new file is read from its start.
//! - A file truncated in place (copytruncate), or whose first bytes changed,
//!   is read again from its start.
//! - A file the glob matches for the first time is read from its start,
//!   except on the glob's very first read: that one records every file's
//!   end and returns nothing, so a new check does not ship the backlog.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use vantage_protocol::allow::{PATH_MATCH, path_glob};

use super::{Line, Quota};
use crate::caps::Scope;
use crate::platform::{FileId, file_id, open_shared};

/// The most files one glob may match.
pub(crate) const MAX_FILES: usize = 256;
/// The longest line handed over; the rest of a longer one is skipped.
pub(crate) const MAX_LINE: usize = 64 << 10;
/// The bytes at a file's start whose digest tells a truncated or replaced
/// file from the one read before.
const HEAD: u64 = 256;

/// Where a file was read up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FilePos {
    dev: u64,
    ino: u64,
    offset: u64,
    /// How many of the file's first bytes `head` digests (≤ [`HEAD`]).
    head_len: u64,
    head: String,
}

impl FilePos {
    fn id(&self) -> FileId {
        FileId {
            volume: self.dev,
            index: self.ino,
        }
    }
}

/// The file positions of one check and target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct FilePositions {
    /// By path, as the glob matched it.
    #[serde(default)]
    files: BTreeMap<String, FilePos>,
    /// The file a path named before rotation, not yet read to its end.
    #[serde(default)]
    rotated: BTreeMap<String, FilePos>,
}

/// What reading a glob gave.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    pub(crate) lines: Vec<Line>,
    pub(crate) more: bool,
    pub(crate) notes: Vec<String>,
}

/// A file the glob matched.
struct Matched {
    /// Its path as matched, the key of its position.
    text: String,
    path: PathBuf,
    len: u64,
    id: FileId,
}

/// Reads the lines appended to the files `glob` matches, within `quota`.
/// `first` is the glob's first read: positions only.
pub(crate) fn read_glob(
    glob: &str,
    scope: &Scope,
    positions: &mut FilePositions,
    first: bool,
    quota: &mut Quota,
    now_ms: u64,
) -> Result<Tail, String> {
    let pattern = path_glob(glob)?;
    if !scope.permits_glob(glob) {
        return Err(format!(
            "denied: `{glob}` is outside the files this check is granted ({})",
            scope.log_grants()
        ));
    }
    let mut tail = Tail::default();
    let mut matched = Vec::new();
    let entries = glob::glob_with(glob, PATH_MATCH).map_err(|e| e.msg.to_owned())?;
    for path in entries.filter_map(Result::ok) {
        // Follows links: a link to a file is read, a folder is not.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let text = path.to_string_lossy().into_owned();
        if !scope.permits_file(&text) {
            return Err(format!(
                "denied: `{text}` is outside the files this check is granted"
            ));
        }
        // A link must not lead out of the grant.
        let real = std::fs::canonicalize(&path).map_err(|e| format!("{text}: {e}"))?;
        if !scope.permits_file(&real.to_string_lossy()) {
            tail.notes.push(format!(
                "skipped {text}: it leads to {}, outside the granted files",
                real.display()
            ));
            continue;
        }
        if matched.len() == MAX_FILES {
            tail.notes.push(format!(
                "`{glob}` matches more than {MAX_FILES} files; the rest are skipped"
            ));
            break;
        }
        let id = match file_id(&path, &meta) {
            Ok(id) => id,
            Err(e) => {
                tail.notes.push(format!("skipped {text}: {e}"));
                continue;
            }
        };
        matched.push(Matched {
            text,
            path,
            len: meta.len(),
            id,
        });
    }
    if matched.is_empty() {
        tail.notes.push(format!("no file matches `{glob}`"));
    }
    // Where each inode the glob matched lives now, to follow renames.
    let by_inode: HashMap<FileId, String> =
        matched.iter().map(|m| (m.id, m.text.clone())).collect();
    for file in &matched {
        if first {
            let mut pos = start(file.id);
            pos.offset = file.len;
            set_head(&mut pos, &file.path);
            positions.files.insert(file.text.clone(), pos);
            continue;
        }
        if quota.spent() {
            tail.more = true;
            break;
        }
        follow(file, &by_inode, positions, quota, now_ms, &mut tail)?;
    }
    // Forget what the glob no longer matches (deleted, or renamed away and
    // read to its end); other globs' files are theirs to keep.
    let live: std::collections::HashSet<&String> = matched.iter().map(|m| &m.text).collect();
    positions
        .files
        .retain(|path, _| !pattern.matches_with(path, PATH_MATCH) || live.contains(path));
    Ok(tail)
}

/// Reads one matched file on from its position, finishing the file it
/// replaced first.
fn follow(
    file: &Matched,
    by_inode: &HashMap<FileId, String>,
    positions: &mut FilePositions,
    quota: &mut Quota,
    now_ms: u64,
    tail: &mut Tail,
) -> Result<(), String> {
    let (text, path) = (file.text.as_str(), file.path.as_path());
    let mut pos = match positions.files.remove(text) {
        Some(pos) if pos.id() == file.id => pos,
        Some(old) => {
            // Rotated: the old inode is either another match of the glob
            // (read there), or somewhere in the folder (read here first).
            match by_inode.get(&old.id()) {
                Some(now_at) => {
                    positions.files.insert(now_at.clone(), old);
                }
                None => {
                    positions.rotated.insert(text.to_owned(), old);
                }
            }
            start(file.id)
        }
        None => match take_by_inode(positions, file.id) {
            Some(pos) => pos,
            None => start(file.id),
        },
    };
    if let Some(mut old) = positions.rotated.remove(text) {
        match find_inode(path.parent(), old.id()) {
            Some(rotated) => {
                let done = read_lines(&rotated, text, &mut old, true, quota, now_ms, tail)?;
                if !done {
                    positions.rotated.insert(text.to_owned(), old);
                    positions.files.insert(text.to_owned(), pos);
                    tail.more = true;
                    return Ok(());
                }
            }
            None => tail.notes.push(format!(
                "{text} was rotated and its old file was gone before it was read to its end"
            )),
        }
    }
    if file.len < pos.offset {
        tail.notes
            .push(format!("{text} was truncated; reading it from the start"));
        pos = start(file.id);
    } else if !head_matches(&pos, path) {
        tail.notes
            .push(format!("{text} was replaced; reading it from the start"));
        pos = start(file.id);
    }
    if !read_lines(path, text, &mut pos, false, quota, now_ms, tail)? {
        tail.more = true;
    }
    positions.files.insert(text.to_owned(), pos);
    Ok(())
}

fn start(id: FileId) -> FilePos {
    FilePos {
        dev: id.volume,
        ino: id.index,
        offset: 0,
        head_len: 0,
        head: String::new(),
    }
}

/// The position recorded for this inode under another path, which the
/// file was renamed from.
fn take_by_inode(positions: &mut FilePositions, id: FileId) -> Option<FilePos> {
    let path = positions
        .files
        .iter()
        .find(|(_, p)| p.id() == id)
        .map(|(path, _)| path.clone())?;
    positions.files.remove(&path)
}

/// The file in `dir` with this identity.
fn find_inode(dir: Option<&Path>, id: FileId) -> Option<PathBuf> {
    std::fs::read_dir(dir?)
        .ok()?
        .filter_map(Result::ok)
        .find(|e| {
            let path = e.path();
            std::fs::symlink_metadata(&path)
                .is_ok_and(|m| m.is_file() && file_id(&path, &m).is_ok_and(|f| f == id))
        })
        .map(|e| e.path())
}

fn digest_head(path: &Path, len: u64) -> Option<String> {
    let mut bytes = Vec::with_capacity(len as usize);
    open_shared(path)
        .ok()?
        .take(len)
        .read_to_end(&mut bytes)
        .ok()?;
    (bytes.len() as u64 == len).then(|| hex::encode(&sha2::Sha256::digest(&bytes)[..12]))
}

fn head_matches(pos: &FilePos, path: &Path) -> bool {
    pos.head_len == 0 || digest_head(path, pos.head_len).as_deref() == Some(pos.head.as_str())
}

fn set_head(pos: &mut FilePos, path: &Path) {
    let len = pos.offset.min(HEAD);
    if len > pos.head_len
        && let Some(head) = digest_head(path, len)
    {
        pos.head_len = len;
        pos.head = head;
    }
}

/// Reads whole lines from `pos` on, within `quota`, advancing `pos`.
/// `to_end` also takes a last line without its line end (a rotated file
/// will not grow). Whether it read everything there was.
fn read_lines(
    path: &Path,
    origin: &str,
    pos: &mut FilePos,
    to_end: bool,
    quota: &mut Quota,
    now_ms: u64,
    tail: &mut Tail,
) -> Result<bool, String> {
    let file = open_shared(path).map_err(|e| format!("{origin}: {e}"))?;
    let mut reader = BufReader::with_capacity(64 << 10, file);
    reader
        .seek(SeekFrom::Start(pos.offset))
        .map_err(|e| format!("{origin}: {e}"))?;
    let mut buf = Vec::new();
    let done = loop {
        if quota.spent() {
            break false;
        }
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| format!("{origin}: {e}"))?;
        if n == 0 {
            break true;
        }
        let mut consumed = n as u64;
        let ended = buf.last() == Some(&b'\n');
        if !ended && buf.len() <= MAX_LINE && !to_end {
            // A line still being written: the next read takes it whole.
            break true;
        }
        if !ended && buf.len() > MAX_LINE {
            consumed += skip_line(&mut reader).map_err(|e| format!("{origin}: {e}"))?;
            buf.truncate(MAX_LINE);
        }
        let text = text_of(&buf);
        if !quota.take(text.len()) {
            break false;
        }
        pos.offset += consumed;
        tail.lines.push(Line {
            origin: origin.to_owned(),
            text,
            at_ms: now_ms,
        });
    };
    set_head(pos, path);
    Ok(done)
}

/// Skips to just past the next line end; the bytes skipped.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<u64> {
    let mut skipped = 0;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(skipped);
        }
        match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(skipped + i as u64 + 1);
            }
            None => {
                let n = chunk.len();
                reader.consume(n);
                skipped += n as u64;
            }
        }
    }
}

/// A line's text: without its line end, invalid UTF-8 replaced.
fn text_of(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes).into_owned();
    vantage_protocol::text::clip(text, MAX_LINE)
}

// The grants are Unix paths (`/var/log/*.log`); Windows paths come with
// the Event Log source (docs/design/platforms.md).
#[cfg(all(test, unix))]
#[path = "tail_tests.rs"]
mod tests;
