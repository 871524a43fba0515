//! Unix: modes, `(dev, ino)`, signals, symbolic links and `exec`.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::fs::{DirBuilderExt as _, FileExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use tokio::signal::unix::{Signal, SignalKind, signal};

use super::FileId;

pub(super) fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

pub(super) fn options_with_mode(mode: u32) -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(mode);
    options
}

pub(super) fn mode(meta: &Metadata) -> Option<u32> {
    Some(meta.permissions().mode() & 0o7777)
}

pub(super) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(super) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.read_exact_at(buf, offset)
}

pub(super) fn file_id(_path: &Path, meta: &Metadata) -> io::Result<FileId> {
    Ok(FileId {
        volume: meta.dev(),
        index: meta.ino(),
    })
}

pub(super) fn open_shared(path: &Path) -> io::Result<File> {
    File::open(path)
}

pub(super) fn free_space(dir: &Path) -> io::Result<u64> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

pub(super) fn point(tmp: &Path, link: &Path, target: &Path) -> io::Result<()> {
    let _ = std::fs::remove_file(tmp);
    std::os::unix::fs::symlink(target, tmp)?;
    std::fs::rename(tmp, link)
}

pub(super) fn pointed(link: &Path) -> Option<PathBuf> {
    std::fs::read_link(link).ok()
}

pub(super) struct StopRequests {
    term: Signal,
    int: Signal,
}

impl StopRequests {
    pub(super) fn listen() -> io::Result<StopRequests> {
        Ok(StopRequests {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    pub(super) async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

pub(super) fn ask_to_stop(child: &tokio::process::Child) -> bool {
    let pid = child
        .id()
        .and_then(|p| rustix::process::Pid::from_raw(p as i32));
    pid.is_some_and(|pid| rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok())
}

pub(super) fn tie_to_launcher() -> bool {
    // A launcher killed outright takes its child with it (systemd would;
    // a shell or a test might not).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM));
    !rustix::process::getppid().is_none_or(|p| p.is_init())
}

pub(super) fn run_again() -> io::Result<i32> {
    use std::os::unix::process::CommandExt as _;
    let exe = std::env::current_exe()?;
    Err(std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .exec())
}
