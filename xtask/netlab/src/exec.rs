//! Programs run inside a network namespace (`ip netns exec`): to their end
//! within a time limit, or in the background, killed on drop.

use std::ffi::OsStr;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, describe};

/// `ip netns exec <ns> <program>`, to add arguments to and run. `ip`
/// execs the program, so the child is the program itself.
pub fn command(ns: &str, program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", ns]).arg(program);
    command
}

/// Runs `program args…` in `ns` and returns its output, whatever its exit
/// status; killed after `limit`.
pub fn output(ns: &str, program: &str, args: &[&str], limit: Duration) -> Result<Output, Error> {
    bounded(command(ns, program).args(args), limit)
}

/// Runs `program args…` in `ns`, which must succeed within `limit`, and
/// returns its standard output.
pub fn run(ns: &str, program: &str, args: &[&str], limit: Duration) -> Result<String, Error> {
    let out = checked(command(ns, program).args(args), limit)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd` under coreutils `timeout` (TERM at `limit`, KILL 5 s later),
/// with no input; its output whatever its exit status.
pub(crate) fn bounded(cmd: &Command, limit: Duration) -> Result<Output, Error> {
    let command = describe(cmd);
    let started = Instant::now();
    let out = Command::new("timeout")
        .args(["-k", "5", &limit.as_secs_f64().to_string()])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Io {
            command: command.clone(),
            source,
        })?;
    // 124: timed out; 137: killed after the grace period.
    let timed_out = match out.status.code() {
        Some(124) => true,
        Some(137) => started.elapsed() >= limit,
        _ => false,
    };
    if timed_out {
        return Err(Error::TimedOut { command, limit });
    }
    Ok(out)
}

/// [`bounded`], failing with the standard error unless `cmd` succeeds.
pub(crate) fn checked(cmd: &Command, limit: Duration) -> Result<Output, Error> {
    let out = bounded(cmd, limit)?;
    if !out.status.success() {
        return Err(Error::Failed {
            command: describe(cmd),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(out)
}

/// A program started with [`spawn`]; killed on drop.
#[derive(Debug)]
pub struct Process {
    child: Child,
    command: String,
}

/// Starts `program args…` in `ns` with no input and its output discarded
/// (its standard error goes to ours).
pub fn spawn(ns: &str, program: &str, args: &[&str]) -> Result<Process, Error> {
    let mut cmd = command(ns, program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null());
    let command = describe(&cmd);
    match cmd.spawn() {
        Ok(child) => Ok(Process { child, command }),
        Err(source) => Err(Error::Io { command, source }),
    }
}

impl Process {
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the program has ended.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>, Error> {
        self.child.try_wait().map_err(|source| Error::Io {
            command: self.command.clone(),
            source,
        })
    }

    /// Waits for the program to end, killing it once `limit` has passed.
    pub fn wait(&mut self, limit: Duration) -> Result<ExitStatus, Error> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.exited()? {
                return Ok(status);
            }
            if started.elapsed() >= limit {
                self.kill();
                return Err(Error::TimedOut {
                    command: self.command.clone(),
                    limit,
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_runs_the_program_inside_the_namespace() {
        let mut cmd = command("vb1-h1", "ping");
        cmd.args(["-c", "1", "10.199.4.2"]);
        assert_eq!(describe(&cmd), "ip netns exec vb1-h1 ping -c 1 10.199.4.2");
    }

    #[test]
    fn a_slow_command_is_stopped_at_its_limit() {
        let started = Instant::now();
        let err = bounded(Command::new("sleep").arg("5"), Duration::from_millis(200))
            .expect_err("sleep 5 outlives 200 ms");
        assert!(matches!(err, Error::TimedOut { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(err.to_string(), "`sleep 5` was stopped after 200ms");
    }

    #[test]
    fn a_failing_command_is_named_with_its_stderr() {
        let err = checked(
            Command::new("sh").args(["-c", "echo no route >&2; exit 2"]),
            Duration::from_secs(5),
        )
        .expect_err("exit 2 fails");
        let text = err.to_string();
        assert!(
            text.starts_with("`sh -c echo no route >&2; exit 2` failed"),
            "{text}"
        );
        assert!(text.ends_with(": no route"), "{text}");
        // Any exit status is an output, not an error, for `bounded`.
        let out = bounded(&Command::new("false"), Duration::from_secs(5)).unwrap();
        assert_eq!(out.status.code(), Some(1));
    }
}
