//! The command line of `cargo xtask bench ingest`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};

const USAGE: &str = "cargo xtask bench ingest [pg] [sqlite] [rate] [history] [--seconds N] \
                     [--max-connections A,B,…] [--agents N] [--batches N] [--history-samples N] [--jobs-interval D] [--server PATH]";

pub(super) struct Options {
    pub(super) pg: bool,
    pub(super) sqlite: bool,
    pub(super) rate: bool,
    pub(super) history: bool,
    pub(super) seconds: u64,
    pub(super) max_connections: Vec<u32>,
    pub(super) agents: usize,
    /// Batches made per agent: enough for `seconds` at several times the
    /// expected rate (an agent that runs out is reported).
    pub(super) batches: usize,
    pub(super) history_samples: u64,
    /// The server's `--jobs-interval` in `rate` runs (its default, 10 s,
    /// when absent); `1h` keeps the rollup job out of the window.
    pub(super) jobs_interval: Option<String>,
    /// A server binary to use instead of building the release one.
    pub(super) server: Option<PathBuf>,
}

impl Options {
    pub(super) fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut o = Options {
            pg: false,
            sqlite: false,
            rate: false,
            history: false,
            seconds: 30,
            max_connections: vec![16],
            agents: 100,
            batches: 250,
            history_samples: 10_000_000,
            jobs_interval: None,
            server: None,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .with_context(|| format!("{name} needs a value\nusage: {USAGE}"))
            };
            match arg.as_str() {
                "pg" => o.pg = true,
                "sqlite" => o.sqlite = true,
                "rate" => o.rate = true,
                "history" => o.history = true,
                "--seconds" => o.seconds = value(arg)?.parse()?,
                "--agents" => o.agents = value(arg)?.parse()?,
                "--batches" => o.batches = value(arg)?.parse()?,
                "--history-samples" => o.history_samples = value(arg)?.parse()?,
                "--server" => o.server = Some(PathBuf::from(value(arg)?)),
                "--jobs-interval" => o.jobs_interval = Some(value(arg)?.clone()),
                "--max-connections" => {
                    o.max_connections = value(arg)?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?;
                }
                _ => bail!("unknown argument `{arg}`\nusage: {USAGE}"),
            }
        }
        if !o.pg && !o.sqlite {
            (o.pg, o.sqlite) = (true, true);
        }
        if !o.rate && !o.history {
            (o.rate, o.history) = (true, true);
        }
        if !(1..=600).contains(&o.seconds) || !(1..=1000).contains(&o.agents) || o.batches < 2 {
            bail!("--seconds 1–600, --agents 1–1000, --batches ≥ 2");
        }
        if o.max_connections.is_empty()
            || o.max_connections.iter().any(|&n| !(3..=190).contains(&n))
        {
            bail!("--max-connections takes values 3–190 (the cluster allows 200 connections)");
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::Options;

    fn parse(args: &[&str]) -> anyhow::Result<Options> {
        Options::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn no_parts_means_everything() {
        let o = parse(&[]).unwrap();
        assert!(o.pg && o.sqlite && o.rate && o.history);
        assert_eq!(o.max_connections, [16]);
        let o = parse(&["pg", "rate", "--max-connections", "8,32", "--seconds", "5"]).unwrap();
        assert!(o.pg && !o.sqlite && o.rate && !o.history);
        assert_eq!((o.max_connections, o.seconds), (vec![8, 32], 5));
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(parse(&["postgres"]).is_err());
        assert!(parse(&["--seconds"]).is_err());
        assert!(parse(&["--max-connections", "2"]).is_err());
        assert!(parse(&["--seconds", "0"]).is_err());
    }
}
