//! The plugin host: one wasmtime `Engine` and `Linker` for the whole agent,
//! one epoch ticker, the shared capability services, and the compiler that
//! turns a component's bytes into a ready-to-instantiate one. Which bytes
//! may be compiled is [`crate::plugin`]'s business: only a verified plugin
//! gets here.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use vantage_protocol::package::PackageDigest;

use crate::bindings::PluginPre;
pub use crate::caps::logs::JournalOptions;
use crate::caps::logs::LogSources;
use crate::caps::{Services, state::StateSlots, system::SystemStats, tls::TlsConfigs};
use crate::epoch::{Awake, EpochTicker};
use crate::icmp::{IcmpOptions, IcmpService};
use crate::precompiled::ArtifactCache;
use crate::run::{self, RunState};

/// How to build a [`PluginHost`].
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Where precompiled artifacts are kept; `None` compiles on every start.
    pub cache_dir: Option<PathBuf>,
    /// Instances that may exist at once (the pooling allocator's size); the
    /// scheduler's concurrency must not exceed it.
    pub max_instances: u32,
    /// The largest memory any run may be allowed (per-run limits are lower).
    pub max_memory_bytes: usize,
    /// PEM files of extra CAs the `http` capability trusts.
    pub extra_ca_files: Vec<PathBuf>,
    /// The ICMP engine's sockets and pacing.
    pub icmp: IcmpOptions,
    /// Where checks' state slots are kept across restarts; `None` keeps
    /// them in memory only.
    pub state_dir: Option<PathBuf>,
    /// Where the `logs` capability's positions are kept across restarts;
    /// `None` keeps them in memory only.
    pub log_positions_dir: Option<PathBuf>,
    /// Where the `logs` capability reads the journal.
    pub journal: JournalOptions,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            cache_dir: None,
            max_instances: 128,
            max_memory_bytes: 256 << 20,
            extra_ca_files: Vec::new(),
            icmp: IcmpOptions::default(),
            state_dir: None,
            log_positions_dir: None,
            journal: JournalOptions::default(),
        }
    }
}

/// The agent's plugin host.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<RunState>,
    services: Services,
    cache: Option<ArtifactCache>,
    ticker: EpochTicker,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    /// Builds the engine (pooling allocator, falling back to on-demand
    /// allocation where the address space cannot be reserved), the linker
    /// with WASI and every capability, and starts the epoch ticker.
    pub fn new(options: &HostOptions) -> anyhow::Result<Self> {
        let engine = match Engine::new(&engine_config(options, true)) {
            Ok(engine) => engine,
            Err(e) => {
                tracing::warn!(error = %e, "Pooling allocator unavailable; using on-demand allocation.");
                Engine::new(&engine_config(options, false))?
            }
        };
        let mut linker = Linker::new(&engine);
        run::link(&mut linker)?;
        let services = Services {
            tls: Arc::new(TlsConfigs::new(&options.extra_ca_files)?),
            system: Arc::new(SystemStats::default()),
            icmp: Arc::new(IcmpService::new(options.icmp)),
            state: Arc::new(match &options.state_dir {
                Some(dir) => StateSlots::persisted(dir.clone()),
                None => StateSlots::default(),
            }),
            logs: Arc::new(LogSources {
                positions: match &options.log_positions_dir {
                    Some(dir) => StateSlots::persisted(dir.clone()),
                    None => StateSlots::default(),
                },
                journal: options.journal.clone(),
            }),
        };
        let cache = options.cache_dir.as_ref().and_then(|dir| {
            ArtifactCache::new(dir.clone(), &engine)
                .inspect_err(|e| {
                    tracing::warn!(error = %format!("{e:#}"), "No precompiled-plugin cache: plugins compile on every start.");
                })
                .ok()
        });
        let ticker = EpochTicker::start(engine.clone());
        Ok(PluginHost {
            engine,
            linker,
            services,
            cache,
            ticker,
        })
    }

    /// Keeps the epoch advancing for a run: its deadline and yields.
    pub(crate) fn epoch_awake(&self) -> Awake<'_> {
        self.ticker.awake()
    }

    pub(crate) fn services(&self) -> &Services {
        &self.services
    }

    /// The agent-wide ICMP engine.
    pub fn icmp(&self) -> &IcmpService {
        &self.services.icmp
    }

    /// Compiles a plugin's component (or loads its precompiled artifact)
    /// and links it; `id` names the plugin in errors. Called by
    /// [`VerifiedPlugin::compile`](crate::plugin::VerifiedPlugin::compile)
    /// only.
    pub(crate) fn prepare(
        &self,
        id: &str,
        digest: &PackageDigest,
        bytes: &[u8],
    ) -> anyhow::Result<PluginPre<RunState>> {
        let component = match &self.cache {
            Some(cache) => cache.load_or_compile(digest, bytes)?,
            None => Component::new(&self.engine, bytes)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("compiling {id}"))?,
        };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!("linking {id}: it imports something the host does not offer")
            })?;
        PluginPre::new(pre)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{id} does not export the vantage:plugin/probe interface"))
    }
}

fn engine_config(options: &HostOptions, pooling: bool) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    if pooling {
        let n = options.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        // Components from other languages carry several core modules
        // (adapters, runtimes): a componentize-py component instantiates
        // 14, hence the per-component headroom.
        pool.total_component_instances(n)
            .total_core_instances(n * 16)
            .total_memories(n * 4)
            .total_tables(n * 8)
            .total_stacks(n)
            .max_core_instances_per_component(64)
            .max_memories_per_component(16)
            .max_tables_per_component(64)
            .max_component_instance_size(4 << 20)
            .max_core_instance_size(4 << 20)
            .max_memory_size(options.max_memory_bytes)
            // Reset a reused slot by clearing the pages a run dirtied rather
            // than handing them back to the kernel: the next run of a
            // plugin then does not fault its memory in again (see
            // docs/benchmarks.md, "Instantiate + call").
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}
