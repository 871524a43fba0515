//! Instantiate + call of the trivial plugin (`misbehave`, mode `ok`) against
//! the same work done natively, and a breakdown of where a run's time goes.
//!
//! `cargo bench -p vantage-agent --bench instantiate` (after
//! `cargo xtask build-plugins`); the medians and ratios are printed at the end
//! and recorded in `docs/benchmarks.md`.
//!
//! - `run/wasm`: `CompiledPlugin::run`, the path every scheduled run takes:
//!   a fresh `Store` with the run's state, instantiate from the pooling
//!   allocator, call `run`, normalise.
//! - `run/native`: the same outcome built by Rust code (parse the config,
//!   build the outcome) and normalised the same way.
//! - `run/wasm-uncached`: `run/wasm` with the component compiled in memory
//!   instead of loaded from the artifact cache.
//! - `parts/*`: a bare engine configured like the agent's (pooling, epoch
//!   interruption, WASI linked, capability imports as traps) to separate the
//!   engine's share from the agent's own per-run work; the `keep-resident`
//!   variant resets pool slots with `memset` instead of `madvise`.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group};
use serde::Deserialize;
use tokio::runtime::Runtime;
use vantage_agent::bindings::{CheckContext, Outcome, PluginPre, Sample, Status, Unit};
use vantage_agent::caps::Scope;
use vantage_agent::host::{HostOptions, PluginHost};
use vantage_agent::normalise::{RunMeta, normalise};
use vantage_agent::plugin::{CompiledPlugin, VerifiedPlugin};
use vantage_agent::run::{Limits, RunRequest};
use vantage_protocol::keys::PublicKey;
use vantage_protocol::manifest::Manifest;
use vantage_protocol::package::{Package, TrustStore};
use vantage_protocol::result::CheckResult;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
    UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

const CONFIG: &str = r#"{"mode":"ok"}"#;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn plugin_dir() -> PathBuf {
    let dir = std::env::var_os("VANTAGE_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("plugins"));
    assert!(
        dir.join("misbehave.vpkg").is_file(),
        "no plugin packages in {}: run `cargo xtask build-plugins`",
        dir.display()
    );
    dir
}

fn misbehave() -> Package {
    Package::from_bytes(&std::fs::read(plugin_dir().join("misbehave.vpkg")).unwrap()).unwrap()
}

fn verified(package: Package) -> VerifiedPlugin {
    let key = std::fs::read_to_string(plugin_dir().join("dev.pub")).unwrap();
    let mut trust = TrustStore::new();
    trust.add(PublicKey::from_file(&key).unwrap());
    VerifiedPlugin::verify(package, &trust).unwrap()
}

fn request(plugin: &CompiledPlugin) -> RunRequest {
    RunRequest {
        check: "bench".into(),
        target: "127.0.0.1:9".into(),
        config: CONFIG.into(),
        timeout: Duration::from_secs(5),
        grants: plugin.manifest().capabilities.clone(),
        scope: Arc::new(Scope::new("127.0.0.1:9", &[]).unwrap()),
        limits: Limits::default(),
    }
}

/// What the plugin does, in Rust: parse the config, build the outcome.
fn native_probe(config: &str) -> Outcome {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[serde(default)]
        mode: String,
    }
    let config: Config = serde_json::from_str(config).expect("the config parses");
    assert_eq!(config.mode, "ok");
    Outcome {
        status: Status::Ok,
        message: None,
        samples: vec![Sample {
            metric: "value".into(),
            value: 1.0,
            unit: Unit::Count,
            labels: Vec::new(),
        }],
    }
}

/// `CompiledPlugin::run` with the plugin replaced by [`native_probe`].
fn native_run(manifest: &Manifest, request: &RunRequest) -> CheckResult {
    let started_at = Utc::now();
    let start = Instant::now();
    let outcome = native_probe(&request.config);
    let meta = RunMeta {
        agent: "bench",
        check: &request.check,
        target: &request.target,
        manifest,
        started_at,
        duration: start.elapsed(),
    };
    normalise(&meta, Ok(outcome.into()), request.limits.output_bytes)
}

/// Times `iters` awaits of `f` inside one `block_on`.
fn timed<F, Fut>(rt: &Runtime, iters: u64, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(f().await);
        }
        start.elapsed()
    })
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn run(c: &mut Criterion) {
    let rt = runtime();
    let host = PluginHost::new(&HostOptions {
        cache_dir: Some(target_dir().join("bench/compiled")),
        max_instances: 64,
        ..HostOptions::default()
    })
    .unwrap();
    let plugin = verified(misbehave()).compile(&host).unwrap();
    let request = request(&plugin);
    let check = rt.block_on(plugin.run(&host, "bench", &request));
    assert_eq!(
        check.status,
        vantage_protocol::result::Status::Ok,
        "{check:?}"
    );
    assert_eq!(
        native_run(plugin.manifest(), &request).samples,
        check.samples
    );

    // The same plugin compiled in memory rather than loaded from the
    // artifact cache, to see whether the cache's file mapping matters.
    let uncached = PluginHost::new(&HostOptions {
        cache_dir: None,
        max_instances: 64,
        ..HostOptions::default()
    })
    .unwrap();
    let uncached_plugin = verified(misbehave()).compile(&uncached).unwrap();

    let mut group = c.benchmark_group("run");
    group.bench_function("wasm", |b| {
        b.iter_custom(|iters| timed(&rt, iters, || plugin.run(&host, "bench", &request)))
    });
    group.bench_function("wasm-uncached", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || {
                uncached_plugin.run(&uncached, "bench", &request)
            })
        })
    });
    group.bench_function("native", |b| {
        b.iter(|| native_run(plugin.manifest(), black_box(&request)))
    });
    group.finish();
}

