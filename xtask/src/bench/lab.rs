//! The benchmark's network: five namespaces h1 — r1 — r2 — r3 — h2 joined by
//! veth pairs, IPv4 and IPv6 on every link, the routers forwarding with
//! ICMP rate limits off (all built from `vantage-netlab`'s blocks), and
//! what is the benchmark's own: 100 extra addresses on h2 for the rate test.
//!
//! Link `L` (1..=4) joins node `L-1` (side a, host `.1`/`::1`) to node `L`
//! (side b, `.2`/`::2`): `10.199.L.0/24` and `fd7b:199:L::/64`
//! (`Plan::bench`); the extra addresses are `10.199.100.1–100` on h2's
//! link, routed by r2 and r3. The integration tests use `10.213.x` and
//! `10.220–250.x`, so the two never meet; nothing links the namespaces to
//! the host's, so every packet stays inside. Names carry the process id
//! (`vb<pid>-h1`); namespaces of a killed earlier run are swept at start,
//! and [`Lab`] removes its own on drop.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
pub(super) use vantage_netlab::Family;
use vantage_netlab::{FORWARDING, ICMP_UNLIMITED, Names, PING_SOCKETS, Plan, Process, Side};

use super::sys;

/// Node names in path order; link `L` joins `NODES[L-1]` and `NODES[L]`.
const NODES: [&str; 5] = ["h1", "r1", "r2", "r3", "h2"];
/// How many extra addresses h2 carries (`10.199.100.1` on).
pub(super) const TARGETS: u8 = 100;
/// The link number the extra addresses' network stands at.
const TARGET_NET: u8 = 100;

/// The namespaces, removed on drop (also when building stopped half way).
pub(super) struct Lab {
    lab: vantage_netlab::Lab,
}

impl Lab {
    pub(super) fn build() -> anyhow::Result<Lab> {
        for name in vantage_netlab::sweep_stale("vb", &NODES) {
            eprintln!("removed network namespace {name} left by an earlier run");
        }
        let lab =
            vantage_netlab::Lab::new(Names::new("vb"), Plan::bench()).stop_when(sys::interrupted);
        let mut lab = Lab { lab };
        lab.create()?;
        Ok(lab)
    }

    /// The namespace of node `i` (0 = h1, 4 = h2).
    pub(super) fn ns(&self, i: usize) -> String {
        self.lab.ns(NODES[i])
    }

    pub(super) fn h1(&self) -> String {
        self.ns(0)
    }

    pub(super) fn h2(&self) -> String {
        self.ns(4)
    }

    pub(super) fn h2_addr(&self, family: Family) -> IpAddr {
        self.lab.plan().addr(4, 2, family)
    }

    /// What a trace from h1 to h2 should list: r1, r2, r3 (each from its
    /// h1-facing side), h2.
    pub(super) fn hops(&self, family: Family) -> Vec<IpAddr> {
        (1..=4)
            .map(|link| self.lab.plan().addr(link, 2, family))
            .collect()
    }

    /// h2's extra addresses, for the rate test.
    pub(super) fn targets(&self) -> Vec<Ipv4Addr> {
        (1..=TARGETS)
            .map(|i| match self.lab.plan().addr(TARGET_NET, i, Family::V4) {
                IpAddr::V4(a) => a,
                IpAddr::V6(_) => unreachable!("an IPv4 plan address"),
            })
            .collect()
    }

