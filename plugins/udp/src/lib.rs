//! `udp`: sends `count` datagrams to `host:port`, paced `interval_ms` apart,
//! and measures the replies: round-trip time, loss and size.

use vantage_plugin_sdk::prelude::*;

/// The largest reply kept (the largest UDP payload over IPv4).
const READ_MAX: u32 = 65_507;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_payload")]
    payload: String,
    #[serde(default)]
    expect: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u32>,
    #[serde(default = "default_count")]
    count: u32,
    #[serde(default = "default_interval_ms")]
    interval_ms: u32,
}

fn default_payload() -> String {
    "ping".to_owned()
}

fn default_count() -> u32 {
    1
}

fn default_interval_ms() -> u32 {
    100
}

struct Udp;

impl Probe for Udp {
    type Config = Config;

    fn run(ctx: &Context, config: Config) -> Outcome {
        let (host, port) = match target_host_port(&ctx.target, 0) {
            Ok(host_port) => host_port,
            Err(problem) => return Outcome::error(problem),
        };
        if !(1..=100).contains(&config.count) {
            return Outcome::error("config: count must be 1–100");
        }
        // The last datagram leaves `spread` after the first; its reply must
        // still arrive within the run's budget.
        let spread = (config.count - 1).saturating_mul(config.interval_ms);
        let Some(budget) = ctx.timeout_ms.checked_sub(spread).filter(|b| *b > 0) else {
            return Outcome::error(format!(
                "config: {} datagrams {} ms apart do not fit in the check's timeout of {} ms",
                config.count, config.interval_ms, ctx.timeout_ms
            ));
        };
        let timeout_ms = ctx.request_timeout_ms(config.timeout_ms).min(budget);
        let requests: Vec<_> = (0..config.count)
            .map(|i| udp::ExchangeRequest {
                host: host.clone(),
                port,
                payload: config.payload.clone().into_bytes(),
                timeout_ms,
                delay_ms: i * config.interval_ms,
                expect_reply: true,
                read_max: READ_MAX,
            })
            .collect();
        let results = udp::exchange_many(&requests);
        summarise(results, config.expect.as_deref())
    }
}

/// Samples every reply and decides the status: ok when at least one good
/// reply came back; otherwise the first failure explains the run.
fn summarise(
    results: Vec<Result<udp::ExchangeResponse, NetError>>,
    expect: Option<&str>,
) -> Outcome {
    let sent = results.len();
    let mut outcome = Outcome::ok();
    let mut received = 0;
    let mut failure: Option<Outcome> = None;
    for result in results {
        match result {
            // Distributions: the host keeps a run's values together, in
            // datagram order.
            Ok(reply) => {
                outcome = outcome
                    .sample("rtt", reply.rtt_ns as f64, Unit::Nanoseconds)
                    .sample("reply_size", reply.reply.len() as f64, Unit::Bytes);
                match expect {
                    Some(expected) if !String::from_utf8_lossy(&reply.reply).contains(expected) => {
                        failure.get_or_insert_with(|| {
                            Outcome::error(format!(
                                "expected `{}` in the reply, got `{}`",
                                excerpt(expected.as_bytes(), 64),
                                excerpt(&reply.reply, 64)
                            ))
                        });
                    }
                    _ => received += 1,
                }
            }
            Err(NetError::Timeout) => {}
            Err(error) => {
                failure.get_or_insert_with(|| error.into());
            }
        }
    }
    let lost = sent - received;
    outcome = outcome.sample("loss", lost as f64 / sent as f64, Unit::Ratio);
    if received > 0 {
        return match lost {
            0 => outcome,
            _ => outcome.message(format!("{lost} of {sent} datagrams got no good reply")),
        };
    }
    let failure = failure.unwrap_or_else(|| {
        Outcome::new(
            Status::Timeout,
            format!("no reply to any of {sent} datagrams"),
        )
    });
    outcome
        .status(failure.status)
        .message(failure.message.unwrap_or_default())
}

vantage_plugin_sdk::export_probe!(Udp);
