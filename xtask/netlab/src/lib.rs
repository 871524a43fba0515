//! Network-namespace labs for Vantage's tests and benchmarks: the building
//! blocks that the agent's ICMP topology, the ICMP benchmark and the
//! server's agent mesh compose.
//!
//! A [`Lab`] owns the namespaces it makes (`<prefix><pid>-<node>`, see
//! [`Names`]) and removes them on drop, also when building stopped half
//! way; [`sweep_stale`] removes those of a killed earlier run. Nodes are
//! joined by veth pairs with addresses from a [`Plan`]; every command runs
//! inside one of the lab's namespaces, and no veth reaches the namespace
//! the process runs in, so every packet stays inside the lab. Commands are
//! bounded in time, and their errors name the command and its stderr.
//!
//! ```no_run
//! use vantage_netlab::{Family, Lab, Names, Plan};
//!
//! # fn main() -> Result<(), vantage_netlab::Error> {
//! let mut lab = Lab::new(Names::new("vx"), Plan::new([10, 198], [0xfd7c, 0x198]));
//! for node in ["h1", "r1", "h2"] {
//!     lab.add_node(node)?;
//! }
//! lab.link(1, "h1", "r1")?;
//! lab.link(2, "r1", "h2")?;
//! lab.sysctl("r1", &vantage_netlab::FORWARDING)?;
//! lab.line_routes(&["h1", "r1", "h2"], 1)?;
//! lab.wait_for_carrier()?;
//! lab.ping("h1", lab.plan().addr(2, 2, Family::V6))?;
//! # Ok(())
//! # }
//! ```

mod balancer;
mod error;
mod exec;
mod lab;
mod listener;
mod names;
mod plan;

use std::process::Command;

pub use balancer::{Balancer, HAPROXY, REPLICA_HEADER, render as render_balancer};
pub use error::Error;
pub use exec::{Process, command, output, run, spawn};
pub use lab::{FORWARDING, HELPER_LIMIT, ICMP_UNLIMITED, Lab, PING_SOCKETS, line_routes};
pub use names::{IFNAME_MAX, Names, Side, lab_pid, sweep_stale};
pub use plan::{Family, Plan, TOPOLOGIES};

/// Whether this process can build labs: root, `ip netns`, and each of
/// `tools` (run with `--version`, e.g. `nft`).
pub fn available(tools: &[&str]) -> Result<(), Error> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1));
    if euid != Some("0") {
        return Err(Error::Unavailable(
            "network namespaces need root".to_owned(),
        ));
    }
    let checks = std::iter::once(("ip", &["netns", "list"][..]))
        .chain(tools.iter().map(|tool| (*tool, &["--version"][..])));
    for (program, args) in checks {
        let mut cmd = Command::new(program);
        cmd.args(args);
        if let Err(e) = exec::checked(&cmd, HELPER_LIMIT) {
            return Err(Error::Unavailable(e.to_string()));
        }
    }
    Ok(())
}

/// For tests: true when labs can be built here ([`available`]); false,
/// saying why, when they cannot and `VANTAGE_SKIP_NETNS=1` asks to skip;
/// otherwise panics, so that a machine that should run the test does not
/// pass it silently.
pub fn available_or_skip(tools: &[&str]) -> bool {
    let Err(why) = available(tools) else {
        return true;
    };
    if std::env::var_os("VANTAGE_SKIP_NETNS").is_some_and(|v| v == "1") {
        eprintln!("skipped: {why} (VANTAGE_SKIP_NETNS=1)");
        return false;
    }
    panic!("{why}: set VANTAGE_SKIP_NETNS=1 to skip the network-namespace tests");
}
