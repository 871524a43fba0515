//! `vantage alerts apply`: make the server's alert rules, channels,
//! routes, maintenance windows and SLAs those of a file. Channels go
//! first and SLAs last, so that a route or an SLA never names a channel
//! or window not yet made; pruned SLAs go first, pruned rules and
//! channels after the routes that named them.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use vantage_protocol::config::{
    ChannelSpec, ChannelView, Route, RuleSpec, RuleView, SlaSpec, SlaView, WindowSpec, WindowView,
};

use super::file::{self, AlertsFile};
use super::{CHANNELS, ROUTES, RULES, Routes, SLAS, WINDOWS};
use crate::diff;
use crate::files;
use crate::server::{self, Server, ServerArgs};

#[derive(Args)]
pub(crate) struct ApplyArgs {
    /// The alerts file: `[[rule]]`, `[[channel]]`, `[[route]]`, `[[window]]` and `[[sla]]` tables.
    #[arg(short, long, value_name = "alerts.toml")]
    file: PathBuf,
    /// Print the diff only.
    #[arg(long)]
    dry_run: bool,
    /// Delete the server's rules, channels, windows and SLAs that the file does not define.
    #[arg(long)]
    prune: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// What the server holds now.
struct Current {
    rules: Vec<RuleSpec>,
    windows: Vec<WindowSpec>,
    slas: Vec<SlaSpec>,
    channels: Vec<ChannelView>,
    routes: Vec<Route>,
}

pub(crate) fn run(args: ApplyArgs) -> Result<()> {
    let text = files::read_text(&args.file, "alerts file")?;
    let file = file::parse(&text, &args.file)?;
    let server = args.server.connect()?;
    let rules: Vec<RuleView> = server.get(server.url(RULES, &[]))?;
    let routes: Routes = server.get(server.url(ROUTES, &[]))?;
    let windows: Vec<WindowView> = server.get(server.url(WINDOWS, &[]))?;
    let slas: Vec<SlaView> = server.get(server.url(SLAS, &[]))?;
    let current = Current {
        rules: rules.into_iter().map(|v| v.spec).collect(),
        windows: windows.into_iter().map(|v| v.spec).collect(),
        slas: slas.into_iter().map(|v| v.spec).collect(),
        channels: server.get(server.url(CHANNELS, &[]))?,
        routes: routes.routing.routes,
    };
    let changes = Changes::of(&file, &current);
    print!("{}", changes.render(args.prune));
    if args.dry_run {
        println!("dry run: nothing sent");
        return Ok(());
    }
    if changes.is_noop(args.prune) {
        println!("nothing to apply");
    }
    let failed = changes.apply(&server, args.prune);
    if failed > 0 {
        bail!("{failed} of the changes to the server's alerting failed (the others were made)");
    }
    Ok(())
}

/// The changes, by kind.
struct Changes<'a> {
    rules: diff::Plan<RuleSpec>,
    windows: diff::Plan<WindowSpec>,
    slas: diff::Plan<SlaSpec>,
    /// Compared without their secrets, which the server never shows.
    channels: diff::Plan<ChannelSpec>,
    /// Channels whose file gives secrets: sent even when the rest is the
    /// same (the server keeps the revision if the secrets are too).
    secrets: Vec<&'a ChannelSpec>,
    /// The file's routes, when they differ from the server's.
    routes: Option<&'a [Route]>,
    file: &'a AlertsFile,
}