/// Store data of the bare engine: WASI only.
struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// An engine configured as `PluginHost` configures its own (pooling sizes
/// for 64 instances and 256 MiB, epoch interruption). `keep_resident` adds
/// the pooling allocator's options that reset a slot with `memset` instead
/// of `madvise`, so a reused slot's pages stay mapped.
fn bare_engine(keep_resident: bool) -> Engine {
    let n = 64;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        .total_core_instances(n * 8)
        .total_memories(n * 4)
        .total_tables(n * 8)
        .total_stacks(n)
        .max_core_instances_per_component(64)
        .max_memories_per_component(16)
        .max_tables_per_component(64)
        .max_component_instance_size(4 << 20)
        .max_core_instance_size(4 << 20)
        .max_memory_size(256 << 20);
    if keep_resident {
        pool.linear_memory_keep_resident(1 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(Enabled::Auto);
    }
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).unwrap()
}

/// The misbehave plugin linked on a bare engine: WASI, every capability a trap.
fn bare_plugin(engine: &Engine, package: &Package) -> PluginPre<Bare> {
    let component = Component::new(engine, package.component()).unwrap();
    let mut linker = Linker::<Bare>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    linker.define_unknown_imports_as_traps(&component).unwrap();
    PluginPre::new(linker.instantiate_pre(&component).unwrap()).unwrap()
}

async fn instantiate_and_call(
    engine: &Engine,
    pre: &PluginPre<Bare>,
    context: &CheckContext,
) -> Outcome {
    let mut store = bare_store(engine);
    let instance = pre.instantiate_async(&mut store).await.unwrap();
    let probe = instance.vantage_plugin_probe();
    probe.call_run(&mut store, context).await.unwrap()
}

fn bare_store(engine: &Engine) -> Store<Bare> {
    let mut store = Store::new(
        engine,
        Bare {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
    store
}

fn parts(c: &mut Criterion) {
    let rt = runtime();
    let package = misbehave();
    let manifest = package.manifest().clone();
    let engine = bare_engine(false);
    let pre = bare_plugin(&engine, &package);
    let resident_engine = bare_engine(true);
    let resident_pre = bare_plugin(&resident_engine, &package);
    let context = CheckContext {
        check: "bench".into(),
        target: "127.0.0.1:9".into(),
        config: CONFIG.into(),
        timeout_ms: 5000,
    };
    let outcome = rt.block_on(instantiate_and_call(&engine, &pre, &context));
    assert_eq!(outcome.samples.len(), 1);

    let mut group = c.benchmark_group("parts");
    group.bench_function("store", |b| b.iter(|| bare_store(&engine)));
    group.bench_function("store+instantiate", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                let mut store = bare_store(&engine);
                pre.instantiate_async(&mut store).await.unwrap();
                store
            })
        })
    });
    group.bench_function("store+instantiate+call", |b| {
        b.iter_custom(|iters| timed(&rt, iters, || instantiate_and_call(&engine, &pre, &context)))
    });
    group.bench_function("store+instantiate+call-keep-resident", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || {
                instantiate_and_call(&resident_engine, &resident_pre, &context)
            })
        })
    });
    group.bench_function("call", |b| {
        // One instance called again and again: the call without the
        // instantiation, its memory already grown and its pages touched.
        let mut store = bare_store(&engine);
        let instance = rt.block_on(pre.instantiate_async(&mut store)).unwrap();
        let probe = instance.vantage_plugin_probe();
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(probe.call_run(&mut store, &context).await.unwrap());
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("normalise", |b| {
        let meta = RunMeta {
            agent: "bench",
            check: "bench",
            target: "127.0.0.1:9",
            manifest: &manifest,
            started_at: Utc::now(),
            duration: Duration::from_micros(20),
        };
        b.iter_batched(
            || outcome.clone(),
            |outcome| normalise(&meta, Ok(outcome.into()), 1 << 20),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// The median of one benchmark in µs, from criterion's estimates.
fn median_us(id: &str) -> Option<f64> {
    let home = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("criterion"));
    let text = std::fs::read_to_string(home.join(id).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(json["median"]["point_estimate"].as_f64()? / 1000.0)
}

fn summary() {
    let ids = [
        "run/wasm",
        "run/wasm-uncached",
        "run/native",
        "parts/store",
        "parts/store+instantiate",
        "parts/store+instantiate+call",
        "parts/store+instantiate+call-keep-resident",
        "parts/call",
        "parts/normalise",
    ];
    let native = median_us("run/native");
    println!("\nmedian per run (µs), ratio to run/native:");
    for id in ids {
        if let Some(us) = median_us(id) {
            let ratio = native.map_or(String::new(), |n| format!("{:>10.1}×", us / n));
            println!("  {id:<44} {us:>10.2} {ratio}");
        }
    }
}

criterion_group!(benches, run, parts);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
