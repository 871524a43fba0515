//! A rogue agent reports addresses that would turn its mesh peers into
//! probes of their own loopback or of the cloud metadata service.

use chrono::Utc;
use serde_json::json;

use crate::api::enroll;
use crate::both;
use crate::support::fields;
use crate::support::http::{Client, Reply};
use crate::support::server::{Backend, start};

/// A heartbeat of `agent` reporting `address` alone.
async fn heartbeat(agent: &Client, address: &str) -> Reply {
    agent
        .post(
            "/api/v1/agents/heartbeat",
            &json!({"version": "0.1.0", "started_at": Utc::now(), "addresses": [address]}),
        )
        .await
}

both!(a_rogue_agent_cannot_report_loopback_or_metadata_addresses);
async fn a_rogue_agent_cannot_report_loopback_or_metadata_addresses(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let token = server
        .admin
        .post("/api/v1/enrollment-tokens", &json!({}))
        .await
        .expect(201)
        .json();
    let enroll_reporting = |addresses: serde_json::Value| {
        json!({"token": token["token"], "name": "rogue", "agent": {
            "hostname": "h", "os": "linux", "arch": "x86_64", "version": "0.1.0",
            "addresses": addresses}})
    };
    let refused = server
        .client()
        .post(
            "/api/v1/agents/enroll",
            &enroll_reporting(json!(["10.1.2.3", "127.0.0.1", "169.254.169.254"])),
        )
        .await
        .problem(422);
    assert_eq!(fields(&refused), ["agent.addresses[1]"], "{refused}");
    assert!(refused.to_string().contains("loopback"), "{refused}");
    for (address, why) in [
        ("169.254.169.254", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
    ] {
        let refused = server
            .client()
            .post("/api/v1/agents/enroll", &enroll_reporting(json!([address])))
            .await
            .problem(422);
        assert!(refused.to_string().contains(why), "{address}: {refused}");
    }
    let listed = server.admin.get("/api/v1/agents").await.expect(200).json();
    assert_eq!(listed["items"], json!([]), "no refused agent was stored");

    // Enrolled honestly, then a heartbeat reports the metadata address.
    let (agent, _) = enroll(&server, "turned").await;
    let refused = heartbeat(&agent, "169.254.169.254").await.problem(422);
    assert_eq!(fields(&refused), ["addresses[0]"], "{refused}");
    let listed = server.admin.get("/api/v1/agents").await.expect(200).json();
    assert_eq!(listed["items"][0]["addresses"], json!(["10.1.2.3"]));
}

both!(a_lab_on_one_host_lists_loopback_for_its_agents);
async fn a_lab_on_one_host_lists_loopback_for_its_agents(backend: Backend) {
    let config = vantage_server::config::ServerConfig {
        agent_addresses: vec!["127.0.0.0/8".into()],
        ..Default::default()
    };
    assert!(config.validate().is_ok());
    let Some(server) = crate::support::server::start_with(backend, config).await else {
        return;
    };
    let (agent, _) = enroll(&server, "lab-1").await;
    heartbeat(&agent, "127.0.0.2").await.expect(204);
    // Listing loopback lists nothing else.
    let refused = heartbeat(&agent, "169.254.169.254").await.problem(422);
    assert_eq!(fields(&refused), ["addresses[0]"], "{refused}");
    let bad = vantage_server::config::ServerConfig {
        agent_addresses: vec!["127.0.0.0/40".into()],
        ..Default::default()
    };
    let said = bad.validate().unwrap_err().to_string();
    assert!(said.contains("agent_addresses"), "{said}");
}
