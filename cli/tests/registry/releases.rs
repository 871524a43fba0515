//! `vantage keys endorse --role releases` and `vantage release publish |
//! list | yank` against the real `vantage-server`.

use std::fs;
use std::process::Command;

use super::server::TestServer;
use super::{says, vantage};
use crate::common::Workdir;

/// A real .tar.gz named as `cargo xtask dist` names it, holding a file
/// named `vantage-agent`.
fn archive(w: &Workdir, version: &str) -> String {
    let dir = format!("vantage-{version}-x86_64-unknown-linux-gnu");
    fs::create_dir_all(w.join(&format!("{dir}/bin"))).unwrap();
    fs::write(
        w.join(&format!("{dir}/bin/vantage-agent")),
        format!("agent {version}"),
    )
    .unwrap();
    let name = format!("{dir}.tar.gz");
    let status = Command::new("tar")
        .arg("czf")
        .arg(w.join(&name))
        .arg("-C")
        .arg(w.join(""))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    name
}

#[test]
fn a_release_key_publishes_agent_builds_that_a_plugin_key_cannot() {
    let server = TestServer::start(None);
    let w = Workdir::new();
    let v = |args: &[&str]| vantage(&w, &server, args);
    let root = w.generate_key("root");
    let ci = w.generate_key("ci");
    w.generate_key("team");
    v(&["keys", "add", "keys/root.pub", "--root"]).ok();
    for (key, role) in [("ci", "releases"), ("team", "plugins")] {
        let file = format!("{key}.endorsement.json");
        v(&[
            "keys",
            "endorse",
            "--root",
            "keys/root.key",
            &format!("keys/{key}.pub"),
            "--role",
            role,
            "-o",
            &file,
        ])
        .ok();
        v(&[
            "keys",
            "add",
            &format!("keys/{key}.pub"),
            "--endorsement",
            &file,
        ])
        .ok();
    }
    let run = v(&["keys", "list"]).ok();
    says(&run, &format!("releases (endorsed by {root})"));
    says(&run, &format!("plugins (endorsed by {root})"));

    let v110 = archive(&w, "1.1.0");
    v(&["release", "publish", &v110, "--key", "keys/team.key"])
        .fails(1, "endorsed to sign plugins, not agent releases");
    fs::write(w.join("agent.tar.gz"), b"not gzip").unwrap();
    v(&["release", "publish", "agent.tar.gz", "--key", "keys/ci.key"])
        .fails(1, "not a gzip archive");
    let run = v(&["release", "publish", &v110, "--key", "keys/ci.key"]).ok();
    says(
        &run,
        "published vantage-agent 1.1.0 for x86_64-unknown-linux-gnu (seq 1, sha256 ",
    );
    says(&run, &format!("signed by {ci}"));
    // Published again: re-signed with the next seq, same archive.
    let run = v(&[
        "release",
        "publish",
        &v110,
        "--key",
        "keys/ci.key",
        "--expires-in",
        "400d",
    ])
    .ok();
    says(&run, "(seq 2, sha256 ");
    // Another archive under the same version is refused.
    fs::write(w.join("other.tar.gz"), [0x1f, 0x8b, 1, 2, 3]).unwrap();
    v(&[
        "release",
        "publish",
        "other.tar.gz",
        "--key",
        "keys/ci.key",
        "--version",
        "1.1.0",
        "--platform",
        "x86_64-unknown-linux-gnu",
    ])
    .fails(1, "published with another archive");

    let run = v(&["release", "list"]).ok();
    assert!(
        run.stdout.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() == 7
                && cols[..3] == ["1.1.0", "x86_64-unknown-linux-gnu", "2"]
                && cols[4] == ci
                && cols[6] == "-"
        }),
        "{}",
        run.stdout
    );
    let run = v(&["release", "yank", "1.1.0"]).ok();
    says(&run, "yanked 1.1.0 (x86_64-unknown-linux-gnu)");
    let run = v(&["release", "yank", "1.1.0", "--undo"]).ok();
    says(&run, "restored 1.1.0");
    v(&["release", "yank", "2.0.0"]).fails(1, "no agent release 2.0.0");

    // Rollouts: checked before anything is asked of an agent.
    v(&["rollout", "start", "1.1.0", "--max-failures", "200%"]).fails(1, "between 0% and 100%");
    v(&["rollout", "start", "1.1.0", "--waves", "canary=0"]).fails(1, "wave `canary=0`");
    v(&["rollout", "start", "3.0.0"]).fails(1, "no release of 3.0.0 is published");
    v(&["rollout", "start", "1.1.0", "--group", "edge"]).fails(1, "no online agent is in it");
    let run = v(&["rollout", "list"]).ok();
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "only the header: {}",
        run.stdout
    );
}
