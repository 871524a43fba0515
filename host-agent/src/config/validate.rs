//! The value checks [`AgentConfig::load`] makes after parsing; each error
//! names its field. Checks against plugins come later ([`crate::jobs`]).

use std::collections::HashSet;
use std::time::Duration;

use vantage_protocol::rules;

use super::{AgentConfig, MAX_INTERVAL, MIN_INTERVAL, parse_plugin_ref};
use crate::caps::Scope;

impl AgentConfig {
    pub(super) fn check(&self) -> Result<(), String> {
        if self.agent.advertise.len() > 64 {
            return Err("agent.advertise: at most 64 addresses".into());
        }
        if self.agent.max_concurrent_runs == 0 || self.agent.max_concurrent_runs > 4096 {
            return Err("agent.max_concurrent_runs: must be between 1 and 4096".into());
        }
        if !(1..=4096).contains(&self.limits.memory_mib) {
            return Err("limits.memory_mib: must be between 1 and 4096".into());
        }
        let o = &self.outbox;
        if o.segment_bytes < 1024 || o.max_bytes < 2 * o.segment_bytes {
            return Err(
                "outbox: segment_bytes must be at least 1KiB and max_bytes at least two segments"
                    .into(),
            );
        }
        if !(1..=5000).contains(&o.batch_results) {
            return Err("outbox.batch_results: must be between 1 and 5000".into());
        }
        if self.server.heartbeat < Duration::from_millis(100)
            || self.server.max_backoff < Duration::from_millis(100)
        {
            return Err("server: heartbeat and max_backoff must be at least 100ms".into());
        }
        self.update.validate()?;
        let max_wait = vantage_protocol::config::MAX_DESIRED_WAIT_SECS;
        if self.server.config_wait > Duration::from_secs(max_wait) {
            return Err(format!(
                "server.config_wait: at most {max_wait}s (the server waits no longer)"
            ));
        }
        if self.limits.output_kib == 0 || self.limits.host_calls == 0 {
            return Err("limits: output_kib and host_calls must be at least 1".into());
        }
        for (i, id) in self.trust.revoked.iter().enumerate() {
            if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "trust.revoked[{i}]: `{id}` is not a key id (16 hex digits)"
                ));
            }
        }
        let mut names = HashSet::new();
        for (i, c) in self.checks.iter().enumerate() {
            let at = |field: &str| format!("check[{i}] `{}`.{field}", c.name);
            if c.name.trim().is_empty() {
                return Err(format!("check[{i}].name: must not be empty"));
            }
            // Every result carries the check's name and target: they must
            // pass the server's rules too.
            rules::check_text(&c.name, rules::MAX_CHECK_NAME)
                .map_err(|e| format!("check[{i}].name: {e}"))?;
            for (j, t) in c.targets.iter().enumerate() {
                rules::check_text(t, rules::MAX_TARGET)
                    .map_err(|e| format!("{}[{j}]: {e}", at("targets")))?;
            }
            if !names.insert(c.name.as_str()) {
                return Err(format!(
                    "{}: a check of that name is defined twice",
                    at("name")
                ));
            }
            if c.targets.is_empty() || c.targets.iter().any(|t| t.trim().is_empty()) {
                return Err(format!(
                    "{}: at least one non-empty target is needed",
                    at("targets")
                ));
            }
            if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&c.interval) {
                return Err(format!(
                    "{}: {} is outside 100ms–24h",
                    at("interval"),
                    humantime::format_duration(c.interval)
                ));
            }
            if let Some(t) = c.timeout
                && (t.is_zero() || t > c.interval)
            {
                return Err(format!(
                    "{}: {} must be more than 0 and at most the interval ({})",
                    at("timeout"),
                    humantime::format_duration(t),
                    humantime::format_duration(c.interval)
                ));
            }
            if c.jitter.is_some_and(|j| j >= c.interval) {
                return Err(format!(
                    "{}: must be shorter than the interval",
                    at("jitter")
                ));
            }
            if c.memory_mib.is_some_and(|m| !(1..=4096).contains(&m)) {
                return Err(format!("{}: must be between 1 and 4096", at("memory_mib")));
            }
            parse_plugin_ref(&c.plugin).map_err(|e| format!("{}: {e}", at("plugin")))?;
            for target in &c.targets {
                Scope::new(target, &c.allow).map_err(|e| format!("{}: {e}", at("allow")))?;
            }
        }
        Ok(())
    }
}
