//! What the demo asks of its server's API, as the admin: enrollment tokens,
//! the registry's root key and packages, the checks, and agents' groups.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;

use crate::http::{Client, Response};

/// A client logged in as the admin, and its `Authorization` header.
pub(crate) struct Admin {
    client: Client,
    auth: String,
}

impl Admin {
    pub(crate) fn login(addr: SocketAddr, password: &str) -> anyhow::Result<Admin> {
        let mut client = Client::new(addr);
        let body = serde_json::json!({"username": "admin", "password": password}).to_string();
        let session = client
            .request(
                "POST",
                "/api/v1/auth/login",
                &[("Content-Type", "application/json")],
                body.as_bytes(),
            )?
            .json("logging in as admin (delete target/demo to start afresh)")?;
        let token = session["token"]
            .as_str()
            .context("login answer without a token")?;
        Ok(Admin {
            client,
            auth: format!("Bearer {token}"),
        })
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<Response> {
        self.client.request(
            method,
            path,
            &[
                ("Authorization", &self.auth),
                ("Content-Type", content_type),
            ],
            body,
        )
    }

    /// Sends `body` as JSON (nothing when it is null) and returns the
    /// answer's JSON; `doing` names the request in errors.
    fn call(
        &mut self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
        doing: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        self.send(method, path, "application/json", &body)?
            .json(doing)
    }

    pub(crate) fn get(&mut self, path: &str, doing: &str) -> anyhow::Result<serde_json::Value> {
        self.call("GET", path, &serde_json::Value::Null, doing)
    }

    pub(crate) fn post(
        &mut self,
        path: &str,
        body: &serde_json::Value,
        doing: &str,
    ) -> anyhow::Result<serde_json::Value> {
        self.call("POST", path, body, doing)
    }

    /// Sends `bytes` as `application/octet-stream`; the answer's JSON.
    pub(crate) fn send_bytes(
        &mut self,
        method: &str,
        path: &str,
        bytes: &[u8],
        doing: &str,
    ) -> anyhow::Result<serde_json::Value> {
        self.send(method, path, "application/octet-stream", bytes)?
            .json(doing)
    }

    pub(crate) fn enrollment_token(&mut self) -> anyhow::Result<String> {
        let answer = self.call(
            "POST",
            "/api/v1/enrollment-tokens",
            &serde_json::json!({"expires_in": "10m"}),
            "creating an enrollment token",
        )?;
        Ok(answer["token"]
            .as_str()
            .context("no token in the answer")?
            .to_owned())
    }

    /// Registers the development key as the registry's root and publishes
    /// the packages of `names` from `plugins` (a version already there is
    /// left as it is); the root's key id, for the agents to pin.
    pub(crate) fn registry(&mut self, plugins: &Path, names: &[&str]) -> anyhow::Result<String> {
        let public = std::fs::read_to_string(plugins.join("dev.pub"))?;
        let key_id = vantage_protocol::keys::PublicKey::from_file(&public)?
            .id()
            .0;
        let body = serde_json::json!({"key": public, "root": true}).to_string();
        let added = self.send(
            "POST",
            "/api/v1/registry/keys",
            "application/json",
            body.as_bytes(),
        )?;
        if added.status != 409 {
            added.json("registering the development key as the registry's root")?;
        }
        for name in names {
            let path = plugins.join(format!("{name}.vpkg"));
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let published = self.send(
                "POST",
                "/api/v1/registry/plugins",
                "application/octet-stream",
                &bytes,
            )?;
            if published.status != 409 {
                published.json(&format!("publishing {}", path.display()))?;
            }
        }
        Ok(key_id)
    }

    /// Defines (or updates) checks on the server.
    pub(crate) fn assign(&mut self, checks: &[serde_json::Value]) -> anyhow::Result<()> {
        for check in checks {
            let name = check["name"].as_str().context("a check without a name")?;
            self.call(
                "PUT",
                &format!("/api/v1/checks/{name}"),
                check,
                &format!("defining check {name}"),
            )?;
        }
        Ok(())
    }

    /// Adds the agents named `names` to `group` (keeping their other groups).
    pub(crate) fn join(&mut self, names: &[&str], group: &str) -> anyhow::Result<()> {
        let agents = self.get("/api/v1/agents?limit=1000", "listing the agents")?;
        for agent in agents["items"].as_array().into_iter().flatten() {
            let Some(name) = agent["name"].as_str() else {
                continue;
            };
            if !names.contains(&name) {
                continue;
            }
            let mut groups: Vec<&str> = agent["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g.as_str())
                .collect();
            if groups.contains(&group) {
                continue;
            }
            groups.push(group);
            let id = agent["id"].as_str().context("an agent without an id")?;
            self.call(
                "PATCH",
                &format!("/api/v1/agents/{id}"),
                &serde_json::json!({ "groups": groups }),
                &format!("adding {name} to group {group}"),
            )?;
        }
        Ok(())
    }
}
