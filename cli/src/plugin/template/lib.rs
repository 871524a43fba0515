//! `{{name}}`: a Vantage probe plugin that times a TCP connect to the check's target.
//!
//! `cargo build --release` builds the component for `wasm32-wasip2` (see
//! `.cargo/config.toml`); README.md shows how to pack, sign and verify it.

use vantage_plugin_sdk::prelude::*;

/// The check's plugin configuration. The host validates it against the
/// `config_schema` of `manifest.json` before each run: keep the two in step.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The port to connect to when the target names none.
    #[serde(default = "default_port")]
    port: u16,
    /// The connect timeout in milliseconds, capped by the run's budget; the
    /// whole budget when unset.
    #[serde(default)]
    timeout_ms: Option<u32>,
}

fn default_port() -> u16 {
    80
}

struct ConnectProbe;

impl Probe for ConnectProbe {
    type Config = Config;

    fn run(ctx: &Context, config: Config) -> Outcome {
        let (host, port) = match target_host_port(&ctx.target, config.port) {
            Ok(host_port) => host_port,
            Err(problem) => return Outcome::error(problem),
        };
        let request = tcp::ConnectRequest {
            host,
            port,
            timeout_ms: ctx.request_timeout_ms(config.timeout_ms),
            delay_ms: 0,
            send: None,
            read_max: 0,
        };
        match tcp::connect(&request) {
            Ok(response) => Outcome::ok().sample(
                "connect_time",
                ns_to_seconds(response.connect_ns),
                Unit::Seconds,
            ),
            // Timeout, refused, unreachable, denied: each becomes its status.
            Err(error) => Outcome::from(error),
        }
    }
}

vantage_plugin_sdk::export_probe!(ConnectProbe);
