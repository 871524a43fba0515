//! Debian's HAProxy in front of server replicas on this host, run with
//! the example operators start from (`deploy/haproxy/haproxy.cfg`), its
//! `bind` address and `server` lines replaced: the scale story and
//! `cargo xtask bench scale` both balance through it.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::Error;
use crate::error::describe;
use crate::exec::checked;

/// Where Debian installs it.
pub const HAPROXY: &str = "/usr/sbin/haproxy";
/// The header the example sets to the name of the replica that answered:
/// `r0`, `r1`, … in the order of the ports given.
pub const REPLICA_HEADER: &str = "x-vantage-replica";

/// A running HAProxy, stopped when dropped.
pub struct Balancer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _dir: TempDir,
}

impl Balancer {
    /// Balances 127.0.0.1:`port` over the replicas on 127.0.0.1:`replicas`,
    /// with the example at `example`; checks the result with `haproxy -c`.
    pub fn start(example: &Path, replicas: &[u16]) -> Result<Balancer, Error> {
        let text = std::fs::read_to_string(example).map_err(|source| Error::Io {
            command: format!("reading {}", example.display()),
            source,
        })?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|source| Error::Io {
                command: "choosing a port".into(),
                source,
            })?
            .port();
        let config = render(&text, port, replicas).map_err(Error::NotReady)?;
        let dir = TempDir::new()?;
        let path = dir.0.join("haproxy.cfg");
        std::fs::write(&path, config).map_err(|source| Error::Io {
            command: format!("writing {}", path.display()),
            source,
        })?;
        let mut check = Command::new(HAPROXY);
        check.args(["-c", "-q", "-f"]).arg(&path);
        checked(&check, Duration::from_secs(10))?;
        // -db: in the foreground, its messages on our standard error.
        let mut cmd = Command::new(HAPROXY);
        cmd.args(["-db", "-f"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let child = cmd.spawn().map_err(|source| Error::Io {
            command: describe(&cmd),
            source,
        })?;
        Ok(Balancer {
            child,
            port,
            _dir: dir,
        })
    }

    /// Fails when HAProxy has exited (its messages are on standard error).
    pub fn check_running(&mut self) -> Result<(), Error> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(Error::NotReady(format!("haproxy exited with {status}"))),
            Err(source) => Err(Error::Io {
                command: "waiting for haproxy".into(),
                source,
            }),
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `example` with its one `bind` line on 127.0.0.1:`port` and its `server`
/// lines replaced by one per replica port.
pub fn render(example: &str, port: u16, replicas: &[u16]) -> Result<String, String> {
    let mut config = String::new();
    let (mut binds, mut servers) = (0, 0);
    for line in example.lines() {
        match line.split_whitespace().next() {
            Some("bind") => {
                binds += 1;
                config.push_str(&format!("    bind 127.0.0.1:{port}\n"));
            }
            Some("server") => {
                servers += 1;
                if servers == 1 {
                    for (i, p) in replicas.iter().enumerate() {
                        config.push_str(&format!("    server r{i} 127.0.0.1:{p} check\n"));
                    }
                }
            }
            _ => {
                config.push_str(line);
                config.push('\n');
            }
        }
    }
    if binds != 1 || servers == 0 {
        return Err(format!(
            "the example should bind one address and list servers: {binds} bind, {servers} server lines"
        ));
    }
    if !example.contains(&format!("set-header {REPLICA_HEADER} %s")) {
        return Err(format!("the example does not set {REPLICA_HEADER}"));
    }
    Ok(config)
}

/// A folder of this process's own, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, Error> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vantage-haproxy-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            command: format!("creating {}", dir.display()),
            source,
        })?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    const EXAMPLE: &str = "frontend f\n    bind :8080\nbackend b\n    http-response set-header x-vantage-replica %s\n    server a 10.0.0.1:8080 check\n    server b 10.0.0.2:8080 check\n";

    #[test]
    fn the_example_is_bound_here_and_lists_our_replicas() {
        let config = render(EXAMPLE, 4000, &[5001, 5002, 5003]).unwrap();
        assert!(config.contains("    bind 127.0.0.1:4000\n"), "{config}");
        assert!(!config.contains("10.0.0."), "{config}");
        for (i, p) in [5001, 5002, 5003].iter().enumerate() {
            assert!(config.contains(&format!("server r{i} 127.0.0.1:{p} check")));
        }
    }

    #[test]
    fn an_example_without_its_parts_is_refused() {
        assert!(render("frontend f\n", 1, &[2]).is_err());
        let no_header = EXAMPLE.replace("x-vantage-replica", "x-other");
        assert!(render(&no_header, 1, &[2]).is_err());
    }
}
