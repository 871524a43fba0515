//! Rate: 100 ping checks, one per address of h2, each 1000 echo requests
//! 10 ms apart, all at once: 10 000 echo requests a second for 10 s. The
//! agent in `dgram` and in `raw` mode against fping, alternately.

use std::fmt::Write as _;

use anyhow::bail;

use super::super::lab::TARGETS;
use super::super::sys::{self, Finished};
use super::watch::{NetWatch, node_counters};
use super::{Icmp, RUN_LIMIT, Startup, table, total};
use crate::bench::record::Figure;

const ROUNDS: usize = 2;
const COUNT: u32 = 1000;
const INTERVAL_MS: u32 = 10;
/// fping numbers its probes from one 16-bit space and reuses a number only
/// 10 s after it was sent: one process cannot have more than 65 535 echo
/// requests out in 10 s, so the 100 targets are split over two processes.
const FPING_PROCESSES: usize = 2;
/// The kernel counters compared on h1 (sent, answered) and h2 (received,
/// answered).
const COUNTERS: [(usize, &str); 4] = [
    (0, "IcmpOutEchos"),
    (4, "IcmpInEchos"),
    (4, "IcmpOutEchoReps"),
    (0, "IcmpInEchoReps"),
];

/// One run's figures.
struct Row {
    who: String,
    sent: f64,
    received: f64,
    /// Seconds from the first echo request to the last answer.
    window: f64,
    /// Echo requests per second while sending (kernel counter, median of
    /// one-second spans).
    sustained: f64,
    cpu: f64,
    /// The user-space part of `cpu`.
    user: f64,
    wall: f64,
    /// Kernel counters (h1 sent, h2 received, h2 answered, h1 received)
    /// and socket drops: where any loss happened.
    note: String,
}

