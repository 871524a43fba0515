//! A five-namespace network for ICMP tests, h1 — r1 — r2 — r3 — h2, with
//! IPv4 and IPv6 on every link, as checked in `docs/design/icmp.md` (d),
//! built from the blocks of `vantage-netlab` (`xtask/netlab`).
//!
//! Link `L` (1..=4) joins node `L-1` (side a, host `.1`/`::1`) to node `L`
//! (side b, `.2`/`::2`): IPv4 `10.(220+k).L.0/24`, IPv6 `fd7e:k:L::/64`
//! (`Plan::topology(k)`), where `k` is this topology's index. Nothing links
//! the namespaces to the one the tests run in, so every packet stays inside
//! them and two topologies with the same `k` cannot disturb each other;
//! namespace names (`vt<pid>-<n>-<node>`) carry the process id and a
//! per-process number, so they never collide.
//!
//! With `ecmp`, a sixth namespace r2b sits beside r2 (h1 — r1 — r2|r2b —
//! r3 — h2): link 5 joins r1 to r2b and link 6 r2b to r3, and r1 spreads
//! the traffic for h2's prefix over r2 and r2b by a hash of the addresses
//! and ports (`fib_multipath_hash_policy=1`). The way back is r3 — r2 only.
//!
//! r3 also rejects two extra prefixes with ICMP errors (nft, forward hook):
//! `unreachable` (link number 9: host unreachable / no route) and
//! `prohibit` (link number 10: administratively prohibited). A probe that
//! reaches r3 with TTL 1 gets time exceeded, as at any router.

use std::net::IpAddr;
use std::process::Output;
use std::sync::Once;
use std::time::Duration;

pub use vantage_netlab::Family;
use vantage_netlab::{
    Error, FORWARDING, ICMP_UNLIMITED, Lab, Names, PING_SOCKETS, Plan, Process, Side,
};

/// Node names: the path in order, then r2b (made only with `ecmp`).
const NODES: [&str; 6] = ["h1", "r1", "r2", "r3", "h2", "r2b"];
const PATH: [&str; 5] = ["h1", "r1", "r2", "r3", "h2"];
/// r2b's links: to r1, to r3 (`ecmp`).
const R2B_LINKS: [(u8, &str, &str); 2] = [(5, "r1", "r2b"), (6, "r2b", "r3")];
const UNREACHABLE: u8 = 9;
const PROHIBIT: u8 = 10;

/// Longest a command run with [`exec`] may take.
const EXEC_LIMIT: Duration = Duration::from_secs(120);

/// Runs `program args…` inside namespace `ns`, stopped after two minutes;
/// panics when it cannot run or time runs out.
pub fn exec(ns: &str, program: &str, args: &[&str]) -> Output {
    vantage_netlab::output(ns, program, args, EXEC_LIMIT).unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Clone, Debug)]
pub struct Options {
    /// This router (1..=3) never sends time-exceeded (nft drops them).
    pub silent_router: Option<usize>,
    /// `(router, percent)`: that router drops this share of the packets it
    /// forwards from h1 toward h2; the way back is untouched.
    pub loss_percent: Option<(usize, u32)>,
    /// `net.ipv4.ping_group_range` opens ping sockets to every group in h1
    /// (the other namespaces always have it): off leaves the kernel's
    /// `1 0`, so an unprivileged process needs a raw socket.
    pub ping_group_range_h1: bool,
    /// Adds r2b beside r2, with r1 balancing h2's prefix over both.
    pub ecmp: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            silent_router: None,
            loss_percent: None,
            ping_group_range_h1: true,
            ecmp: false,
        }
    }
}

/// The five (or six) namespaces; removed on drop, also when building
/// stopped half way.
pub struct Topology {
    lab: Lab,
    ecmp: bool,
}

impl Topology {
    /// Builds a topology, or returns `None` when namespaces are unavailable
    /// and `VANTAGE_SKIP_NETNS=1` asks to skip; without it that panics, as
    /// every other netns test does.
    pub fn build(options: Options) -> Option<Topology> {
        if !vantage_netlab::available_or_skip(&["nft"]) {
            return None;
        }
        for router in options
            .silent_router
            .iter()
            .chain(options.loss_percent.iter().map(|l| &l.0))
        {
            assert!((1..=3).contains(router), "routers are 1..=3, not {router}");
        }
        static SWEEP: Once = Once::new();
        SWEEP.call_once(|| {
            vantage_netlab::sweep_stale("vt", &NODES);
        });
        let names = Names::numbered("vt");
        let k = (std::process::id() + names.instance()) % u32::from(vantage_netlab::TOPOLOGIES);
        let mut topo = Topology {
            lab: Lab::new(names, Plan::topology(k as u8)),
            ecmp: options.ecmp,
        };
        if let Err(e) = topo.create(&options) {
            panic!("building the topology {}: {e}", topo.lab.names().label());
        }
        Some(topo)
    }

