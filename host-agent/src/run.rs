//! One run of one plugin against one target: a fresh `Store` and instance,
//! bounded in time (epoch interruption plus an event-loop timeout), memory
//! and host calls. Whatever the plugin does, the run ends with an outcome.
//!
//! The run's state ([`RunState`]) is composed here from WASI and one state
//! struct per capability; [`link`] adds each capability to the linker with
//! a getter for its field. The capabilities know nothing of the run.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use vantage_protocol::manifest::Capability;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{self, CheckContext, PluginPre};
use crate::caps::{
    self, Access, Bounds, BudgetExhausted, Scope, Services, clock::ClockCap, dns::DnsCap,
    events::EventsCap, http::HttpCap, icmp::IcmpCap, log::LogCap, logs::LogsCap, state::SlotKey,
    state::StateCap, system::SystemCap, tcp::TcpCap, udp::UdpCap,
};

/// What a run that returned gave: its outcome and the events it emitted.
#[derive(Debug)]
pub struct RunOutput {
    pub outcome: bindings::Outcome,
    pub events: Vec<bindings::Event>,
    /// Events emitted past the per-run limit.
    pub events_dropped: u32,
}

impl From<bindings::Outcome> for RunOutput {
    /// An outcome without events.
    fn from(outcome: bindings::Outcome) -> Self {
        RunOutput {
            outcome,
            events: Vec::new(),
            events_dropped: 0,
        }
    }
}

/// Bounds of one run, besides its timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// The largest outcome (message, samples and labels) kept.
    pub output_bytes: usize,
    /// Host operations per run (each request of a batch counts).
    pub host_calls: u32,
    /// Log lines kept per run; the rest are counted and dropped.
    pub log_lines: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            output_bytes: 1 << 20,
            host_calls: 10_000,
            log_lines: 100,
        }
    }
}

/// Everything a run needs besides the plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    pub check: Arc<str>,
    pub target: String,
    /// The plugin configuration as JSON, already validated against the schema.
    pub config: Arc<str>,
    pub timeout: Duration,
    /// The capabilities this run holds: requested by the manifest and granted.
    pub grants: BTreeSet<Capability>,
    pub scope: Arc<Scope>,
    pub limits: Limits,
}

/// Why a run produced no outcome of its own.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunFailure {
    #[error("run exceeded its deadline of {}", humantime::format_duration(*.0))]
    Deadline(Duration),
    #[error("plugin exceeded its memory limit of {} MiB", .0 >> 20)]
    Memory(usize),
    #[error("{0}")]
    Budget(String),
    #[error("plugin trapped: {0}")]
    Trap(String),
    #[error("plugin could not be instantiated: {0}")]
    Instantiate(String),
}

/// The store data of one run: WASI (empty) and every capability's state.
pub struct RunState {
    wasi: WasiCtx,
    stderr: MemoryOutputPipe,
    table: ResourceTable,
    limiter: MemoryLimiter,
    log: LogCap,
    clock: ClockCap,
    tcp: TcpCap,
    udp: UdpCap,
    dns: DnsCap,
    http: HttpCap,
    system: SystemCap,
    icmp: IcmpCap,
    state: StateCap,
    logs: LogsCap,
    events: EventsCap,
}

