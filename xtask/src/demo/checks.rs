//! What the demo's agents run: their local configuration (none of their
//! own checks) and the checks the demo defines on the server.

use serde_json::{Value, json};

use super::services::{DNS_NAME, Ports};

/// The demo's two agents and the loopback address each advertises, so that
/// a mesh check has a pair to probe.
pub(super) const AGENTS: [(&str, &str); 2] =
    [("demo-agent", "127.0.0.1"), ("demo-agent-2", "127.0.0.2")];

/// The group of the agents the mesh check spans.
pub(super) const MESH_GROUP: &str = "demo";

/// The group of the one agent that reads the demo web server's access log
/// (both agents are on this host: both would read the same lines).
pub(super) const WEB_GROUP: &str = "web";

/// An agent's local configuration: no checks, no keys, no plugin folders.
/// Its checks come from the server; its trust from the root it pins at
/// enrollment.
pub(super) fn agent_config(name: &str, advertise: &str) -> String {
    format!(
        "# Written by `cargo xtask demo`. The checks are defined on the server\n\
         # (GET /api/v1/checks); this agent pulls them and the plugins they name.\n\
         [agent]\nname = \"{name}\"\ndata_dir = \"data\"\nadvertise = [\"{advertise}\"]\n\n\
         [server]\nheartbeat = \"5s\"\n"
    )
}

/// The demo's checks, one or more per first-party plugin, for every agent:
/// the local services, this machine, ICMP to loopback, the mesh, and the
/// demo server's own `/metrics` (at `server`).
pub(super) fn demo_checks(
    s: &Ports,
    server: std::net::SocketAddr,
    access_log: &std::path::Path,
) -> Vec<Value> {
    let logs = format!(
        "{}/*.log",
        access_log.parent().unwrap_or(access_log).display()
    );
    vec![
        json!({"name": "tcp-banner", "plugin": "tcp", "targets": [format!("127.0.0.1:{}", s.tcp)],
               "interval": "5s", "config": {"expect": "SSH-2.0"}, "grants": ["tcp"]}),
        json!({"name": "udp-echo", "plugin": "udp", "targets": [format!("127.0.0.1:{}", s.udp)],
               "interval": "5s", "config": {"payload": "ping", "expect": "ping", "count": 3},
               "grants": ["udp"]}),
        json!({"name": "web", "plugin": "http", "targets": [format!("http://127.0.0.1:{}/old", s.http)],
               "interval": "5s", "config": {"body_contains": "hello"}, "grants": ["http"]}),
        json!({"name": "this-host", "plugin": "system", "targets": ["localhost"],
               "interval": "10s", "config": {"top_processes": 3}, "grants": ["system"]}),
        // The server's ingest and HTTP rates, as any exporter's would be.
        json!({"name": "server-metrics", "plugin": "prometheus",
               "targets": [format!("http://{server}/metrics")], "interval": "10s",
               "config": {"allow": ["vantage_ingest_*", "vantage_http_requests_total", "process_*"]},
               "grants": ["http"]}),
        // The demo web server's access log: redirects counted, shipped as events.
        json!({"name": "web-access-log", "plugin": "log-match", "targets": ["localhost"],
               "interval": "5s", "grants": ["logs"], "allow": [logs],
               "agents": {"groups": [WEB_GROUP]},
               "config": {"files": [access_log.display().to_string()],
                          "patterns": [{"name": "redirect", "regex": "\" 30[1278] "},
                                       {"name": "server_error", "regex": "\" 5[0-9][0-9] "}]}}),
        // Ten echoes a run make the smoke chart's spread.
        json!({"name": "loopback-ping", "plugin": "ping", "targets": ["127.0.0.1"],
               "interval": "5s", "config": {"count": 10, "interval_ms": 50}, "grants": ["icmp"]}),
        json!({"name": "loopback-path", "plugin": "traceroute", "targets": ["127.0.0.1"],
               "interval": "10s", "config": {"max_hops": 4, "queries": 2}, "grants": ["icmp"]}),
        json!({"name": "dns", "plugin": "dns", "targets": [format!("127.0.0.1:{}", s.dns)],
               "interval": "5s", "config": {"name": DNS_NAME, "type": "A", "expect": ["127.0.0.1"]},
               "grants": ["dns"]}),
        // Every agent of the group pings every other at its advertised address.
        // Both agents are on this host: the check lists loopback, which
        // mesh peers are otherwise never probed at.
        json!({"name": "agent-mesh", "plugin": "ping", "mesh": {"group": MESH_GROUP},
               "interval": "5s", "config": {"count": 5, "interval_ms": 50}, "grants": ["icmp"],
               "allow": ["127.0.0.0/8"]}),
    ]
}

/// The plugins `checks` name, each once: what the demo publishes.
pub(super) fn plugins_of(checks: &[Value]) -> Vec<&str> {
    let mut names: Vec<&str> = checks.iter().filter_map(|c| c["plugin"].as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo runs only plugins that cargo builds for wasm32-wasip2: no
    /// C or Python toolchain is needed for it (`cargo xtask test` also runs
    /// it with those hidden, see `smoke.rs`).
    #[test]
    fn the_demo_runs_only_first_party_rust_plugins() {
        let root = crate::workspace_root();
        let checks = demo_checks(
            &Ports {
                tcp: 1,
                udp: 2,
                http: 3,
                dns: 4,
            },
            "127.0.0.1:5".parse().unwrap(),
            std::path::Path::new("/tmp/demo/logs/access.log"),
        );
        for name in plugins_of(&checks) {
            let dir = root.join("plugins").join(name);
            assert!(
                dir.join("Cargo.toml").is_file(),
                "the demo's plugin {name} is not a first-party Rust plugin ({})",
                dir.display()
            );
        }
        assert!(plugins_of(&checks).contains(&"traceroute"));
        assert!(plugins_of(&checks).contains(&"prometheus"));
        assert!(plugins_of(&checks).contains(&"log-match"));
        assert_eq!(super::super::PLUGINS, crate::packages::Plugins::Rust);
    }
}
