//! A trial killed, a silent release, a mislabelled archive and a
//! downgrade: each leaves the agent on the version it ran.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_trial_a_silent_release_a_mislabelled_one_and_a_downgrade_leave_the_old_version() {
    let server = start(Backend::Sqlite).await.expect("sqlite always works");
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let mut fleet = Fleet::start(
        admin,
        &url,
        &packages,
        2,
        "\n[update]\nhealth_window = \"10s\"\n",
    )
    .await;
    let key = release_key(admin, &packages).await;
    let (first, second) = (fleet.agents[0].3.clone(), fleet.agents[1].3.clone());
    publish_release(admin, &key, NEW, 1, &archive(Some("silent"))).await;

    // The launcher killed while the new version is on trial: started again,
    // it puts the old version back.
    let id = start_rollout(admin, NEW, &["1"]).await;
    let home = &fleet.agents[0].0;
    wait_until("the new version is on trial", LIMIT, || async {
        !update_state(home)["trial"]["started_at"].is_null()
    })
    .await;
    fleet.agents[0].2.take().unwrap().kill9();
    fleet.agents[0].2 = Some(RunningAgent::start(&fleet.agents[0].1));
    let halted = rollout_in(admin, &id, "halted", LIMIT).await;
    assert!(
        first_reason(&halted).contains("stopped before it delivered a result"),
        "{halted}"
    );
    fleet.agent(0).wait_printed(2, LIMIT);
    assert!(update_state(&fleet.agents[0].0)["trial"].is_null());

    // A release that starts but never delivers: rolled back when its
    // health window ends. (The first agent, which saw it fail, does not
    // try it again.)
    let id = start_rollout(admin, NEW, &["100%"]).await;
    let halted = rollout_in(admin, &id, "halted", LIMIT).await;
    let failed: Vec<&Value> = halted["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["step"] == "rolled_back")
        .collect();
    assert_eq!(failed.len(), 1, "{halted}");
    assert_eq!(failed[0]["agent_id"], second.as_str());
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("no result within its health window of 10s"),
        "{halted}"
    );
    let before = fleet.agent(1).printed().len();
    fleet.agent(1).wait_printed(before + 2, LIMIT);

    // An archive whose binary is another version than its manifest says:
    // refused before anything switches.
    publish_release(admin, &key, "9.0.1", 2, &archive(None)).await;
    let id = start_rollout(admin, "9.0.1", &["1"]).await;
    let halted = rollout_in(admin, &id, "halted", LIMIT).await;
    assert!(
        first_reason(&halted).contains("says it is `vantage-agent 9.0.0`"),
        "{halted}"
    );

    // A downgrade is refused by the agent itself.
    publish_release(admin, &key, "0.0.1", 3, &archive(None)).await;
    let id = start_rollout(admin, "0.0.1", &["1"]).await;
    let halted = rollout_in(admin, &id, "halted", LIMIT).await;
    assert_eq!(halted["agents"][0]["step"], "refused", "{halted}");
    assert!(
        first_reason(&halted).contains("refusing a downgrade"),
        "{halted}"
    );

    // Both still run the version they started with, and every result they
    // printed is stored.
    for agent_id in [&first, &second] {
        assert_ne!(running(admin, agent_id).await, NEW);
    }
    let printed = fleet.printed();
    wait_until("every printed result is stored", LIMIT, || async {
        let stored: BTreeSet<uuid::Uuid> = stored_ids(&server.url).await.into_iter().collect();
        printed.iter().all(|id| stored.contains(id))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_in_notify_mode_or_a_freeze_window_reports_and_installs_nothing() {
    let server = start(Backend::Sqlite).await.expect("sqlite always works");
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let notify = "\n[update]\nmode = \"notify\"\n";
    let mut fleet = Fleet::start(admin, &url, &packages, 1, notify).await;
    let key = release_key(admin, &packages).await;
    publish_release(admin, &key, NEW, 1, &archive(None)).await;
    let agent_id = fleet.agents[0].3.clone();

    let id = start_rollout(admin, NEW, &["1"]).await;
    let path = format!("/api/v1/rollouts/{id}");
    let deferred = |reason: &'static str| {
        let path = path.clone();
        async move {
            let view = admin.get(&path).await.expect(200).json();
            view["state"] == "running"
                && view["agents"][0]["step"] == "deferred"
                && first_reason(&view).contains(reason)
        }
    };
    wait_until("the agent defers: notify mode", LIMIT, || {
        deferred("[update] mode is notify")
    })
    .await;

    // The same agent inside a freeze window that spans the whole day.
    let (_, config, agent, _) = &mut fleet.agents[0];
    agent.take().unwrap().stop();
    let text = std::fs::read_to_string(&*config)
        .unwrap()
        .replace(notify, "");
    std::fs::write(&*config, text + "\n[update]\nfreeze = [\"00:00-23:59\"]\n").unwrap();
    *agent = Some(RunningAgent::start(config));
    wait_until("the agent defers: a freeze window", LIMIT, || {
        deferred("inside the freeze window")
    })
    .await;

    // The rollout waits on it (a deferral is no failure) until aborted.
    assert_ne!(running(admin, &agent_id).await, NEW);
    let aborted = admin
        .post(&format!("{path}/abort"), &json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(aborted["state"], "aborted");
    admin
        .post(&format!("{path}/resume"), &json!({}))
        .await
        .problem(409);
    let before = fleet.agent(0).printed().len();
    fleet.agent(0).wait_printed(before + 2, LIMIT);
}