    pub fn h1(&self) -> String {
        self.lab.ns("h1")
    }

    pub fn h2(&self) -> String {
        self.lab.ns("h2")
    }

    /// Router 1, 2 or 3.
    pub fn router(&self, i: usize) -> String {
        assert!((1..=3).contains(&i), "routers are 1..=3, not {i}");
        self.lab.ns(NODES[i])
    }

    pub fn h1_addr(&self, family: Family) -> IpAddr {
        self.addr(1, 1, family)
    }

    pub fn h2_addr(&self, family: Family) -> IpAddr {
        self.addr(4, 2, family)
    }

    /// The address router `i` answers from toward h1 (its h1-facing side).
    pub fn router_addr(&self, i: usize, family: Family) -> IpAddr {
        assert!((1..=3).contains(&i), "routers are 1..=3, not {i}");
        self.addr(i as u8, 2, family)
    }

    /// The address r2b answers from toward h1 (its side of link 5); only
    /// with `ecmp`.
    pub fn router_b_addr(&self, family: Family) -> IpAddr {
        assert!(self.ecmp, "r2b exists only with `ecmp`");
        self.addr(5, 2, family)
    }

    /// What a trace from h1 to h2 should list: r1, r2, r3, h2.
    pub fn hops(&self, family: Family) -> Vec<IpAddr> {
        (1..=4).map(|link| self.addr(link, 2, family)).collect()
    }

    /// An address r3 rejects as unreachable (v4 3/1, v6 1/0).
    pub fn unreachable_addr(&self, family: Family) -> IpAddr {
        self.addr(UNREACHABLE, 5, family)
    }

    /// An address r3 rejects as administratively prohibited (v4 3/13, v6 1/1).
    pub fn prohibit_addr(&self, family: Family) -> IpAddr {
        self.addr(PROHIBIT, 5, family)
    }

    /// A TCP listener on `[::]:port` (dual-stack) in h2, ready when this
    /// returns and killed on drop.
    pub fn tcp_listener(&self, port: u16) -> Process {
        self.lab
            .tcp_listener("h2", port)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn addr(&self, link: u8, host: u8, family: Family) -> IpAddr {
        self.lab.plan().addr(link, host, family)
    }

    fn net(&self, link: u8, family: Family) -> String {
        self.lab.plan().net(link, family)
    }

    /// The nodes of this topology, from `NODES`.
    fn nodes(&self) -> &'static [&'static str] {
        &NODES[..if self.ecmp { 6 } else { 5 }]
    }

    fn create(&mut self, options: &Options) -> Result<(), Error> {
        for node in self.nodes() {
            self.lab.add_node(node)?;
        }
        for (i, pair) in PATH.windows(2).enumerate() {
            self.lab.link(i as u8 + 1, pair[0], pair[1])?;
        }
        if self.ecmp {
            for (link, a, b) in R2B_LINKS {
                self.lab.link(link, a, b)?;
            }
        }
        self.sysctls(options)?;
        self.lab.line_routes(&PATH, 1)?;
        self.routes()?;
        self.lab.nft(
            "r3",
            &format!(
                "table inet vantage_reject {{\n chain dead_prefixes {{\n  \
                 type filter hook forward priority 0;\n  \
                 ip daddr {} reject with icmp type host-unreachable\n  \
                 ip daddr {} reject with icmp type admin-prohibited\n  \
                 ip6 daddr {} reject with icmpv6 type no-route\n  \
                 ip6 daddr {} reject with icmpv6 type admin-prohibited\n }}\n}}",
                self.net(UNREACHABLE, Family::V4),
                self.net(PROHIBIT, Family::V4),
                self.net(UNREACHABLE, Family::V6),
                self.net(PROHIBIT, Family::V6),
            ),
        )?;
        self.lab.wait_for_carrier()?;
        self.warm_up()?;
        if let Some(router) = options.silent_router {
            self.lab.nft(
                NODES[router],
                "table inet vantage_silent {\n chain drop_time_exceeded {\n  \
                 type filter hook output priority 0;\n  \
                 icmp type time-exceeded drop\n  icmpv6 type time-exceeded drop\n }\n}",
            )?;
        }
        if let Some((router, percent)) = options.loss_percent {
            let from_h1 = self.lab.interface(router as u8, Side::B);
            self.lab.nft(
                NODES[router],
                &format!(
                    "table inet vantage_loss {{\n chain lossy {{\n  \
                     type filter hook forward priority 0;\n  \
                     iifname \"{from_h1}\" numgen random mod 100 < {percent} drop\n }}\n}}"
                ),
            )?;
        }
        Ok(())
    }

