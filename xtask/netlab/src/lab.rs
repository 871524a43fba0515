//! [`Lab`]: the namespaces of one lab and the steps that build it.

use std::net::IpAddr;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::error::Error;
use crate::exec::{self, checked};
use crate::names::{Names, Side};
use crate::plan::{Family, Plan};

/// The longest a helper command (`ip`, `sysctl`, `nft`, …) may take.
pub const HELPER_LIMIT: Duration = Duration::from_secs(30);

/// Settings every node of the repository's labs takes: no ICMP rate
/// limits, so that probes at any rate are answered.
pub const ICMP_UNLIMITED: [&str; 4] = [
    "net.ipv4.icmp_ratelimit=0",
    "net.ipv6.icmp.ratelimit=0",
    "net.ipv4.icmp_msgs_per_sec=100000",
    "net.ipv4.icmp_msgs_burst=100000",
];
/// Ping sockets open to every group (the kernel's default `1 0` leaves an
/// unprivileged process only raw sockets, which need a capability).
pub const PING_SOCKETS: &str = "net.ipv4.ping_group_range=0 2147483647";
/// What makes a node a router.
pub const FORWARDING: [&str; 2] = ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"];

/// The namespaces of one lab, removed on drop, also when building stopped
/// half way. Every command it runs names one of its own namespaces, and
/// every veth joins two of them: nothing reaches the namespace the process
/// runs in.
#[derive(Debug)]
pub struct Lab {
    names: Names,
    plan: Plan,
    /// `(node, namespace)` in the order made; drop removes them.
    nodes: Vec<(String, String)>,
    stop: Option<fn() -> bool>,
}

impl Lab {
    pub fn new(names: Names, plan: Plan) -> Lab {
        Lab {
            names,
            plan,
            nodes: Vec::new(),
            stop: None,
        }
    }

