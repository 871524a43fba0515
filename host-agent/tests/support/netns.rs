//! Commands run inside a network namespace (`ip netns exec`), bounded in
//! time or killed on drop.

use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// Longest a command run with [`exec`] may take.
const EXEC_LIMIT: Duration = Duration::from_secs(120);

/// Whether this process can make namespaces: root, `ip netns` and nft.
pub fn available() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1));
    if euid != Some("0") {
        return Err("network namespaces need root".to_owned());
    }
    for (program, args) in [("ip", &["netns", "list"][..]), ("nft", &["--version"][..])] {
        match Command::new(program).args(args).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Err(format!(
                    "`{program} {}` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Err(e) => return Err(format!("cannot run {program}: {e}")),
        }
    }
    Ok(())
}

/// Runs `program args…` inside namespace `ns`, stopped after two minutes.
pub fn exec(ns: &str, program: &str, args: &[&str]) -> Output {
    let limit = EXEC_LIMIT.as_secs().to_string();
    Command::new("timeout")
        .args(["-k", "5", &limit, "ip", "netns", "exec", ns, program])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {program} in {ns}: {e}"))
}

/// A process started with [`spawn`]; killed on drop.
pub struct NsProcess {
    child: Child,
}

/// Starts `program args…` inside namespace `ns` (`ip netns exec` execs it,
/// so killing the child kills the program).
pub fn spawn(ns: &str, program: &str, args: &[&str]) -> NsProcess {
    let child = Command::new("ip")
        .args(["netns", "exec", ns, program])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {program} in {ns}: {e}"));
    NsProcess { child }
}

impl NsProcess {
    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }
}

impl Drop for NsProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a setup command, panicking with its error when it fails.
pub fn check(cmd: &mut Command, ns: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed for namespace {ns}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}
