//! Quorum with real agents and a real router: five agents, each in its own
//! network namespace, ping a target behind the hub, which routes between
//! them and drops with nft. Two agents cut off send nothing; the third
//! sends exactly one mail (over STARTTLS) and one webhook naming the three;
//! letting them through again sends one "resolved" on each.
//!
//! Every address is inside namespaces this test made: the agents on
//! 10.213.N.0/24 (the hub's bridge, 10.213.N.1, where the server, the
//! webhook receiver and the SMTP server run), the target on 10.214.N.2
//! behind the hub's 10.214.N.1.

use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::json;
use vantage_netlab::{Family, Lab, Names, Plan};

use crate::registry::send_json;
use crate::support::lab::{ServerProcess, run_in};
use crate::support::receiver::Receiver;
use crate::support::smtp::SmtpSink;

const AGENTS: [&str; 5] = ["a1", "a2", "a3", "a4", "a5"];
const NODES: [&str; 7] = ["hub", "tgt", "a1", "a2", "a3", "a4", "a5"];

/// The hub: a bridge for the agents, a veth to the target, forwarding.
fn build(net: u8) -> Result<Lab, vantage_netlab::Error> {
    vantage_netlab::sweep_stale("va", &NODES);
    let plan = Plan::mesh();
    let mut lab = Lab::new(Names::new("va"), plan);
    lab.add_node("hub")?;
    lab.ip("hub", &["link", "add", "br0", "type", "bridge"])?;
    lab.ip(
        "hub",
        &["addr", "add", &plan.cidr(net, 1, Family::V4), "dev", "br0"],
    )?;
    lab.ip("hub", &["link", "set", "br0", "up"])?;
    lab.sysctl("hub", &["net.ipv4.ip_forward=1"])?;
    lab.add_node("tgt")?;
    lab.veth("tgt", "t0", "hub", "t0hub")?;
    lab.ip(
        "hub",
        &["addr", "add", &format!("10.214.{net}.1/24"), "dev", "t0hub"],
    )?;
    lab.ip("hub", &["link", "set", "t0hub", "up"])?;
    lab.ip(
        "tgt",
        &["addr", "add", &format!("10.214.{net}.2/24"), "dev", "t0"],
    )?;
    lab.ip("tgt", &["link", "set", "t0", "up"])?;
    lab.ip(
        "tgt",
        &["route", "add", "default", "via", &format!("10.214.{net}.1")],
    )?;
    for (i, agent) in AGENTS.iter().enumerate() {
        lab.add_node(agent)?;
        let (inner, outer) = (format!("q{i}in"), format!("q{i}out"));
        lab.veth(agent, &inner, "hub", &outer)?;
        lab.ip("hub", &["link", "set", &outer, "master", "br0", "up"])?;
        let own = plan.cidr(net, 10 + i as u8, Family::V4);
        lab.ip(agent, &["addr", "add", &own, "dev", &inner])?;
        lab.ip(agent, &["link", "set", &inner, "up"])?;
        lab.ip(
            agent,
            &["route", "add", "default", "via", &format!("10.213.{net}.1")],
        )?;
    }
    // The hub forwards, but drops what the set `cut` sends.
    lab.run("hub", "nft", &["add table inet va"])?;
    lab.run("hub", "nft", &["add set inet va cut { type ipv4_addr; }"])?;
    lab.run(
        "hub",
        "nft",
        &["add chain inet va relay { type filter hook forward priority 0; policy accept; }"],
    )?;
    lab.run("hub", "nft", &["add rule inet va relay ip saddr @cut drop"])?;
    lab.wait_for_carrier()?;
    Ok(lab)
}

#[test]
fn three_of_five_agents_cut_off_by_a_router_send_one_mail_and_one_webhook() {
    if !vantage_netlab::available_or_skip(&["nft"]) {
        return;
    }
    let net = (std::process::id() % 200) as u8 + 20;
    let lab = build(net).expect("building the router's namespaces");
    let hub = lab.ns("hub");
    let namespaces: Vec<String> = AGENTS.iter().map(|a| lab.ns(a)).collect();
    let cut = move |agents: &[usize]| {
        let hub = lab.ns("hub");
        let addresses: Vec<String> = agents
            .iter()
            .map(|i| format!("10.213.{net}.{}", 10 + i))
            .collect();
        let command = if addresses.is_empty() {
            "flush set inet va cut".to_owned()
        } else {
            format!("add element inet va cut {{ {} }}", addresses.join(", "))
        };
        vantage_netlab::run(&hub, "nft", &[&command], Duration::from_secs(5)).unwrap();
    };
    run_in(hub, story(net, namespaces, cut));
}

