//! The agent on other systems (docs/design/platforms.md): built for
//! Windows with Debian's mingw-w64, its unit tests run under Debian's Wine,
//! and checked for macOS, whose C dependencies compile here only against
//! two stand-in headers and are never linked.

use std::path::Path;
use std::process::Command;

use crate::{cargo, prepare, run};

const WINDOWS: &str = "x86_64-pc-windows-gnu";
const MACOS: &str = "aarch64-apple-darwin";
/// Debian's Wine loader (package `wine64`).
const WINE: &str = "/usr/lib/wine/wine64";

/// Unit tests that Wine 8.0 cannot run, with what it lacks; a Windows host
/// runs them.
const WINE_SKIPS: &[(&str, &str)] = &[
    (
        "caps::system::",
        "sysinfo reads the CPU load through PDH, and Wine aborts the process on PdhEnumObjectsA",
    ),
    (
        "caps::udp::tests::a_closed_port_is_refused_and_oversize_payloads_invalid",
        "Wine does not report an ICMP port unreachable on a connected UDP socket (WSAECONNRESET)",
    ),
];

/// Both systems, Windows first.
pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    windows(root)?;
    macos(root)
}

/// `CARGO_TARGET_<TRIPLE>_<key>`, the variable that sets `key` for one target.
fn target_var(triple: &str, key: &str) -> String {
    format!(
        "CARGO_TARGET_{}_{key}",
        triple.to_uppercase().replace('-', "_")
    )
}

/// Builds the agent and its unit tests for Windows, with warnings as
/// errors, and runs the tests under Wine.
fn windows(root: &Path) -> anyhow::Result<()> {
    prepare::rust_target(WINDOWS)?;
    let wine = root.join("target/wine");
    let shim = wine.join("shim");
    std::fs::create_dir_all(&shim)?;
    run(Command::new("x86_64-w64-mingw32-gcc")
        .args(["-shared", "-O2", "-o"])
        .arg(shim.join("bcryptprimitives.dll"))
        .arg(root.join("xtask/wine/bcryptprimitives.c"))
        .arg("-ladvapi32"))?;
    let mut skips = Vec::new();
    for (test, why) in WINE_SKIPS {
        eprintln!("under Wine, skipping {test}: {why}");
        skips.extend(["--skip", test]);
    }
    run(cargo()
        .current_dir(root)
        .env(target_var(WINDOWS, "RUNNER"), WINE)
        .env(target_var(WINDOWS, "RUSTFLAGS"), "-Dwarnings")
        .env("WINEPREFIX", wine.join("prefix"))
        .env("WINEDEBUG", "-all")
        .env("WINEPATH", windows_path(&shim))
        // Unoptimised dependencies: the tests run as fast under Wine, and
        // the build takes 2.5 minutes from cold instead of 5.7.
        .args(["--config", "profile.dev.package.\"*\".opt-level=0"])
        .args([
            "test",
            "-p",
            "vantage-agent",
            "--lib",
            "--bins",
            "--target",
            WINDOWS,
            "--",
        ])
        .args(skips))
}

/// `cargo check` of the agent and its unit tests for macOS, warnings as
/// errors. ring's and wasmtime's C is compiled freestanding by clang, with
/// `xtask/macos/` standing in for the two SDK headers it includes.
fn macos(root: &Path) -> anyhow::Result<()> {
    prepare::rust_target(MACOS)?;
    let cc_var = |key: &str| format!("{key}_{}", MACOS.replace('-', "_"));
    let headers = root.join("xtask/macos");
    run(cargo()
        .current_dir(root)
        .env(cc_var("CC"), "clang-19")
        .env(cc_var("AR"), "ar")
        .env(
            cc_var("CFLAGS"),
            format!(
                "-ffreestanding -nostdlibinc -DRING_CORE_NOSTDLIBINC=1 -I{}",
                headers.display()
            ),
        )
        .env(target_var(MACOS, "RUSTFLAGS"), "-Dwarnings")
        .args(["--config", "profile.dev.package.\"*\".opt-level=0"])
        .args([
            "check",
            "-p",
            "vantage-agent",
            "--lib",
            "--bins",
            "--tests",
            "--target",
            MACOS,
        ]))
}

/// `path` as Wine sees it: the Unix root is drive Z:.
fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}
