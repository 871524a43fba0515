//! What a `kill -9` leaves on disk at each step of an update, set up by
//! hand in a stopped agent's data folder, and the version that starts from
//! it: mid-download (a staging folder, nothing switched), and right after
//! the switch (a trial noted, `current` moved, the launcher not yet run).

use std::os::unix::fs::PermissionsExt as _;

use super::*;

/// Installs the update build as `versions/9.0.0` of an agent's data folder.
fn install_by_hand(home: &AgentHome) -> PathBuf {
    let dir = home.dir.path().join("data/agent/versions/9.0.0");
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("vantage-agent");
    std::fs::copy(update_bin(), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_download_or_right_after_the_switch_the_agent_starts_a_valid_version() {
    let server = start(Backend::Sqlite).await.expect("sqlite always works");
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let mut fleet = Fleet::start(admin, &url, &packages, 1, "").await;
    let agent_id = fleet.agents[0].3.clone();
    let data = fleet.agents[0].0.dir.path().join("data");

    // Mid-download: a half-written staging folder, nothing else changed.
    fleet.agents[0].2.take().unwrap().kill9();
    let staging = data.join("agent/versions/.staging-9.0.0-4242");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("vantage-agent"), b"\x7fELF half a binary").unwrap();
    let again = RunningAgent::start(&fleet.agents[0].1);
    again.wait_printed(2, LIMIT);
    assert_ne!(running(admin, &agent_id).await, NEW);
    assert!(!data.join("agent/current").exists());

    // Right after the switch: the new version installed, the trial noted,
    // `current` moved; killed before the launcher ran. Started again, the
    // launcher runs the trial, the new version delivers and is kept.
    again.kill9();
    install_by_hand(&fleet.agents[0].0);
    std::os::unix::fs::symlink("versions/9.0.0", data.join("agent/current")).unwrap();
    let state = json!({"seq": 1, "trial": {"version": NEW, "previous": null, "started_at": null, "deadline": null, "healthy": false}});
    std::fs::write(data.join("agent/update.json"), state.to_string()).unwrap();
    let updated = RunningAgent::start(&fleet.agents[0].1);
    wait_until("the agent runs the new version", LIMIT, || async {
        running(admin, &agent_id).await == NEW
    })
    .await;
    wait_until("the trial ends healthy", LIMIT, || async {
        update_state(&fleet.agents[0].0)["trial"]["healthy"] == true
    })
    .await;
    let before = updated.printed().len();
    updated.wait_printed(before + 2, LIMIT);
    assert!(
        updated
            .log
            .lock()
            .unwrap()
            .contains("its update is complete")
    );
    fleet.agents[0].2 = Some(updated);
}
