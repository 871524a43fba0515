//! `vantage-agent install` into a folder standing for a host's root: the
//! binary, configuration, credential and hardened unit land where the unit
//! expects them, `systemd-analyze verify` accepts the unit, the credential
//! works, a second run changes nothing, and uninstall keeps the outbox
//! unless told to purge.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use super::*;
use crate::support::agent::agent_bin;
use crate::support::said;

const UNIT: &str = include_str!("../../../../deploy/systemd/vantage-agent.service");

fn agent(root: &Path, args: &[&str]) -> Output {
    Command::new(agent_bin())
        .args(args)
        .arg("--root")
        .arg(root)
        .env_remove("VANTAGE_ENROLL_TOKEN")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// `systemd-analyze verify` of the installed unit, inside `root`, with the
/// host's own system units copied in (the targets the unit names).
fn verify(root: &Path) -> Output {
    let units = root.join("usr/lib/systemd");
    if !units.join("system").is_dir() {
        std::fs::create_dir_all(&units).unwrap();
        let copied = Command::new("cp")
            .args(["-a", "/usr/lib/systemd/system"])
            .arg(&units)
            .status()
            .unwrap();
        assert!(copied.success());
    }
    Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .arg("vantage-agent.service")
        .output()
        .expect("systemd-analyze (Debian's systemd) is installed by `cargo xtask test`")
}

both!(install_enrolls_writes_a_verified_unit_and_runs_again_unchanged);
async fn install_enrolls_writes_a_verified_unit_and_runs_again_unchanged(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let root = tempfile::tempdir().unwrap();
    let root = root.path();

    // Not enrolled and no token: nothing is written.
    let out = agent(root, &["install", "--server", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(said(&out).contains("--token"), "{}", said(&out));
    assert_eq!(std::fs::read_dir(root).unwrap().count(), 0);

    let token = enrollment_token(admin).await;
    let out = agent(
        root,
        &[
            "install",
            "--server",
            &url,
            "--token",
            &token,
            "--name",
            "installed",
        ],
    );
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("enrolled as installed with"),
        "{}",
        said(&out)
    );
    let bin = root.join("usr/local/bin/vantage-agent");
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        std::fs::read(agent_bin()).unwrap()
    );
    assert_eq!(mode(&bin), 0o755);
    let unit = root.join("etc/systemd/system/vantage-agent.service");
    assert_eq!(std::fs::read_to_string(&unit).unwrap(), UNIT);
    let config = std::fs::read_to_string(root.join("etc/vantage/agent.toml")).unwrap();
    assert!(
        config.contains("data_dir = \"/var/lib/vantage-agent\""),
        "{config}"
    );
    let credential = root.join("var/lib/vantage-agent/credential.json");
    assert_eq!(mode(&credential), 0o600);
    let verified = verify(root);
    assert!(verified.status.success(), "{}", said(&verified));

    // The unit names the binary it runs: without it, verify fails.
    std::fs::rename(&bin, root.join("moved")).unwrap();
    assert!(!verify(root).status.success());
    std::fs::rename(root.join("moved"), &bin).unwrap();

    // The credential it wrote works: the installed binary, on the installed
    // state, reports to the server.
    let home = AgentHome::new();
    let local = home.dir.path().join("agent.toml");
    std::fs::write(
        &local,
        config.replace(
            "/var/lib/vantage-agent",
            &root.join("var/lib/vantage-agent").display().to_string(),
        ) + "\n[server]\nheartbeat = \"1s\"\n",
    )
    .unwrap();
    let mut running = Command::new(&bin)
        .args(["run", "--config"])
        .arg(&local)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let agents = admin.get("/api/v1/agents").await.expect(200).json();
        let item = agents["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "installed")
            .cloned()
            .expect("the installed agent is listed");
        if item["last_seen_at"].is_string() || Instant::now() > deadline {
            break item;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = running.kill();
    let _ = running.wait();
    assert!(seen["last_seen_at"].is_string(), "{seen}");

    // Again, without a token: everything is kept, nobody new enrolls.
    let out = agent(root, &["install", "--server", &format!("{url}/")]);
    assert!(out.status.success(), "{}", said(&out));
    let text = said(&out);
    assert!(text.contains("already enrolled as installed"), "{text}");
    assert!(!text.contains("wrote "), "{text}");
    let agents = admin.get("/api/v1/agents").await.expect(200).json();
    assert_eq!(agents["items"].as_array().unwrap().len(), 1, "{agents}");

    // Another server is refused until the host is purged.
    let out = agent(root, &["install", "--server", "http://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(said(&out).contains("uninstall --purge"), "{}", said(&out));

    // Uninstall keeps the configuration, the credential and the outbox.
    let outbox = root.join("var/lib/vantage-agent/outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    std::fs::write(outbox.join("seg-0.log"), b"unsent").unwrap();
    let out = agent(root, &["uninstall"]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(!unit.exists() && !bin.exists());
    assert!(credential.exists() && outbox.join("seg-0.log").exists());
    assert!(root.join("etc/vantage/agent.toml").exists());
    assert!(
        said(&out).contains("--purge removes them"),
        "{}",
        said(&out)
    );

    let out = agent(root, &["uninstall", "--purge"]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(!root.join("var/lib/vantage-agent").exists());
    assert!(!root.join("etc/vantage/agent.toml").exists());
}

both!(a_container_agent_enrolls_itself_on_first_start_only);
async fn a_container_agent_enrolls_itself_on_first_start_only(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let home = AgentHome::new();
    let config = managed_config(&home);
    let first = |token: &str| {
        Command::new(agent_bin())
            .args(["run", "--once", "--config"])
            .arg(&config)
            .env("VANTAGE_SERVER", &url)
            .env("VANTAGE_ENROLL_TOKEN", token)
            .env("VANTAGE_AGENT_NAME", "container-1")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    // A token the server never issued: the agent stops with the reason.
    let out = first("ve_not-a-token");
    assert!(!out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("401") || said(&out).contains("token"),
        "{}",
        said(&out)
    );

    let token = enrollment_token(admin).await;
    let out = first(&token);
    assert!(out.status.success(), "{}", said(&out));
    assert!(home.dir.path().join("data/credential.json").is_file());
    // The container restarts with the same (now spent) token: it runs on
    // its credential and enrolls nobody new.
    let out = first(&token);
    assert!(out.status.success(), "{}", said(&out));
    let agents = admin.get("/api/v1/agents").await.expect(200).json();
    let names: Vec<&str> = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["container-1"]);
}
