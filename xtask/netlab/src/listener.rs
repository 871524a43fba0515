//! A TCP listener inside a lab's namespace: the target of TCP probes.

use std::time::Duration;

use crate::error::Error;
use crate::exec::{self, Process};
use crate::lab::Lab;

/// How long a listener lives at most, should its owner never drop it.
const LIFETIME: Duration = Duration::from_secs(900);

impl Lab {
    /// A TCP listener on `[::]:port` (dual-stack) in `node` that accepts
    /// and closes every connection; ready when this returns, killed when
    /// the returned process drops (and gone by itself after 15 minutes).
    pub fn tcp_listener(&self, node: &str, port: u16) -> Result<Process, Error> {
        let ns = self.made(node)?;
        let script = format!(
            "import socket, time\n\
             s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n\
             s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n\
             s.bind(('::', {port}))\n\
             s.listen(128)\n\
             s.settimeout(1)\n\
             end = time.monotonic() + {}\n\
             while time.monotonic() < end:\n\
             \x20   try:\n\
             \x20       s.accept()[0].close()\n\
             \x20   except socket.timeout:\n\
             \x20       pass\n",
            LIFETIME.as_secs()
        );
        let mut listener = exec::spawn(ns, "python3", &["-c", &script])?;
        let filter = format!("sport = :{port}");
        for _ in 0..100 {
            if !self.run(node, "ss", &["-Hltn", &filter])?.is_empty() {
                return Ok(listener);
            }
            if let Some(status) = listener.exited()? {
                return Err(Error::NotReady(format!(
                    "the TCP listener (python3) in {ns} exited with {status}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(Error::NotReady(format!(
            "nothing listens on port {port} in {ns} after 5 s"
        )))
    }
}
