//! Bad input on both backends: every refusal is a problem naming its field, and nothing is stored.

use hyper::body::Bytes;

use super::*;

both!(bad_input);
async fn bad_input(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (agent, agent_id) = enroll(&server, "edge-2").await;
    let anon = server.client();
    let now = Utc::now();
    let good = || batch(vec![result("edge-2", "c", now, &[0.001])]);
    let healthy_and_empty = || async {
        server.client().get("/healthz").await.expect(200);
        assert_eq!(stored_results(&server).await, 0, "nothing may be stored");
    };

    // Enrollment tokens: unknown, reused, expired.
    let info = json!({"hostname": "h", "os": "linux", "arch": "x86_64", "version": "0.1.0"});
    anon.post(
        "/api/v1/agents/enroll",
        &json!({"token": "ve_nope", "agent": info}),
    )
    .await
    .problem(401);
    let t = server
        .admin
        .post("/api/v1/enrollment-tokens", &json!({}))
        .await
        .expect(201)
        .json();
    anon.post(
        "/api/v1/agents/enroll",
        &json!({"token": t["token"], "name": "x1", "agent": info}),
    )
    .await
    .expect(201);
    let p = anon
        .post(
            "/api/v1/agents/enroll",
            &json!({"token": t["token"], "name": "x2", "agent": info}),
        )
        .await
        .problem(409);
    assert!(
        p["detail"].as_str().unwrap().contains("already used"),
        "{p}"
    );
    let t = server
        .admin
        .post("/api/v1/enrollment-tokens", &json!({"expires_in": "1s"}))
        .await
        .expect(201)
        .json();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    anon.post(
        "/api/v1/agents/enroll",
        &json!({"token": t["token"], "agent": info}),
    )
    .await
    .problem(410);
    server
        .admin
        .post("/api/v1/enrollment-tokens", &json!({"expires_in": "soon"}))
        .await
        .problem(422);
    let t = server
        .admin
        .post("/api/v1/enrollment-tokens", &json!({}))
        .await
        .expect(201)
        .json();
    anon.post(
        "/api/v1/agents/enroll",
        &json!({"token": t["token"], "name": "edge-2", "agent": info}),
    )
    .await
    .problem(409);

    // Bodies: not JSON, wrong type, wrong content type, bad gzip, unknown encoding.
    let post = |headers: &'static [(&'static str, &'static str)], body: Vec<u8>| {
        let agent = agent.clone();
        async move {
            agent
                .send(hyper::Method::POST, "/api/v1/ingest", headers, body.into())
                .await
        }
    };
    let json_ct: &[(&str, &str)] = &[("content-type", "application/json")];
    post(json_ct, b"{not json".to_vec()).await.problem(400);
    let p = post(json_ct, br#"{"batch_id": "x", "results": 5}"#.to_vec())
        .await
        .problem(422);
    assert!(p["errors"][0]["reason"].is_string(), "{p}");
    post(
        &[("content-type", "text/plain")],
        serde_json::to_vec(&good()).unwrap(),
    )
    .await
    .problem(415);
    post(
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        b"\x1f\x8b\x08garbage".to_vec(),
    )
    .await
    .problem(400);
    post(
        &[
            ("content-type", "application/json"),
            ("content-encoding", "br"),
        ],
        serde_json::to_vec(&good()).unwrap(),
    )
    .await
    .problem(415);
    healthy_and_empty().await;

    // Size: 9 MiB of JSON, and a 9 MiB gzip bomb of a few kB. The server
    // answers 413 before reading the 9 MiB, and may close the connection
    // while they are still being written: the client then sees a broken
    // pipe, not the answer, and asks again (at most 5 times).
    let mut big = good();
    big["results"][0]["message"] = Value::String("x".repeat(9 << 20));
    let body = Bytes::from(serde_json::to_vec(&big).unwrap());
    let mut broken = Vec::new();
    let reply = loop {
        match agent
            .try_send(hyper::Method::POST, "/api/v1/ingest", json_ct, body.clone())
            .await
        {
            Ok(reply) => break reply,
            Err(e) if broken.len() < 4 => broken.push(e.to_string()),
            Err(e) => panic!("no answer in 5 tries: {e}; before: {broken:?}"),
        }
    };
    reply.problem(413);
    let bomb = crate::support::http::gzip(&serde_json::to_vec(&big).unwrap());
    assert!(bomb.len() < 100_000);
    post(
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        bomb,
    )
    .await
    .problem(413);
    healthy_and_empty().await;

    // Fields: each bad one named with the index of its result; nothing stored.
    let mut bad = good();
    bad["results"]
        .as_array_mut()
        .unwrap()
        .push(result("edge-2", "c", now, &[0.001]));
    bad["results"][1]["samples"][0]["unit"] = json!("parsecs");
    let p = agent.post("/api/v1/ingest", &bad).await.problem(422);
    assert!(
        p.to_string().contains("parsecs") || p["errors"][0]["field"] == "body",
        "{p}"
    );
    let mut bad = good();
    bad["results"][0]["agent"] = json!("someone-else");
    bad["results"][0]["samples"][0]["metric"] = json!("Bad Name");
    bad["results"][0]["samples"][1]["metric"] = json!("check_up");
    let p = agent.post("/api/v1/ingest", &bad).await.problem(422);
    let fields = crate::support::fields(&p);
    assert_eq!(
        fields,
        ["agent", "samples[0].metric", "samples[1].metric"],
        "{p}"
    );
    assert_eq!(p["errors"][0]["index"], 0);
    healthy_and_empty().await;

    // Credentials: none, unknown, a user's, a revoked agent's.
    anon.post("/api/v1/ingest", &good()).await.problem(401);
    anon.with_token("va_unknown")
        .post("/api/v1/ingest", &good())
        .await
        .problem(401);
    server
        .admin
        .post("/api/v1/ingest", &good())
        .await
        .problem(403);
    server
        .admin
        .post(&format!("/api/v1/agents/{agent_id}/revoke"), &json!({}))
        .await
        .expect(204);
    agent.post("/api/v1/ingest", &good()).await.problem(401);
    agent
        .post(
            "/api/v1/agents/heartbeat",
            &json!({"version": "1", "started_at": now}),
        )
        .await
        .problem(401);
    healthy_and_empty().await;

    // Unknown routes and methods are problems too.
    anon.get("/api/v1/nothing-here").await.problem(404);
    anon.get("/api/v1/ingest").await.problem(405);
    server
        .admin
        .get("/api/v1/agents?limit=0")
        .await
        .problem(422);
    server
        .admin
        .get("/api/v1/agents?cursor=%%%")
        .await
        .problem(422);
    server
        .admin
        .get("/api/v1/agents/not-a-uuid")
        .await
        .problem(400);
    server
        .admin
        .get(&format!("/api/v1/agents/{}", Uuid::now_v7()))
        .await
        .problem(404);
    server
        .admin
        .get("/api/v1/series/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z")
        .await
        .problem(422);
    healthy_and_empty().await;
}
