//! What a check's capabilities may reach: the hosts of its network
//! capabilities, and the files and journal units of `logs`.
//!
//! A run may reach the host of its own target; the operator may widen that
//! with `allow` entries: host names, IP addresses, CIDR networks, or `*`;
//! absolute path globs and `journal:UNIT` grant logs
//! ([`vantage_protocol::allow`]). Nothing grants a file by default.

use std::fmt;
use std::net::IpAddr;

use vantage_protocol::allow::{Allow, PATH_MATCH};
use vantage_protocol::net::{Network, canonical, special};

/// Hosts, files and journal units one run may reach.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    hosts: Vec<String>,
    nets: Vec<Network>,
    any: bool,
    files: Vec<glob::Pattern>,
    units: Vec<glob::Pattern>,
}

impl Scope {
    /// The scope of a run against `target`, widened by `allow`.
    pub fn new(target: &str, allow: &[String]) -> Result<Self, String> {
        let mut scope = Scope {
            hosts: Vec::new(),
            nets: Vec::new(),
            any: false,
            files: Vec::new(),
            units: Vec::new(),
        };
        if let Some(host) = target_host(target) {
            scope.hosts.push(normalise(&host));
        }
        for entry in allow {
            scope.widen(entry)?;
        }
        Ok(scope)
    }

    fn widen(&mut self, entry: &str) -> Result<(), String> {
        match Allow::parse(entry)? {
            Allow::Any => self.any = true,
            Allow::Network(net) => self.nets.push(net),
            Allow::Host(host) => self.hosts.push(normalise(&host)),
            Allow::Files(glob) => self.files.push(glob),
            Allow::Journal(unit) => self.units.push(unit),
        }
        Ok(())
    }

    /// Whether the file at `path` (absolute, as written or resolved) may
    /// be read.
    pub(crate) fn permits_file(&self, path: &str) -> bool {
        self.files.iter().any(|g| g.matches_with(path, PATH_MATCH))
    }

    /// Whether a glob a plugin asks for lies within a granted one: read as
    /// a path, it matches one (so its wildcards widen nothing).
    pub(crate) fn permits_glob(&self, glob: &str) -> bool {
        self.permits_file(glob)
    }

    /// Whether the journal entries of `unit` may be read.
    pub(crate) fn permits_unit(&self, unit: &str) -> bool {
        self.units.iter().any(|u| u.matches(unit))
    }

    /// The granted path globs and journal units, for refusals.
    pub(crate) fn log_grants(&self) -> String {
        let mut parts: Vec<String> = self.files.iter().map(|g| g.as_str().to_owned()).collect();
        parts.extend(self.units.iter().map(|u| format!("journal:{}", u.as_str())));
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }

    /// Whether `host` (a name or an address literal) is in scope.
    pub fn permits(&self, host: &str) -> bool {
        if self.any {
            return true;
        }
        let host = normalise(host);
        if self.hosts.contains(&host) {
            return true;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => self.nets.iter().any(|net| net.contains(ip)),
            Err(_) => false,
        }
    }
}

impl Scope {
    /// Whether a resolved address may be reached, once its name passed
    /// [`Scope::permits`]: an ordinary address may; a special one
    /// (loopback, link-local with the cloud metadata address, unspecified,
    /// multicast, broadcast, IPv4-mapped forms too) only when the check
    /// lists it: the address itself, or a network of the same kind
    /// (`127.0.0.0/8`). Neither `*` nor `0.0.0.0/0` lists one.
    pub fn permits_address(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let Some(kind) = special(ip) else {
            return true;
        };
        self.hosts.contains(&ip.to_string())
            || self
                .nets
                .iter()
                .any(|net| net.bits > 0 && special(net.addr) == Some(kind) && net.contains(ip))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.any {
            return f.write_str("any host");
        }
        let mut parts: Vec<String> = self.hosts.clone();
        parts.extend(self.nets.iter().map(Network::to_string));
        if parts.is_empty() {
            f.write_str("no hosts")
        } else {
            write!(f, "allowed: {}", parts.join(", "))
        }
    }
}

