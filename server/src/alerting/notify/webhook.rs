//! The generic webhook: a POST of the notification as JSON, signed with
//! the channel's secret (HMAC-SHA256 over `<timestamp>.<body>`).

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use vantage_protocol::config::{DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// The signature header's value for a body sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Where and how a webhook is sent.
pub struct Hook<'a> {
    pub url: &'a str,
    pub secret: Option<&'a str>,
    pub headers: &'a BTreeMap<String, String>,
}

/// Sends `body`; the receiver's status, or why there was none.
pub async fn post(
    client: &reqwest::Client,
    hook: &Hook<'_>,
    delivery: &str,
    body: Vec<u8>,
) -> Result<u16, String> {
    let timestamp = chrono::Utc::now().timestamp();
    let mut request = client
        .post(hook.url)
        .header("content-type", "application/json")
        .header(DELIVERY_HEADER, delivery)
        .header(TIMESTAMP_HEADER, timestamp.to_string());
    if let Some(secret) = hook.secret.filter(|s| !s.is_empty()) {
        request = request.header(SIGNATURE_HEADER, signature(secret, timestamp, &body));
    }
    for (name, value) in hook.headers {
        request = request.header(name, value);
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|e| super::describe(&e))?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // As `printf '1700000000.{}' | openssl dgst -sha256 -hmac key` says.
        assert_eq!(
            signature("key", 1_700_000_000, b"{}"),
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
