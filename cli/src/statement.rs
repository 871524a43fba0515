//! `vantage keys statement` signs a registry statement offline with a root
//! key; `vantage keys push-statement` uploads it (admin). See
//! docs/registry.md § "Registry statements".

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use chrono::Utc;
use clap::Args;
use reqwest::Method;
use vantage_protocol::keys::KeyId;
use vantage_protocol::statement::{Owner, RegistryStatement, StatementBody, Yanked};

use crate::files;
use crate::server::ServerArgs;

#[derive(Args)]
pub(crate) struct StatementArgs {
    /// The root's secret key file.
    #[arg(long, value_name = "ROOT.key")]
    root: PathBuf,
    /// Higher than the registry's current statement's.
    #[arg(long)]
    sequence: u64,
    /// How long it counts as current: after that, agents report their
    /// trust metadata stale until a newer one arrives.
    #[arg(long, default_value = "30d", value_name = "DURATION")]
    expires_in: humantime::Duration,
    /// A version withdrawn, NAME@VERSION (repeat): agents that ran it may
    /// go below it.
    #[arg(long, value_name = "NAME@VERSION")]
    yank: Vec<String>,
    /// A key id revoked (repeat).
    #[arg(long, value_name = "KEY_ID")]
    revoke: Vec<String>,
    /// A plugin name given to a publisher key, NAME=KEY_ID (repeat): agents
    /// then take versions of NAME signed by those keys only (roots aside).
    #[arg(long, value_name = "NAME=KEY_ID")]
    owner: Vec<String>,
    /// Write it here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
}

fn yanked(text: &str) -> Result<Yanked> {
    let Some((plugin, version)) = text
        .split_once('@')
        .filter(|(n, v)| !n.is_empty() && !v.is_empty())
    else {
        bail!("`{text}` is not NAME@VERSION (e.g. tcp@1.2.0)");
    };
    Ok(Yanked {
        plugin: plugin.to_owned(),
        version: version
            .parse()
            .with_context(|| format!("`{version}` in `{text}` is not a version"))?,
    })
}

fn owner(text: &str) -> Result<Owner> {
    let Some((plugin, key)) = text
        .split_once('=')
        .filter(|(n, k)| !n.is_empty() && !k.is_empty())
    else {
        bail!("`{text}` is not NAME=KEY_ID (e.g. http=3f2a9c0d1b7e4a55)");
    };
    Ok(Owner {
        plugin: plugin.to_owned(),
        key_id: KeyId(key.to_owned()),
    })
}

pub(crate) fn sign(args: StatementArgs) -> Result<()> {
    let root = files::read_secret_key(&args.root)?;
    let now = Utc::now();
    let lifetime =
        chrono::Duration::from_std(*args.expires_in).context("--expires-in is too long")?;
    if lifetime <= chrono::Duration::zero() {
        bail!("--expires-in must be longer than nothing");
    }
    let body = StatementBody {
        sequence: args.sequence,
        issued_at: now,
        expires_at: now + lifetime,
        yanked: args.yank.iter().map(|y| yanked(y)).collect::<Result<_>>()?,
        revoked_keys: args.revoke.iter().map(|k| KeyId(k.clone())).collect(),
        owners: args.owner.iter().map(|o| owner(o)).collect::<Result<_>>()?,
    };
    let statement = RegistryStatement::sign(&body, &root);
    let text = serde_json::to_string_pretty(&statement).expect("a statement serialises") + "\n";
    match &args.out {
        Some(path) => {
            files::write_atomic(path, text.as_bytes())?;
            eprintln!(
                "signed statement {} (until {}) with root {} in {}",
                body.sequence,
                body.expires_at,
                root.public().id(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

#[derive(Args)]
pub(crate) struct PushArgs {
    /// The statement file from `vantage keys statement`.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) fn push(args: PushArgs) -> Result<()> {
    let bytes = files::read(&args.file, "statement")?;
    let statement: RegistryStatement = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a registry statement", args.file.display()))?;
    let body = statement.parsed()?;
    let server = args.server.connect()?;
    let url = server.url("/api/v1/registry/statements", &[]);
    let request = server
        .request(Method::POST, url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(bytes);
    server
        .send(request)
        .with_context(|| format!("uploading statement {}", body.sequence))?;
    println!(
        "the registry holds statement {} (until {}): {} yanked, {} revoked",
        body.sequence,
        body.expires_at,
        body.yanked.len(),
        body.revoked_keys.len()
    );
    Ok(())
}
