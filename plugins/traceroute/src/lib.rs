//! `traceroute`: probes every hop to the target host at once, in one
//! `icmp::probe_many` call (each (TTL, query, flow) is one probe, paced
//! `interval_ms` apart), and reports each hop's addresses, loss and
//! round-trip times, the destination's distance and round-trip time, and a
//! fingerprint of the path.

#[cfg(test)]
mod fixtures;
mod path;
mod plan;
mod report;
mod trace;

use vantage_plugin_sdk::prelude::*;

use crate::plan::{Config, Plan};
use crate::trace::Trace;

struct Traceroute;

impl Probe for Traceroute {
    type Config = Config;

    fn run(ctx: &Context, config: Config) -> Outcome {
        let plan = match Plan::new(ctx, config) {
            Ok(plan) => plan,
            Err(problem) => return Outcome::error(problem),
        };
        let mut probes = Vec::new();
        let mut results = Vec::new();
        let mut trace = None;
        for wave in plan.waves() {
            results.extend(icmp::probe_many(&plan.requests(&wave)));
            probes.extend(wave);
            let so_far = Trace::analyse(
                &plan.host,
                plan.first_ttl,
                plan.max_hops,
                &probes,
                results.clone(),
            );
            let ended = so_far.end != trace::End::NotReached;
            trace = Some(so_far);
            if ended {
                break;
            }
        }
        let trace = trace.expect("a plan has at least one wave");
        log::write(
            log::Level::Debug,
            &format!(
                "{} trace to {}:\n{}",
                plan.mode.as_str(),
                trace.target,
                report::table(&trace)
            ),
        );
        report::outcome(&trace)
    }
}

vantage_plugin_sdk::export_probe!(Traceroute);
