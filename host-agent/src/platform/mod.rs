//! What differs between operating systems, in one place: no other module
//! names one (docs/design/platforms.md). Each function here has one
//! signature and an implementation per system in `unix.rs` or
//! `windows.rs`; the ICMP engine's sockets are Linux's own and stay in
//! [`crate::icmp`], which reports itself unavailable elsewhere.
//!
//! - **Private files.** On Unix the agent's files are 0600 in 0700
//!   folders. On Windows the data folder's ACL (SYSTEM and Administrators,
//!   set when the service is installed) protects what is in it, and files
//!   inherit it; the mode calls do nothing there.
//! - **File identity** for log positions: `(dev, ino)` on Unix, the volume
//!   serial number and file index on Windows. Log files are opened so that
//!   a rotation may rename or delete them while they are read.
//! - **Stopping**: SIGTERM and SIGINT on Unix; Ctrl-C, Ctrl-Break, console
//!   close and system shutdown on Windows.
//! - **Supervising a version** (self-update): the launcher asks its child
//!   to stop (SIGTERM on Unix; on Windows there is no signal to send to
//!   another console process, so the child is ended outright, which the
//!   outbox survives), a child ends with its launcher (`PR_SET_PDEATHSIG`
//!   on Linux), and the installed binary runs itself again (`exec` on
//!   Unix; a child whose status it returns on Windows).
//! - **Which version runs**: `current` is a symbolic link on Unix and a
//!   file naming the version on Windows, where links need a privilege.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// The name of this system in messages ("linux", "windows", "macos").
pub(crate) const SYSTEM: &str = std::env::consts::OS;

/// Whether systemd may run this system's services (`vantage-agent install`).
pub(crate) const SYSTEMD: bool = cfg!(target_os = "linux");

/// Creates `dir` and its missing parents, private to the agent's user.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    imp::create_private_dir(dir)
}

/// Options that create files private to the agent's user (0600 on Unix).
pub(crate) fn private_options() -> OpenOptions {
    imp::options_with_mode(0o600)
}

/// Options that create executables (0755 on Unix).
pub(crate) fn executable_options() -> OpenOptions {
    imp::options_with_mode(0o755)
}

/// The Unix permission bits of a file; `None` where there are none.
pub(crate) fn mode(meta: &Metadata) -> Option<u32> {
    imp::mode(meta)
}

/// Sets a file's Unix permission bits; does nothing where there are none.
pub(crate) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    imp::set_mode(path, mode)
}

/// Whether only the agent's user may read a file: its mode on Unix; on
/// Windows the data folder's ACL decides, so any file there counts.
pub(crate) fn private_to_owner(meta: &Metadata) -> bool {
    mode(meta).is_none_or(|m| m & 0o077 == 0)
}

/// Makes a folder's entries (a rename in it) durable. Windows cannot open
/// a folder as a file, and NTFS journals its entries itself.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    imp::sync_dir(dir)
}

/// Fills `buf` from `offset` in `file` without moving a shared cursor.
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    imp::read_exact_at(file, buf, offset)
}

/// A file's identity, stable across renames within its volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileId {
    /// The device (Unix) or volume serial number (Windows).
    pub(crate) volume: u64,
    /// The inode (Unix) or file index (Windows).
    pub(crate) index: u64,
}

/// The identity of the file at `path`, whose metadata is `meta`.
pub(crate) fn file_id(path: &Path, meta: &Metadata) -> io::Result<FileId> {
    imp::file_id(path, meta)
}

/// Opens a file to read it while others may append to, rename or delete it
/// (log rotation).
pub(crate) fn open_shared(path: &Path) -> io::Result<File> {
    imp::open_shared(path)
}

/// The bytes an unprivileged user may still write on the disk of `dir`.
pub(crate) fn free_space(dir: &Path) -> io::Result<u64> {
    imp::free_space(dir)
}

/// Makes `link` name `target` (a path relative to `link`'s folder),
/// replacing what is there in one rename of `tmp`.
pub(crate) fn point(tmp: &Path, link: &Path, target: &Path) -> io::Result<()> {
    imp::point(tmp, link, target)
}

/// What `link` names, as [`point`] wrote it.
pub(crate) fn pointed(link: &Path) -> Option<std::path::PathBuf> {
    imp::pointed(link)
}

/// Waits until the agent is asked to stop.
pub struct StopRequests(imp::StopRequests);

impl StopRequests {
    /// Listens from now on; fails when the system refuses a handler.
    pub fn listen() -> io::Result<StopRequests> {
        imp::StopRequests::listen().map(StopRequests)
    }

    /// The next request to stop.
    pub async fn recv(&mut self) {
        self.0.recv().await
    }
}

/// Asks a supervised child to stop; `false` when it cannot be asked and
/// must be ended outright.
pub(crate) fn ask_to_stop(child: &tokio::process::Child) -> bool {
    imp::ask_to_stop(child)
}

/// In a supervised child: ties its life to its launcher's where the system
/// can. Whether the launcher is still there.
pub(crate) fn tie_to_launcher() -> bool {
    imp::tie_to_launcher()
}

/// Runs this binary again with the same arguments, in place of this
/// process where the system can (`exec`). Returns only on failure, or on
/// Windows with the new process's exit status.
pub fn run_again() -> io::Result<i32> {
    imp::run_again()
}

#[cfg(test)]
mod tests;
