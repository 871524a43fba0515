//! Stories across real network namespaces (`vantage-netlab`): the story's
//! thread moves into the hub's namespace, starts the server binary there,
//! publishes the first-party ping plugin, and enrolls and runs agents each
//! in its own namespace.

use std::os::fd::AsRawFd as _;
use std::path::Path;
use std::process::{Child, Stdio};

use hyper::Method;
use serde_json::json;

use super::agent::{AgentHome, RunningAgent, agent_bin, plugin_dir};
use super::http::Client;
use crate::remote::{publish, send_json};

/// Moves the calling thread into namespace `ns` (processes it spawns follow).
#[allow(unsafe_code)]
pub fn enter(ns: &str) {
    let file = std::fs::File::open(format!("/var/run/netns/{ns}")).unwrap();
    // SAFETY: setns(2) on an open namespace file; it changes only this
    // thread's network namespace and touches no memory.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
}

/// Runs `story` on a thread in namespace `ns`, on a runtime of its own.
pub fn run_in<F: std::future::Future<Output = ()> + Send + 'static>(ns: String, story: F) {
    std::thread::spawn(move || {
        enter(&ns);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(story)
    })
    .join()
    .unwrap();
}

/// The server binary, started in the current thread's namespace, on SQLite
/// in `data`; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub url: String,
    pub admin: Client,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Listens on `listen`; logs in as the admin.
    pub async fn start(listen: &str, data: &Path) -> ServerProcess {
        let password = "lab-story-password";
        let database_url = format!("sqlite://{}", data.join("vantage.db").display());
        let mut child = super::process::server_command(listen, &database_url, password)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let url = format!("http://{listen}");
        let mut server = ServerProcess {
            child,
            url: url.clone(),
            admin: Client::new(&url),
        };
        assert!(line.contains(listen), "server said {line:?}");
        server.admin = super::http::login(&url, password).await;
        server
    }

    /// Publishes the first-party ping plugin as it was built and signed
    /// with the development key, which the registry takes as its root;
    /// the key's id, for agents to pin.
    pub async fn publish_ping(&self) -> String {
        let dev = std::fs::read_to_string(plugin_dir().join("dev.pub")).unwrap();
        self.admin
            .post("/api/v1/registry/keys", &json!({"key": dev, "root": true}))
            .await
            .expect(201);
        let ping = std::fs::read(plugin_dir().join("ping.vpkg")).unwrap();
        publish(&self.admin, ping).await.expect(201);
        vantage_protocol::keys::PublicKey::from_file(&dev)
            .unwrap()
            .id()
            .0
    }

    /// Runs `vantage-agent enroll` for `name` from namespace `ns` with a
    /// fresh token, pinning `root`, with the `extra` arguments.
    pub async fn try_enroll_in(
        &self,
        ns: &str,
        home: &AgentHome,
        name: &str,
        root: &str,
        extra: &[&str],
    ) -> std::process::Output {
        let config = crate::remote::managed_config(home);
        let token = crate::remote::enrollment_token(&self.admin).await;
        vantage_netlab::command(ns, agent_bin())
            .args(["enroll", "--config"])
            .arg(&config)
            .args(["--server", &self.url, "--token", &token, "--name", name])
            .args(["--trust-root", root])
            .args(extra)
            .output()
            .unwrap()
    }

    /// Enrolls agent `name` from namespace `ns` (plain HTTP across the
    /// lab's network, so `--insecure-http`), pinning `root`, places it
    /// in `groups` and starts it there; its JSON as the server lists it.
    pub async fn agent_in(
        &self,
        ns: &str,
        name: &str,
        root: &str,
        groups: &[&str],
    ) -> (AgentHome, RunningAgent, serde_json::Value) {
        let home = AgentHome::new();
        let out = self
            .try_enroll_in(ns, &home, name, root, &["--insecure-http"])
            .await;
        assert!(
            out.status.success(),
            "enroll {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list = self.admin.get("/api/v1/agents").await.expect(200).json();
        let agent = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()
            .clone();
        send_json(
            &self.admin,
            Method::PATCH,
            &format!("/api/v1/agents/{}", agent["id"].as_str().unwrap()),
            &json!({"groups": groups}),
        )
        .await
        .expect(200);
        let running = RunningAgent::start_in(Some(ns), &home.dir.path().join("agent.toml"));
        (home, running, agent)
    }
}