async fn story(net: u8, namespaces: Vec<String>, cut: impl Fn(&[usize])) {
    let Some(smtp) = SmtpSink::start() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&format!("10.213.{net}.1:8080"), data.path()).await;
    let admin = &server.admin;
    let root = server.publish_ping().await;
    let mut agents = Vec::new();
    for (name, ns) in AGENTS.iter().zip(&namespaces) {
        agents.push(server.agent_in(ns, name, &root, &["edge"]).await);
    }
    let hook = Receiver::start(0).await;
    let mail = json!({"name": "mail", "kind": "email", "host": "127.0.0.1", "port": smtp.port,
        "security": "starttls", "from": "Vantage <vantage@example.net>",
        "to": ["noc@example.net"], "ca": smtp.ca_pem});
    let webhook = json!({"name": "ops", "kind": "webhook", "url": hook.url, "secret": "lab"});
    for channel in [&mail, &webhook] {
        let name = channel["name"].as_str().unwrap();
        send_json(
            admin,
            Method::PUT,
            &format!("/api/v1/alerts/channels/{name}"),
            channel,
        )
        .await
        .expect(201);
    }
    send_json(
        admin,
        Method::PUT,
        "/api/v1/alerts/routes",
        &json!({"route": [{"channels": ["mail", "ops"]}]}),
    )
    .await
    .expect(200);
    let target = format!("10.214.{net}.2");
    send_json(
        admin,
        Method::PUT,
        "/api/v1/checks/ping-target",
        &json!({"name": "ping-target", "plugin": "ping", "targets": [target],
                "agents": {"groups": ["edge"]}, "interval": "1s", "timeout": "900ms",
                "config": {"count": 3, "interval_ms": 20}, "grants": ["icmp"]}),
    )
    .await
    .expect(201);

    // Every agent reaches the target first.
    let start = Instant::now();
    loop {
        let latest = admin.get("/api/v1/results/latest").await.expect(200).json();
        let ok = latest
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["check"] == "ping-target" && r["status"] == "ok")
            .count();
        if ok == 5 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "not every agent reached the target: {latest}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rule = json!({"name": "target-down", "select": {"check": "ping-target"},
        "condition": {"kind": "status"}, "min_agents": 3});
    send_json(
        admin,
        Method::PUT,
        "/api/v1/alerts/rules/target-down",
        &rule,
    )
    .await
    .expect(201);

    // Two cut off: their alerts fire, but not the check's.
    cut(&[0, 1]);
    let start = Instant::now();
    loop {
        let raised = admin
            .get("/api/v1/alerts?rule=target-down")
            .await
            .expect(200)
            .json();
        let firing = raised
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["state"] == "firing")
            .count();
        if firing == 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "two agents never fired: {raised}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A few more runs: still nothing told.
    let got = hook.after(Duration::from_secs(3)).await;
    assert_eq!(got.len(), 0);
    assert_eq!(smtp.mails().len(), 0);

    // The third: one webhook and one mail, naming the three.
    cut(&[2]);
    hook.wait_for(1).await;
    let mails = smtp.wait_for(1).await;
    let got = hook.after(Duration::from_secs(3)).await;
    assert_eq!(got.len(), 1, "one webhook");
    assert_eq!(smtp.mails().len(), 1, "one mail: {mails:?}");
    let body = got[0].json();
    assert_eq!(body["state"], "firing");
    assert_eq!(body["agents"], json!(["a1", "a2", "a3"]), "{body}");
    assert!(
        mails[0].to_string().contains("FIRING target-down"),
        "{}",
        mails[0]
    );

    // Through again: one "resolved" on each.
    cut(&[]);
    hook.wait_for(2).await;
    smtp.wait_for(2).await;
    let got = hook.after(Duration::from_secs(3)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].json()["state"], "ok");
    assert_eq!(smtp.mails().len(), 2);
    drop(agents);
}
