//! The configuration and what it turns into: `count` echo requests, paced
//! `interval_ms` apart, that must all be answered within the check's timeout.

use vantage_plugin_sdk::prelude::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default = "default_count")]
    count: u32,
    #[serde(default = "default_interval_ms")]
    interval_ms: u32,
    #[serde(default = "default_payload_size")]
    payload_size: u16,
    #[serde(default)]
    ttl: Option<u8>,
    #[serde(default)]
    timeout_ms: Option<u32>,
    #[serde(default)]
    family: Family,
}

fn default_count() -> u32 {
    5
}

fn default_interval_ms() -> u32 {
    200
}

fn default_payload_size() -> u16 {
    56
}

/// The `family` setting.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Family {
    #[default]
    Any,
    Ipv4,
    Ipv6,
}

impl From<Family> for icmp::Family {
    fn from(family: Family) -> Self {
        match family {
            Family::Any => icmp::Family::Any,
            Family::Ipv4 => icmp::Family::Ipv4,
            Family::Ipv6 => icmp::Family::Ipv6,
        }
    }
}

/// A checked configuration for one target.
#[derive(Debug)]
pub(crate) struct Plan {
    host: String,
    config: Config,
    /// Per echo request: the configured timeout, or what the last request
    /// leaves of the check's timeout.
    timeout_ms: u32,
}

impl Plan {
    /// Checks the configuration against the target and the check's timeout;
    /// the error is a message for an `error` outcome naming the setting.
    pub(crate) fn new(ctx: &Context, config: Config) -> Result<Plan, String> {
        let host = target_host(&ctx.target)?;
        config_in_range("count", config.count, 1..=1000)?;
        config_in_range("interval_ms", config.interval_ms, 0..=60_000)?;
        config_in_range("payload_size", config.payload_size.into(), 0..=65_000)?;
        if let Some(ttl) = config.ttl {
            config_in_range("ttl", ttl.into(), 1..=255)?;
        }
        // The last request leaves `spread` after the first; its reply must
        // still arrive within the check's timeout.
        let spread = (config.count - 1) * config.interval_ms;
        let timeout_ms = match config.timeout_ms {
            Some(timeout_ms) => {
                config_in_range("timeout_ms", timeout_ms, 1..=600_000)?;
                if u64::from(spread) + u64::from(timeout_ms) > u64::from(ctx.timeout_ms) {
                    return Err(format!(
                        "config: the last of {} echo requests (count) leaves {spread} ms after \
                         the first (interval_ms = {}) and waits up to timeout_ms = {timeout_ms} ms, \
                         past the check's timeout of {} ms",
                        config.count, config.interval_ms, ctx.timeout_ms
                    ));
                }
                timeout_ms
            }
            None => match ctx.timeout_ms.checked_sub(spread) {
                Some(left) if left > 0 => left,
                _ => {
                    return Err(format!(
                        "config: the last of {} echo requests (count) leaves {spread} ms after \
                         the first (interval_ms = {}), which leaves no time for its reply \
                         (timeout_ms) within the check's timeout of {} ms",
                        config.count, config.interval_ms, ctx.timeout_ms
                    ));
                }
            },
        };
        Ok(Plan {
            host,
            config,
            timeout_ms,
        })
    }

