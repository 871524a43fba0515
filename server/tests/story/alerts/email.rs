//! Email over a real SMTP server (aiosmtpd) on loopback that requires
//! STARTTLS with a private CA: one mail per step, over TLS; a channel
//! that will not STARTTLS is refused by the server and logged.

use hyper::Method;
use serde_json::{Value, json};

use super::{notify_all, quick_retry, run_of};
use crate::api::enroll;
use crate::both;
use crate::registry::send_json;
use crate::support::batch;
use crate::support::server::{Backend, start_with};
use crate::support::smtp::SmtpSink;

fn run(minutes: i64, ok: bool) -> Value {
    run_of("edge-1", "ping-core", minutes, ok)
}

both!(a_step_is_mailed_once_over_starttls);
async fn a_step_is_mailed_once_over_starttls(backend: Backend) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let Some(server) = start_with(backend, quick_retry()).await else {
        return;
    };
    let admin = &server.admin;
    let (edge, _) = enroll(&server, "edge-1").await;
    edge.post("/api/v1/ingest", &batch(vec![run(10, true)]))
        .await
        .expect(200);
    let mail = |name: &str, security: &str| {
        json!({"name": name, "kind": "email", "host": "127.0.0.1", "port": sink.port,
               "security": security, "from": "Vantage <vantage@example.net>",
               "to": ["ops@example.net", "noc@example.net"], "ca": sink.ca_pem})
    };
    // Bad addresses and a certificate that is not PEM are named.
    let mut bad = mail("bad", "starttls");
    bad["to"] = json!(["not an address"]);
    bad["ca"] = json!("not a certificate");
    let p = send_json(admin, Method::PUT, "/api/v1/alerts/channels/bad", &bad)
        .await
        .problem(422);
    let fields = crate::support::fields(&p);
    assert_eq!(fields, ["to[0]", "ca"], "{p}");
    notify_all(
        admin,
        &[mail("mail", "starttls"), mail("cleartext", "none")],
    )
    .await;

    edge.post("/api/v1/ingest", &batch(vec![run(9, false)]))
        .await
        .expect(200);
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1, "one mail: the cleartext channel is refused");
    let first = &mails[0];
    assert_eq!(first["tls"], true, "sent over STARTTLS");
    assert_eq!(first["from"], "vantage@example.net");
    assert_eq!(first["to"], json!(["ops@example.net", "noc@example.net"]));
    let data = first["data"].as_str().unwrap();
    assert!(data.contains("Subject: FIRING down"), "{data}");
    assert!(data.contains("Agents: edge-1"), "{data}");

    edge.post("/api/v1/ingest", &batch(vec![run(8, true)]))
        .await
        .expect(200);
    let mails = sink.wait_for(2).await;
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1]["data"]
            .as_str()
            .unwrap()
            .contains("Subject: RESOLVED down")
    );

    let log = admin
        .get("/api/v1/alerts/channels/mail/deliveries")
        .await
        .expect(200)
        .json();
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|a| a["ok"] == true && a["status"] == 250)
    );
    let refused = admin
        .get("/api/v1/alerts/channels/cleartext/deliveries")
        .await
        .expect(200)
        .json();
    let first = &refused.as_array().unwrap().last().unwrap();
    assert_eq!(first["ok"], false, "{refused}");
    assert!(
        first["error"].as_str().unwrap().contains("STARTTLS"),
        "{refused}"
    );
}
