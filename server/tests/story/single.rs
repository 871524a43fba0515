//! One server per SQLite database: a second `vantage-server` on the same
//! file is refused with a clear error naming the first one's pid, and
//! once the first is gone (even by `kill -9`) a server starts on it again.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::process::{ServerProcess, free_port, server_command};

const PASSWORD: &str = "single-story-password";

#[test]
fn a_second_server_on_one_sqlite_database_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vantage.db").display());
    let first = ServerProcess::start(&url, free_port(), PASSWORD);
    let pid = first.child.id();

    let mut second = server_command(&format!("127.0.0.1:{}", free_port()), &url, PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            second.kill().unwrap();
            panic!("a second server on {url} kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another vantage-server (pid {pid}) serves the SQLite database"
        )) && stderr.contains("use PostgreSQL"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "it listened: {:?}", out.stdout);

    // The lock goes with its process, however it ends.
    first.kill9();
    let again = ServerProcess::start(&url, free_port(), PASSWORD);
    assert!(again.url.starts_with("http://127.0.0.1:"));
}