    /// No ICMP rate limits anywhere, ping sockets open (in h1 on request),
    /// forwarding on the routers; with `ecmp`, r1 hashes ports too (L4), so
    /// that flows differing only in their ports can take different paths.
    fn sysctls(&self, options: &Options) -> Result<(), Error> {
        for &node in self.nodes() {
            let mut settings = ICMP_UNLIMITED.to_vec();
            if node != "h1" || options.ping_group_range_h1 {
                settings.push(PING_SOCKETS);
            }
            if node.starts_with('r') {
                settings.extend(FORWARDING);
            }
            if self.ecmp && node == "r1" {
                settings.push("net.ipv4.fib_multipath_hash_policy=1");
                settings.push("net.ipv6.fib_multipath_hash_policy=1");
            }
            self.lab.sysctl(node, &settings)?;
        }
        Ok(())
    }

    /// Beyond the line's routes (`Lab::line_routes`): r2 (and r2b) send the
    /// two dead prefixes on to r3, and r3 toward h2. With `ecmp`, r1 splits
    /// h2's prefix between r2 and r2b.
    fn routes(&self) -> Result<(), Error> {
        let lab = &self.lab;
        for family in Family::BOTH {
            let via = |link: u8, host: u8| self.addr(link, host, family);
            let f = family.flag();
            if self.ecmp {
                let (h2_net, r2, r2b) = (self.net(4, family), via(2, 2), via(5, 2));
                let (r2, r2b) = (r2.to_string(), r2b.to_string());
                let nexthops = ["nexthop", "via", &r2, "nexthop", "via", &r2b];
                lab.ip(
                    "r1",
                    &[&[f, "route", "add", &h2_net][..], &nexthops].concat(),
                )?;
                lab.route("r2b", &self.net(1, family), via(5, 1))?;
                lab.route("r2b", &self.net(4, family), via(6, 2))?;
                // An IPv6 router answers a forwarded probe from the address
                // of the interface it came in on unless the route back names
                // a source (`icmp6_send`): `src` keeps r3 at its link-3
                // address for flows through r2b too, as IPv4 does by itself
                // (it takes the address of the interface the answer leaves by).
                let (r2, r3) = (via(3, 1).to_string(), via(3, 2).to_string());
                lab.ip(
                    "r3",
                    &[f, "route", "replace", "default", "via", &r2, "src", &r3],
                )?;
            }
            // r3 sends the two dead prefixes on toward h2, and its forward
            // hook rejects them (see `create`): an `unreachable` or
            // `prohibit` route would answer through IPv4's per-source route
            // error limiter (a burst of 5, then a few a second, set by the
            // global, not per-namespace, `net.ipv4.route.error_cost`), which
            // a trace with every hop in flight exhausts at once.
            for link in [UNREACHABLE, PROHIBIT] {
                let net = self.net(link, family);
                lab.route("r2", &net, via(3, 2))?;
                if self.ecmp {
                    lab.route("r2b", &net, via(6, 2))?;
                }
                lab.route("r3", &net, via(4, 2))?;
            }
        }
        Ok(())
    }

    /// Proves that h1 reaches h2 (resolving the neighbours on the way);
    /// with `ecmp` also along r1 — r2b — r3, which h1's pings need not take.
    fn warm_up(&self) -> Result<(), Error> {
        for family in Family::BOTH {
            self.lab.ping("h1", self.h2_addr(family))?;
            if self.ecmp {
                self.lab.ping("h1", self.router_b_addr(family))?;
                self.lab.ping("r2b", self.h2_addr(family))?;
            }
        }
        Ok(())
    }
}
