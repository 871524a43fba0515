//! The tables `cargo xtask bench ingest` prints (markdown, as in
//! `docs/benchmarks.md`).

use super::super::record::Figure;
use super::{Backend, RateRun, history, load, proc, workload};

pub(super) fn print_rate(runs: &[RateRun]) {
    println!(
        "\n| backend | max conn | stored samples/s | acked | sent samples/s | batches/s | p50 ms | p95 ms | 429/503 \
         | errors | server CPU | DB CPU | client CPU | other CPU | idle | server VmHWM |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in runs {
        let w = &r.window;
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} | {:.0} % | {} | {:.0} % | {:.0} % | {:.0} % | {:.0} MiB |",
            r.backend.name(),
            r.max_connections,
            w.samples / w.seconds,
            w.acked_samples as f64 / w.seconds,
            (w.accepted * workload::SAMPLES_PER_RESULT as u64) as f64 / w.seconds,
            w.batches as f64 / w.seconds,
            w.latency_ms(0.50),
            w.latency_ms(0.95),
            w.throttled,
            w.errors,
            w.cpu.server,
            if r.backend == Backend::Postgres {
                format!("{:.0} %", w.cpu.db)
            } else {
                "(in server)".into()
            },
            w.cpu.client,
            w.cpu.others,
            (cores() as f64 * 100.0 - w.cpu.server - w.cpu.db - w.cpu.client - w.cpu.others)
                .max(0.0),
            mib(w.server_hwm),
        );
    }
    println!(
        "\n| backend | max conn | rows stored | server samples/s | peer samples/s | ratio | peer results/s \
         | peer samples+results (samples/s) | ratio |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in runs {
        let rate = r.window.samples / r.window.seconds;
        let p = &r.peer;
        println!(
            "| {} | {} | {} | {:.0} | {:.0} | {:.0} % | {:.0} | {:.0} | {:.0} % |",
            r.backend.name(),
            r.max_connections,
            p.samples.rows,
            rate,
            p.samples.rate(),
            rate / p.samples.rate() * 100.0,
            p.results.rate(),
            p.combined_rate(),
            rate / p.combined_rate() * 100.0,
        );
    }
    for r in runs.iter().filter(|r| r.peer.db_cpu.is_some()) {
        println!(
            "PostgreSQL during the samples \\copy ({} rows in {:.2} s): {:.0} % of one core",
            r.peer.samples.rows,
            r.peer.samples.seconds,
            r.peer.db_cpu.unwrap_or(f64::NAN)
        );
    }
}

pub(super) fn print_history(runs: &[(Backend, history::History)]) {
    println!(
        "\n| backend | samples stored | stored samples/s | rollup caught up after | resolution | points | body | p50 ms | p95 ms | p99 ms | load |\n\
         | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (backend, h) in runs {
        println!(
            "| {} | {:.0} | {:.0} | {:.1} s | {} | {} | {:.0} kB | {:.1} | {:.1} | {:.1} | {:.1}–{:.1} |",
            backend.name(),
            h.samples,
            h.samples / h.ingest_seconds,
            h.rollup_seconds,
            h.resolution,
            h.points,
            h.body_bytes as f64 / 1000.0,
            load::quantile_ms(&h.latencies, 0.50),
            load::quantile_ms(&h.latencies, 0.95),
            load::quantile_ms(&h.latencies, 0.99),
            h.load.0,
            h.load.1,
        );
    }
}

/// What `cargo xtask bench ingest` records (`super::super::record`).
pub(super) fn figures(runs: &[RateRun], histories: &[(Backend, history::History)]) -> Vec<Figure> {
    let mut out = Vec::new();
    for r in runs {
        let at = format!("{}, {} connections", r.backend.name(), r.max_connections);
        let rate = r.window.samples / r.window.seconds;
        out.push(
            Figure::new(
                format!("stored samples/s vs samples copy, {at}"),
                rate,
                "1/s",
            )
            .against(r.peer.samples.rate()),
        );
        out.push(
            Figure::new(
                format!("stored samples/s vs samples and results copy, {at}"),
                rate,
                "1/s",
            )
            .against(r.peer.combined_rate()),
        );
        out.push(Figure::new(
            format!("batch p95, {at}"),
            r.window.latency_ms(0.95),
            "ms",
        ));
        out.push(Figure::new(
            format!("server VmHWM, {at}"),
            mib(r.window.server_hwm),
            "MiB",
        ));
    }
    for (backend, h) in histories {
        out.push(Figure::new(
            format!("{} history query p95, {}", h.resolution, backend.name()),
            load::quantile_ms(&h.latencies, 0.95),
            "ms",
        ));
    }
    out
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// Cores, memory, kernel and load, for the report.
pub(super) fn machine() -> String {
    let cores = cores();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
        })
        .map_or(String::from("?"), |kib| {
            format!("{:.0} GiB", kib / (1 << 20) as f64)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores, {mem}, Linux {}, load {:.2}",
        kernel.trim(),
        proc::load()
    )
}