/// Adds WASI and every capability interface to the linker.
pub(crate) fn link(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    caps::log::add_to_linker(linker, |s| &mut s.log)?;
    caps::clock::add_to_linker(linker, |s| &mut s.clock)?;
    caps::tcp::add_to_linker(linker, |s| &mut s.tcp)?;
    caps::udp::add_to_linker(linker, |s| &mut s.udp)?;
    caps::dns::add_to_linker(linker, |s| &mut s.dns)?;
    caps::http::add_to_linker(linker, |s| &mut s.http)?;
    caps::system::add_to_linker(linker, |s| &mut s.system)?;
    caps::icmp::add_to_linker(linker, |s| &mut s.icmp)?;
    caps::state::add_to_linker(linker, |s| &mut s.state)?;
    caps::logs::add_to_linker(linker, |s| &mut s.logs)?;
    caps::events::add_to_linker(linker, |s| &mut s.events)?;
    Ok(())
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// One memory cap for the whole instance: a component may hold several
/// linear memories (one per core module), and their sizes add up. wasmtime
/// asks before creating each memory (from 0) and before each growth.
struct MemoryLimiter {
    max: usize,
    /// Bytes of every linear memory of the instance together.
    total: usize,
    refused: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.max {
            self.refused = true;
            return Ok(false);
        }
        self.total = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// How much of a plugin's stderr a run keeps (more is refused to the plugin).
const STDERR_KEPT: usize = 64 << 10;

/// Marks the trap raised when the epoch deadline passes.
#[derive(Debug, thiserror::Error)]
#[error("deadline exceeded")]
struct DeadlineReached;

impl RunState {
    fn new(services: &Services, plugin: &str, request: &RunRequest, deadline: Instant) -> Self {
        let bounds = Bounds::new(
            request.limits.host_calls,
            request.scope.clone(),
            deadline,
            request.limits.memory_bytes,
        );
        let access = |capability| Access::new(capability, &request.grants, &bounds);
        let key = SlotKey {
            plugin: plugin.to_owned(),
            check: request.check.clone(),
            target: request.target.clone(),
        };
        // Kept to explain a trap (a Rust plugin's panic message lands here).
        let stderr = MemoryOutputPipe::new(STDERR_KEPT);
        RunState {
            // WASI with an empty context: no files, no environment, no
            // sockets, no arguments; stdout goes nowhere.
            wasi: WasiCtx::builder().stderr(stderr.clone()).build(),
            stderr,
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                max: request.limits.memory_bytes,
                total: 0,
                refused: false,
            },
            log: LogCap::new(request.check.clone(), &bounds, request.limits.log_lines),
            clock: ClockCap::new(&bounds),
            tcp: TcpCap::new(access(Capability::Tcp)),
            udp: UdpCap::new(access(Capability::Udp)),
            dns: DnsCap::new(access(Capability::Dns)),
            http: HttpCap::new(access(Capability::Http), services.tls.clone()),
            system: SystemCap::new(access(Capability::System), services.system.clone()),
            icmp: IcmpCap::new(access(Capability::Icmp), services.icmp.clone()),
            state: StateCap::new(services.state.clone(), key.clone(), &bounds),
            logs: LogsCap::new(access(Capability::Logs), services.logs.clone(), key),
            events: EventsCap::new(&bounds),
        }
    }
}

/// Runs a plugin (`plugin` names it) once: instantiate `pre`, call `run`,
/// tear down.
pub(crate) async fn execute(
    pre: &PluginPre<RunState>,
    plugin: &str,
    services: &Services,
    request: &RunRequest,
) -> Result<RunOutput, RunFailure> {
    let deadline = Instant::now() + request.timeout;
    let mut store = Store::new(
        pre.instance_pre().engine(),
        RunState::new(services, plugin, request, deadline),
    );
    store.limiter(|s| &mut s.limiter);
    // Check the deadline at every epoch tick; yield to the event loop in
    // between so that a busy plugin never holds a worker thread for long.
    store.set_epoch_deadline(1);
    let std_deadline = deadline.into_std();
    store.epoch_deadline_callback(move |_| {
        if std::time::Instant::now() >= std_deadline {
            Err(wasmtime::Error::new(DeadlineReached))
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    let context = CheckContext {
        check: request.check.to_string(),
        target: request.target.clone(),
        config: request.config.to_string(),
        timeout_ms: u32::try_from(request.timeout.as_millis()).unwrap_or(u32::MAX),
    };
    let call = async {
        let instance = match pre.instantiate_async(&mut store).await {
            Ok(instance) => instance,
            Err(e) => return Err((true, e)),
        };
        instance
            .vantage_plugin_probe()
            .call_run(&mut store, &context)
            .await
            .map_err(|e| (false, e))
    };
    // Host calls (network waits, sleeps) are bounded by the same deadline on
    // the event loop; a small grace lets the epoch check report first.
    let result = tokio::time::timeout_at(deadline + Duration::from_millis(50), call).await;
    match result {
        Err(_) => Err(RunFailure::Deadline(request.timeout)),
        Ok(Ok(outcome)) => {
            let data = store.data_mut();
            // The run returned: what it read of its logs counts as read.
            data.logs.commit();
            let (events, events_dropped) = data.events.take();
            Ok(RunOutput {
                outcome,
                events,
                events_dropped,
            })
        }
        Ok(Err((instantiating, e))) => {
            let data = store.data();
            Err(
                match classify(e, request, data.limiter.refused, &data.stderr) {
                    RunFailure::Trap(text) if instantiating => RunFailure::Instantiate(text),
                    failure => failure,
                },
            )
        }
    }
}

fn classify(
    e: wasmtime::Error,
    request: &RunRequest,
    memory_refused: bool,
    stderr: &MemoryOutputPipe,
) -> RunFailure {
    if e.downcast_ref::<DeadlineReached>().is_some() {
        RunFailure::Deadline(request.timeout)
    } else if let Some(b) = e.downcast_ref::<BudgetExhausted>() {
        RunFailure::Budget(b.to_string())
    } else if memory_refused {
        RunFailure::Memory(request.limits.memory_bytes)
    } else {
        let mut text = match e.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            None => format!("{e:#}"),
        };
        // The plugin's last words, such as a Rust panic's message, without
        // the backtrace hint that follows them.
        let stderr = stderr.contents();
        let stderr = String::from_utf8_lossy(&stderr);
        let lines: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note: "))
            .collect();
        if !lines.is_empty() {
            let tail = lines[lines.len().saturating_sub(3)..].join(" ");
            text = format!("{text} (stderr: {tail})");
        }
        RunFailure::Trap(vantage_protocol::text::clip(text, 2048))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn the_memory_cap_covers_every_memory_of_the_instance_together() {
        let mut limiter = MemoryLimiter {
            max: 64 * MIB,
            total: 0,
            refused: false,
        };
        // Two core modules' memories, created and grown.
        assert!(limiter.memory_growing(0, 16 * MIB, None).unwrap());
        assert!(limiter.memory_growing(0, 16 * MIB, None).unwrap());
        assert!(limiter.memory_growing(16 * MIB, 40 * MIB, None).unwrap());
        assert_eq!(limiter.total, 56 * MIB);
        // Each below the cap alone, but not together.
        assert!(!limiter.memory_growing(16 * MIB, 30 * MIB, None).unwrap());
        assert!(limiter.refused);
        assert_eq!(limiter.total, 56 * MIB, "a refused growth changes nothing");
        assert!(limiter.memory_growing(16 * MIB, 24 * MIB, None).unwrap());
        assert_eq!(limiter.total, 64 * MIB);
    }
}
