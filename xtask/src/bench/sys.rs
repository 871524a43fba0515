//! The two things the ICMP benchmark needs that std does not offer: the CPU
//! time of one finished child (`wait4`), and Ctrl-C / SIGTERM turned into a
//! flag, so that the benchmark stops its children and removes its network
//! namespaces instead of dying on the spot. With `demo/lifeline.rs`, the
//! only `unsafe` in xtask: plain libc calls whose arguments are checked below.
#![allow(unsafe_code)]

use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT, SIGTERM and SIGHUP only set a flag ([`interrupted`]).
pub(super) fn catch_interrupts() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `action` is fully initialised (zeroed, then the handler
        // and an empty mask); the handler only stores to an atomic, which
        // is async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Whether Ctrl-C (or SIGTERM) was received.
pub(super) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Fails once Ctrl-C (or SIGTERM) was received.
pub(super) fn check_interrupted() -> anyhow::Result<()> {
    if interrupted() {
        bail!("interrupted");
    }
    Ok(())
}

/// How a child ended and what it cost.
#[derive(Debug, Clone, Copy)]
pub(super) struct Finished {
    pub(super) status: ExitStatus,
    /// From just before the spawn (the caller's `started`) to its exit.
    pub(super) wall: Duration,
    /// User and system CPU time of the child and of whatever it waited for.
    pub(super) user: Duration,
    pub(super) sys: Duration,
    /// It was killed: over its time limit, or interrupted.
    pub(super) killed: bool,
}

impl Finished {
    /// User plus system CPU time.
    pub(super) fn cpu(&self) -> Duration {
        self.user + self.sys
    }
}

/// Waits for `child`, killing it (SIGKILL) when `limit` has passed since
/// `started` or on Ctrl-C, and returns its exit, wall time and CPU time.
pub(super) fn wait(child: Child, started: Instant, limit: Duration) -> anyhow::Result<Finished> {
    let pid = child.id() as libc::pid_t;
    // `done` turns true once the child has exited (before it is reaped), so
    // the watchdog never signals a reaped, possibly reused, pid.
    let done = Arc::new(Mutex::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (done, killed) = (done.clone(), killed.clone());
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(20));
                let done = done.lock().unwrap_or_else(|e| e.into_inner());
                if *done {
                    return;
                }
                if started.elapsed() > limit || INTERRUPTED.load(Ordering::SeqCst) {
                    // SAFETY: kill(2) with a pid of our unreaped child.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    killed.store(true, Ordering::SeqCst);
                }
            }
        })
    };
    loop {
        // SAFETY: `info` is a valid out-parameter; WNOWAIT leaves the child
        // unreaped.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            bail!("waiting for process {pid}: {e}");
        }
    }
    let wall = started.elapsed();
    *done.lock().unwrap_or_else(|e| e.into_inner()) = true;
    let _ = watchdog.join();
    let mut status = 0;
    // SAFETY: both out-parameters are valid; the child has exited, so this
    // returns at once and reaps it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        bail!("reaping process {pid}: {}", std::io::Error::last_os_error());
    }
    drop(child);
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(Finished {
        status: std::os::unix::process::ExitStatusExt::from_raw(status),
        wall,
        user: time(usage.ru_utime),
        sys: time(usage.ru_stime),
        killed: killed.load(Ordering::SeqCst),
    })
}
