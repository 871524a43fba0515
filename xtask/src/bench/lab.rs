//! The benchmark's network: five namespaces h1 — r1 — r2 — r3 — h2 joined by
//! veth pairs, IPv4 and IPv6 on every link, the routers forwarding with
//! ICMP rate limits off, and 100 extra addresses on h2 for the rate test.
//!
//! Link `L` (1..=4) joins node `L-1` (side a, host `.1`/`::1`) to node `L`
//! (side b, `.2`/`::2`): `10.199.L.0/24` and `fd7b:199:L::/64`; the extra
//! addresses are `10.199.100.1–100` on h2's link, routed by r2 and r3. The
//! integration tests use `10.213.x` and `10.220–250.x`, so the two never meet;
//! nothing links the namespaces to the host's, so every packet stays inside.
//! Names carry the process id (`vb<pid>-h1`); namespaces of a killed earlier
//! run are swept at start, and [`Lab`] removes its own on drop.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::sys;

/// Node names in path order; link `L` joins `NODES[L-1]` and `NODES[L]`.
const NODES: [&str; 5] = ["h1", "r1", "r2", "r3", "h2"];
/// How many extra addresses h2 carries (`10.199.100.1` on).
pub(super) const TARGETS: u8 = 100;
/// The longest a helper command (`ip`, `sysctl`, `cat`) may take.
const HELPER_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    V4,
    V6,
}

impl Family {
    pub(super) const BOTH: [Family; 2] = [Family::V4, Family::V6];

