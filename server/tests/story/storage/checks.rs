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
        depends_on: Vec::new(),
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

both!(an_alert_rule_revision_moves_only_when_it_changes);
async fn an_alert_rule_revision_moves_only_when_it_changes(backend: Backend) {
    let Some(db) = open(backend).await else {
        return;
    };
    let store = &db.store;
    let rule = |value: f64| -> vantage_protocol::config::RuleSpec {
        serde_json::from_value(serde_json::json!({
            "name": "loss",
            "condition": {"kind": "threshold", "metric": "loss", "op": ">", "value": value}
        }))
        .unwrap()
    };
    assert!(store.rules().await.unwrap().is_empty());
    let first = store.put_rule(&rule(0.05), t0()).await.unwrap();
    assert_eq!((first.revision, first.created), (1, true));
    let again = store.put_rule(&rule(0.05), t0()).await.unwrap();
    assert_eq!((again.revision, again.created), (1, false));
    let later = t0() + chrono::Duration::minutes(1);
    let changed = store.put_rule(&rule(0.01), later).await.unwrap();
    assert_eq!((changed.revision, changed.created), (2, false));
    let rows = store.rules().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].spec.clone(), rows[0].revision, rows[0].updated_at),
        (rule(0.01), 2, later)
    );
    assert!(store.delete_rule("loss").await.unwrap());
    assert!(!store.delete_rule("loss").await.unwrap());
    assert!(store.rules().await.unwrap().is_empty());
}