/// Runs the rounds, prints them, and returns the figures to record: per
/// agent mode, its means against fping's of the same run.
pub(super) fn run(icmp: &Icmp, startup: &Startup) -> anyhow::Result<Vec<Figure>> {
    write_configs(icmp)?;
    let mut rows = Vec::new();
    for round in 1..=ROUNDS {
        for mode in ["dgram", "raw"] {
            rows.push(counted(icmp, |icmp| agent(icmp, mode, round))?);
        }
        rows.push(counted(icmp, |icmp| fping(icmp, round))?);
    }
    println!(
        "\nRate: {TARGETS} targets × {COUNT} echo requests {INTERVAL_MS} ms apart \
         ({} /s offered) from h1 to h2's addresses, 3 routers; agent `run --once`, \
         max_concurrent_runs = 128, max_pps = 20000",
        TARGETS as u32 * 1000 / INTERVAL_MS
    );
    table(
        &[
            "run",
            "sent",
            "received",
            "false loss",
            "window s",
            "pings/s (window)",
            "pings/s (1-s median)",
            "CPU s (user)",
            "CPU ms / 1000 pings",
            "process wall s",
            "h1 out / h2 in / h2 out / h1 in, socket drops",
        ],
        &rows
            .iter()
            .map(|r| {
                vec![
                    r.who.clone(),
                    format!("{:.0}", r.sent),
                    format!("{:.0}", r.received),
                    format!("{:.3} %", loss(r) * 100.0),
                    format!("{:.2}", r.window),
                    format!("{:.0}", r.sent / r.window),
                    format!("{:.0}", r.sustained),
                    format!("{:.2} ({:.2})", r.cpu, r.user),
                    format!("{:.1}", per_thousand(r)),
                    format!("{:.2}", r.wall),
                    r.note.clone(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    let mean = |prefix: &str, f: &dyn Fn(&Row) -> f64| {
        let picked: Vec<f64> = rows
            .iter()
            .filter(|r| r.who.starts_with(prefix))
            .map(f)
            .collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let window_pps = |r: &Row| r.sent / r.window;
    let sustained_pps = |r: &Row| r.sustained;
    let user_per_thousand = |r: &Row| r.user * 1e3 / (r.sent / 1000.0);
    let fping_user = mean("fping", &user_per_thousand);
    let (fping_cpu, fping_window, fping_sustained) = (
        mean("fping", &per_thousand),
        mean("fping", &window_pps),
        mean("fping", &sustained_pps),
    );
    let mut summary = String::new();
    let mut figures = Vec::new();
    for mode in ["dgram", "raw"] {
        let who = format!("agent {mode}");
        let user = mean(&who, &user_per_thousand);
        let (cpu, window, sustained) = (
            mean(&who, &per_thousand),
            mean(&who, &window_pps),
            mean(&who, &sustained_pps),
        );
        let _ = write!(
            summary,
            "\n{who}: {sustained:.0} pings/s sustained ({:.2}× fping), {window:.0} over the \
             window ({:.2}× fping), false loss {:.3} %, {cpu:.1} ms CPU per 1000 pings \
             ({:.2}× fping's {fping_cpu:.1} ms), of which user space {user:.1} ms \
             ({:.1}× fping's {fping_user:.1} ms)",
            sustained / fping_sustained,
            window / fping_window,
            mean(&who, &|r| loss(r) * 100.0),
            cpu / fping_cpu,
            user / fping_user,
        );
        let what = format!("ping {mode}, {TARGETS} targets × {COUNT} at {INTERVAL_MS} ms");
        figures.extend([
            Figure::new(format!("{what}: pings/s sustained"), sustained, "pings/s")
                .against(fping_sustained),
            Figure::new(format!("{what}: CPU per 1000 pings"), cpu, "ms").against(fping_cpu),
            Figure::new(format!("{what}: user CPU per 1000 pings"), user, "ms").against(fping_user),
            Figure::new(
                format!("{what}: false loss"),
                mean(&who, &|r| loss(r) * 100.0),
                "%",
            ),
        ]);
    }
    println!(
        "\nMeans over {ROUNDS} rounds (agent CPU includes its start, {:.0} ms; fping: \
         {FPING_PROCESSES} processes of {} targets):{summary}",
        startup.cpu.as_secs_f64() * 1e3,
        TARGETS as usize / FPING_PROCESSES,
    );
    Ok(figures)
}

fn loss(r: &Row) -> f64 {
    if r.sent == 0.0 {
        0.0
    } else {
        1.0 - r.received / r.sent
    }
}

fn per_thousand(r: &Row) -> f64 {
    r.cpu * 1e3 / (r.sent / 1000.0)
}

/// Runs `f` and notes h1's and h2's ICMP echo counters around it.
fn counted(icmp: &Icmp, f: impl FnOnce(&Icmp) -> anyhow::Result<Row>) -> anyhow::Result<Row> {
    let read = |icmp: &Icmp| -> anyhow::Result<Vec<u64>> {
        let (h1, h2) = (node_counters(&icmp.lab, 0)?, node_counters(&icmp.lab, 4)?);
        Ok(COUNTERS
            .iter()
            .map(|(node, name)| {
                let counters = if *node == 0 { &h1 } else { &h2 };
                counters
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or(0, |(_, v)| *v)
            })
            .collect())
    };
    let before = read(icmp)?;
    let mut row = f(icmp)?;
    let after = read(icmp)?;
    let deltas: Vec<String> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| (a - b).to_string())
        .collect();
    row.note = format!("{}{}", deltas.join(" / "), row.note);
    Ok(row)
}

fn write_configs(icmp: &Icmp) -> anyhow::Result<()> {
    let mut checks = String::new();
    for (i, target) in icmp.lab.targets().iter().enumerate() {
        // 9.99 s of requests plus 2 s for the last reply, well inside 30 s.
        write!(
            checks,
            "\n[[check]]\nname = \"ping-{i}\"\nplugin = \"ping\"\ntargets = [\"{target}\"]\n\
             interval = \"1h\"\ntimeout = \"30s\"\n\
             config = {{ count = {COUNT}, interval_ms = {INTERVAL_MS}, timeout_ms = 2000 }}\n"
        )?;
    }
    for mode in ["dgram", "raw"] {
        icmp.write_config(
            &format!("rate-{mode}"),
            "max_concurrent_runs = 128\n",
            mode,
            &checks,
        )?;
    }
    Ok(())
}

fn agent(icmp: &Icmp, mode: &str, round: usize) -> anyhow::Result<Row> {
    let run = icmp.agent(&format!("rate-{mode}"))?;
    let failed = run
        .results
        .iter()
        .filter(|r| r.status != vantage_protocol::result::Status::Ok)
        .count();
    if run.results.len() != usize::from(TARGETS) {
        bail!(
            "rate ({mode}): {} results instead of {TARGETS}",
            run.results.len()
        );
    }
    let first = run
        .results
        .iter()
        .map(|r| r.started_at.timestamp_micros())
        .min()
        .unwrap_or(0);
    let last = run
        .results
        .iter()
        .map(|r| r.started_at.timestamp_micros() as f64 + r.duration * 1e6)
        .fold(0.0, f64::max);
    let mut note = format!(", {} drops", run.watched.socket_drops);
    if failed > 0 {
        let _ = write!(note, ", {failed} runs not ok");
    }
    Ok(Row {
        who: format!("agent {mode} #{round}"),
        sent: total(&run.results, "sent"),
        received: total(&run.results, "received"),
        window: (last - first as f64) / 1e6,
        sustained: run.watched.sustained_pps(),
        cpu: run.finished.cpu().as_secs_f64(),
        user: run.finished.user.as_secs_f64(),
        wall: run.finished.wall.as_secs_f64(),
        note,
    })
}

/// fping as root (`-i 0`: no gap between any two requests), the targets
/// split over [`FPING_PROCESSES`] processes started together.
fn fping(icmp: &Icmp, round: usize) -> anyhow::Result<Row> {
    let targets = icmp.lab.targets();
    let share = targets.len() / FPING_PROCESSES;
    let mut children = Vec::new();
    for (i, part) in targets.chunks(share).enumerate() {
        let mut args: Vec<String> = ["-c", &COUNT.to_string(), "-p", &INTERVAL_MS.to_string()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["-i", "0", "-q"].map(String::from));
        args.extend(part.iter().map(|t| t.to_string()));
        let out = icmp.dir.join(format!("rate-fping-{i}"));
        children.push((
            icmp.lab
                .spawn(&icmp.lab.h1(), "fping".as_ref(), &args, &out)?,
            out,
        ));
    }
    // Counters are the namespace's: watching one process sees both.
    let watch = NetWatch::start(children[0].0.0.id());
    let (mut sent, mut received, mut cpu, mut user, mut wall) = (0.0, 0.0, 0.0, 0.0, 0.0f64);
    for ((child, started), out) in children {
        let finished = sys::wait(child, started, RUN_LIMIT)?;
        sys::check_interrupted()?;
        let stderr = std::fs::read_to_string(out.with_extension("err"))?;
        let (s, r) = fping_summary(&stderr, &finished)?;
        sent += s;
        received += r;
        cpu += finished.cpu().as_secs_f64();
        user += finished.user.as_secs_f64();
        wall = wall.max(finished.wall.as_secs_f64());
    }
    let watched = watch.stop();
    Ok(Row {
        who: format!("fping #{round}"),
        sent,
        received,
        // fping's first request leaves at its start and it exits after the
        // last reply: its wall time is its window.
        window: wall,
        sustained: watched.sustained_pps(),
        cpu,
        user,
        wall,
        note: format!(", {} drops", watched.socket_drops),
    })
}

/// Sums `xmt/rcv` over fping's per-target summary lines
/// (`10.199.100.1 : xmt/rcv/%loss = 1000/1000/0%, min/avg/max = …`).
fn fping_summary(stderr: &str, finished: &Finished) -> anyhow::Result<(f64, f64)> {
    let (mut sent, mut received, mut lines) = (0.0, 0.0, 0);
    for line in stderr.lines() {
        let Some(counts) = line.split("xmt/rcv/%loss = ").nth(1) else {
            continue;
        };
        let mut parts = counts.split('/');
        if let (Some(Ok(s)), Some(Ok(r))) = (
            parts.next().map(str::parse::<f64>),
            parts.next().map(str::parse::<f64>),
        ) {
            sent += s;
            received += r;
            lines += 1;
        }
    }
    if lines == 0 || finished.killed {
        bail!(
            "fping ended with {} and no summary: {}",
            finished.status,
            stderr.lines().last().unwrap_or("")
        );
    }
    Ok((sent, received))
}
