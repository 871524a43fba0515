//! The long-polled desired state each agent pulls, and mesh checks: their targets and matrix.

use super::*;

both!(desired_state_selects_and_long_polls);
async fn desired_state_selects_and_long_polls(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    registry(&server).await;
    let (fra, fra_id) = enroll(&server, "fra-1").await;
    let (ams, ams_id) = enroll(&server, "ams-1").await;

    // Placement: names checked, unknown agents 404, viewers refused.
    place(
        &server,
        fra_id,
        json!({"groups": ["edge"], "labels": {"site": "fra"}}),
    )
    .await
    .expect(200);
    let shown = place(&server, ams_id, json!({"groups": ["edge", "edge"]}))
        .await
        .expect(200)
        .json();
    assert_eq!(shown["groups"], json!(["edge"]));
    place(&server, ams_id, json!({"labels": {"site": "ams"}}))
        .await
        .expect(200);
    place(&server, ams_id, json!({"groups": ["bad group"]}))
        .await
        .problem(422);
    place(&server, Uuid::now_v7(), json!({"groups": []}))
        .await
        .problem(404);
    let viewer = user(&server, "vic", "viewer").await;
    send_json(
        &viewer,
        Method::PATCH,
        &format!("/api/v1/agents/{fra_id}"),
        &json!({}),
    )
    .await
    .problem(403);
    let a = admin
        .get(&format!("/api/v1/agents/{ams_id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(
        (&a["groups"], &a["labels"]),
        (&json!(["edge"]), &json!({"site": "ams"}))
    );

    // Only the agent the selector picks runs the check.
    let spec = with(
        port_check(),
        "agents",
        json!({"groups": ["edge"], "labels": {"site": "fra"}}),
    );
    put(admin, &spec).await.expect(201);
    let first = desired(&fra, None, 0).await.expect(200);
    let state = first.json();
    let version = state["version"].as_str().unwrap().to_owned();
    assert_eq!(first.headers["etag"], format!("\"{version}\"").as_str());
    assert_eq!(state["checks"][0]["name"], "port");
    assert_eq!(
        state["checks"][0]["targets"],
        json!([{"target": "db.example.com:5432"}])
    );
    assert_eq!(state["checks"][0]["interval_ms"], 30_000);
    assert_eq!(state["checks"][0]["timeout_ms"], 10_000);
    assert_eq!(state["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        desired(&ams, None, 0).await.expect(200).json()["checks"],
        json!([])
    );
    let seen = admin
        .get(&format!("/api/v1/agents/{fra_id}/desired"))
        .await
        .expect(200)
        .json();
    assert_eq!(seen, state);
    viewer.get("/api/v1/agents/desired").await.problem(403);
    server
        .client()
        .get("/api/v1/agents/desired")
        .await
        .problem(401);

    // Unchanged: 304 at once, or at the end of the wait.
    let r = desired(&fra, Some(&version), 0).await.expect(304);
    assert_eq!(r.headers["etag"], format!("\"{version}\"").as_str());
    let started = Instant::now();
    desired(&fra, Some(&version), 1).await.expect(304);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // A long poll wakes as soon as the check changes.
    let poll = {
        let fra = fra.clone();
        let version = version.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = desired(&fra, Some(&version), 20).await;
            (r, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    put(admin, &with(spec.clone(), "interval", json!("10s")))
        .await
        .expect(200);
    let (r, took) = poll.await.unwrap();
    let changed = r.expect(200).json();
    assert!(
        took < Duration::from_secs(5),
        "the poll answered after {took:?}"
    );
    assert_ne!(changed["version"], version.as_str());
    assert_eq!(changed["checks"][0]["interval_ms"], 10_000);

    // What the agent reports applying shows on its inventory row.
    let status = json!({
        "version": changed["version"], "applied_at": Utc::now(), "source": "server",
        "checks": [{"name": "port", "plugin": "tcp@1.1.0", "state": "running"}],
    });
    fra.post("/api/v1/agents/config-status", &status)
        .await
        .expect(204);
    admin
        .post("/api/v1/agents/config-status", &status)
        .await
        .problem(403);
    let a = admin
        .get(&format!("/api/v1/agents/{fra_id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(a["config_status"]["checks"][0]["state"], "running", "{a}");
}

both!(mesh_targets_and_matrix);
async fn mesh_targets_and_matrix(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    registry(&server).await;
    let mut agents = Vec::new();
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        let (client, id) = enroll(&server, name).await;
        // Heartbeats carry each agent's own address.
        client
            .post(
                "/api/v1/agents/heartbeat",
                &json!({"version": "0.1.0", "started_at": Utc::now(), "addresses": [format!("10.9.0.{}", i + 1)]}),
            )
            .await
            .expect(204);
        place(&server, id, json!({"groups": ["mesh"]}))
            .await
            .expect(200);
        agents.push((name, client, id));
    }
    let mesh = json!({"name": "mesh", "plugin": "tcp", "mesh": {"group": "mesh"},
        "interval": "1s", "timeout": "900ms", "grants": ["tcp"]});
    put(admin, &mesh).await.expect(201);
    for (i, (name, client, _)) in agents.iter().enumerate() {
        let state = desired(client, None, 0).await.expect(200).json();
        let targets = &state["checks"][0]["targets"];
        let want: Vec<Value> = agents
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, (peer, _, _))| json!({"target": format!("10.9.0.{}", j + 1), "peer": peer}))
            .collect();
        assert_eq!(*targets, json!(want), "{name}: {state}");
        assert_eq!(state["checks"][0]["timeout_ms"], 900);
    }

    // A moved agent is probed at its new address.
    let (_, b, _) = &agents[1];
    let before = desired(&agents[0].1, None, 0).await.expect(200).json();
    b.post(
        "/api/v1/agents/heartbeat",
        &json!({"version": "0.1.0", "started_at": Utc::now(), "addresses": ["10.9.1.2"]}),
    )
    .await
    .expect(204);
    let after = desired(&agents[0].1, Some(before["version"].as_str().unwrap()), 5)
        .await
        .expect(200)
        .json();
    let targets = after["checks"][0]["targets"].as_array().unwrap();
    assert!(
        targets.contains(&json!({"target": "10.9.1.2", "peer": "b"})),
        "{after}"
    );

    // At most max_peers, the same ones every time.
    put(
        admin,
        &with(
            mesh.clone(),
            "mesh",
            json!({"group": "mesh", "max_peers": 1}),
        ),
    )
    .await
    .expect(200);
    for (name, client, _) in &agents {
        let once = desired(client, None, 0).await.expect(200).json();
        let twice = desired(client, None, 0).await.expect(200).json();
        assert_eq!(
            once["checks"][0]["targets"].as_array().unwrap().len(),
            1,
            "{name}"
        );
        assert_eq!(once, twice);
    }

    // The matrix: each agent's latest result toward each peer.
    let now = Utc::now();
    for (i, (name, client, _)) in agents.iter().enumerate() {
        let results: Vec<Value> = (0..3)
            .filter(|j| *j != i)
            .map(|j| {
                let address = if j == 1 {
                    "10.9.1.2".to_owned()
                } else {
                    format!("10.9.0.{}", j + 1)
                };
                let mut r = result(name, "mesh", now - chrono::Duration::seconds(5), &[0.002]);
                r["target"] = json!(address);
                r
            })
            .collect();
        client
            .post("/api/v1/ingest", &batch(results))
            .await
            .expect(200);
    }
    let matrix = admin
        .get("/api/v1/checks/mesh/mesh")
        .await
        .expect(200)
        .json();
    assert_eq!(matrix["agents"], json!(["a", "b", "c"]));
    let cells = matrix["cells"].as_array().unwrap();
    let pairs: Vec<(&str, &str)> = cells
        .iter()
        .map(|c| (c["from"].as_str().unwrap(), c["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("a", "b"),
            ("a", "c"),
            ("b", "a"),
            ("b", "c"),
            ("c", "a"),
            ("c", "b")
        ]
    );
    assert_eq!(cells[0]["target"], "10.9.1.2");
    assert_eq!(cells[0]["status"], "ok");
    assert_eq!(cells[0]["metrics"]["rtt_avg"], 0.002, "{matrix}");
    assert_eq!(cells[0]["metrics"]["loss"], 0.0);
    put(admin, &port_check()).await.expect(201);
    admin.get("/api/v1/checks/port/mesh").await.problem(422);
    admin.get("/api/v1/checks/nothing/mesh").await.problem(404);
}
