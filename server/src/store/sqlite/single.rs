//! One server per SQLite database: SQLite's single writer lives in one
//! process, so a second `vantage-server` on the same file would fight
//! the first for it (and each would hold its own jobs lease, live
//! updates and caches). `serve` takes an exclusive lock on a file beside
//! the database for as long as it runs; a second server is refused with
//! the first one's pid. The kernel drops the lock when the process ends,
//! however it ends (`kill -9` included), so a restart never finds a stale
//! one. Backups and other tools opening the database take no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

/// The lock, held until dropped.
#[derive(Debug)]
pub struct ServerLock {
    _file: File,
    pub path: PathBuf,
}

impl ServerLock {
    /// Takes the lock of the database at `db`: `<db>.lock`, holding this
    /// process's pid. Err names the server holding it.
    pub fn take(db: &Path) -> Result<ServerLock, String> {
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                let who = if pid.is_empty() {
                    "another vantage-server".to_owned()
                } else {
                    format!("another vantage-server (pid {pid})")
                };
                return Err(format!(
                    "{who} serves the SQLite database {}: SQLite takes one server at a time; \
                     for several replicas use PostgreSQL (docs/operations.md)",
                    db.display()
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
        let pid = std::process::id().to_string();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(ServerLock { _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("vantage.db");
        let first = ServerLock::take(&db).unwrap();
        assert_eq!(
            std::fs::read_to_string(&first.path).unwrap(),
            std::process::id().to_string()
        );
        let refused = ServerLock::take(&db).unwrap_err();
        assert!(
            refused.contains(&format!("(pid {})", std::process::id()))
                && refused.contains("vantage.db")
                && refused.contains("PostgreSQL"),
            "{refused}"
        );
        drop(first);
        ServerLock::take(&db).unwrap();
    }
}
