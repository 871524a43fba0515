//! A plugin name belongs to the keys that published it: a second endorsed
//! publisher cannot ship a new version of someone else's plugin.

use serde_json::json;
use vantage_protocol::keys::SigningKeyPair;

use crate::both;
use crate::remote::{Packages, publish};
use crate::support::server::{Backend, start};

both!(a_second_publisher_cannot_take_over_a_plugin_name);
async fn a_second_publisher_cannot_take_over_a_plugin_name(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = &server.admin;
    let packages = Packages::new();
    packages.register_keys(admin).await;
    let (root, owner) = (&packages.root, &packages.publisher);
    // A second publisher, endorsed by the same root.
    let rival = SigningKeyPair::generate("rival");
    admin
        .post(
            "/api/v1/registry/keys",
            &json!({"key": rival.public().to_file(), "endorsement": root.endorse(&rival.public())}),
        )
        .await
        .expect(201);

    publish(admin, packages.tcp("1.0.0", &["tcp"], owner))
        .await
        .expect(201);
    // The rival's `tcp 1.0.1` would reach every `^1` check: refused.
    let refused = publish(admin, packages.tcp("1.0.1", &["tcp"], &rival))
        .await
        .problem(422);
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("belongs to") && detail.contains(&owner.public().id().0),
        "{refused}"
    );
    let versions = admin
        .get("/api/v1/registry/plugins/tcp")
        .await
        .expect(200)
        .json();
    assert!(!versions.to_string().contains("1.0.1"), "{versions}");

    // The owner goes on; a root may publish any name.
    publish(admin, packages.tcp("1.0.2", &["tcp"], owner))
        .await
        .expect(201);
    publish(admin, packages.tcp("1.0.3", &["tcp"], root))
        .await
        .expect(201);
    // A new key joins with a version an owner (or a root) signed too; from
    // then on it publishes alone.
    publish(
        admin,
        packages.tcp_signed("1.1.0", &["tcp"], &[owner, &rival]),
    )
    .await
    .expect(201);
    publish(admin, packages.tcp("1.2.0", &["tcp"], &rival))
        .await
        .expect(201);
}