    /// The echo requests, all on flow 0, the i-th sent `i × interval_ms` in.
    pub(crate) fn requests(&self) -> Vec<icmp::ProbeRequest> {
        (0..self.config.count)
            .map(|i| icmp::ProbeRequest {
                host: self.host.clone(),
                family: self.config.family.into(),
                method: icmp::Method::Echo,
                ttl: self.config.ttl,
                payload_size: self.config.payload_size,
                flow: 0,
                timeout_ms: self.timeout_ms,
                delay_ms: i * self.config.interval_ms,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(target: &str, timeout_ms: u32) -> Context {
        Context {
            check: "c".into(),
            target: target.into(),
            timeout_ms,
        }
    }

    fn config(json: &str) -> Config {
        serde_json::from_str(json).unwrap()
    }

    fn plan(json: &str, timeout_ms: u32) -> Result<Plan, String> {
        Plan::new(&ctx("192.0.2.1", timeout_ms), config(json))
    }

    #[test]
    fn the_defaults_send_five_requests_200_ms_apart() {
        let requests = plan("{}", 5000).unwrap().requests();
        assert_eq!(requests.len(), 5);
        let delays: Vec<u32> = requests.iter().map(|r| r.delay_ms).collect();
        assert_eq!(delays, [0, 200, 400, 600, 800]);
        for r in &requests {
            assert_eq!(r.host, "192.0.2.1");
            assert_eq!(r.method, icmp::Method::Echo);
            assert_eq!(r.family, icmp::Family::Any);
            assert_eq!((r.ttl, r.payload_size, r.flow), (None, 56, 0));
            // What the last request leaves of the check's timeout.
            assert_eq!(r.timeout_ms, 4200);
        }
    }

    #[test]
    fn settings_reach_the_requests() {
        let json = r#"{"count":3,"interval_ms":0,"payload_size":1200,"ttl":7,
                       "timeout_ms":900,"family":"ipv6"}"#;
        let requests = plan(json, 1000).unwrap().requests();
        assert_eq!(requests.len(), 3);
        for r in &requests {
            assert_eq!(r.delay_ms, 0);
            assert_eq!(r.family, icmp::Family::Ipv6);
            assert_eq!((r.ttl, r.payload_size, r.timeout_ms), (Some(7), 1200, 900));
        }
    }

    #[test]
    fn a_spread_past_the_check_timeout_is_refused_naming_the_settings() {
        // 4 × 200 ms + 1000 ms > 1500 ms.
        let error = plan(r#"{"timeout_ms":1000}"#, 1500).unwrap_err();
        for word in ["count", "interval_ms", "timeout_ms", "800 ms", "1500 ms"] {
            assert!(error.contains(word), "{error}");
        }
        // Exactly fitting is fine.
        assert_eq!(
            plan(r#"{"timeout_ms":700}"#, 1500).unwrap().requests()[4].timeout_ms,
            700
        );
        // Without timeout_ms, the last request must leave some time.
        let error = plan(r#"{"count":11,"interval_ms":100}"#, 1000).unwrap_err();
        for word in ["count", "interval_ms", "timeout_ms", "1000 ms"] {
            assert!(error.contains(word), "{error}");
        }
        assert_eq!(
            plan(r#"{"count":11,"interval_ms":100}"#, 1001)
                .unwrap()
                .timeout_ms,
            1
        );
        // The largest spread does not overflow.
        let error = plan(r#"{"count":1000,"interval_ms":60000}"#, 10_000).unwrap_err();
        assert!(error.contains("59940000 ms"), "{error}");
    }

    #[test]
    fn out_of_range_settings_are_refused_by_name() {
        for (json, field) in [
            (r#"{"count":0}"#, "count"),
            (r#"{"count":1001}"#, "count"),
            (r#"{"interval_ms":60001}"#, "interval_ms"),
            (r#"{"payload_size":65001}"#, "payload_size"),
            (r#"{"ttl":0}"#, "ttl"),
            (r#"{"timeout_ms":0}"#, "timeout_ms"),
        ] {
            let error = plan(json, 10_000).unwrap_err();
            assert!(
                error.starts_with(&format!("config: {field} must be")),
                "{error}"
            );
        }
        let error = serde_json::from_str::<Config>(r#"{"interval_ms":-1}"#).unwrap_err();
        assert!(error.to_string().contains("-1"), "{error}");
        assert!(serde_json::from_str::<Config>(r#"{"family":"ipx"}"#).is_err());
        assert!(serde_json::from_str::<Config>(r#"{"size":1}"#).is_err());
    }

    #[test]
    fn targets_are_hosts_with_optional_brackets() {
        for (target, host) in [
            ("example.com", "example.com"),
            (" 192.0.2.1 ", "192.0.2.1"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
        ] {
            assert_eq!(target_host(target).as_deref(), Ok(host), "{target}");
        }
        for target in ["", "example.com:80", "[2001:db8::1]:53", "[::1"] {
            assert!(target_host(target).is_err(), "{target}");
        }
        assert!(
            Plan::new(&ctx("host:1", 1000), config("{}"))
                .unwrap_err()
                .contains("has a port")
        );
    }
}
