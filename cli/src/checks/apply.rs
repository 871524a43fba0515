//! `vantage checks apply`: make the server's checks those of a file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use reqwest::Method;
use vantage_protocol::config::{CheckSpec, CheckView};

use super::{CHECKS, file, notes, put};
use crate::diff;
use crate::files;
use crate::server::{Server, ServerArgs};

#[derive(Args)]
pub(crate) struct ApplyArgs {
    /// The checks file: `[[check]]` tables.
    #[arg(short, long, value_name = "checks.toml")]
    file: PathBuf,
    /// Print the diff only.
    #[arg(long)]
    dry_run: bool,
    /// Delete the server's checks that the file does not define.
    #[arg(long)]
    prune: bool,
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) fn run(args: ApplyArgs) -> Result<()> {
    let text = files::read_text(&args.file, "checks file")?;
    let checks = file::parse(&text, &args.file)?;
    let server = args.server.connect()?;
    let views: Vec<CheckView> = server.get(server.url(CHECKS, &[]))?;
    let current: Vec<CheckSpec> = views.iter().map(|v| v.spec.clone()).collect();
    let plan = diff::plan(&checks, &current);
    print!("{}", plan.render(args.prune, "check"));
    if args.dry_run {
        println!("dry run: nothing sent");
        return Ok(());
    }
    if plan.is_noop(args.prune) {
        println!("nothing to apply");
    }

    let mut views: BTreeMap<String, CheckView> = views
        .into_iter()
        .map(|v| (v.spec.name.clone(), v))
        .collect();
    let mut failed = 0;
    let puts = (plan.new.iter().map(|spec| (spec, "created")))
        .chain(plan.changed.iter().map(|(spec, _)| (spec, "updated")));
    for (spec, done) in puts {
        match put(&server, spec) {
            Ok(view) => {
                println!("{done} {} (revision {})", spec.name, view.revision);
                views.insert(spec.name.clone(), view);
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {}", spec.name, crate::report(&e));
            }
        }
    }
    if args.prune {
        for name in &plan.absent {
            match delete(&server, name) {
                Ok(()) => println!("deleted {name}"),
                Err(e) => {
                    failed += 1;
                    eprintln!("error: {name}: {}", crate::report(&e));
                }
            }
        }
    }

    for spec in &checks {
        if let Some(view) = views.get(&spec.name) {
            for note in notes(view) {
                println!("note: {note}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of the changes to the server's checks failed (the others were made)");
    }
    Ok(())
}

fn delete(server: &Server, name: &str) -> Result<()> {
    let url = server.url(CHECKS, &[name]);
    server.send(server.request(Method::DELETE, url))?;
    Ok(())
}
