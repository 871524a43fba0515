//! `cargo xtask dist [--profile release|dev] [--key FILE]`: the release
//! tree. Builds the dashboard and the three binaries (`vantage-server` with
//! the dashboard embedded, `vantage-agent`, `vantage`), stages them with the
//! licences, the README and the systemd units in `target/dist/staging/`
//! (what the container images copy), packs `vantage-<version>-<triple>.tar.gz`
//! (sorted, owner and times fixed), writes `SHA256SUMS` and signs it with
//! the ed25519 release key into `SHA256SUMS.sig`, then checks both with
//! the `vantage keys verify-release` it built. Without `--key` a throw-away key is made (what CI does): the
//! tree is then signed, but by nobody anyone trusts.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use sha2::{Digest as _, Sha256};
use vantage_protocol::keys::SigningKeyPair;
use vantage_protocol::release;

use crate::{cargo, host_triple, run, web};

const BINS: &[&str] = &["vantage-server", "vantage-agent", "vantage"];
/// Files staged beside the binaries, from the repository's root.
const FILES: &[&str] = &[
    "LICENSE",
    "LICENSE-APACHE",
    "README.md",
    "deploy/systemd/vantage-agent.service",
    "deploy/systemd/vantage-server.service",
    "deploy/docker/agent.toml",
];

pub(crate) fn start(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let mut profile = "release".to_owned();
    let mut key = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile" => profile = args.next().context("--profile needs a name")?.clone(),
            "--key" => key = Some(PathBuf::from(args.next().context("--key needs a file")?)),
            other => bail!("dist: unknown argument {other}"),
        }
    }
    build(root, &profile, key.as_deref()).map(|_| ())
}

/// Builds and signs the tree; returns the staging folder.
pub(crate) fn build(root: &Path, profile: &str, key: Option<&Path>) -> anyhow::Result<PathBuf> {
    web::install(root)?;
    web::build(root)?;
    let mut cmd = cargo();
    cmd.current_dir(root)
        .args(["build", "--locked", "--profile", profile]);
    for package in ["vantage-server", "vantage-agent", "vantage-cli"] {
        cmd.args(["-p", package]);
    }
    run(&mut cmd)?;
    let out_dir = root
        .join("target")
        .join(if profile == "dev" { "debug" } else { profile });
    let dist = root.join("target/dist");
    let staging = dist.join("staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    std::fs::create_dir_all(staging.join("bin"))?;
    for bin in BINS {
        copy(&out_dir.join(bin), &staging.join("bin").join(bin))?;
    }
    for file in FILES {
        copy(&root.join(file), &staging.join(file))?;
    }

    let version = workspace_version(root)?;
    let name = format!("vantage-{version}-{}", host_triple()?);
    let archive = dist.join(format!("{name}.tar.gz"));
    run(Command::new("tar")
        .current_dir(&staging)
        .args([
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--mtime=@0",
            "--transform",
            &format!("s,^\\.,{name},"),
            "-czf",
        ])
        .arg(&archive)
        .arg("."))?;

    let sums = format!(
        "{}  {}\n",
        hex::encode(Sha256::digest(std::fs::read(&archive)?)),
        archive.file_name().unwrap().to_string_lossy()
    );
    std::fs::write(dist.join("SHA256SUMS"), &sums)?;
    let key = match key {
        Some(path) => SigningKeyPair::from_file(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a signing key", path.display()))?,
        None => {
            eprintln!("dist: no --key: signing with a throw-away key");
            SigningKeyPair::generate("throw-away release key")
        }
    };
    let signature = release::sign_sums(&key, sums.as_bytes());
    std::fs::write(
        dist.join("SHA256SUMS.sig"),
        serde_json::to_vec_pretty(&signature)?,
    )?;
    std::fs::write(dist.join("release.pub"), key.public().to_file())?;
    // What a downloader does, with the CLI just built: the signature, then
    // the sums.
    run(Command::new(staging.join("bin/vantage"))
        .args(["keys", "verify-release"])
        .arg(dist.join("SHA256SUMS"))
        .arg(dist.join("SHA256SUMS.sig"))
        .arg("--key")
        .arg(dist.join("release.pub")))?;
    eprintln!(
        "dist: {} and SHA256SUMS signed by key {}",
        archive.display(),
        key.public().id()
    );
    crate::deploy::image_sources(root, &staging)?;
    Ok(staging)
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    Ok(())
}

/// `version` of `[workspace.package]`.
fn workspace_version(root: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let table: toml::Table = text.parse()?;
    table["workspace"]["package"]["version"]
        .as_str()
        .map(str::to_owned)
        .context("Cargo.toml has no workspace.package.version")
}
