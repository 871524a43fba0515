//! Rollouts that go through, and one that halts on a crashing release.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_in_waves_updates_ten_agents_and_loses_no_result() {
    let server = start(Backend::Sqlite).await.expect("sqlite always works");
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let fleet = Fleet::start(admin, &url, &packages, 10, "").await;
    let key = release_key(admin, &packages).await;
    publish_release(admin, &key, NEW, 1, &archive(None)).await;

    let id = start_rollout(admin, NEW, &["canary=1", "50%", "100%"]).await;
    let done = rollout_in(admin, &id, "done", Duration::from_secs(240)).await;
    let agents = done["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 10, "{done}");
    let waves: Vec<u64> = agents.iter().map(|a| a["wave"].as_u64().unwrap()).collect();
    assert_eq!(
        waves,
        [0, 1, 1, 1, 1, 2, 2, 2, 2, 2],
        "canary, then to 50%, then the rest"
    );
    assert!(agents.iter().all(|a| a["step"] == "healthy"), "{done}");
    for (_, _, _, agent_id) in &fleet.agents {
        wait_until("the agent reports the new version", LIMIT, || async {
            running(admin, agent_id).await == NEW
        })
        .await;
    }
    // Every result printed by either version is stored: the outbox was
    // shared across the switch.
    fleet.all_stored(&server.url).await;
    // Each agent runs the new version under its launcher and goes on measuring.
    let before = fleet.agent(9).printed().len();
    fleet.agent(9).wait_printed(before + 2, LIMIT);
    assert!(
        fleet
            .agent(9)
            .log
            .lock()
            .unwrap()
            .contains("its update is complete")
    );
}

both!(a_release_that_crashes_is_rolled_back_and_halts_its_rollout);
async fn a_release_that_crashes_is_rolled_back_and_halts_its_rollout(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let fleet = Fleet::start(admin, &url, &packages, 3, "").await;
    let key = release_key(admin, &packages).await;
    publish_release(admin, &key, NEW, 1, &archive(Some("crash"))).await;

    let id = start_rollout(admin, NEW, &["canary=1", "100%"]).await;
    let halted = rollout_in(admin, &id, "halted", LIMIT).await;
    let agents = halted["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "only the canary was asked: {halted}");
    assert_eq!(agents[0]["step"], "rolled_back", "{halted}");
    assert!(
        agents[0]["reason"]
            .as_str()
            .unwrap()
            .contains("exited with status 3"),
        "{halted}"
    );
    assert!(
        halted["reason"]
            .as_str()
            .unwrap()
            .contains("1 of 1 agents asked failed"),
        "{halted}"
    );
    // The canary is back on the version it ran, and measures; the others never moved.
    let canary = fleet.agent(0);
    let before = canary.printed().len();
    canary.wait_printed(before + 3, LIMIT);
    for (_, _, _, agent_id) in &fleet.agents {
        assert_ne!(running(admin, agent_id).await, NEW);
    }
    // A halted rollout offers nothing more: a desired state has no update.
    let desired = admin
        .get(&format!("/api/v1/agents/{}/desired", fleet.agents[1].3))
        .await
        .expect(200)
        .json();
    assert!(desired.get("update").is_none(), "{desired}");
}
