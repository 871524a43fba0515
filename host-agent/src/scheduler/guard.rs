//! The guard around one run: a panic inside it (an agent bug) becomes an
//! `error` result of that check alone, logged and counted.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;

use futures_util::FutureExt as _;
use vantage_protocol::result::{CheckResult, Status};

use super::SchedulerStats;

/// Who ran what, for the result of a run that panicked.
pub(super) struct PanicMeta<'a> {
    pub(super) agent: &'a str,
    pub(super) check: &'a str,
    pub(super) target: &'a str,
    pub(super) plugin: &'a str,
    pub(super) version: String,
}

/// Awaits one run; a panic inside it becomes an `error` result for that
/// check alone, logged and counted, instead of ending the job's task.
pub(super) async fn guarded(
    meta: &PanicMeta<'_>,
    stats: &SchedulerStats,
    run: impl std::future::Future<Output = CheckResult>,
) -> CheckResult {
    let started_at = chrono::Utc::now();
    let start = std::time::Instant::now();
    match AssertUnwindSafe(run).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            stats.panicked.fetch_add(1, Ordering::Relaxed);
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            let what = vantage_protocol::text::clip(what, 1024);
            tracing::error!(
                check = meta.check,
                target = meta.target,
                panic = what,
                "The agent failed while running a check (a bug); the check runs again at its next slot."
            );
            CheckResult {
                id: uuid::Uuid::now_v7(),
                agent: meta.agent.to_owned(),
                check: meta.check.to_owned(),
                target: meta.target.to_owned(),
                plugin: meta.plugin.to_owned(),
                plugin_version: meta.version.clone(),
                status: Status::Error,
                started_at,
                duration: start.elapsed().as_secs_f64(),
                message: Some(format!(
                    "the agent failed while running this check (a bug, please report it): {what}"
                )),
                samples: Vec::new(),
                distributions: Vec::new(),
                events: Vec::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> PanicMeta<'static> {
        PanicMeta {
            agent: "a",
            check: "c",
            target: "t",
            plugin: "p",
            version: "1.0.0".into(),
        }
    }

    #[tokio::test]
    async fn a_run_that_panics_becomes_an_error_result_and_is_counted() {
        let stats = SchedulerStats::default();
        // A message with a multi-byte character at every byte offset.
        let text = "€".repeat(2000);
        let result = guarded(&meta(), &stats, async move {
            if text.len() > 1 {
                panic!("{text}");
            }
            unreachable!()
        })
        .await;
        assert_eq!(result.status, Status::Error);
        assert_eq!((result.check.as_str(), result.target.as_str()), ("c", "t"));
        assert!(vantage_protocol::rules::check_result(&result).is_empty());
        let message = result.message.unwrap();
        assert!(message.starts_with("the agent failed while running this check"));
        assert!(message.contains("€€€"), "{message}");
        assert_eq!(stats.panicked.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_run_that_returns_is_passed_through_uncounted() {
        let stats = SchedulerStats::default();
        let result = CheckResult {
            id: uuid::Uuid::now_v7(),
            agent: "a".into(),
            check: "c".into(),
            target: "t".into(),
            plugin: "p".into(),
            plugin_version: "1.0.0".into(),
            status: Status::Ok,
            started_at: chrono::Utc::now(),
            duration: 0.0,
            message: None,
            samples: Vec::new(),
            distributions: Vec::new(),
            events: Vec::new(),
        };
        let expected = result.clone();
        let got = guarded(&meta(), &stats, async move { result }).await;
        assert_eq!(got, expected);
        assert_eq!(stats.panicked.load(Ordering::Relaxed), 0);
    }
}
