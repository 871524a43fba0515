//! `ping`: sends `count` ICMP echo requests to the target host, paced
//! `interval_ms` apart in one `icmp::probe_many` call, and reports what
//! iputils `ping` does: round-trip times and their min/avg/max/mdev, jitter,
//! loss and the replies' TTL.

mod plan;
mod stats;
mod summary;

use vantage_plugin_sdk::prelude::*;

use crate::plan::{Config, Plan};

struct Ping;

impl Probe for Ping {
    type Config = Config;

    fn run(ctx: &Context, config: Config) -> Outcome {
        match Plan::new(ctx, config) {
            Ok(plan) => summary::summarise(&icmp::probe_many(&plan.requests())),
            Err(problem) => Outcome::error(problem),
        }
    }
}

vantage_plugin_sdk::export_probe!(Ping);