/// The host part of a target: a URL's host, `host` of `host:port` or
/// `[v6]:port`, or the target itself.
pub(crate) fn target_host(target: &str) -> Option<String> {
    let target = target.trim();
    if target.is_empty() {
        return None;
    }
    if target.contains("://") {
        return url::Url::parse(target).ok()?.host_str().map(str::to_owned);
    }
    if let Some(rest) = target.strip_prefix('[') {
        return rest.split_once(']').map(|(h, _)| h.to_owned());
    }
    match target.matches(':').count() {
        1 => target.split_once(':').map(|(h, _)| h.to_owned()),
        _ => Some(target.to_owned()),
    }
}

fn normalise(host: &str) -> String {
    let host = host
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => host.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_hosts_are_extracted_from_every_form() {
        assert_eq!(
            target_host("https://Example.com:8443/x").as_deref(),
            Some("example.com")
        );
        assert_eq!(target_host("10.0.0.1:80").as_deref(), Some("10.0.0.1"));
        assert_eq!(target_host("[::1]:80").as_deref(), Some("::1"));
        assert_eq!(target_host("::1").as_deref(), Some("::1"));
        assert_eq!(target_host("db.local").as_deref(), Some("db.local"));
        assert_eq!(target_host("  "), None);
    }

    #[test]
    fn scope_permits_the_target_and_what_was_allowed_only() {
        let s = Scope::new("http://127.0.0.1:8080/", &[]).unwrap();
        assert!(s.permits("127.0.0.1"));
        assert!(!s.permits("127.0.0.2"));
        assert!(!s.permits("localhost"));

        let s = Scope::new("Web.Local:80", &["10.1.0.0/16".into(), "api.local".into()]).unwrap();
        assert!(s.permits("web.local."));
        assert!(s.permits("10.1.200.3"));
        assert!(!s.permits("10.2.0.1"));
        assert!(s.permits("API.local"));
        assert!(Scope::new("x", &["*".into()]).unwrap().permits("anything"));

        let s = Scope::new("[::1]:53", &["fd00::/8".into()]).unwrap();
        assert!(s.permits("::1") && s.permits("fd12::1") && !s.permits("fe80::1"));
    }

    #[test]
    fn special_addresses_need_the_check_to_list_them() {
        let by_name = Scope::new("http://metadata.example:80/", &[]).unwrap();
        assert!(by_name.permits("metadata.example"));
        for ip in [
            "169.254.169.254",
            "127.0.0.1",
            "::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "fe80::1",
        ] {
            assert!(!by_name.permits_address(ip.parse().unwrap()), "{ip}");
        }
        assert!(by_name.permits_address("192.0.2.10".parse().unwrap()));
        let wide = Scope::new("x", &["*".into(), "0.0.0.0/0".into(), "::/0".into()]).unwrap();
        assert!(!wide.permits_address("127.0.0.1".parse().unwrap()));
        assert!(!wide.permits_address("169.254.169.254".parse().unwrap()));
        assert!(wide.permits_address("203.0.113.9".parse().unwrap()));
        // Listed: the target's own literal, the address, a network of its kind.
        let listed = Scope::new(
            "127.0.0.1:8080",
            &["169.254.169.254".into(), "fe80::/10".into()],
        )
        .unwrap();
        assert!(listed.permits_address("127.0.0.1".parse().unwrap()));
        assert!(listed.permits_address("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!listed.permits_address("127.0.0.2".parse().unwrap()));
        assert!(listed.permits_address("169.254.169.254".parse().unwrap()));
        assert!(listed.permits_address("fe80::9".parse().unwrap()));
        let loopback_net = Scope::new("x", &["127.0.0.0/8".into()]).unwrap();
        assert!(loopback_net.permits_address("127.9.9.9".parse().unwrap()));
        assert!(!loopback_net.permits_address("169.254.1.1".parse().unwrap()));
    }

    #[test]
    fn bad_allow_entries_are_refused() {
        assert!(Scope::new("x", &["10.0.0.0/33".into()]).is_err());
        assert!(Scope::new("x", &["nonsense/8".into()]).is_err());
        assert!(Scope::new("x", &["".into()]).is_err());
    }
}
