//! [`CheckStore`]: checks defined on the server, with their revisions.

use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use chrono::Duration;
use vantage_protocol::config::{AgentSelector, CheckSpec};
use vantage_protocol::manifest::Capability;
use vantage_server::store::*;

use super::{open, t0};
use crate::both;
use crate::support::server::Backend;

fn spec(name: &str, target: &str) -> CheckSpec {
    CheckSpec {
        name: name.into(),
        plugin: "tcp".into(),
        version: "^1".into(),
        targets: vec![target.into()],
        mesh: None,
        interval: StdDuration::from_secs(30),
        timeout: None,
        config: serde_json::json!({"port": 443}),
        grants: [Capability::Tcp].into(),
        allow: vec![],
        agents: AgentSelector::default(),
    }
}

both!(a_check_revision_moves_only_when_it_changes);
async fn a_check_revision_moves_only_when_it_changes(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    let reviewed: BTreeSet<Capability> = [Capability::Tcp].into();
    let (t1, t2, t3) = (
        t0(),
        t0() + Duration::minutes(1),
        t0() + Duration::minutes(2),
    );
    assert!(store.checks().await.unwrap().is_empty());

    let web = spec("web", "192.0.2.1");
    assert_eq!(
        store.put_check(&web, &reviewed, t1).await.unwrap(),
        CheckSaved {
            revision: 1,
            created: true
        }
    );
    assert_eq!(
        store.put_check(&web, &reviewed, t2).await.unwrap(),
        CheckSaved {
            revision: 1,
            created: false
        },
        "the same spec saves nothing"
    );
    let moved = spec("web", "192.0.2.2");
    assert_eq!(
        store.put_check(&moved, &reviewed, t2).await.unwrap(),
        CheckSaved {
            revision: 2,
            created: false
        }
    );
    let more: BTreeSet<Capability> = [Capability::Tcp, Capability::Dns].into();
    assert_eq!(
        store.put_check(&moved, &more, t3).await.unwrap().revision,
        3,
        "reviewing other capabilities is a change"
    );
    let api = spec("api", "192.0.2.9");
    store.put_check(&api, &reviewed, t1).await.unwrap();

    assert_eq!(
        store.checks().await.unwrap(),
        [
            CheckRow {
                spec: api.clone(),
                reviewed: reviewed.clone(),
                revision: 1,
                updated_at: t1
            },
            CheckRow {
                spec: moved,
                reviewed: more,
                revision: 3,
                updated_at: t3
            },
        ],
        "by name, as last saved"
    );

    assert!(store.delete_check("web").await.unwrap());
    assert!(!store.delete_check("web").await.unwrap(), "already gone");
    let names: Vec<String> = store
        .checks()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.spec.name)
        .collect();
    assert_eq!(names, ["api"]);
    assert_eq!(
        store.put_check(&web, &reviewed, t3).await.unwrap(),
        CheckSaved {
            revision: 1,
            created: true
        },
        "a deleted check starts again"
    );
}
