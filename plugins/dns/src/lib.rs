//! `dns`: asks a DNS server (the target, or the system's resolver when the
//! target is `system`) one question and checks the rcode and the answers.

use vantage_plugin_sdk::prelude::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    name: String,
    #[serde(default = "default_type", rename = "type")]
    record_type: String,
    #[serde(default)]
    tcp: bool,
    #[serde(default)]
    timeout_ms: Option<u32>,
    #[serde(default = "default_rcode")]
    expect_rcode: String,
    #[serde(default)]
    expect: Vec<String>,
}

fn default_type() -> String {
    "A".to_owned()
}

fn default_rcode() -> String {
    "NOERROR".to_owned()
}

struct Dns;

impl Probe for Dns {
    type Config = Config;

    fn run(ctx: &Context, config: Config) -> Outcome {
        let server = match server(&ctx.target) {
            Ok(server) => server,
            Err(problem) => return Outcome::error(problem),
        };
        let query = dns::Query {
            name: config.name,
            record_type: config.record_type.to_ascii_uppercase(),
            server,
            tcp: config.tcp,
            timeout_ms: ctx.request_timeout_ms(config.timeout_ms),
            delay_ms: 0,
        };
        let response = match dns::resolve(&query) {
            Ok(response) => response,
            Err(error) => return error.into(),
        };
        let outcome = Outcome::ok()
            .sample("lookup_time", response.elapsed_ns as f64, Unit::Nanoseconds)
            .sample("answers", response.answers.len() as f64, Unit::Count);
        if !response.rcode.eq_ignore_ascii_case(&config.expect_rcode) {
            return outcome.status(Status::Error).message(format!(
                "{} {} answered {}, expected {}",
                query.name, query.record_type, response.rcode, config.expect_rcode
            ));
        }
        match config
            .expect
            .iter()
            .find(|e| !response.answers.iter().any(|a| same(&a.data, e)))
        {
            Some(missing) => {
                let got: Vec<&str> = response.answers.iter().map(|a| a.data.as_str()).collect();
                outcome.status(Status::Error).message(format!(
                    "{} {} has no answer `{missing}` (answers: {})",
                    query.name,
                    query.record_type,
                    if got.is_empty() {
                        "none".to_owned()
                    } else {
                        got.join(", ")
                    }
                ))
            }
            None => outcome,
        }
    }
}

/// `system` asks the system's resolver; anything else is the server's
/// `host` or `host:port`, port 53 by default.
fn server(target: &str) -> Result<Option<String>, String> {
    if target.trim().eq_ignore_ascii_case("system") {
        return Ok(None);
    }
    let (host, port) = target_host_port(target, 53)?;
    Ok(Some(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }))
}

/// Answer data equals an expected value, ignoring case and a final dot
/// (`Example.com.` matches `example.com`).
fn same(data: &str, expected: &str) -> bool {
    let trim = |s: &str| s.trim().trim_end_matches('.').to_owned();
    trim(data).eq_ignore_ascii_case(&trim(expected))
}

vantage_plugin_sdk::export_probe!(Dns);
