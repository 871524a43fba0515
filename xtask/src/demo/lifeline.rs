//! The demo's children die with it, however it ends: Ctrl-C, SIGTERM,
//! SIGKILL or a panic. Each child asks the kernel (`PR_SET_PDEATHSIG`) for
//! a SIGTERM when the thread that started it ends; the server and the agent
//! shut down cleanly on it. The demo starts its children from its main
//! thread, which lives as long as the process.
//!
//! This and `bench/sys.rs` are xtask's only `unsafe`: one closure of two
//! async-signal-safe system calls between fork and exec, and kill(2) for
//! the test that stops the demo (`smoke.rs`).
#![allow(unsafe_code)]

use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// Makes the child that `cmd` starts receive SIGTERM when this process
/// (precisely: the calling thread) ends.
pub(crate) fn tie(cmd: &mut Command) -> &mut Command {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: it makes two system calls and
    // builds errors from a number, without allocating.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent ended before the request took effect: the signal
            // will never come, so the child does not start at all.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        })
    }
}

/// Sends `signal` (`libc::SIGTERM`…) to the process `pid`.
pub(crate) fn send(pid: u32, signal: libc::c_int) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    // SAFETY: kill(2) takes plain numbers and touches no memory of ours.
    if unsafe { libc::kill(pid, signal) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
