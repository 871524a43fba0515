//! What a plugin costs the agent, by the language it was written in: the
//! example plugins in Python, JavaScript and C against first-party Rust
//! plugins doing the same job, plus the trivial `misbehave` fixtures.
//!
//! `cargo bench -p vantage-agent --bench languages` (after
//! `cargo xtask build-plugins`). For each plugin it measures:
//!
//! - the component's size, and its precompiled artifact's;
//! - `compile`: `PluginHost::compile` with no artifact cache (Cranelift, then
//!   linking), median of 3;
//! - `load`: the same from a warm artifact cache (what every agent start after
//!   the first pays), median of 5;
//! - `memory`: the linear memory an instance holds once instantiated (a heap
//!   snapshot for CPython and QuickJS), read by a resource limiter on a bare
//!   engine;
//! - `run`: `CompiledPlugin::run` (instantiate, call, normalise) against a
//!   local service on loopback, 50 runs: median and 90th percentile.
//!
//! Everything it talks to is on 127.0.0.1 and started by the bench itself.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::net::{self, TestCa};
use vantage_agent::caps::Scope;
use vantage_agent::host::{HostOptions, PluginHost};
use vantage_agent::plugin::VerifiedPlugin;
use vantage_agent::run::{Limits, RunRequest};
use vantage_protocol::result::Status;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

const COMPILES: usize = 3;
const LOADS: usize = 5;
const RUNS: usize = 50;

struct Plugin {
    name: &'static str,
    language: &'static str,
    /// The Rust plugin that does the same job, to compare against.
    peer: Option<&'static str>,
    target: String,
    config: serde_json::Value,
}

struct Row {
    name: &'static str,
    language: &'static str,
    peer: Option<&'static str>,
    component: usize,
    artifact: u64,
    compile: Duration,
    load: Duration,
    memory: usize,
    run_p50: Duration,
    run_p90: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Store data of the bare engine: WASI, and a limiter that adds up memory.
struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: Counted,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

#[derive(Default)]
struct Counted {
    bytes: usize,
}

impl ResourceLimiter for Counted {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.bytes += desired - current;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// Defines the `vantage:plugin` imports as traps (instantiation calls none
/// of them). Not `define_unknown_imports_as_traps`: it would also stub WASI
/// interfaces imported at a newer patch version than the linker's, instead
/// of letting the linker match them by semver.
fn stub_plugin_imports(linker: &mut Linker<Bare>, engine: &Engine, component: &Component) {
    use wasmtime::component::ResourceType;
    use wasmtime::component::types::ComponentItem;
    for (name, item) in component.component_type().imports(engine) {
        if name.starts_with("wasi:") {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        let mut stub = linker.instance(name).unwrap();
        for (export, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(_) => stub
                    .func_new(export, |_, _, _, _| {
                        Err(wasmtime::format_err!("not available while measuring"))
                    })
                    .unwrap(),
                ComponentItem::Resource(_) => stub
                    .resource(export, ResourceType::host::<()>(), |_, _| Ok(()))
                    .unwrap(),
                _ => {}
            }
        }
    }
}

/// The linear memory of one fresh instance of `component`.
async fn instance_memory(component: &[u8]) -> usize {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::new(&engine, component).unwrap();
    let mut linker = Linker::<Bare>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    stub_plugin_imports(&mut linker, &engine, &component);
    let mut store = Store::new(
        &engine,
        Bare {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            memory: Counted::default(),
        },
    );
    store.limiter(|s| &mut s.memory);
    linker
        .instantiate_async(&mut store, &component)
        .await
        .unwrap();
    store.data().memory.bytes
}

fn host_options(ca: &TestCa, cache: Option<std::path::PathBuf>) -> HostOptions {
    HostOptions {
        cache_dir: cache,
        max_instances: 16,
        extra_ca_files: vec![ca.ca_pem_file.clone()],
        ..HostOptions::default()
    }
}

async fn measure(plugin: &Plugin, ca: &TestCa) -> Row {
    let package = support::package(plugin.name);
    let verified = || VerifiedPlugin::verify(package.clone(), &support::trust()).unwrap();

    let uncached = PluginHost::new(&host_options(ca, None)).unwrap();
    let compile = median(
        (0..COMPILES)
            .map(|_| {
                let start = Instant::now();
                verified().compile(&uncached).unwrap();
                start.elapsed()
            })
            .collect(),
    );
    drop(uncached);

    let cache = tempfile::tempdir().unwrap();
    let warm = PluginHost::new(&host_options(ca, Some(cache.path().to_owned()))).unwrap();
    verified().compile(&warm).unwrap();
    let artifact = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let mut loads = Vec::new();
    let mut compiled = None;
    for _ in 0..LOADS {
        let host = PluginHost::new(&host_options(ca, Some(cache.path().to_owned()))).unwrap();
        let start = Instant::now();
        let plugin = verified().compile(&host).unwrap();
        loads.push(start.elapsed());
        compiled = Some((host, plugin));
    }
    let (host, compiled) = compiled.unwrap();

    let request = RunRequest {
        check: "bench".into(),
        target: plugin.target.clone(),
        config: plugin.config.to_string().into(),
        timeout: Duration::from_secs(5),
        grants: compiled.manifest().capabilities.clone(),
        scope: Arc::new(Scope::new(&plugin.target, &[]).unwrap()),
        limits: Limits::default(),
    };
    let first = compiled.run(&host, "bench", &request).await;
    assert_eq!(first.status, Status::Ok, "{}: {first:?}", plugin.name);
    let mut runs = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let r = compiled.run(&host, "bench", &request).await;
        runs.push(start.elapsed());
        assert_eq!(r.status, Status::Ok, "{}: {r:?}", plugin.name);
    }