    /// Every later step fails with [`Error::Interrupted`] once `stop`
    /// returns true (a caught Ctrl-C), so that the lab drops promptly.
    pub fn stop_when(mut self, stop: fn() -> bool) -> Lab {
        self.stop = Some(stop);
        self
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    pub fn plan(&self) -> Plan {
        self.plan
    }

    /// The namespace of `node` (made or not).
    pub fn ns(&self, node: &str) -> String {
        self.names.namespace(node)
    }

    /// The interface of `link` on `side` (see [`Lab::link`]).
    pub fn interface(&self, link: u8, side: Side) -> String {
        self.names.interface(link, side)
    }

    /// Makes the namespace of `node` with its loopback up, and returns its
    /// name. A namespace of that name can only be left by a killed earlier
    /// process with this pid: it is removed first.
    pub fn add_node(&mut self, node: &str) -> Result<String, Error> {
        self.check_stop()?;
        assert!(
            self.nodes.iter().all(|(n, _)| n != node),
            "node {node} added twice"
        );
        let ns = self.ns(node);
        let _ = Command::new("ip")
            .args(["netns", "del", &ns])
            .stderr(Stdio::null())
            .status();
        checked(Command::new("ip").args(["netns", "add", &ns]), HELPER_LIMIT)?;
        self.nodes.push((node.to_owned(), ns.clone()));
        self.ip(node, &["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The nodes made so far, in order.
    pub fn nodes(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|(node, _)| node.as_str())
    }

    /// A veth pair, `if_a` in node `a` and `if_b` in node `b`, down and
    /// without addresses.
    pub fn veth(&self, a: &str, if_a: &str, b: &str, if_b: &str) -> Result<(), Error> {
        let peer = self.made(b)?;
        self.ip(
            a,
            &[
                "link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", peer,
            ],
        )?;
        Ok(())
    }

    /// Link number `link` from `a` (side a, host 1) to `b` (side b, host
    /// 2): a veth pair with both families' addresses of the plan, up. IPv6
    /// skips duplicate address detection, and a neighbour solicitation is
    /// retried after 100 ms instead of 1 s (one sent just as the veth comes
    /// up can go unanswered), so that the first packets arrive promptly.
    pub fn link(&self, link: u8, a: &str, b: &str) -> Result<(), Error> {
        let (if_a, if_b) = (self.interface(link, Side::A), self.interface(link, Side::B));
        self.veth(a, &if_a, b, &if_b)?;
        for (node, dev, side) in [(a, &if_a, Side::A), (b, &if_b, Side::B)] {
            let v4 = self.plan.cidr(link, side.host(), Family::V4);
            let v6 = self.plan.cidr(link, side.host(), Family::V6);
            self.ip(node, &["addr", "add", &v4, "dev", dev])?;
            self.ip(node, &["-6", "addr", "add", &v6, "dev", dev, "nodad"])?;
            self.sysctl(
                node,
                &[&format!("net.ipv6.neigh.{dev}.retrans_time_ms=100")],
            )?;
            self.ip(node, &["link", "set", dev, "up"])?;
        }
        Ok(())
    }

    /// `ip -n <node's namespace> args…`; its standard output.
    pub fn ip(&self, node: &str, args: &[&str]) -> Result<String, Error> {
        self.check_stop()?;
        let ns = self.made(node)?;
        let out = checked(Command::new("ip").args(["-n", ns]).args(args), HELPER_LIMIT)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A helper `program args…` in `node`, which must succeed within
    /// [`HELPER_LIMIT`]; its standard output.
    pub fn run(&self, node: &str, program: &str, args: &[&str]) -> Result<String, Error> {
        self.check_stop()?;
        exec::run(self.made(node)?, program, args, HELPER_LIMIT)
    }

    /// `program args…` in `node`, whatever its exit status, killed after
    /// `limit`.
    pub fn output(
        &self,
        node: &str,
        program: &str,
        args: &[&str],
        limit: Duration,
    ) -> Result<Output, Error> {
        self.check_stop()?;
        exec::output(self.made(node)?, program, args, limit)
    }

    /// `sysctl -w` of each `name=value` in `node`, in one call.
    pub fn sysctl(&self, node: &str, settings: &[&str]) -> Result<(), Error> {
        let mut args = vec!["-qw"];
        args.extend(settings);
        self.run(node, "sysctl", &args).map(drop)
    }

    /// Loads an nft ruleset (`table … { … }`) in `node`.
    pub fn nft(&self, node: &str, ruleset: &str) -> Result<(), Error> {
        self.run(node, "nft", &[ruleset]).map(drop)
    }

    /// `ip route add <dest> via <via>` in `node`, in `via`'s family.
    pub fn route(&self, node: &str, dest: &str, via: IpAddr) -> Result<(), Error> {
        let (family, via) = (Family::of(via), via.to_string());
        self.ip(node, &[family.flag(), "route", "add", dest, "via", &via])
            .map(drop)
    }

    /// The routes of a line of `nodes` in which node `i` and `i + 1` share
    /// link `first_link + i` ([`Lab::link`] from `i` to `i + 1`), for both
    /// families: see [`line_routes`].
    pub fn line_routes(&self, nodes: &[&str], first_link: u8) -> Result<(), Error> {
        for family in Family::BOTH {
            for (i, dest, via) in line_routes(self.plan, nodes.len(), first_link, family) {
                self.route(nodes[i], &dest, via)?;
            }
        }
        Ok(())
    }

    /// Waits until every veth of the lab is operationally up. The kernel
    /// notices a carrier in a deferred work item run at most once a second,
    /// and IPv6 (unlike IPv4) does not route over a link before that.
    pub fn wait_for_carrier(&self) -> Result<(), Error> {
        for _ in 0..250 {
            let mut all_up = true;
            for (node, _) in &self.nodes {
                let links = self.ip(node, &["-br", "link", "show", "type", "veth"])?;
                all_up &= links
                    .lines()
                    .all(|l| l.split_whitespace().nth(1) == Some("UP"));
            }
            if all_up {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(Error::NotReady(format!(
            "the veths of {} did not come up within 5 s",
            self.names.label()
        )))
    }

    /// Pings `target` from `node` until it answers, five tries at most:
    /// resolves the neighbours along the way (the first IPv6 packet may be
    /// lost to neighbour discovery) and proves that the lab routes.
    pub fn ping(&self, node: &str, target: IpAddr) -> Result<(), Error> {
        let (flag, target) = (Family::of(target).flag(), target.to_string());
        for _ in 0..5 {
            let args = [flag, "-n", "-c", "1", "-W", "1", &target];
            if self
                .output(node, "ping", &args, HELPER_LIMIT)?
                .status
                .success()
            {
                return Ok(());
            }
        }
        Err(Error::NotReady(format!(
            "{} cannot ping {target}: the lab does not route",
            self.ns(node)
        )))
    }

    /// The namespace of a node this lab made.
    pub(crate) fn made(&self, node: &str) -> Result<&str, Error> {
        self.nodes
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, ns)| ns.as_str())
            .ok_or_else(|| Error::NotReady(format!("{} has no node {node}", self.names.label())))
    }

    fn check_stop(&self) -> Result<(), Error> {
        match self.stop {
            Some(stop) if stop() => Err(Error::Interrupted),
            _ => Ok(()),
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace removes its end of every veth, and so the pair.
        for (_, ns) in self.nodes.iter().rev() {
            let ok = Command::new("ip")
                .args(["netns", "del", ns])
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                eprintln!(
                    "could not remove network namespace {ns}: remove it with `ip netns del {ns}`"
                );
            }
        }
    }
}

/// The routes of a line of `n` nodes, node `i` and `i + 1` on link
/// `first_link + i`, as `(node index, destination, via)`: the two ends
/// route by default toward each other, the first router by default toward
/// the far end and the last one toward the near end; a router between them
/// knows the two end links' networks. Neighbours need no route.
pub fn line_routes(
    plan: Plan,
    n: usize,
    first_link: u8,
    family: Family,
) -> Vec<(usize, String, IpAddr)> {
    if n < 3 {
        return Vec::new();
    }
    let last_link = first_link + (n - 2) as u8;
    // Node `i` is side b (host 2) of link `first_link + i - 1` and side a
    // (host 1) of link `first_link + i`.
    let left = |i: usize| plan.addr(first_link + i as u8 - 1, Side::A.host(), family);
    let right = |i: usize| plan.addr(first_link + i as u8, Side::B.host(), family);
    let default = "default".to_owned();
    let mut routes = vec![(0, default.clone(), right(0))];
    for i in 1..n - 1 {
        match (i == 1, i == n - 2) {
            (true, true) => {}
            (true, false) => routes.push((i, default.clone(), right(i))),
            (false, true) => routes.push((i, default.clone(), left(i))),
            (false, false) => {
                routes.push((i, plan.net(first_link, family), left(i)));
                routes.push((i, plan.net(last_link, family), right(i)));
            }
        }
    }
    routes.push((n - 1, default, left(n - 1)));
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(routes: Vec<(usize, String, IpAddr)>) -> Vec<String> {
        routes
            .into_iter()
            .map(|(i, dest, via)| format!("{i}: {dest} via {via}"))
            .collect()
    }

    #[test]
    fn a_five_node_line_routes_both_ways() {
        let routes = line_routes(Plan::bench(), 5, 1, Family::V4);
        assert_eq!(
            text(routes),
            [
                "0: default via 10.199.1.2",
                "1: default via 10.199.2.2",
                "2: 10.199.1.0/24 via 10.199.2.1",
                "2: 10.199.4.0/24 via 10.199.3.2",
                "3: default via 10.199.3.1",
                "4: default via 10.199.4.1",
            ]
        );
        let v6 = line_routes(Plan::bench(), 5, 1, Family::V6);
        assert_eq!(text(v6)[2], "2: fd7b:199:1::/64 via fd7b:199:2::1");
    }

    #[test]
    fn short_lines_need_only_the_hosts_routes() {
        assert!(line_routes(Plan::bench(), 2, 1, Family::V4).is_empty());
        assert_eq!(
            text(line_routes(Plan::bench(), 3, 7, Family::V4)),
            ["0: default via 10.199.7.2", "2: default via 10.199.8.1"]
        );
    }
}
