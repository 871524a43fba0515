//! The sandbox checks addresses, not names: a check whose target is a name
//! that resolves to loopback does not reach it unless it lists the address.

use super::*;

both!(a_name_that_resolves_to_loopback_is_reached_only_when_listed);
async fn a_name_that_resolves_to_loopback_is_reached_only_when_listed(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let managed = ManagedAgent::start(admin, &url, &packages).await;
    let (_target, port) = tcp_target();
    tcp_check(
        admin,
        "by-name",
        &format!("localhost:{port}"),
        &["0.0.0.0/0"],
    )
    .await;
    tcp_check(
        admin,
        "listed",
        &format!("localhost:{port}"),
        &["127.0.0.1"],
    )
    .await;

    let refused = managed
        .agent
        .wait_result("by-name", 0, LIMIT, |r| r["status"] == "error");
    let result = &managed.agent.results_of("by-name")[refused - 1];
    let message = result["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("127.0.0.1 (loopback)"),
        "the run says why: {result}"
    );
    managed
        .agent
        .wait_result("listed", 0, LIMIT, |r| r["status"] == "ok");
    assert!(
        managed
            .agent
            .results_of("by-name")
            .iter()
            .all(|r| r["status"] != "ok"),
        "`0.0.0.0/0` never reaches loopback"
    );
}
