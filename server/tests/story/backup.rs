//! `vantage-server backup` while the server runs, and `restore` into a
//! fresh data folder: the restored server answers exactly as the original.
//! PostgreSQL is pg_dump's: the commands say so and copy nothing.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::both;
use crate::support::agent::{
    AgentHome, RunningAgent, ServerProcess, distinct, free_port, tcp_target,
};
use crate::support::http::Client;
use crate::support::said;
use crate::support::server::{Backend, store};

const PASSWORD: &str = "backup-story-password";

fn server(args: &[&str], database_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vantage-server"))
        .args(["--database-url", database_url])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// What the story compares: the agents, the checks, and every raw point
/// of the check's series.
async fn answers(admin: &Client, agent_id: &str, range: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut agents = admin.get("/api/v1/agents").await.expect(200).json();
    for a in agents["items"].as_array_mut().unwrap() {
        // Whether it is online now is the clock's, not the database's.
        a.as_object_mut().unwrap().remove("online");
    }
    out.push(agents);
    out.push(admin.get("/api/v1/checks").await.expect(200).json());
    out.push(
        admin
            .get(&format!(
                "/api/v1/series/history?agent_id={agent_id}&check=port&metric=connect_time&{range}&resolution=raw"
            ))
            .await
            .expect(200)
            .json(),
    );
    out.push(admin.get("/api/v1/results/latest").await.expect(200).json());
    out
}

both!(a_backup_taken_online_restores_to_the_same_answers);
async fn a_backup_taken_online_restores_to_the_same_answers(backend: Backend) {
    let Some((_, dir, url)) = store(backend).await else {
        return;
    };
    let copies = tempfile::tempdir().unwrap();
    let file = copies.path().join("vantage.backup");
    if backend == Backend::Postgres {
        for args in [
            ["backup", "--to", file.to_str().unwrap()],
            ["restore", "--from", file.to_str().unwrap()],
        ] {
            let out = server(&args, &url);
            assert_eq!(out.status.code(), Some(2), "{}", said(&out));
            assert!(said(&out).contains("pg_dump"), "{}", said(&out));
        }
        assert!(!file.exists());
        return;
    }
    let dir = dir.unwrap();
    let original = ServerProcess::start(&url, free_port(), PASSWORD);
    let admin = crate::support::http::login(&original.url, PASSWORD).await;
    let (_target, tcp) = tcp_target();
    let home = AgentHome::new();
    let config = home.config(
        Some(tcp),
        "200ms",
        "[server]\nheartbeat = \"1s\"\nmax_backoff = \"1s\"\n",
    );
    home.enroll(
        &config,
        &original.url,
        &crate::remote::enrollment_token(&admin).await,
        "backed-up",
    );
    let agent = RunningAgent::start(&config);
    agent.wait_printed(10, Duration::from_secs(60));

    // Taken while the agent still sends and the server's jobs run.
    let out = server(&["backup", "--to", file.to_str().unwrap()], &url);
    assert!(out.status.success(), "{}", said(&out));
    let printed = distinct(&agent.stop());
    assert!(said(&out).contains("integrity ok"), "{}", said(&out));
    let key = copies.path().join("vantage.backup.secrets.key");
    assert_eq!(
        std::fs::read(&key).unwrap(),
        std::fs::read(dir.path().join("secrets.key")).unwrap()
    );
    for f in [&file, &key] {
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(f).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "{}", f.display());
    }
    // Never over an existing file.
    let again = server(&["backup", "--to", file.to_str().unwrap()], &url);
    assert_eq!(again.status.code(), Some(2), "{}", said(&again));

    // The copy holds part of what the agent sent, and the key that opens
    // the secrets sealed in it.
    let fresh = tempfile::tempdir().unwrap();
    let restored_url = format!("sqlite://{}", fresh.path().join("vantage.db").display());
    let out = server(
        &["restore", "--from", file.to_str().unwrap()],
        &restored_url,
    );
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(
        std::fs::read(fresh.path().join("secrets.key")).unwrap(),
        std::fs::read(&key).unwrap()
    );
    let stored = crate::support::agent::stored_ids(&restored_url).await;
    assert!(!stored.is_empty());
    assert!(
        distinct(&stored).is_subset(&printed),
        "the backup holds results no agent produced"
    );
    drop(original);

    // Two servers on two restores of one backup answer alike, and like the
    // backup read directly.
    let twin = tempfile::tempdir().unwrap();
    let twin_url = format!("sqlite://{}", twin.path().join("vantage.db").display());
    let out = server(&["restore", "--from", file.to_str().unwrap()], &twin_url);
    assert!(out.status.success(), "{}", said(&out));
    let a = ServerProcess::start(&restored_url, free_port(), PASSWORD);
    let b = ServerProcess::start(&twin_url, free_port(), PASSWORD);
    let a_admin = crate::support::http::login(&a.url, PASSWORD).await;
    let b_admin = crate::support::http::login(&b.url, PASSWORD).await;
    let agents = a_admin.get("/api/v1/agents").await.expect(200).json();
    let agent_id = agents["items"][0]["id"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now();
    let range = format!(
        "from={}&to={}",
        (now - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (now + chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let seen = answers(&a_admin, &agent_id, &range).await;
    assert_eq!(seen, answers(&b_admin, &agent_id, &range).await);
    let points = seen[2]["series"][0]["points"].as_array().unwrap().len();
    assert_eq!(points, stored.len(), "{}", seen[2]);
    assert_eq!(seen[0]["items"][0]["name"], "backed-up");
    // Restore refuses a folder that has a database, and a file that is not one.
    let out = server(&["restore", "--from", file.to_str().unwrap()], &twin_url);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("already"), "{}", said(&out));
    let junk = copies.path().join("junk");
    std::fs::write(&junk, b"not a database at all, just bytes").unwrap();
    let empty = tempfile::tempdir().unwrap();
    let empty_url = format!("sqlite://{}", empty.path().join("vantage.db").display());
    let out = server(&["restore", "--from", junk.to_str().unwrap()], &empty_url);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(!Path::new(&empty.path().join("vantage.db")).exists());
}
