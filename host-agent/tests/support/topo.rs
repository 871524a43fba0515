//! A five-namespace network for ICMP tests, h1 — r1 — r2 — r3 — h2, with
//! IPv4 and IPv6 on every link, as checked in `docs/design/icmp.md` (d).
//!
//! Link `L` (1..=4) joins node `L-1` (side a, host `.1`/`::1`) to node `L`
//! (side b, `.2`/`::2`): IPv4 `10.(220+k).L.0/24`, IPv6 `fd7e:k:L::/64`,
//! where `k` is this topology's index. Nothing links the namespaces to the
//! one the tests run in, so every packet stays inside them and two
//! topologies with the same `k` cannot disturb each other; namespace names
//! carry the process id and a per-process number, so they never collide.
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::netns::{self, NsProcess, check, exec, spawn};

/// Node names: the path in order, then r2b (made only with `ecmp`).
const NODES: [&str; 6] = ["h1", "r1", "r2", "r3", "h2", "r2b"];
const R2B: usize = 5;
/// `(link, side a, side b)`: the path's links 1..=4, then r2b's (`ecmp`).
const LINKS: [(u8, usize, usize); 6] = [
    (1, 0, 1),
    (2, 1, 2),
    (3, 2, 3),
    (4, 3, 4),
    (5, 1, R2B),
    (6, R2B, 3),
];
const UNREACHABLE: u8 = 9;
const PROHIBIT: u8 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::V4, Family::V6];

    /// The flag that selects this family in ping, traceroute and mtr.
    pub fn flag(self) -> &'static str {
        match self {
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }
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
    /// `vt<pid>-<n>`: the namespaces are `<prefix>-h1` and so on.
    prefix: String,
    /// `vt<pid % 1000>-<n>`, for interface names (at most 15 bytes).
    short: String,
    k: u8,
    ecmp: bool,
    /// The namespaces made so far, which drop removes.
    made: Vec<String>,
}

impl Topology {
    /// Whether this process can build a topology: root, `ip netns` and nft.
    pub fn available() -> Result<(), String> {
        netns::available()
    }

    /// Builds a topology, or returns `None` when namespaces are unavailable
    /// and `VANTAGE_SKIP_NETNS=1` asks to skip; without it that panics, as
    /// every other netns test does.
    pub fn build(options: Options) -> Option<Topology> {
        if let Err(why) = Topology::available() {
            if std::env::var_os("VANTAGE_SKIP_NETNS").is_some_and(|v| v == "1") {
                eprintln!("skipped: {why} (VANTAGE_SKIP_NETNS=1)");
                return None;
            }
            panic!("{why}: set VANTAGE_SKIP_NETNS=1 to skip the network-namespace tests");
        }
        for router in options
            .silent_router
            .iter()
            .chain(options.loss_percent.iter().map(|l| &l.0))
        {
            assert!((1..=3).contains(router), "routers are 1..=3, not {router}");
        }
        static SWEEP: Once = Once::new();
        SWEEP.call_once(remove_stale);
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let mut topo = Topology {
            prefix: format!("vt{pid}-{n}"),
            short: format!("vt{}-{n}", pid % 1000),
            k: ((pid + n) % 30) as u8,
            ecmp: options.ecmp,
            made: Vec::new(),
        };
        topo.create(&options);
        Some(topo)
    }

    pub fn h1(&self) -> String {
        self.node(0)
    }

    pub fn h2(&self) -> String {
        self.node(4)
    }

