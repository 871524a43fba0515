//! Addresses no host should be probed at unless an operator names them:
//! loopback, link-local (with the 169.254.169.254 cloud metadata address),
//! unspecified, multicast and broadcast, in their IPv4-mapped IPv6 forms
//! too. Agents may not report them, mesh peers are never probed at them,
//! and the plugin scope denies them unless a check lists them.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// `ip` with an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4
/// address it stands for.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A network: an address and a prefix length (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// The network's address, as written.
    pub addr: IpAddr,
    /// The prefix length: at most 32 (IPv4) or 128 (IPv6).
    pub bits: u8,
}

impl Network {
    /// `addr/bits`, or an address alone (a network of that one address);
    /// no surrounding spaces.
    pub fn parse(text: &str) -> Result<Network, String> {
        let (addr, bits) = text.split_once('/').unwrap_or((text, ""));
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{text}` is not an address or a CIDR network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = if bits.is_empty() {
            max
        } else {
            bits.parse()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| format!("`{text}` has a prefix length outside 0–{max}"))?
        };
        Ok(Network { addr, bits })
    }

    /// Whether `ip` is in this network (families never mix).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

/// Why `ip` is special, or `None` for an ordinary unicast address.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
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
    fn networks_parse_contain_and_refuse_bad_prefixes() {
        let net = Network::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(
            !net.contains("::ffff:10.1.0.1".parse().unwrap()),
            "families never mix"
        );
        assert_eq!(net.to_string(), "10.1.0.0/16");
        let one = Network::parse("fd00::1").unwrap();
        assert_eq!(one.bits, 128);
        assert!(
            Network::parse("0.0.0.0/0")
                .unwrap()
                .contains("203.0.113.9".parse().unwrap())
        );
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("nonsense/8").is_err());
        assert!(Network::parse("10.0.0.0/8 ").is_err());
        assert_eq!(
            canonical("::ffff:10.0.0.1".parse().unwrap()),
            IpAddr::from([10, 0, 0, 1])
        );
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
