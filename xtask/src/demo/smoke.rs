//! The README's first command, as `cargo xtask test` runs it before it
//! installs anything: `demo --once` with the C and Python toolchains hidden
//! from PATH (and any build of a non-Rust plugin refused), then the demo
//! stopped by SIGTERM, SIGINT and SIGKILL, each time leaving no child behind.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

use crate::run;

/// Set for the demo under test: building a plugin with its `build.sh`
/// (Python, JavaScript, C) fails at once, even from a cached build.
pub(crate) const RUST_ONLY: &str = "VANTAGE_XTASK_RUST_ONLY";
/// Set for the demo under test: the agent and server are those of the test
/// build (`cargo test --workspace --no-run`, made first), not a build of
/// their own, whose different feature set would compile wasmtime twice.
pub(crate) const PREBUILT: &str = "VANTAGE_XTASK_PREBUILT";

/// Executables the demo must not need: the C plugins' clang and lld, and
/// Python (componentize-py, and node-gyp's builds of native npm packages).
const HIDDEN: &[&str] = &[
    "clang",
    "wasm-ld",
    "ld.lld",
    "lld",
    "python",
    "pip",
    "componentize-py",
];

pub(crate) fn start(root: &Path) -> anyhow::Result<()> {
    // The agent and server need only cargo and gcc; the same build serves
    // the tests later.
    run(crate::cargo()
        .current_dir(root)
        .args(["test", "--workspace", "--no-run"]))?;
    let path = path_without_toolchains(root)?;
    let xtask = std::env::current_exe().context("the xtask binary")?;
    let started = Instant::now();
    run(demo(&xtask, &path).arg("--once"))?;
    eprintln!(
        "the demo ran without C or Python toolchains in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGKILL] {
        stopping_ends_the_children(&xtask, &path, signal)?;
    }
    eprintln!("SIGTERM, SIGINT and SIGKILL of the demo each ended its server and agents");
    Ok(())
}

fn demo(xtask: &Path, path: &OsString) -> Command {
    let mut cmd = Command::new(xtask);
    cmd.args(["demo", "--port", "0"])
        .env("PATH", path)
        .env(RUST_ONLY, "1")
        .env(PREBUILT, "1");
    cmd
}

/// Starts the demo, waits for its dashboard line, sends it `signal` and
/// checks that every process it had started ends too.
fn stopping_ends_the_children(
    xtask: &Path,
    path: &OsString,
    signal: libc::c_int,
) -> anyhow::Result<()> {
    let mut child = demo(xtask, path)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the demo")?;
    let pid = child.id();
    // Kept open until the demo ends: it prints more after the dashboard.
    let mut lines = BufReader::new(child.stdout.take().context("the demo's stdout")?).lines();
    let up = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("dashboard"));
    if !up {
        let _ = child.kill();
        bail!(
            "the demo ended before it showed its dashboard: {:?}",
            child.wait()?
        );
    }
    let children = children_of(pid)?;
    // The server and two agents.
    ensure!(
        children.len() >= 3,
        "the demo runs {} children, expected at least 3",
        children.len()
    );
    super::lifeline::send(pid, signal).context("signalling the demo")?;
    child.wait()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left: Vec<u32> = children.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("after signal {signal}, the demo's children {left:?} still run");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> anyhow::Result<Vec<u32>> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Some(child) = entry?.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if stat(child).is_some_and(|(_, parent)| parent == pid) {
            children.push(child);
        }
    }
    Ok(children)
}

/// The state letter and parent of a process, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces and parentheses.
    let mut rest = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    Some((state, rest.next()?.parse().ok()?))
}

/// Whether `pid` still runs; a zombie (ended, not yet reaped by whoever
/// inherited it) does not.
fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| !matches!(state, 'Z' | 'X'))
}

/// A folder of links to every executable on PATH except [`HIDDEN`] ones,
/// as PATH: what a machine with only the README's prerequisites offers.
fn path_without_toolchains(root: &Path) -> anyhow::Result<OsString> {
    let dir = root.join("target/smoke/bin");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut hidden = Vec::new();
    for folder in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let link = dir.join(&name);
            if link.symlink_metadata().is_ok() || !is_executable(&entry.path()) {
                continue;
            }
            let text = name.to_string_lossy();
            if HIDDEN.iter().any(|h| text.starts_with(h)) {
                hidden.push(entry.path());
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), &link)?;
        }
    }
    eprintln!("hidden from the demo: {}", display(&hidden));
    Ok(dir.into_os_string())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn display(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "nothing (none installed)".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
