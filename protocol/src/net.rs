//! Addresses no host should be probed at unless an operator names them:
//! loopback, link-local (with the 169.254.169.254 cloud metadata address),
//! unspecified, multicast and broadcast, in their IPv4-mapped IPv6 forms
//! too. Agents may not report them, mesh peers are never probed at them,
//! and the plugin scope denies them unless a check lists them.

use std::net::{IpAddr, Ipv6Addr};

/// Why `ip` is special, or `None` for an ordinary unicast address.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => Some("loopback"),
        IpAddr::V4(v4) if v4.is_link_local() => Some("link-local"),
        IpAddr::V4(v4) if v4.is_unspecified() || v4.octets()[0] == 0 => Some("unspecified"),
        IpAddr::V4(v4) if v4.is_multicast() => Some("multicast"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("broadcast"),
        IpAddr::V6(v6) if v6.is_loopback() => Some("loopback"),
        IpAddr::V6(v6) if v6.is_unicast_link_local() => Some("link-local"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("unspecified"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("multicast"),
        IpAddr::V6(v6) if is_ipv4_compatible_special(v6) => Some("loopback"),
        _ => None,
    }
}

/// `::127.0.0.1`-style (deprecated IPv4-compatible) loopback.
fn is_ipv4_compatible_special(v6: Ipv6Addr) -> bool {
    v6.to_ipv4().is_some_and(|v4| v4.is_loopback()) && v6.segments()[5] == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<&'static str> {
        special(text.parse().unwrap())
    }

    #[test]
    fn loopback_link_local_metadata_unspecified_and_multicast_are_special() {
        for (text, why) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::127.0.0.1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("::ffff:169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("::", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("ff02::1", "multicast"),
            ("255.255.255.255", "broadcast"),
        ] {
            assert_eq!(kind(text), Some(why), "{text}");
        }
    }

    #[test]
    fn ordinary_unicast_addresses_are_not_special() {
        for text in [
            "10.0.0.1",
            "192.0.2.7",
            "8.8.8.8",
            "2001:db8::1",
            "::ffff:10.1.2.3",
        ] {
            assert_eq!(kind(text), None, "{text}");
        }
    }
}