    /// `program args…` in namespace `ns`, stdout and stderr to files
    /// `<out>.out` and `<out>.err`; the caller waits ([`sys::wait`]).
    pub(super) fn spawn(
        &self,
        ns: &str,
        program: &Path,
        args: &[String],
        out: &Path,
    ) -> anyhow::Result<(Child, Instant)> {
        sys::check_interrupted()?;
        let stdout = std::fs::File::create(out.with_extension("out"))?;
        let stderr = std::fs::File::create(out.with_extension("err"))?;
        let started = Instant::now();
        let child = vantage_netlab::command(ns, program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {} in {ns}", program.display()))?;
        Ok((child, started))
    }

    /// Runs `program args…` in `ns` to its end (or `limit`), with its
    /// output in `<out>.out` / `<out>.err`.
    pub(super) fn run(
        &self,
        ns: &str,
        program: &Path,
        args: &[String],
        out: &Path,
        limit: Duration,
    ) -> anyhow::Result<sys::Finished> {
        let (child, started) = self.spawn(ns, program, args, out)?;
        let finished = sys::wait(child, started, limit)?;
        if finished.killed {
            sys::check_interrupted()?;
            bail!(
                "{} in {ns} was stopped after {limit:?}: see {}",
                program.display(),
                out.with_extension("err").display()
            );
        }
        Ok(finished)
    }

    /// A helper command in `ns`, which must succeed; returns its stdout.
    pub(super) fn exec(&self, ns: &str, program: &str, args: &[&str]) -> anyhow::Result<String> {
        sys::check_interrupted()?;
        Ok(vantage_netlab::run(
            ns,
            program,
            args,
            vantage_netlab::HELPER_LIMIT,
        )?)
    }

    /// A dual-stack TCP listener on `port` in h2 that accepts and closes;
    /// ready when this returns, and gone when the returned value drops.
    pub(super) fn tcp_listener(&self, port: u16) -> anyhow::Result<Process> {
        Ok(self.lab.tcp_listener("h2", port)?)
    }

    /// Packets h1 has sent toward r1 so far (its only link).
    pub(super) fn h1_packets_out(&self) -> anyhow::Result<u64> {
        let counter = format!(
            "/sys/class/net/{}/statistics/tx_packets",
            self.lab.interface(1, Side::A)
        );
        let text = self.exec(&self.h1(), "cat", &[&counter])?;
        text.trim()
            .parse()
            .with_context(|| format!("reading {counter} in h1"))
    }

    fn create(&mut self) -> anyhow::Result<()> {
        let lab = &mut self.lab;
        for node in NODES {
            lab.add_node(node)?;
        }
        for (i, pair) in NODES.windows(2).enumerate() {
            lab.link(i as u8 + 1, pair[0], pair[1])?;
        }
        // h2's extra addresses, in one `ip -batch`.
        let h2_dev = lab.interface(4, Side::B);
        let batch = self
            .targets()
            .iter()
            .map(|t| format!("addr add {t}/32 dev {h2_dev}\n"))
            .collect::<String>();
        let lab = &self.lab;
        let file = std::env::temp_dir().join(format!("{}-targets.batch", lab.names().label()));
        std::fs::write(&file, batch)?;
        let added = lab.ip("h2", &["-batch", &file.display().to_string()]);
        let _ = std::fs::remove_file(&file);
        added?;
        for node in NODES {
            let mut settings = ICMP_UNLIMITED.to_vec();
            settings.push(PING_SOCKETS);
            if node.starts_with('r') {
                settings.extend(FORWARDING);
            }
            lab.sysctl(node, &settings)?;
        }
        lab.line_routes(&NODES, 1)?;
        let targets = lab.plan().net(TARGET_NET, Family::V4);
        lab.route("r2", &targets, lab.plan().addr(3, 2, Family::V4))?;
        lab.route("r3", &targets, lab.plan().addr(4, 2, Family::V4))?;
        lab.wait_for_carrier()?;
        // Resolves the neighbours along the path and proves that h1 reaches
        // h2 and its extra addresses.
        for family in Family::BOTH {
            lab.ping("h1", self.h2_addr(family))?;
        }
        for target in self.targets() {
            lab.ping("h1", target.into())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The benchmark's lab without the benchmark (which needs a release
    /// build): building it pings h2 in both families and all 100 extra
    /// addresses from h1, across the three routers.
    #[test]
    fn the_benchmark_lab_builds_routes_and_goes_away() {
        if !vantage_netlab::available_or_skip(&[]) {
            return;
        }
        let lab = Lab::build().expect("building the benchmark's lab");
        assert_eq!(lab.targets().len(), usize::from(TARGETS));
        assert_eq!(lab.targets()[99].to_string(), "10.199.100.100");
        let sent = lab.h1_packets_out().unwrap();
        assert!(sent >= 102, "h1 sent {sent} packets");
        let routes = lab.exec(&lab.ns(2), "ip", &["route"]).unwrap();
        assert!(
            routes.contains("10.199.100.0/24 via 10.199.3.2"),
            "{routes}"
        );
        let names: Vec<String> = (0..NODES.len()).map(|i| lab.ns(i)).collect();
        drop(lab);
        let list = std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap();
        let list = String::from_utf8_lossy(&list.stdout);
        assert!(names.iter().all(|n| !list.contains(n.as_str())), "{list}");
    }
}