impl<'a> Changes<'a> {
    fn of(file: &'a AlertsFile, current: &Current) -> Changes<'a> {
        let shown: Vec<ChannelSpec> = file.channel.iter().map(|c| file::public(c).0).collect();
        let server: Vec<ChannelSpec> = current.channels.iter().map(|v| v.spec.clone()).collect();
        let channels = diff::plan(&shown, &server);
        let secrets = file
            .channel
            .iter()
            .filter(|c| file::public(c).1 && channels.unchanged.contains(&c.name))
            .collect();
        Changes {
            rules: diff::plan(&file.rule, &current.rules),
            windows: diff::plan(&file.window, &current.windows),
            slas: diff::plan(&file.sla, &current.slas),
            channels,
            secrets,
            routes: file
                .route
                .as_deref()
                .filter(|routes| *routes != current.routes.as_slice()),
            file,
        }
    }

    fn is_noop(&self, prune: bool) -> bool {
        self.rules.is_noop(prune)
            && self.windows.is_noop(prune)
            && self.slas.is_noop(prune)
            && self.channels.is_noop(prune)
            && self.secrets.is_empty()
            && self.routes.is_none()
    }

    fn render(&self, prune: bool) -> String {
        let mut out = self.channels.render(prune, "channel");
        for c in &self.secrets {
            out.push_str(&format!(
                "~ {}: write-only secrets sent (kept as they are if the same)\n",
                c.name
            ));
        }
        if let Some(routes) = self.routes {
            out.push_str(&format!("~ routes: {} in order\n", routes.len()));
            for (i, route) in routes.iter().enumerate() {
                out.push_str(&format!("    {}. {}\n", i + 1, describe(route)));
            }
        }
        out.push_str(&self.rules.render(prune, "rule"));
        out.push_str(&self.windows.render(prune, "window"));
        out.push_str(&self.slas.render(prune, "sla"));
        out
    }

    /// Makes the changes; returns how many failed.
    fn apply(&self, server: &Server, prune: bool) -> usize {
        let mut failed = 0;
        let mut report = |what: &str, result: Result<String>| match result {
            Ok(done) => println!("{done}"),
            Err(e) => {
                failed += 1;
                eprintln!("error: {what}: {}", crate::report(&e));
            }
        };
        // The file's channels, secrets and all.
        let channels = (self.channels.new.iter().map(|c| (&c.name, "created")))
            .chain(
                self.channels
                    .changed
                    .iter()
                    .map(|(c, _)| (&c.name, "updated")),
            )
            .chain(self.secrets.iter().map(|c| (&c.name, "sent")));
        for (name, done) in channels {
            if let Some(spec) = self.file.channel.iter().find(|c| &c.name == name) {
                let result = put(server, server.url(CHANNELS, &[name]), spec)
                    .map(|revision| format!("{done} channel {name} (revision {revision})"));
                report(name, result);
            }
        }
        if let Some(routes) = self.routes {
            let body = serde_json::json!({ "route": routes });
            let result = put(server, server.url(ROUTES, &[]), &body)
                .map(|revision| format!("updated routes (revision {revision})"));
            report("routes", result);
        }
        let rules = (self.rules.new.iter().map(|r| (r, "created")))
            .chain(self.rules.changed.iter().map(|(r, _)| (r, "updated")));
        for (rule, done) in rules {
            let result = put(server, server.url(RULES, &[&rule.name]), rule)
                .map(|revision| format!("{done} rule {} (revision {revision})", rule.name));
            report(&rule.name, result);
        }
        let windows = (self.windows.new.iter().map(|w| (w, "created")))
            .chain(self.windows.changed.iter().map(|(w, _)| (w, "updated")));
        for (window, done) in windows {
            let result = put(server, server.url(WINDOWS, &[&window.name]), window)
                .map(|revision| format!("{done} window {} (revision {revision})", window.name));
            report(&window.name, result);
        }
        let slas = (self.slas.new.iter().map(|s| (s, "created")))
            .chain(self.slas.changed.iter().map(|(s, _)| (s, "updated")));
        for (sla, done) in slas {
            let result = put(server, server.url(SLAS, &[&sla.name]), sla)
                .map(|revision| format!("{done} sla {} (revision {revision})", sla.name));
            report(&sla.name, result);
        }
        if prune {
            for (route, names, what) in [
                (SLAS, &self.slas.absent, "sla"),
                (RULES, &self.rules.absent, "rule"),
                (WINDOWS, &self.windows.absent, "window"),
                (CHANNELS, &self.channels.absent, "channel"),
            ] {
                for name in names {
                    let url = server.url(route, &[name]);
                    let result = server
                        .send(server.request(Method::DELETE, url))
                        .map(|_| format!("deleted {what} {name}"));
                    report(name, result);
                }
            }
        }
        failed
    }
}

/// `PUT`s a body; the revision the server answers.
fn put<T: Serialize>(server: &Server, url: reqwest::Url, body: &T) -> Result<i64> {
    let response = server.send(server.request(Method::PUT, url.clone()).json(body))?;
    let view: Value = server::decode(response, &url)?;
    Ok(view["revision"].as_i64().unwrap_or_default())
}

/// `rule=core-* → ops, pager (continue)`.
fn describe(route: &Route) -> String {
    let m = &route.matches;
    let matches: Vec<String> = [
        ("rule", &m.rule),
        ("check", &m.check),
        ("target", &m.target),
        ("agent", &m.agent),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    let matches = if matches.is_empty() {
        "everything".to_owned()
    } else {
        matches.join(" ")
    };
    let go_on = if route.go_on { " (continue)" } else { "" };
    format!("{matches} → {}{go_on}", route.channels.join(", "))
}
