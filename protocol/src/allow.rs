//! What a check's `allow` entries grant besides its own target, read the
//! same way by the agent (its scopes) and the server (validating checks).
//!
//! - `*`, a host name, an IP address or a CIDR network: hosts the network
//!   capabilities may reach.
//! - An absolute path glob, `/var/log/nginx/*.log`: files the `logs`
//!   capability may read. `*`, `?` and `[…]` stay within one path
//!   component; `**` as a whole component crosses components.
//! - `journal:UNIT`, where UNIT may be a glob (`journal:nginx.service`,
//!   `journal:*.service`): journal entries the `logs` capability may read.
//!
//! ```
//! use vantage_protocol::allow::Allow;
//!
//! assert!(matches!(Allow::parse("/var/log/*.log"), Ok(Allow::Files(_))));
//! assert!(matches!(Allow::parse("journal:nginx.service"), Ok(Allow::Journal(_))));
//! assert!(matches!(Allow::parse("10.0.0.0/8"), Ok(Allow::Network(_))));
//! assert!(Allow::parse("/var/log/../../etc/shadow").is_err());
//! ```

use crate::net::Network;

/// The prefix of a journal grant.
pub const JOURNAL_PREFIX: &str = "journal:";
/// Longest path glob or unit pattern, in bytes.
pub const MAX_GLOB: usize = 512;

/// Match options of every path glob: wildcards never cross a `/` (only a
/// `**` component does), and a leading `.` needs no literal dot.
pub const PATH_MATCH: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// One `allow` entry, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Allow {
    /// `*`: any host.
    Any,
    /// A host name or an IP address.
    Host(String),
    /// A CIDR network.
    Network(Network),
    /// Files whose path matches this glob.
    Files(glob::Pattern),
    /// Journal units whose name matches this pattern.
    Journal(glob::Pattern),
}

impl Allow {
    /// Reads an entry, or says why it is none of the kinds above.
    pub fn parse(entry: &str) -> Result<Allow, String> {
        let entry = entry.trim();
        if entry.is_empty() {
            return Err("an empty allow entry".into());
        }
        if entry.len() > MAX_GLOB {
            return Err(format!("an allow entry is longer than {MAX_GLOB} bytes"));
        }
        if entry == "*" {
            return Ok(Allow::Any);
        }
        if let Some(unit) = entry.strip_prefix(JOURNAL_PREFIX) {
            return unit_pattern(unit).map(Allow::Journal);
        }
        if entry.starts_with('/') {
            return path_glob(entry).map(Allow::Files);
        }
        if entry.contains('/') {
            return Network::parse(entry).map(Allow::Network);
        }
        if entry.parse::<std::net::IpAddr>().is_ok() || is_host_name(entry) {
            Ok(Allow::Host(entry.to_owned()))
        } else {
            Err(format!(
                "`{entry}` is not a host, address, CIDR, absolute path glob or journal:UNIT"
            ))
        }
    }
}

/// An absolute path glob without `.` or `..` components, NUL or control
/// characters, that `glob` can read.
pub fn path_glob(text: &str) -> Result<glob::Pattern, String> {
    if !text.starts_with('/') {
        return Err(format!("`{text}` is not an absolute path"));
    }
    if text.len() > MAX_GLOB {
        return Err(format!("a path glob is longer than {MAX_GLOB} bytes"));
    }
    if text.chars().any(char::is_control) {
        return Err("a path glob contains control characters".into());
    }
    if text.split('/').any(|part| part == ".." || part == ".") {
        return Err(format!("`{text}` has a `.` or `..` component"));
    }
    glob::Pattern::new(text).map_err(|e| format!("`{text}` is not a glob: {}", e.msg))
}

/// A systemd unit name or a glob of them: letters, digits and `:_.@-\`
/// plus the glob characters.
pub fn unit_pattern(text: &str) -> Result<glob::Pattern, String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || ":_.@-\\*?[]!".contains(c);
    if text.is_empty() || text.len() > 256 || !text.chars().all(ok) {
        return Err(format!("`{text}` is not a systemd unit name or pattern"));
    }
    glob::Pattern::new(text).map_err(|e| format!("`{text}` is not a pattern: {}", e.msg))
}

/// A DNS host name: labels of letters, digits and inner hyphens.
fn is_host_name(entry: &str) -> bool {
    (1..=253).contains(&entry.len())
        && entry.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_entry_is_read_for_what_it_is() {
        assert_eq!(Allow::parse(" * ").unwrap(), Allow::Any);
        assert_eq!(
            Allow::parse("db.example.net").unwrap(),
            Allow::Host("db.example.net".into())
        );
        assert_eq!(Allow::parse("::1").unwrap(), Allow::Host("::1".into()));
        assert!(matches!(Allow::parse("fd00::/8"), Ok(Allow::Network(_))));
        let Ok(Allow::Files(glob)) = Allow::parse("/var/log/nginx/*.log") else {
            panic!("a path glob");
        };
        assert!(glob.matches_with("/var/log/nginx/access.log", PATH_MATCH));
        assert!(!glob.matches_with("/var/log/nginx/old/access.log", PATH_MATCH));
        let Ok(Allow::Journal(unit)) = Allow::parse("journal:nginx*.service") else {
            panic!("a journal grant");
        };
        assert!(unit.matches("nginx-proxy.service"));
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        for (entry, says) in [
            ("", "empty"),
            ("/var/log/../shadow", "`..` component"),
            ("/var/log/./x", "`.` or `..` component"),
            ("/var/log/[x", "not a glob"),
            ("/var/log/\u{7}", "control"),
            ("journal:", "not a systemd unit"),
            ("journal:a b", "not a systemd unit"),
            ("var/log/*.log", "CIDR"),
            ("bad host!", "not a host"),
        ] {
            let error = Allow::parse(entry).unwrap_err();
            assert!(error.contains(says), "{entry:?}: {error}");
        }
        assert!(Allow::parse(&format!("/{}", "a".repeat(MAX_GLOB))).is_err());
    }
}
