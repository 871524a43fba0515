//! The error every network capability returns.

use std::fmt;

use crate::Status;

/// Why a network capability call failed: the Rust side of the WIT `net-error`
/// variant. The generated bindings use this type directly (through
/// wit-bindgen's `with` option), so it can carry a readable [`Display`](fmt::Display).
///
/// Convert it into an [`Outcome`](crate::Outcome) with `Outcome::from(error)`
/// to fail a run with the matching [`Status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// The capability was not granted, or the address is outside the check's
    /// scope. The text names what was refused.
    Denied(String),
    /// No answer within the request's timeout.
    Timeout,
    /// The peer refused (TCP RST, ICMP port unreachable).
    Refused,
    /// No route to the host or network; the text says which.
    Unreachable(String),
    /// The host name could not be resolved.
    Dns(String),
    /// The TLS handshake or certificate check failed.
    Tls(String),
    /// The request itself is malformed (bad URL, bad port, too large).
    Invalid(String),
    /// Any other I/O failure.
    Io(String),
}

impl NetError {
    /// The check status this error stands for: `timeout`, `refused` and
    /// `unreachable` keep their meaning, everything else is an `error`.
    pub fn status(&self) -> Status {
        match self {
            NetError::Timeout => Status::Timeout,
            NetError::Refused => Status::Refused,
            NetError::Unreachable(_) => Status::Unreachable,
            NetError::Denied(_)
            | NetError::Dns(_)
            | NetError::Tls(_)
            | NetError::Invalid(_)
            | NetError::Io(_) => Status::Error,
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Denied(what) => write!(f, "denied: {what}"),
            NetError::Timeout => f.write_str("no answer within the timeout"),
            NetError::Refused => f.write_str("the target refused the connection"),
            NetError::Unreachable(what) => write!(f, "the target is unreachable: {what}"),
            NetError::Dns(what) => write!(f, "name resolution failed: {what}"),
            NetError::Tls(what) => write!(f, "tls failed: {what}"),
            NetError::Invalid(what) => write!(f, "invalid request: {what}"),
            NetError::Io(what) => write!(f, "i/o error: {what}"),
        }
    }
}

impl std::error::Error for NetError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_readable_and_keep_the_detail() {
        assert_eq!(
            NetError::Denied("tcp is not granted".into()).to_string(),
            "denied: tcp is not granted"
        );
        assert_eq!(
            NetError::Timeout.to_string(),
            "no answer within the timeout"
        );
        assert_eq!(
            NetError::Dns("no such host".into()).to_string(),
            "name resolution failed: no such host"
        );
    }

    #[test]
    fn statuses_follow_the_failure() {
        assert_eq!(NetError::Timeout.status(), Status::Timeout);
        assert_eq!(NetError::Refused.status(), Status::Refused);
        assert_eq!(
            NetError::Unreachable("net".into()).status(),
            Status::Unreachable
        );
        for e in [
            NetError::Denied(String::new()),
            NetError::Dns(String::new()),
            NetError::Tls(String::new()),
            NetError::Invalid(String::new()),
            NetError::Io(String::new()),
        ] {
            assert_eq!(e.status(), Status::Error, "{e}");
        }
    }
}
