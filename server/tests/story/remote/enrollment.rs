//! Enrollment against a server that offers a root of its own next to the
//! real one: the agent pins exactly the roots it was told to.

use super::*;

/// The root key ids stored in the agent's credential.
fn pinned(home: &AgentHome) -> Vec<String> {
    let path = home.dir.path().join("data/credential.json");
    let credential: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    credential["trust_roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key_id"].as_str().unwrap().to_owned())
        .collect()
}

both!(an_extra_root_offered_at_enrollment_is_not_pinned);
async fn an_extra_root_offered_at_enrollment_is_not_pinned(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    packages.register_keys(admin).await;
    let ours = packages.root.public().id().0;
    // The server (compromised, or someone on the path) offers a second root.
    let slipped = SigningKeyPair::generate("slipped-in");
    admin
        .post(
            "/api/v1/registry/keys",
            &json!({"key": slipped.public().to_file(), "root": true}),
        )
        .await
        .expect(201);
    let theirs = slipped.public().id().0;

    // Naming our root pins it alone.
    let home = AgentHome::new();
    managed_config(&home);
    enroll_into(admin, &url, &home, "exact", &ours, &[]).await;
    assert_eq!(pinned(&home), std::slice::from_ref(&ours));

    // Naming none pins what is offered, and prints every id to compare.
    let open = AgentHome::new();
    let config = managed_config(&open);
    let token = enrollment_token(admin).await;
    let out = open.try_enroll(&config, &url, &token, "open", &[]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&ours) && said.contains(&theirs), "{said}");
    let mut both = pinned(&open);
    both.sort();
    let mut expected = vec![ours.clone(), theirs.clone()];
    expected.sort();
    assert_eq!(both, expected);

    // A named root the server does not offer: the agent stores nothing.
    let refused = AgentHome::new();
    let config = managed_config(&refused);
    let token = enrollment_token(admin).await;
    let missing = SigningKeyPair::generate("missing").public().id().0;
    let out = refused.try_enroll(
        &config,
        &url,
        &token,
        "refused",
        &["--trust-root", &missing],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains(&missing), "{said}");
    assert!(!refused.dir.path().join("data/credential.json").exists());
}
