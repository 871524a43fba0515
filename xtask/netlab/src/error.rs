//! What can go wrong while building or using a lab: every command error
//! names the command line and, when it ran, its standard error.

use std::process::{Command, ExitStatus};
use std::time::Duration;

/// An error of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program could not be started, or waiting for it failed.
    #[error("cannot run `{command}`: {source}")]
    Io {
        command: String,
        source: std::io::Error,
    },
    /// The program ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: ExitStatus,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// The program did not end within its time limit and was killed.
    #[error("`{command}` was stopped after {limit:?}")]
    TimedOut { command: String, limit: Duration },
    /// The lab did not become ready (no carrier, no route, no listener).
    #[error("{0}")]
    NotReady(String),
    /// This process cannot build labs (not root, no `ip netns`, a tool missing).
    #[error("{0}")]
    Unavailable(String),
    /// The stop condition given to [`crate::Lab::stop_when`] held.
    #[error("interrupted")]
    Interrupted,
}

/// `program arg arg…` as one line, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}
