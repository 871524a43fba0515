//! A test fixture for the agent's sandbox: each `mode` breaks one rule
//! (runs forever, eats memory, traps, floods output or the log, reaches for
//! a capability or an address it was not given, or returns what `emit` is
//! told to: any metric, labels and message, valid or not). Mode `ok` is the
//! trivial probe that the instantiate-and-call benchmark measures.

use std::hint::black_box;

use vantage_plugin_sdk::prelude::*;

/// What the check asks the fixture to do.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    #[default]
    Ok,
    Loop,
    Alloc,
    Trap,
    HugeOutput,
    Ungranted,
    OffTarget,
    Sleep,
    LogFlood,
    Emit,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    mode: Mode,
    #[serde(default = "default_sleep_ms")]
    sleep_ms: u32,
    #[serde(default = "default_host")]
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    /// The panic message of `trap`, the message of `emit`.
    #[serde(default)]
    message: Option<String>,
    /// The metric `emit` reports (declared or not).
    #[serde(default = "default_metric")]
    metric: String,
    /// The labels of `emit`'s sample.
    #[serde(default)]
    labels: Vec<(String, String)>,
}

fn default_metric() -> String {
    "value".to_owned()
}

fn default_sleep_ms() -> u32 {
    1000
}

fn default_host() -> String {
    "192.0.2.1".to_owned()
}

fn default_port() -> u16 {
    9
}

struct Misbehave;

impl Probe for Misbehave {
    type Config = Config;

    fn run(ctx: &Context, config: Config) -> Outcome {
        match config.mode {
            Mode::Ok => ok(),
            Mode::Loop => spin(),
            Mode::Alloc => hoard(),
            Mode::Trap => match config.message {
                Some(text) => panic!("{text}"),
                None => panic!("misbehave: trap requested"),
            },
            Mode::HugeOutput => Outcome::ok().message("x".repeat(16 << 20)),
            Mode::Ungranted => ungranted(ctx),
            Mode::OffTarget => off_target(ctx, &config.host, config.port),
            Mode::Sleep => {
                clock::sleep_ms(config.sleep_ms);
                ok()
            }
            Mode::LogFlood => {
                for _ in 0..100_000 {
                    log::write(log::Level::Info, "misbehave: log flood");
                }
                ok()
            }
            Mode::Emit => emit(config),
        }
    }
}

/// Returns exactly what the configuration says, for the result rules' tests.
fn emit(config: Config) -> Outcome {
    let mut outcome = Outcome::ok().sample(config.metric, 1.0, Unit::Count);
    for (key, value) in config.labels {
        outcome = outcome.with_label(key, value);
    }
    match config.message {
        Some(message) => outcome.message(message),
        None => outcome,
    }
}

fn ok() -> Outcome {
    Outcome::ok().sample("value", 1.0, Unit::Count)
}

/// Never returns; `black_box` keeps the optimiser from removing the loop.
fn spin() -> ! {
    let mut n = 0u64;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Allocates 1 MiB chunks and writes to every page until memory runs out.
fn hoard() -> ! {
    let mut chunks = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        for page in chunk.chunks_mut(4096) {
            page[0] = 1;
        }
        chunks.push(black_box(chunk));
    }
}

/// Calls `http`, which the manifest does not request: the host must deny it.
fn ungranted(ctx: &Context) -> Outcome {
    let request = http::Request {
        method: "GET".into(),
        url: format!("http://{}/", ctx.target),
        headers: Vec::new(),
        body: None,
        timeout_ms: ctx.timeout_ms,
        delay_ms: 0,
        max_redirects: 0,
        tls_verify: true,
        body_max: 0,
    };
    match http::send(&request) {
        Ok(response) => {
            Outcome::ok().message(format!("http was allowed: status {}", response.status))
        }
        Err(error) => error.into(),
    }
}

/// Connects to an address that is not the check's target: the host must deny it.
fn off_target(ctx: &Context, host: &str, port: u16) -> Outcome {
    let request = tcp::ConnectRequest {
        host: host.to_owned(),
        port,
        timeout_ms: ctx.timeout_ms,
        delay_ms: 0,
        send: None,
        read_max: 0,
    };
    match tcp::connect(&request) {
        Ok(response) => Outcome::ok().message(format!("connected to {}", response.address)),
        Err(error) => error.into(),
    }
}

vantage_plugin_sdk::export_probe!(Misbehave);
