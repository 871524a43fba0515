//! Address plans: IPv4 and IPv6 per link number and host, and the ranges
//! of every lab in the repository in one place, so that a test proves they
//! never overlap.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::V4, Family::V6];

    /// The flag that selects this family in `ip`, ping, traceroute and mtr.
    pub fn flag(self) -> &'static str {
        match self {
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }

    /// "IPv4" or "IPv6".
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The prefix length of a link's network: /24 or /64.
    pub fn prefix_len(self) -> u8 {
        match self {
            Family::V4 => 24,
            Family::V6 => 64,
        }
    }
}

/// Link `L`, host `h`: IPv4 `a.b.L.h/24`, IPv6 `p:q:L::h/64`.
///
/// By convention a link's side a is host 1 and side b host 2
/// ([`crate::Lab::link`]); other hosts (extra addresses, a bridge's
/// members) are the lab's own choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    v4: [u8; 2],
    v6: [u16; 2],
}

/// How many ICMP topologies (`k`) the integration tests spread over.
pub const TOPOLOGIES: u8 = 30;

impl Plan {
    pub const fn new(v4: [u8; 2], v6: [u16; 2]) -> Plan {
        Plan { v4, v6 }
    }

    /// The ICMP benchmark's network: `10.199.L.h`, `fd7b:199:L::h`.
    pub const fn bench() -> Plan {
        Plan::new([10, 199], [0xfd7b, 0x199])
    }

    /// Topology `k` (below [`TOPOLOGIES`]) of the agent's ICMP tests:
    /// `10.(220+k).L.h`, `fd7e:k:L::h`.
    pub fn topology(k: u8) -> Plan {
        assert!(k < TOPOLOGIES, "topologies are 0..{TOPOLOGIES}, not {k}");
        Plan::new([10, 220 + k], [0xfd7e, k.into()])
    }

    /// The server's agent mesh: one bridged network `10.213.N.0/24` (IPv4
    /// only), `N` standing where a link number stands.
    pub const fn mesh() -> Plan {
        Plan::new([10, 213], [0xfd7d, 0x213])
    }

    pub fn addr(&self, link: u8, host: u8, family: Family) -> IpAddr {
        let [a, b] = self.v4;
        let [p, q] = self.v6;
        match family {
            Family::V4 => Ipv4Addr::new(a, b, link, host).into(),
            Family::V6 => Ipv6Addr::new(p, q, link.into(), 0, 0, 0, 0, host.into()).into(),
        }
    }

    /// The network of `link`: `10.199.4.0/24`, `fd7b:199:4::/64`.
    pub fn net(&self, link: u8, family: Family) -> String {
        self.cidr(link, 0, family)
    }

    /// An address with its link's prefix length: `10.199.4.2/24`.
    pub fn cidr(&self, link: u8, host: u8, family: Family) -> String {
        format!("{}/{}", self.addr(link, host, family), family.prefix_len())
    }

    /// Whether `addr` lies inside this plan's range (`a.b.0.0/16`,
    /// `p:q::/32`).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => a.octets()[..2] == self.v4,
            IpAddr::V6(a) => a.segments()[..2] == self.v6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_hosts_map_to_addresses_and_networks() {
        let plan = Plan::bench();
        assert_eq!(plan.addr(4, 2, Family::V4).to_string(), "10.199.4.2");
        assert_eq!(plan.addr(4, 2, Family::V6).to_string(), "fd7b:199:4::2");
        assert_eq!(plan.net(3, Family::V4), "10.199.3.0/24");
        assert_eq!(plan.net(3, Family::V6), "fd7b:199:3::/64");
        assert_eq!(plan.cidr(1, 1, Family::V6), "fd7b:199:1::1/64");
        let topo = Plan::topology(7);
        assert_eq!(topo.addr(10, 5, Family::V4).to_string(), "10.227.10.5");
        assert_eq!(topo.addr(1, 1, Family::V6).to_string(), "fd7e:7:1::1");
        assert_eq!(Plan::mesh().cidr(42, 10, Family::V4), "10.213.42.10/24");
    }

    #[test]
    fn families_pick_their_flags_and_are_read_from_addresses() {
        assert_eq!(Family::V4.flag(), "-4");
        assert_eq!(Family::V6.name(), "IPv6");
        for family in Family::BOTH {
            let addr = Plan::bench().addr(1, 1, family);
            assert_eq!(Family::of(addr), family);
        }
    }

    #[test]
    fn the_labs_address_ranges_never_overlap() {
        let mut plans = vec![("bench", Plan::bench()), ("mesh", Plan::mesh())];
        plans.extend((0..TOPOLOGIES).map(|k| ("topology", Plan::topology(k))));
        for (i, (name, plan)) in plans.iter().enumerate() {
            for (other_name, other) in &plans[i + 1..] {
                for family in Family::BOTH {
                    for link in [0, 1, 100, 255] {
                        let addr = plan.addr(link, 1, family);
                        assert!(
                            !other.contains(addr),
                            "{name} {addr} lies in {other_name} {other:?}"
                        );
                    }
                }
            }
        }
        // The tests' ranges: 10.213.x (mesh and the agent's dropping
        // namespace) and 10.220–250.x; the benchmark keeps to 10.199.x.
        let k_max = Plan::topology(TOPOLOGIES - 1).addr(1, 1, Family::V4);
        assert_eq!(k_max.to_string(), "10.249.1.1");
    }

    #[test]
    #[should_panic(expected = "topologies are 0..30")]
    fn a_topology_beyond_the_range_is_refused() {
        Plan::topology(TOPOLOGIES);
    }
}
