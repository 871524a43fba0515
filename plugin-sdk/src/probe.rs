//! The [`Probe`] trait and the [`export_probe!`](crate::export_probe) glue
//! that turns it into the component's `probe` export.

use serde::de::DeserializeOwned;

use crate::{Outcome, types};

/// A probe plugin: checks one target per run.
///
/// Implement it on a unit struct and hand that struct to
/// [`export_probe!`](crate::export_probe). A panic in `run` traps the
/// component; the host then fails the check with status `error`.
pub trait Probe {
    /// The check's plugin configuration, deserialised from the JSON document
    /// the host passes (already validated against the manifest's schema).
    /// Use `#[serde(default)]` for optional fields.
    type Config: DeserializeOwned;

    /// Runs the check once against `ctx.target`.
    fn run(ctx: &Context, config: Self::Config) -> Outcome;
}

/// What the host tells a run besides its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The check's name, as configured by the operator.
    pub check: String,
    /// The one target of this run (host, host:port or URL, by plugin).
    pub target: String,
    /// The run's wall-clock budget in milliseconds; capability timeouts
    /// should stay within it.
    pub timeout_ms: u32,
}

impl Context {
    /// The timeout for a capability request: the configured one capped by the
    /// run's budget, or the whole budget when none is configured.
    pub fn request_timeout_ms(&self, configured: Option<u32>) -> u32 {
        configured.map_or(self.timeout_ms, |t| t.min(self.timeout_ms))
    }
}

/// Parses the configuration and runs the probe; called by the code that
/// [`export_probe!`](crate::export_probe) generates.
#[doc(hidden)]
pub fn run_probe<P: Probe>(context: types::CheckContext) -> types::Outcome {
    let outcome = match parse_config::<P::Config>(&context.config) {
        Ok(config) => {
            let types::CheckContext {
                check,
                target,
                timeout_ms,
                ..
            } = context;
            P::run(
                &Context {
                    check,
                    target,
                    timeout_ms,
                },
                config,
            )
        }
        Err(outcome) => outcome,
    };
    outcome.into()
}

/// An empty document counts as `{}`; a parse failure becomes an `error`
/// outcome whose message starts with `config: ` and names the problem.
fn parse_config<C: DeserializeOwned>(json: &str) -> Result<C, Outcome> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| Outcome::error(format!("config: {e}")))
}

/// Exports a [`Probe`] implementation as the component's `probe` interface.
///
/// Invoke it once per plugin crate, at the top level, with the probe type:
/// `vantage_plugin_sdk::export_probe!(Hello);` (the crate documentation has
/// a complete plugin).
///
/// The macro parses `check-context.config` into `Probe::Config` (a failure
/// ends the run with status `error` and a message starting with `config: `),
/// calls [`Probe::run`] and hands the [`Outcome`] back to the host.
#[macro_export]
macro_rules! export_probe {
    ($probe:ty) => {
        const _: () = {
            use $crate::bindings::exports::vantage::plugin::probe::Guest;

            struct __VantageProbeExport;

            impl Guest for __VantageProbeExport {
                fn run(context: $crate::types::CheckContext) -> $crate::types::Outcome {
                    $crate::__run_probe::<$probe>(context)
                }
            }

    $crate::bindings::export!(__VantageProbeExport with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::{Status, Unit};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[serde(default)]
        greeting: Option<String>,
    }

    struct Hello;

    impl Probe for Hello {
        type Config = Config;
        fn run(ctx: &Context, config: Config) -> Outcome {
            Outcome::ok()
                .sample("answer", f64::from(ctx.timeout_ms), Unit::Count)
                .message(format!(
                    "{} {}",
                    config.greeting.unwrap_or_default(),
                    ctx.target
                ))
        }
    }

    fn context(config: &str) -> types::CheckContext {
        types::CheckContext {
            check: "c".into(),
            target: "t".into(),
            config: config.into(),
            timeout_ms: 7,
        }
    }

    #[test]
    fn runs_the_probe_with_its_config_and_context() {
        let outcome = run_probe::<Hello>(context(r#"{"greeting":"hi"}"#));
        assert_eq!(outcome.status, Status::Ok);
        assert_eq!(outcome.message.as_deref(), Some("hi t"));
        assert_eq!(outcome.samples[0].value, 7.0);
        assert_eq!(run_probe::<Hello>(context("")).status, Status::Ok);
        assert_eq!(run_probe::<Hello>(context("{}")).status, Status::Ok);
    }

    #[test]
    fn request_timeouts_stay_within_the_budget() {
        let ctx = Context {
            check: String::new(),
            target: String::new(),
            timeout_ms: 1000,
        };
        assert_eq!(ctx.request_timeout_ms(None), 1000);
        assert_eq!(ctx.request_timeout_ms(Some(200)), 200);
        assert_eq!(ctx.request_timeout_ms(Some(5000)), 1000);
    }

    #[test]
    fn a_bad_config_fails_the_run_naming_the_field() {
        let outcome = run_probe::<Hello>(context(r#"{"greting":"hi"}"#));
        assert_eq!(outcome.status, Status::Error);
        let message = outcome.message.unwrap();
        assert!(message.starts_with("config: "), "{message}");
        assert!(message.contains("greting"), "{message}");

        let message = run_probe::<Hello>(context(r#"{"greeting":1}"#))
            .message
            .unwrap();
        assert!(message.starts_with("config: invalid type"), "{message}");
    }
}
