//! Installs what the test suite needs on a fresh machine: Debian packages
//! (when running as root) and the `wasm32-wasip2` Rust target.

use std::process::Command;

use anyhow::bail;

use crate::run;

/// Debian packages the tests use, with a binary that shows each is there.
const PACKAGES: &[(&str, &str)] = &[
    ("dnsmasq-base", "/usr/sbin/dnsmasq"),
    ("nftables", "/usr/sbin/nft"),
    ("iproute2", "/usr/sbin/ip"),
    ("iputils-ping", "/usr/bin/ping"),
    // The reference peers of the ICMP tests (`host-agent/tests/icmp_topology.rs`);
    // python3 runs their TCP listener.
    ("traceroute", "/usr/bin/traceroute.db"),
    ("fping", "/usr/bin/fping"),
    ("mtr-tiny", "/usr/bin/mtr"),
    ("python3", "/usr/bin/python3"),
    // The server stories: a throw-away PostgreSQL cluster from the Debian
    // binaries, and `promtool check metrics` over `/metrics`.
    ("postgresql-15", "/usr/lib/postgresql/15/bin/initdb"),
    ("prometheus", "/usr/bin/promtool"),
];

pub(crate) fn system_packages() -> anyhow::Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, bin)| !std::path::Path::new(bin).exists())
        .map(|(pkg, _)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "the tests need these Debian packages: {} (run as root, or install them)",
            missing.join(" ")
        );
    }
    run(Command::new("apt-get").arg("update").arg("-q"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

pub(crate) fn wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-wasip2")
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
