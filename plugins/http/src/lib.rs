//! `http`: requests the target URL and reports curl-like timings, the
//! status, the body size, redirects and the certificate's remaining life.

mod expect_status;

use std::collections::BTreeMap;

use vantage_plugin_sdk::prelude::*;

use crate::expect_status::ExpectStatus;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_method")]
    method: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u32>,
    #[serde(default = "default_max_redirects")]
    max_redirects: u8,
    #[serde(default = "default_tls_verify")]
    tls_verify: bool,
    #[serde(default)]
    expect_status: Vec<ExpectStatus>,
    #[serde(default)]
    body_contains: Option<String>,
    #[serde(default = "default_body_max")]
    body_max: u32,
}

fn default_method() -> String {
    "GET".to_owned()
}

fn default_max_redirects() -> u8 {
    5
}

fn default_tls_verify() -> bool {
    true
}

fn default_body_max() -> u32 {
    65_536
}

struct Http;

impl Probe for Http {
    type Config = Config;

    fn run(ctx: &Context, config: Config) -> Outcome {
        let request = http::Request {
            method: config.method.to_ascii_uppercase(),
            url: ctx.target.trim().to_owned(),
            headers: config.headers.into_iter().collect(),
            body: config.body.map(String::into_bytes),
            timeout_ms: ctx.request_timeout_ms(config.timeout_ms),
            delay_ms: 0,
            max_redirects: config.max_redirects,
            tls_verify: config.tls_verify,
            body_max: config.body_max,
        };
        let response = match http::send(&request) {
            Ok(response) => response,
            Err(error) => return error.into(),
        };
        let outcome = samples(&response);
        if !expect_status::accepted(&config.expect_status, response.status) {
            return outcome.status(Status::Error).message(format!(
                "status {} from {}, expected {}",
                response.status,
                response.final_url,
                expect_status::describe(&config.expect_status)
            ));
        }
        match config.body_contains {
            Some(text) if !String::from_utf8_lossy(&response.body).contains(&text) => {
                let scope = if response.body_truncated {
                    format!("the first {} bytes of the body", response.body.len())
                } else {
                    "the body".to_owned()
                };
                outcome.status(Status::Error).message(format!(
                    "{scope} from {} does not contain `{}`",
                    response.final_url,
                    excerpt(text.as_bytes(), 64)
                ))
            }
            _ => outcome,
        }
    }
}

/// Every metric the response carries.
fn samples(response: &http::Response) -> Outcome {
    let timing = &response.timing;
    let ns = |ns: u64| ns as f64;
    let mut outcome = Outcome::ok()
        .sample("dns_time", ns(timing.dns_ns), Unit::Nanoseconds)
        .sample("connect_time", ns(timing.connect_ns), Unit::Nanoseconds);
    if let Some(tls_ns) = timing.tls_ns {
        outcome = outcome.sample("tls_time", ns(tls_ns), Unit::Nanoseconds);
    }
    outcome = outcome
        .sample(
            "first_byte_time",
            ns(timing.first_byte_ns),
            Unit::Nanoseconds,
        )
        .sample(
            "total_time",
            ns(timing.redirect_ns + timing.done_ns),
            Unit::Nanoseconds,
        )
        .sample("status_code", f64::from(response.status), Unit::None)
        .sample("body_size", body_size(response) as f64, Unit::Bytes)
        .sample("redirects", f64::from(response.redirects), Unit::Count);
    if let Some(tls) = &response.tls {
        let now_s = clock::wall_ms() as f64 / 1000.0;
        outcome = outcome.sample("cert_expiry", tls.not_after as f64 - now_s, Unit::Seconds);
    }
    outcome
}

/// The body's size: bytes read, or the `Content-Length` when the body was
/// cut at `body_max`.
fn body_size(response: &http::Response) -> u64 {
    let read = response.body.len() as u64;
    if !response.body_truncated {
        return read;
    }
    response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(read)
}

vantage_plugin_sdk::export_probe!(Http);