    /// Router 1, 2 or 3.
    pub fn router(&self, i: usize) -> String {
        assert!((1..=3).contains(&i), "routers are 1..=3, not {i}");
        self.node(i)
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
    /// returns. It also exits by itself after ten minutes.
    pub fn tcp_listener(&self, port: u16) -> NsProcess {
        let script = format!(
            "import socket, time\n\
             s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n\
             s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n\
             s.bind(('::', {port}))\n\
             s.listen(128)\n\
             s.settimeout(1)\n\
             end = time.monotonic() + 600\n\
             while time.monotonic() < end:\n\
             \x20   try:\n\
             \x20       s.accept()[0].close()\n\
             \x20   except socket.timeout:\n\
             \x20       pass\n"
        );
        let h2 = self.h2();
        let mut listener = spawn(&h2, "python3", &["-c", &script]);
        let filter = format!("sport = :{port}");
        for _ in 0..100 {
            let out = exec(&h2, "ss", &["-Hltn", &filter]);
            if !out.stdout.is_empty() {
                return listener;
            }
            if let Some(status) = listener.exited() {
                panic!("the listener in {h2} exited with {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nothing listens on port {port} in {h2} after 5 s");
    }

    fn node(&self, i: usize) -> String {
        format!("{}-{}", self.prefix, NODES[i])
    }

    fn addr(&self, link: u8, host: u8, family: Family) -> IpAddr {
        match family {
            Family::V4 => Ipv4Addr::new(10, 220 + self.k, link, host).into(),
            Family::V6 => {
                Ipv6Addr::new(0xfd7e, self.k.into(), link.into(), 0, 0, 0, 0, host.into()).into()
            }
        }
    }

    fn net(&self, link: u8, family: Family) -> String {
        match self.addr(link, 0, family) {
            IpAddr::V4(a) => format!("{a}/24"),
            IpAddr::V6(a) => format!("{a}/64"),
        }
    }

    /// `ip -n <node i> args…`, panicking with its error when it fails.
    fn ip(&self, node: usize, args: &[&str]) {
        let ns = self.node(node);
        check(Command::new("ip").args(["-n", &ns]).args(args), &ns);
    }

    /// How many of `NODES` this topology has.
    fn nodes(&self) -> usize {
        if self.ecmp { NODES.len() } else { R2B }
    }

    /// The links of this topology, from `LINKS`.
    fn links(&self) -> &'static [(u8, usize, usize)] {
        &LINKS[..if self.ecmp { LINKS.len() } else { 4 }]
    }

    fn create(&mut self, options: &Options) {
        for i in 0..self.nodes() {
            let ns = self.node(i);
            // Only a killed run of an earlier process with this pid left it.
            let _ = Command::new("ip")
                .args(["netns", "del", &ns])
                .stderr(Stdio::null())
                .status();
            check(Command::new("ip").args(["netns", "add", &ns]), &ns);
            self.made.push(ns);
            self.ip(i, &["link", "set", "lo", "up"]);
        }
        for &(link, a, b) in self.links() {
            let (if_a, if_b) = (self.interface(link, 'a'), self.interface(link, 'b'));
            let peer_ns = self.node(b);
            self.ip(
                a,
                &[
                    "link", "add", &if_a, "type", "veth", "peer", "name", &if_b, "netns", &peer_ns,
                ],
            );
            for (node, dev, host) in [(a, &if_a, 1), (b, &if_b, 2)] {
                let v4 = format!("{}/24", self.addr(link, host, Family::V4));
                let v6 = format!("{}/64", self.addr(link, host, Family::V6));
                self.ip(node, &["addr", "add", &v4, "dev", dev]);
                self.ip(node, &["-6", "addr", "add", &v6, "dev", dev, "nodad"]);
                self.ip(node, &["link", "set", dev, "up"]);
            }
        }
        self.sysctls(options);
        self.routes();
        self.nft(
            3,
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
        );
        self.wait_for_carrier();
        self.warm_up();
        if let Some(router) = options.silent_router {
            self.nft(
                router,
                "table inet vantage_silent {\n chain drop_time_exceeded {\n  \
                 type filter hook output priority 0;\n  \
                 icmp type time-exceeded drop\n  icmpv6 type time-exceeded drop\n }\n}",
            );
        }
        if let Some((router, percent)) = options.loss_percent {
            let from_h1 = self.interface(router as u8, 'b');
            self.nft(
                router,
                &format!(
                    "table inet vantage_loss {{\n chain lossy {{\n  \
                     type filter hook forward priority 0;\n  \
                     iifname \"{from_h1}\" numgen random mod 100 < {percent} drop\n }}\n}}"
                ),
            );
        }
    }

    /// `vt<pid%1000>-<n>l<link><side>`: at most 13 bytes.
    fn interface(&self, link: u8, side: char) -> String {
        format!("{}l{link}{side}", self.short)
    }

    fn sysctls(&self, options: &Options) {
        for (i, node) in NODES.iter().enumerate().take(self.nodes()) {
            let mut settings: Vec<String> = [
                "net.ipv4.icmp_ratelimit=0",
                "net.ipv6.icmp.ratelimit=0",
                "net.ipv4.icmp_msgs_per_sec=100000",
                "net.ipv4.icmp_msgs_burst=100000",
            ]
            .map(String::from)
            .into();
            if *node != "h1" || options.ping_group_range_h1 {
                settings.push("net.ipv4.ping_group_range=0 2147483647".to_owned());
            }
            if node.starts_with('r') {
                settings.push("net.ipv4.ip_forward=1".to_owned());
                settings.push("net.ipv6.conf.all.forwarding=1".to_owned());
            }
            // A neighbour solicitation sent just as a veth comes up can go
            // unanswered; retrying after 100 ms instead of 1 s makes the
            // first IPv6 packets arrive promptly.
            for &(link, a, b) in self.links() {
                for (node, side) in [(a, 'a'), (b, 'b')] {
                    if node == i {
                        let dev = self.interface(link, side);
                        settings.push(format!("net.ipv6.neigh.{dev}.retrans_time_ms=100"));
                    }
                }
            }
            // r1 hashes ports too (L4), so that flows differing only in
            // their ports can take different paths.
            if self.ecmp && i == 1 {
                settings.push("net.ipv4.fib_multipath_hash_policy=1".to_owned());
                settings.push("net.ipv6.fib_multipath_hash_policy=1".to_owned());
            }
            let ns = self.node(i);
            check(
                Command::new("ip")
                    .args(["netns", "exec", &ns, "sysctl", "-qw"])
                    .args(settings),
                &ns,
            );
        }
    }

    /// Default routes toward h2 on h1 and r1, toward h1 on r3 and h2; r2
    /// (and r2b) know both sides and send the two dead prefixes on to r3.
    /// With `ecmp`, r1 splits h2's prefix between r2 and r2b.
    fn routes(&self) {
        for family in Family::BOTH {
            let via = |link: u8, host: u8| self.addr(link, host, family).to_string();
            let f = family.flag();
            self.ip(0, &[f, "route", "add", "default", "via", &via(1, 2)]);
            self.ip(1, &[f, "route", "add", "default", "via", &via(2, 2)]);
            if self.ecmp {
                let (h2_net, r2, r2b) = (self.net(4, family), via(2, 2), via(5, 2));
                let nexthops = ["nexthop", "via", &r2, "nexthop", "via", &r2b];
                self.ip(1, &[&[f, "route", "add", &h2_net][..], &nexthops].concat());
            }
            // (router, its link toward r1, its link toward r3)
            let middle = [(2, 2, 3), (R2B, 5, 6)];
            for &(router, back, on) in &middle[..if self.ecmp { 2 } else { 1 }] {
                let h1_net = self.net(1, family);
                self.ip(router, &[f, "route", "add", &h1_net, "via", &via(back, 1)]);
                for link in [4, UNREACHABLE, PROHIBIT] {
                    let net = self.net(link, family);
                    self.ip(router, &[f, "route", "add", &net, "via", &via(on, 2)]);
                }
            }
            // An IPv6 router answers a forwarded probe from the address of
            // the interface it came in on unless the route back names a
            // source (`icmp6_send`): `src` keeps r3 at its link-3 address
            // for flows through r2b too, as IPv4 does by itself (it takes
            // the address of the interface the answer leaves by).
            let (r2, r3) = (via(3, 1), via(3, 2));
            let src: &[&str] = if self.ecmp { &["src", &r3] } else { &[] };
            self.ip(
                3,
                &[&[f, "route", "add", "default", "via", &r2][..], src].concat(),
            );
            // r3 sends the two dead prefixes on toward h2, and its
            // forward hook rejects them (see `create`): an `unreachable` or
            // `prohibit` route would answer through IPv4's per-source route
            // error limiter (a burst of 5, then a few a second, set by the
            // global, not per-namespace, `net.ipv4.route.error_cost`), which
            // a trace with every hop in flight exhausts at once.
            for link in [UNREACHABLE, PROHIBIT] {
                self.ip(
                    3,
                    &[
                        f,
                        "route",
                        "add",
                        &self.net(link, family),
                        "via",
                        &via(4, 2),
                    ],
                );
            }
            self.ip(4, &[f, "route", "add", "default", "via", &via(4, 1)]);
        }
    }

    /// Waits until every veth is operationally up. The kernel notices the
    /// carrier in a deferred work item run at most once a second, and IPv6
    /// (unlike IPv4) does not route over the link before that.
    fn wait_for_carrier(&self) {
        for _ in 0..250 {
            let down = (0..self.nodes()).find(|&i| {
                let out = exec(
                    &self.node(i),
                    "ip",
                    &["-br", "link", "show", "type", "veth"],
                );
                let links = String::from_utf8_lossy(&out.stdout);
                links
                    .lines()
                    .any(|l| l.split_whitespace().nth(1) != Some("UP"))
            });
            if down.is_none() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the veths of {} did not come up within 5 s", self.prefix);
    }

    /// Resolves the neighbours along the path (the first IPv6 packet may be
    /// lost to neighbour discovery) and proves that h1 reaches h2; with
    /// `ecmp` also along r1 — r2b — r3, which h1's pings need not take.
    fn warm_up(&self) {
        for family in Family::BOTH {
            let mut pings = vec![(0, self.h2_addr(family))];
            if self.ecmp {
                pings.push((0, self.router_b_addr(family)));
                pings.push((R2B, self.h2_addr(family)));
            }
            for (from, target) in pings {
                let (ns, target) = (self.node(from), target.to_string());
                let reached = (0..5).any(|_| {
                    exec(
                        &ns,
                        "ping",
                        &[family.flag(), "-n", "-c", "1", "-W", "1", &target],
                    )
                    .status
                    .success()
                });
                assert!(
                    reached,
                    "{ns} cannot ping {target}: the topology does not route"
                );
            }
        }
    }

    fn nft(&self, node: usize, ruleset: &str) {
        let ns = self.node(node);
        check(
            Command::new("ip").args(["netns", "exec", &ns, "nft", ruleset]),
            &ns,
        );
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        // Deleting a namespace removes its end of every veth, and so the pair.
        for ns in self.made.iter().rev() {
            let ok = Command::new("ip")
                .args(["netns", "del", ns])
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                eprintln!("could not remove network namespace {ns}");
            }
        }
    }
}

/// Removes namespaces `vt<pid>-<n>-<node>` whose process is gone (a test
/// run that was killed before its drops ran).
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some((pid, rest)) = name.strip_prefix("vt").and_then(|r| r.split_once('-')) else {
            continue;
        };
        let ours = rest
            .split_once('-')
            .is_some_and(|(n, node)| n.parse::<u32>().is_ok() && NODES.contains(&node));
        if ours
            && pid.parse::<u32>().is_ok()
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}