    /// The flag that selects the family in `ip`, ping, traceroute and mtr.
    pub(super) fn flag(self) -> &'static str {
        match self {
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// The namespaces, removed on drop (also when building stopped half way).
pub(super) struct Lab {
    /// `vb<pid>`: the namespaces are `vb<pid>-h1` and so on.
    prefix: String,
    /// `vb<pid % 100000>`, for interface names (at most 15 bytes).
    short: String,
    made: Vec<String>,
}

impl Lab {
    pub(super) fn build() -> anyhow::Result<Lab> {
        remove_stale();
        let pid = std::process::id();
        let mut lab = Lab {
            prefix: format!("vb{pid}"),
            short: format!("vb{}", pid % 100_000),
            made: Vec::new(),
        };
        lab.create()?;
        Ok(lab)
    }

    /// The namespace of node `i` (0 = h1, 4 = h2).
    pub(super) fn ns(&self, i: usize) -> String {
        format!("{}-{}", self.prefix, NODES[i])
    }

    pub(super) fn h1(&self) -> String {
        self.ns(0)
    }

    pub(super) fn h2(&self) -> String {
        self.ns(4)
    }

    pub(super) fn h2_addr(&self, family: Family) -> IpAddr {
        addr(4, 2, family)
    }

    /// What a trace from h1 to h2 should list: r1, r2, r3 (each from its
    /// h1-facing side), h2.
    pub(super) fn hops(&self, family: Family) -> Vec<IpAddr> {
        (1..=4).map(|link| addr(link, 2, family)).collect()
    }

    /// h2's extra addresses, for the rate test.
    pub(super) fn targets(&self) -> Vec<Ipv4Addr> {
        (1..=TARGETS)
            .map(|i| Ipv4Addr::new(10, 199, 100, i))
            .collect()
    }

    /// `program args…` in namespace `ns`, stdout and stderr to files
    /// `<out>.out` and `<out>.err`, killed after `limit`.
    pub(super) fn spawn(
        &self,
        ns: &str,
        program: &Path,
        args: &[String],
        out: &Path,
    ) -> anyhow::Result<(std::process::Child, Instant)> {
        sys::check_interrupted()?;
        let stdout = std::fs::File::create(out.with_extension("out"))?;
        let stderr = std::fs::File::create(out.with_extension("err"))?;
        let started = Instant::now();
        // `ip netns exec` execs the program: the child is the program.
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
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
        let out = helper(
            Command::new("ip")
                .args(["netns", "exec", ns, program])
                .args(args),
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A dual-stack TCP listener on `port` in h2 that accepts and closes;
    /// ready when this returns, and gone when the returned value drops.
    pub(super) fn tcp_listener(&self, port: u16) -> anyhow::Result<Listener> {
        let script = format!(
            "import socket, time\n\
             s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n\
             s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n\
             s.bind(('::', {port}))\n\
             s.listen(128)\n\
             s.settimeout(1)\n\
             end = time.monotonic() + 900\n\
             while time.monotonic() < end:\n\
             \x20   try:\n\
             \x20       s.accept()[0].close()\n\
             \x20   except socket.timeout:\n\
             \x20       pass\n"
        );
        let h2 = self.h2();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &h2, "python3", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the TCP listener (python3) in h2")?;
        let filter = format!("sport = :{port}");
        for _ in 0..100 {
            if !self.exec(&h2, "ss", &["-Hltn", &filter])?.is_empty() {
                return Ok(Listener { child });
            }
            if let Some(status) = child.try_wait()? {
                bail!("the TCP listener in {h2} exited with {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!("nothing listens on port {port} in {h2} after 5 s")
    }

    /// Packets h1 has sent toward r1 so far (its only link).
    pub(super) fn h1_packets_out(&self) -> anyhow::Result<u64> {
        let counter = format!(
            "/sys/class/net/{}/statistics/tx_packets",
            self.interface(1, 'a')
        );
        let text = self.exec(&self.h1(), "cat", &[&counter])?;
        text.trim()
            .parse()
            .with_context(|| format!("reading {counter} in h1"))
    }

    /// `vb<pid % 100000>l<link><side>`.
    fn interface(&self, link: u8, side: char) -> String {
        format!("{}l{link}{side}", self.short)
    }

    fn ip(&self, node: usize, args: &[&str]) -> anyhow::Result<()> {
        helper(Command::new("ip").args(["-n", &self.ns(node)]).args(args)).map(|_| ())
    }

    fn create(&mut self) -> anyhow::Result<()> {
        for i in 0..NODES.len() {
            sys::check_interrupted()?;
            let ns = self.ns(i);
            // Only a killed earlier run with this pid can have left it.
            let _ = Command::new("ip")
                .args(["netns", "del", &ns])
                .stderr(Stdio::null())
                .status();
            helper(Command::new("ip").args(["netns", "add", &ns]))?;
            self.made.push(ns);
            self.ip(i, &["link", "set", "lo", "up"])?;
        }
        for link in 1..=4u8 {
            let (a, b) = (usize::from(link) - 1, usize::from(link));
            let (if_a, if_b) = (self.interface(link, 'a'), self.interface(link, 'b'));
            let peer = self.ns(b);
            self.ip(
                a,
                &[
                    "link", "add", &if_a, "type", "veth", "peer", "name", &if_b, "netns", &peer,
                ],
            )?;
            for (node, dev, host) in [(a, &if_a, 1), (b, &if_b, 2)] {
                let v4 = format!("{}/24", addr(link, host, Family::V4));
                let v6 = format!("{}/64", addr(link, host, Family::V6));
                self.ip(node, &["addr", "add", &v4, "dev", dev])?;
                self.ip(node, &["-6", "addr", "add", &v6, "dev", dev, "nodad"])?;
                self.ip(node, &["link", "set", dev, "up"])?;
            }
        }
        // h2's extra addresses, in one `ip -batch`.
        let batch = self
            .targets()
            .iter()
            .map(|t| format!("addr add {t}/32 dev {}\n", self.interface(4, 'b')))
            .collect::<String>();
        let file = std::env::temp_dir().join(format!("{}-targets.batch", self.prefix));
        std::fs::write(&file, batch)?;
        let added = self.ip(4, &["-batch", &file.display().to_string()]);
        let _ = std::fs::remove_file(&file);
        added?;
        for (i, node) in NODES.iter().enumerate() {
            let mut settings = vec![
                "net.ipv4.icmp_ratelimit=0",
                "net.ipv6.icmp.ratelimit=0",
                "net.ipv4.icmp_msgs_per_sec=100000",
                "net.ipv4.icmp_msgs_burst=100000",
                "net.ipv4.ping_group_range=0 2147483647",
            ];
            if node.starts_with('r') {
                settings.extend(["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
            }
            let mut args = vec!["-qw"];
            args.extend(settings);
            self.exec(&self.ns(i), "sysctl", &args)?;
        }
        self.routes()?;
        self.wait_for_carrier()?;
        self.warm_up()
    }

    /// Default routes toward h2 on h1 and r1, toward h1 on r3 and h2; r2
    /// knows both sides, and r2 and r3 route h2's extra addresses.
    fn routes(&self) -> anyhow::Result<()> {
        for family in Family::BOTH {
            let via = |link: u8, host: u8| addr(link, host, family).to_string();
            let net = |link: u8| match addr(link, 0, family) {
                IpAddr::V4(a) => format!("{a}/24"),
                IpAddr::V6(a) => format!("{a}/64"),
            };
            let f = family.flag();
            self.ip(0, &[f, "route", "add", "default", "via", &via(1, 2)])?;
            self.ip(1, &[f, "route", "add", "default", "via", &via(2, 2)])?;
            self.ip(2, &[f, "route", "add", &net(1), "via", &via(2, 1)])?;
            self.ip(2, &[f, "route", "add", &net(4), "via", &via(3, 2)])?;
            self.ip(3, &[f, "route", "add", "default", "via", &via(3, 1)])?;
            self.ip(4, &[f, "route", "add", "default", "via", &via(4, 1)])?;
        }
        self.ip(2, &["route", "add", "10.199.100.0/24", "via", "10.199.3.2"])?;
        self.ip(3, &["route", "add", "10.199.100.0/24", "via", "10.199.4.2"])
    }

    /// Waits until every veth is operationally up (IPv6 does not route over
    /// a link before the kernel has noticed its carrier).
    fn wait_for_carrier(&self) -> anyhow::Result<()> {
        for _ in 0..250 {
            let mut all_up = true;
            for i in 0..NODES.len() {
                let links =
                    self.exec(&self.ns(i), "ip", &["-br", "link", "show", "type", "veth"])?;
                all_up &= links
                    .lines()
                    .all(|l| l.split_whitespace().nth(1) == Some("UP"));
            }
            if all_up {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("the veths of {} did not come up within 5 s", self.prefix)
    }

    /// Resolves the neighbours along the path (the first IPv6 packet may be
    /// lost to neighbour discovery) and proves that h1 reaches h2 and its
    /// extra addresses.
    fn warm_up(&self) -> anyhow::Result<()> {
        let h1 = self.h1();
        let mut targets: Vec<String> = Family::BOTH
            .iter()
            .map(|&f| self.h2_addr(f).to_string())
            .collect();
        targets.extend(self.targets().iter().map(|t| t.to_string()));
        for target in &targets {
            let reached = (0..5).any(|_| {
                helper(Command::new("ip").args([
                    "netns", "exec", &h1, "ping", "-n", "-c", "1", "-W", "1", target,
                ]))
                .is_ok()
            });
            if !reached {
                bail!("{h1} cannot ping {target}: the benchmark network does not route");
            }
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace removes its end of every veth, and so the pair.
        for ns in self.made.iter().rev() {
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

/// The listener started by [`Lab::tcp_listener`], killed on drop.
pub(super) struct Listener {
    child: std::process::Child,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn addr(link: u8, host: u8, family: Family) -> IpAddr {
    match family {
        Family::V4 => Ipv4Addr::new(10, 199, link, host).into(),
        Family::V6 => Ipv6Addr::new(0xfd7b, 0x199, link.into(), 0, 0, 0, 0, host.into()).into(),
    }
}

/// Runs a short helper command, failing with its stderr; killed after
/// [`HELPER_LIMIT`].
fn helper(cmd: &mut Command) -> anyhow::Result<Output> {
    let line = format!("{cmd:?}");
    let limit = HELPER_LIMIT.as_secs().to_string();
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let out = Command::new("timeout")
        .args(["-k", "5", &limit])
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {line}"))?;
    if !out.status.success() {
        bail!(
            "{line} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// Removes namespaces `vb<pid>-<node>` whose process is gone (a run that
/// was killed before it could clean up).
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some((pid, node)) = name.strip_prefix("vb").and_then(|r| r.split_once('-')) else {
            continue;
        };
        if NODES.contains(&node)
            && pid.parse::<u32>().is_ok()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            eprintln!("removing network namespace {name} left by an earlier run");
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}
