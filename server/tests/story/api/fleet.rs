//! A fleet token: one enrollment token for a DaemonSet or an autoscaling
//! group enrolls as many agents as it has uses, each once, and no more.

use super::*;

fn enroll_body(token: &Value, name: &str) -> Value {
    json!({"token": token["token"], "name": name, "agent": {
        "hostname": name, "os": "linux", "arch": "x86_64", "version": "0.1.0", "addresses": ["10.1.2.3"]}})
}

both!(a_token_with_three_uses_enrolls_three_agents_and_no_fourth);
async fn a_token_with_three_uses_enrolls_three_agents_and_no_fourth(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let token = server
        .admin
        .post("/api/v1/enrollment-tokens", &json!({"uses": 3}))
        .await
        .expect(201)
        .json();
    assert_eq!(token["uses"], 3, "{token}");
    let anon = server.client();
    // A taken name does not spend a use.
    anon.post("/api/v1/agents/enroll", &enroll_body(&token, "node-1"))
        .await
        .expect(201);
    anon.post("/api/v1/agents/enroll", &enroll_body(&token, "node-1"))
        .await
        .problem(409);
    for name in ["node-2", "node-3"] {
        anon.post("/api/v1/agents/enroll", &enroll_body(&token, name))
            .await
            .expect(201);
    }
    anon.post("/api/v1/agents/enroll", &enroll_body(&token, "node-4"))
        .await
        .problem(409);
    let agents = server.admin.get("/api/v1/agents").await.expect(200).json();
    assert_eq!(agents["items"].as_array().unwrap().len(), 3, "{agents}");

    // Without `uses` a token is one-time; out of range is named.
    let once = server
        .admin
        .post("/api/v1/enrollment-tokens", &json!({}))
        .await
        .expect(201)
        .json();
    assert_eq!(once["uses"], 1);
    for uses in [json!(0), json!(100_001), json!(-1), json!("many")] {
        let problem = server
            .admin
            .post("/api/v1/enrollment-tokens", &json!({ "uses": uses }))
            .await
            .problem(422);
        assert!(problem.to_string().contains("uses"), "{problem}");
    }
}
