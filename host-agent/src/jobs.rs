//! Checks → scheduler jobs, one way for the local `[[check]]`s
//! ([`crate::catalog`]) and the checks a server assigns ([`crate::managed`]):
//! the interval bounded, grants within what the plugin requests, the
//! configuration valid for the plugin's schema, one scope per target, the
//! run limits, and one jitter rule ([`jitter`]).
//!
//! Everything that can be refused is refused by [`JobSpec::plan`], from the
//! manifest alone, before the plugin is compiled.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use vantage_protocol::manifest::{Capability, Manifest};

use crate::caps::Scope;
use crate::config::{LimitsSection, MAX_INTERVAL, MIN_INTERVAL};
use crate::plugin::CompiledPlugin;
use crate::run::{Limits, RunRequest};
use crate::scheduler::Job;

/// One check, from either source, as the job builder takes it.
#[derive(Debug, Clone)]
pub(crate) struct JobSpec<'a> {
    pub(crate) name: &'a str,
    pub(crate) targets: Vec<String>,
    /// The plugin's configuration.
    pub(crate) config: &'a serde_json::Value,
    /// The capabilities granted; `None` grants what the plugin requests.
    pub(crate) grants: Option<&'a BTreeSet<Capability>>,
    /// Hosts, addresses or CIDRs the check may reach besides its target.
    pub(crate) allow: &'a [String],
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    /// `None` takes the default of [`jitter`].
    pub(crate) jitter: Option<Duration>,
    pub(crate) limits: Limits,
}

/// Why a check cannot become jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckProblem {
    /// A field of the check, and what is wrong with it.
    Field(&'static str, String),
    /// The configuration does not fit the schema of the plugin (its id).
    Config(String, Vec<String>),
}

/// A check accepted for a plugin: its run requests, one per target.
#[derive(Debug, Clone)]
pub(crate) struct JobPlan {
    requests: Vec<RunRequest>,
    interval: Duration,
    jitter: Duration,
}

impl JobSpec<'_> {
    /// Checks the spec against the plugin's manifest and builds its run
    /// requests.
    pub(crate) fn plan(&self, manifest: &Manifest) -> Result<JobPlan, CheckProblem> {
        let field = |name, problem| CheckProblem::Field(name, problem);
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&self.interval) {
            return Err(field(
                "interval",
                format!(
                    "{} is outside 100ms–24h",
                    humantime::format_duration(self.interval)
                ),
            ));
        }
        let requested = &manifest.capabilities;
        let grants = match self.grants {
            Some(grants) => {
                if let Some(extra) = grants.iter().find(|g| !requested.contains(g)) {
                    return Err(field(
                        "grants",
                        format!("`{extra}` is not requested by plugin {}", manifest.id()),
                    ));
                }
                grants.clone()
            }
            None => requested.clone(),
        };
        manifest
            .validate_config(self.config)
            .map_err(|problems| CheckProblem::Config(manifest.id(), problems))?;
        let check: Arc<str> = self.name.into();
        let config: Arc<str> = self.config.to_string().into();
        let requests = self
            .targets
            .iter()
            .map(|target| {
                let scope = Scope::new(target, self.allow).map_err(|e| field("allow", e))?;
                Ok(RunRequest {
                    check: check.clone(),
                    target: target.clone(),
                    config: config.clone(),
                    timeout: self.timeout,
                    grants: grants.clone(),
                    scope: Arc::new(scope),
                    limits: self.limits,
                })
            })
            .collect::<Result<_, CheckProblem>>()?;
        Ok(JobPlan {
            requests,
            interval: self.interval,
            jitter: jitter(self.interval, self.jitter),
        })
    }
}

impl JobPlan {
    /// The jobs of the plan, run by `plugin` (the one the plan was made for).
    pub(crate) fn jobs(self, plugin: &Arc<CompiledPlugin>) -> Vec<Job> {
        self.requests
            .into_iter()
            .map(|request| Job {
                plugin: plugin.clone(),
                request,
                interval: self.interval,
                jitter: self.jitter,
            })
            .collect()
    }
}

