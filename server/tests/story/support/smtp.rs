//! A real SMTP server on a free loopback port: Debian's aiosmtpd, requiring
//! STARTTLS with a certificate from a throw-away CA, writing each mail it
//! accepts as JSON (sender, recipients, whether TLS was on, the message).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use super::required;
use super::tls::private_ca;

/// Debian's Python, which has Debian's aiosmtpd (a `python3` earlier on
/// the PATH, such as pyenv's, may not).
const PYTHON: &str = "/usr/bin/python3";

const SINK: &str = r#"
import json, os, ssl, sys, time
from aiosmtpd.controller import Controller

port, cert, key, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

class Sink:
    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "data": envelope.content.decode("utf-8", "replace"),
        }
        path = os.path.join(out, "%d.json" % time.time_ns())
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Sink(), hostname="127.0.0.1", port=port,
                        tls_context=context, require_starttls=True)
controller.start()
print("ready", flush=True)
try:
    sys.stdin.read()
finally:
    controller.stop()
"#;

/// The server, until dropped.
#[derive(Debug)]
pub struct SmtpSink {
    pub port: u16,
    /// The CA that signed its certificate, PEM.
    pub ca_pem: String,
    out: PathBuf,
    child: Child,
    _dir: TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpSink {
    /// Started and listening; `None` when aiosmtpd is missing and the run
    /// may skip (it fails under CI).
    pub fn start() -> Option<SmtpSink> {
        let available = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            assert!(
                !required(),
                "python3-aiosmtpd is missing (cargo xtask prepare)"
            );
            eprintln!("skipped: python3-aiosmtpd is missing");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = private_ca(dir.path());
        let out = dir.path().join("mail");
        std::fs::create_dir(&out).unwrap();
        let script = dir.path().join("sink.py");
        std::fs::write(&script, SINK).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(PYTHON)
            .arg(&script)
            .arg(port.to_string())
            .args([&cert, &key])
            .arg(&out)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Some(SmtpSink {
            port,
            ca_pem: std::fs::read_to_string(ca).unwrap(),
            out,
            child,
            _dir: dir,
        })
    }

    /// The mails accepted so far, oldest first.
    pub fn mails(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits (at most 20 s) for `n` mails, then a little longer for extras.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.mails().len() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        self.mails()
    }
}
