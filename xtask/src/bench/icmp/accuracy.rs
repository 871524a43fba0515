//! Accuracy: 1000 echo requests 10 ms apart from h1 to h2, IPv4 and IPv6,
//! the agent (`dgram` and `raw`) alternating with iputils ping and fping;
//! the median and 90th percentile of each one's round-trip times.

use std::collections::BTreeMap;

use anyhow::bail;

use super::super::lab::Family;
use super::{Icmp, median, percentile, table};

const ROUNDS: usize = 3;
const COUNT: u32 = 1000;
/// The goal: the agent's median within this of iputils ping's.
const GOAL_US: f64 = 50.0;

/// Who measured, in the order they run within a round.
const WHO: [&str; 4] = ["agent dgram", "agent raw", "iputils ping", "fping -C"];

pub(super) fn run(icmp: &Icmp) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    for family in Family::BOTH {
        let target = icmp.lab.h2_addr(family).to_string();
        for mode in ["dgram", "raw"] {
            let check = format!(
                "\n[[check]]\nname = \"ping\"\nplugin = \"ping\"\ntargets = [\"{target}\"]\n\
                 interval = \"1h\"\ntimeout = \"30s\"\n\
                 config = {{ count = {COUNT}, interval_ms = 10, payload_size = 56, timeout_ms = 2000 }}\n"
            );
            icmp.write_config(&config_name(family, mode), "", mode, &check)?;
        }
        // Round-trip times in µs per tool, all rounds together.
        let mut pooled: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for round in 1..=ROUNDS {
            for who in WHO {
                let mut rtts = measure(icmp, family, &target, who)?;
                rows.push(vec![
                    family.name().to_owned(),
                    format!("{who} #{round}"),
                    format!("{}", rtts.len()),
                    format!("{:.1}", median(&mut rtts)),
                    format!("{:.1}", percentile(&mut rtts, 90.0)),
                ]);
                pooled.entry(who).or_default().extend(rtts);
            }
        }
        let mut reference = pooled["iputils ping"].clone();
        let reference = median(&mut reference);
        for who in WHO {
            let mut rtts = pooled[who].clone();
            let m = median(&mut rtts);
            let diff = m - reference;
            summary.push(vec![
                family.name().to_owned(),
                who.to_owned(),
                format!("{}", rtts.len()),
                format!("{m:.1}"),
                format!("{:.1}", percentile(&mut rtts, 90.0)),
                format!("{diff:+.1}"),
                if who.starts_with("agent") {
                    if diff.abs() <= GOAL_US {
                        "yes"
                    } else {
                        "**no**"
                    }
                    .to_owned()
                } else {
                    String::new()
                },
            ]);
        }
    }
    println!(
        "\nAccuracy: {COUNT} echo requests 10 ms apart (56-byte payload) from h1 to h2, \
         3 routers; {ROUNDS} rounds, each running agent dgram, agent raw, \
         `ping -c {COUNT} -i 0.01 -s 56 -n`, `fping -C {COUNT} -p 10 -q` in turn. RTT in µs:"
    );
    table(&["family", "run", "replies", "median", "p90"], &rows);
    table(
        &[
            "family",
            "who (all rounds)",
            "replies",
            "median µs",
            "p90 µs",
            "Δ median vs ping µs",
            &format!("within {GOAL_US} µs"),
        ],
        &summary,
    );
    Ok(())
}

fn config_name(family: Family, mode: &str) -> String {
    format!("accuracy-{}-{mode}", family.name().to_lowercase())
}

/// One run of `who`: its round-trip times in µs.
fn measure(icmp: &Icmp, family: Family, target: &str, who: &str) -> anyhow::Result<Vec<f64>> {
    let name = format!(
        "accuracy-{}-{}",
        family.name().to_lowercase(),
        who.split_whitespace().next().unwrap_or(who)
    );
    let count = COUNT.to_string();
    let rtts: Vec<f64> = match who {
        "agent dgram" | "agent raw" => {
            let mode = &who["agent ".len()..];
            let run = icmp.agent(&config_name(family, mode))?;
            super::expect_ok(&run, who)?;
            run.results
                .iter()
                .flat_map(|r| r.distributions_of("rtt"))
                .flat_map(|d| d.values.iter().map(|v| v * 1e6))
                .collect()
        }
        "iputils ping" => {
            let args = [
                family.flag(),
                "-c",
                &count,
                "-i",
                "0.01",
                "-s",
                "56",
                "-n",
                target,
            ];
            let run = icmp.tool(&name, "ping", &args.map(String::from))?;
            // `64 bytes from 10.199.4.2: icmp_seq=1 ttl=61 time=0.047 ms`
            run.stdout
                .lines()
                .filter_map(|l| l.split("time=").nth(1)?.split_whitespace().next())
                .filter_map(|t| t.parse::<f64>().ok())
                .map(|ms| ms * 1e3)
                .collect()
        }
        _ => {
            let args = ["-C", &count, "-p", "10", "-q", target];
            let run = icmp.tool(&name, "fping", &args.map(String::from))?;
            // `fd7b:199:4::2 : 0.052 0.052 - 0.071` (ms, `-` when lost)
            run.stderr
                .lines()
                .filter_map(|l| l.split_once(" : ").map(|(_, v)| v))
                .flat_map(str::split_whitespace)
                .filter_map(|t| t.parse::<f64>().ok())
                .map(|ms| ms * 1e3)
                .collect()
        }
    };
    if rtts.len() < COUNT as usize * 9 / 10 {
        bail!(
            "{who} to {target}: only {} of {COUNT} replies (see target/bench/icmp/{name}.*)",
            rtts.len()
        );
    }
    Ok(rtts)
}