/// How late after its slot a run may start: what was configured, else a
/// tenth of the interval, at most 1 s. Checks that share an interval spread
/// over the start of their slots rather than fire at once; the cap keeps a
/// long interval's runs close to their slots.
pub(crate) fn jitter(interval: Duration, configured: Option<Duration>) -> Duration {
    configured.unwrap_or((interval / 10).min(Duration::from_secs(1)))
}

/// A run's limits from the `[limits]` defaults and a check's own memory cap.
pub(crate) fn limits(section: &LimitsSection, memory_mib: Option<u32>) -> Limits {
    Limits {
        memory_bytes: (memory_mib.unwrap_or(section.memory_mib) as usize) << 20,
        output_bytes: (section.output_kib as usize) << 10,
        host_calls: section.host_calls,
        log_lines: section.log_lines,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn manifest() -> Manifest {
        Manifest::from_json(
            br#"{"name": "t", "version": "1.0.0", "description": "t",
                 "capabilities": ["tcp", "dns"],
                 "config_schema": {"type": "object", "properties": {"port": {"type": "integer"}},
                                   "additionalProperties": false},
                 "metrics": []}"#,
        )
        .unwrap()
    }

    fn spec<'a>(
        config: &'a serde_json::Value,
        grants: Option<&'a BTreeSet<Capability>>,
    ) -> JobSpec<'a> {
        JobSpec {
            name: "c",
            targets: vec!["127.0.0.1:80".into(), "127.0.0.2:80".into()],
            config,
            grants,
            allow: &[],
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            jitter: None,
            limits: limits(&LimitsSection::default(), Some(8)),
        }
    }

    #[test]
    fn a_check_plans_one_request_per_target_with_the_plugins_grants() {
        let config = json!({"port": 80});
        let plan = spec(&config, None).plan(&manifest()).unwrap();
        assert_eq!(plan.requests.len(), 2);
        let r = &plan.requests[1];
        assert_eq!(r.target, "127.0.0.2:80");
        assert_eq!(r.grants, BTreeSet::from([Capability::Tcp, Capability::Dns]));
        assert!(r.scope.permits("127.0.0.2") && !r.scope.permits("127.0.0.1"));
        assert_eq!(&*r.config, r#"{"port":80}"#);
        assert_eq!(r.limits.memory_bytes, 8 << 20);
        assert_eq!(plan.jitter, Duration::from_secs(1));
    }

    #[test]
    fn what_the_plugin_does_not_allow_is_refused_by_field() {
        let config = json!({});
        let http = BTreeSet::from([Capability::Http]);
        assert!(matches!(
            spec(&config, Some(&http)).plan(&manifest()),
            Err(CheckProblem::Field("grants", m)) if m == "`http` is not requested by plugin t@1.0.0"
        ));
        let bad = json!({"port": "eighty"});
        assert!(matches!(
            spec(&bad, None).plan(&manifest()),
            Err(CheckProblem::Config(id, _)) if id == "t@1.0.0"
        ));
        let mut fast = spec(&config, None);
        fast.interval = Duration::from_millis(5);
        assert!(matches!(
            fast.plan(&manifest()),
            Err(CheckProblem::Field("interval", _))
        ));
        let allow = ["10.0.0.0/99".to_owned()];
        let mut wide = spec(&config, None);
        wide.allow = &allow;
        assert!(matches!(
            wide.plan(&manifest()),
            Err(CheckProblem::Field("allow", _))
        ));
    }

    #[test]
    fn jitter_is_a_tenth_of_the_interval_at_most_a_second_unless_configured() {
        let s = Duration::from_secs;
        assert_eq!(
            jitter(Duration::from_millis(500), None),
            Duration::from_millis(50)
        );
        assert_eq!(jitter(s(3600), None), s(1));
        assert_eq!(jitter(s(3600), Some(s(30))), s(30));
    }
}
