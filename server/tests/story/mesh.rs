//! The agent mesh across real network namespaces: three agents, each in its
//! own namespace behind a bridge, and the server in a fourth. One mesh check
//! (ping) assigned to their group; the server's matrix fills with every
//! agent → peer pair.
//!
//! The story itself runs on a thread that has entered the hub namespace, so
//! its API calls and the server it starts live there; every address is one
//! this test created (10.213.x.0/24 inside its own namespaces, built with
//! `vantage-netlab`).

use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::json;

use crate::remote::send_json;
use crate::support::agent::AgentHome;
use crate::support::lab::{ServerProcess, run_in};
use vantage_netlab::{Family, Lab, Names, Plan};

/// The mesh's nodes: the hub (bridge and server), then one per agent.
const NODES: [&str; 4] = ["hub", "a", "b", "c"];

/// hub (bridge, 10.213.N.1, the server) + one namespace per agent at
/// 10.213.N.(10+i), each on a veth pair whose hub end is on the bridge.
/// The namespaces are `vm<pid>-<node>`, removed when the lab drops.
fn build(net: u8, agents: &[&str]) -> Result<Lab, vantage_netlab::Error> {
    vantage_netlab::sweep_stale("vm", &NODES);
    let plan = Plan::mesh();
    let mut lab = Lab::new(Names::new("vm"), plan);
    lab.add_node("hub")?;
    lab.ip("hub", &["link", "add", "br0", "type", "bridge"])?;
    let hub = plan.cidr(net, 1, Family::V4);
    lab.ip("hub", &["addr", "add", &hub, "dev", "br0"])?;
    lab.ip("hub", &["link", "set", "br0", "up"])?;
    for (i, agent) in agents.iter().enumerate() {
        lab.add_node(agent)?;
        let (inner, outer) = (format!("m{i}in"), format!("m{i}out"));
        lab.veth(agent, &inner, "hub", &outer)?;
        lab.ip("hub", &["link", "set", &outer, "master", "br0", "up"])?;
        let own = plan.cidr(net, 10 + i as u8, Family::V4);
        lab.ip(agent, &["addr", "add", &own, "dev", &inner])?;
        lab.ip(agent, &["link", "set", &inner, "up"])?;
    }
    lab.wait_for_carrier()?;
    Ok(lab)
}

#[test]
fn three_agents_report_the_full_mesh_matrix() {
    if !vantage_netlab::available_or_skip(&[]) {
        return;
    }
    let net = (std::process::id() % 200) as u8 + 20;
    let names = ["a", "b", "c"];
    let lab = build(net, &names).expect("building the mesh's namespaces");
    let (hub, namespaces) = (lab.ns("hub"), names.map(|n| lab.ns(n)));
    run_in(hub, mesh_story(namespaces, net, names));
}

async fn mesh_story(namespaces: [String; 3], net: u8, names: [&str; 3]) {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&format!("10.213.{net}.1:8080"), data.path()).await;
    let admin = server.admin.clone();
    let dev_id = server.publish_ping().await;

    // Plain http:// to a server in another namespace is refused unless
    // asked for: nothing reaches the server, no agent appears.
    let refused = server
        .try_enroll_in(&namespaces[0], &AgentHome::new(), "a", &dev_id, &[])
        .await;
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("--insecure-http"),
        "{said}"
    );
    let listed = admin.get("/api/v1/agents").await.expect(200).json();
    assert_eq!(listed["items"], json!([]), "{listed}");

    // Three agents, each enrolled from its own namespace into group `mesh`.
    let mut agents = Vec::new();
    for (&name, ns) in names.iter().zip(&namespaces) {
        let (home, running, agent) = server.agent_in(ns, name, &dev_id, &["mesh"]).await;
        // Each reports the one address it has: its own veth.
        assert_eq!(
            agent["addresses"],
            json!([format!("10.213.{net}.{}", 10 + agents.len())]),
            "{agent}"
        );
        agents.push((home, running));
    }

    send_json(
        &admin,
        Method::PUT,
        "/api/v1/checks/mesh-ping",
        &json!({
            "name": "mesh-ping", "plugin": "ping", "mesh": {"group": "mesh"},
            "interval": "1s", "timeout": "900ms",
            "config": {"count": 3, "interval_ms": 20}, "grants": ["icmp"],
        }),
    )
    .await
    .expect(201);

    // Every agent pings both others; the matrix has all six pairs, ok.
    let start = Instant::now();
    let matrix = loop {
        let m = admin
            .get("/api/v1/checks/mesh-ping/mesh")
            .await
            .expect(200)
            .json();
        let cells = m["cells"].as_array().cloned().unwrap_or_default();
        if cells.len() == 6 && cells.iter().all(|c| c["status"] == "ok") {
            break m;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "matrix incomplete: {m}; agent a log:\n{}",
            agents[0].1.log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(matrix["agents"], json!(["a", "b", "c"]));
    let mut pairs = Vec::new();
    for cell in matrix["cells"].as_array().unwrap() {
        let (from, to) = (cell["from"].as_str().unwrap(), cell["to"].as_str().unwrap());
        assert_ne!(from, to);
        let i = names.iter().position(|n| *n == to).unwrap();
        assert_eq!(cell["target"], format!("10.213.{net}.{}", 10 + i), "{cell}");
        assert_eq!(cell["metrics"]["loss"], 0.0, "{cell}");
        assert!(cell["metrics"]["rtt_avg"].as_f64().unwrap() > 0.0, "{cell}");
        pairs.push((from.to_owned(), to.to_owned()));
    }
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), 6, "{pairs:?}");
    // And each agent printed results toward exactly its two peers.
    for (i, (_, agent)) in agents.iter().enumerate() {
        let targets: std::collections::BTreeSet<String> = agent
            .results_of("mesh-ping")
            .iter()
            .map(|r| r["target"].as_str().unwrap().to_owned())
            .collect();
        let own = format!("10.213.{net}.{}", 10 + i);
        assert_eq!(targets.len(), 2, "{targets:?}");
        assert!(!targets.contains(&own));
    }
}
