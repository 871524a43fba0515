//! `tcp`: connects to `host:port`, optionally sends a payload and checks
//! that the reply contains an expected text.

use vantage_plugin_sdk::prelude::*;

/// Bytes read by default when `expect` is set.
const EXPECT_READ_MAX: u32 = 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    timeout_ms: Option<u32>,
    #[serde(default)]
    send: Option<String>,
    #[serde(default)]
    expect: Option<String>,
    #[serde(default)]
    read_max: Option<u32>,
}

struct Tcp;

impl Probe for Tcp {
    type Config = Config;

    fn run(ctx: &Context, config: Config) -> Outcome {
        let (host, port) = match target_host_port(&ctx.target, 0) {
            Ok(host_port) => host_port,
            Err(problem) => return Outcome::error(problem),
        };
        let read_max = config.read_max.unwrap_or(if config.expect.is_some() {
            EXPECT_READ_MAX
        } else {
            0
        });
        if config.expect.is_some() && read_max == 0 {
            return Outcome::error("config: read_max must be above 0 when expect is set");
        }
        let request = tcp::ConnectRequest {
            host,
            port,
            timeout_ms: ctx.request_timeout_ms(config.timeout_ms),
            delay_ms: 0,
            send: config.send.map(String::into_bytes),
            read_max,
        };
        let response = match tcp::connect(&request) {
            Ok(response) => response,
            Err(error) => return error.into(),
        };
        let mut outcome = Outcome::ok().sample(
            "connect_time",
            response.connect_ns as f64,
            Unit::Nanoseconds,
        );
        if let Some(first_byte_ns) = response.first_byte_ns {
            outcome = outcome.sample("first_byte_time", first_byte_ns as f64, Unit::Nanoseconds);
        }
        match config.expect {
            Some(expected) if !contains(&response.received, expected.as_bytes()) => {
                outcome.status(Status::Error).message(format!(
                    "expected `{}` in the reply, got `{}`",
                    excerpt(expected.as_bytes(), 64),
                    excerpt(&response.received, 64)
                ))
            }
            _ => outcome,
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

vantage_plugin_sdk::export_probe!(Tcp);