    Row {
        name: plugin.name,
        language: plugin.language,
        peer: plugin.peer,
        component: package.component().len(),
        artifact,
        compile,
        load: median(loads),
        memory: instance_memory(package.component()).await,
        run_p50: percentile(&runs, 0.5),
        run_p90: percentile(&runs, 0.9),
    }
}

fn mib(bytes: f64) -> String {
    format!("{:.2} MiB", bytes / f64::from(1 << 20))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn ratio(a: f64, b: f64) -> String {
    format!("{:.1}×", a / b)
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rows = rt.block_on(async {
        let ca = TestCa::new();
        let banner = net::tcp_banner(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n").await;
        let http = net::http_server(None).await;
        let https = net::http_server(Some(ca.server.clone())).await;
        let plugins = [
            Plugin {
                name: "tcp",
                language: "Rust",
                peer: None,
                target: banner.to_string(),
                config: json!({"expect": "SSH-2.0-", "read_max": 512}),
            },
            Plugin {
                name: "example-tcp-banner",
                language: "C",
                peer: Some("tcp"),
                target: banner.to_string(),
                config: json!({"expect": "SSH-2.0-"}),
            },
            Plugin {
                name: "http",
                language: "Rust",
                peer: None,
                target: format!("http://{http}/ok"),
                config: json!({}),
            },
            Plugin {
                name: "example-http-keyword",
                language: "Python",
                peer: Some("http"),
                target: format!("http://{http}/ok"),
                config: json!({"keyword": "vantage"}),
            },
            Plugin {
                name: "example-tls-expiry",
                language: "JavaScript",
                peer: Some("http"),
                target: format!("https://{https}/ok"),
                config: json!({"warn_days": 1}),
            },
            Plugin {
                name: "misbehave",
                language: "Rust",
                peer: None,
                target: "127.0.0.1:9".into(),
                config: json!({"mode": "ok"}),
            },
            Plugin {
                name: "misbehave-py",
                language: "Python",
                peer: Some("misbehave"),
                target: "127.0.0.1:9".into(),
                config: json!({"mode": "ok"}),
            },
        ];
        let mut rows = Vec::new();
        for plugin in &plugins {
            eprintln!("measuring {} ({})", plugin.name, plugin.language);
            rows.push(measure(plugin, &ca).await);
        }
        rows
    });

    let mut table = String::new();
    writeln!(
        table,
        "| plugin | language | component | artifact | compile | load (cached) | memory | run p50 | run p90 |"
    )
    .unwrap();
    writeln!(
        table,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    .unwrap();
    for r in &rows {
        writeln!(
            table,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.language,
            mib(r.component as f64),
            mib(r.artifact as f64),
            ms(r.compile),
            ms(r.load),
            mib(r.memory as f64),
            ms(r.run_p50),
            ms(r.run_p90),
        )
        .unwrap();
    }
    writeln!(table, "\nAgainst the Rust plugin doing the same job:\n").unwrap();
    writeln!(
        table,
        "| plugin | vs | component | compile | load | memory | run p50 |"
    )
    .unwrap();
    writeln!(table, "| --- | --- | ---: | ---: | ---: | ---: | ---: |").unwrap();
    for r in rows.iter().filter(|r| r.peer.is_some()) {
        let p = rows.iter().find(|p| Some(p.name) == r.peer).unwrap();
        writeln!(
            table,
            "| `{}` ({}) | `{}` | {} | {} | {} | {} | {} |",
            r.name,
            r.language,
            p.name,
            ratio(r.component as f64, p.component as f64),
            ratio(r.compile.as_secs_f64(), p.compile.as_secs_f64()),
            ratio(r.load.as_secs_f64(), p.load.as_secs_f64()),
            ratio(r.memory as f64, p.memory as f64),
            ratio(r.run_p50.as_secs_f64(), p.run_p50.as_secs_f64()),
        )
        .unwrap();
    }
    println!("{table}");
}
