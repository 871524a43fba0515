//! The alerting benchmark's phases, and what it prints and records.

use super::super::load::{Window, quantile_ms};
use super::Run;
use super::fleet::RULES;

/// The runs without rules and with, round by round.
#[derive(Default)]
pub(super) struct Phases {
    pub(super) off: Vec<Window>,
    pub(super) on: Vec<Run>,
}

impl Phases {
    /// Σ samples / Σ seconds over the runs without rules and with.
    fn pooled(&self) -> (f64, f64) {
        let pool = |ws: &mut dyn Iterator<Item = &Window>| {
            let (samples, seconds) =
                ws.fold((0.0, 0.0), |(a, b), w| (a + w.samples, b + w.seconds));
            samples / seconds
        };
        (
            pool(&mut self.off.iter()),
            pool(&mut self.on.iter().map(|r| &r.window)),
        )
    }

    /// Every probe's latencies, sent → notified, answered → notified, µs,
    /// each sorted.
    fn latencies(&self) -> (Vec<u32>, Vec<u32>) {
        let all = self.on.iter().flat_map(|r| &r.latencies);
        let mut sent: Vec<u32> = all.clone().map(|l| (l.0 * 1e3) as u32).collect();
        let mut answered: Vec<u32> = all.map(|l| (l.1 * 1e3) as u32).collect();
        sent.sort_unstable();
        answered.sort_unstable();
        (sent, answered)
    }
}

/// What `cargo xtask bench alerts` records: pooled rates, every probe.
pub(super) fn figures(phases: &Phases, full: bool) -> Vec<super::super::super::record::Figure> {
    use super::super::super::record::Figure;
    let fleet = if full {
        "550 000 series"
    } else {
        "150 000 series"
    };
    let (off, on) = phases.pooled();
    let (sent, _) = phases.latencies();
    vec![
        Figure::new(format!("stored samples/s, no rules, {fleet}"), off, "1/s"),
        Figure::new(
            format!("stored samples/s, 10 000 rules vs none, {fleet}"),
            on,
            "1/s",
        )
        .against(off),
        Figure::new(
            format!("result sent to webhook p95, {fleet}"),
            quantile_ms(&sent, 0.95),
            "ms",
        ),
    ]
}

pub(super) fn report(phases: &Phases) {
    let rate = |w: &Window| w.samples / w.seconds;
    println!(
        "\n| round | rules | stored samples/s | batches/s | p50 ms | p95 ms | server CPU | PostgreSQL CPU |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (round, (off, on)) in phases.off.iter().zip(&phases.on).enumerate() {
        for (rules, w) in [(0, off), (RULES, &on.window)] {
            println!(
                "| {round} | {rules} | {:.0} | {:.1} | {:.1} | {:.1} | {:.0} % | {:.0} % |",
                rate(w),
                w.batches as f64 / w.seconds,
                w.latency_ms(0.5),
                w.latency_ms(0.95),
                w.cpu.server,
                w.cpu.db
            );
        }
    }
    let pairs: Vec<String> = phases
        .off
        .iter()
        .zip(&phases.on)
        .map(|(off, on)| format!("{:.1} %", 100.0 * rate(&on.window) / rate(off)))
        .collect();
    let (off, on) = phases.pooled();
    println!(
        "\nwith alerting: {:.1} % of the rate without, pooled ({} round by round)",
        100.0 * on / off,
        pairs.join(", ")
    );
    let (sent, answered) = phases.latencies();
    println!(
        "probes: {} sent, {} notified; result sent → webhook p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms; \
         ingest answered → webhook p50 {:.0} ms, p95 {:.0} ms",
        phases.on.iter().map(|r| r.probes).sum::<usize>(),
        sent.len(),
        quantile_ms(&sent, 0.5),
        quantile_ms(&sent, 0.95),
        quantile_ms(&sent, 1.0),
        quantile_ms(&answered, 0.5),
        quantile_ms(&answered, 0.95),
    );
}
