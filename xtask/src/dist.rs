//! `cargo xtask dist [--profile release|dev] [--key FILE] [--plugin-key FILE]`:
//! the release tree in `target/dist`.
//!
//! - Builds the dashboard and the three binaries (`vantage-server` with the
//!   dashboard embedded, `vantage-agent`, `vantage`), stages them with the
//!   licences, the README, the systemd units and a CycloneDX SBOM of each
//!   binary (cargo-cyclonedx) in `staging/` (what the container images
//!   copy) and packs `vantage-<version>-<triple>.tar.gz`
//!   (sorted, owner and times fixed).
//! - Packs the first-party plugins (`plugins/<name>/`) afresh, signed by the
//!   plugin publisher key alone, as `plugins/<name>-<version>.vpkg`: what
//!   operators publish to their registry.
//! - Writes `SHA256SUMS` over all of them and signs it with the ed25519
//!   release key into `SHA256SUMS.sig`, then checks both with the `vantage
//!   keys verify-release` it built.
//!
//! Without `--key` (or `--plugin-key`) a throw-away key is made, which is
//! what CI does: the tree is then signed, but by nobody anyone trusts.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use sha2::{Digest as _, Sha256};
use vantage_protocol::keys::SigningKeyPair;
use vantage_protocol::release;

use vantage_protocol::manifest::Manifest;
use vantage_protocol::package::Package;

use crate::{cargo, host_triple, packages, run, web};

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
    let mut keys = Keys::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut file = |what: &str| -> anyhow::Result<Option<PathBuf>> {
            Ok(Some(PathBuf::from(
                args.next()
                    .with_context(|| format!("{what} needs a file"))?,
            )))
        };
        match arg.as_str() {
            "--profile" => profile = args.next().context("--profile needs a name")?.clone(),
            "--key" => keys.release = file("--key")?,
            "--plugin-key" => keys.plugins = file("--plugin-key")?,
            other => bail!("dist: unknown argument {other}"),
        }
    }
    build(root, &profile, &keys).map(|_| ())
}

/// The key files that sign a release; a throw-away key stands for each
/// one not given.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    pub(crate) release: Option<PathBuf>,
    pub(crate) plugins: Option<PathBuf>,
}

fn load_key(path: Option<&Path>, what: &str) -> anyhow::Result<SigningKeyPair> {
    match path {
        Some(path) => SigningKeyPair::from_file(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a signing key", path.display())),
        None => {
            eprintln!("dist: no {what} key given: signing with a throw-away key");
            Ok(SigningKeyPair::generate(&format!("throw-away {what} key")))
        }
    }
}

/// Builds and signs the tree; returns the staging folder.
pub(crate) fn build(root: &Path, profile: &str, keys: &Keys) -> anyhow::Result<PathBuf> {
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
    sbom(root, &staging.join("sbom"))?;

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

    let mut artefacts = vec![archive.clone()];
    artefacts.extend(plugins(
        root,
        &dist,
        &load_key(keys.plugins.as_deref(), "plugin")?,
    )?);
    let mut sums = String::new();
    for file in &artefacts {
        sums.push_str(&format!(
            "{}  {}\n",
            hex::encode(Sha256::digest(std::fs::read(file)?)),
            file.strip_prefix(&dist)?.display()
        ));
    }
    std::fs::write(dist.join("SHA256SUMS"), &sums)?;
    let key = load_key(keys.release.as_deref(), "release")?;
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
    // Each plugin package verifies with the publisher key, as an agent
    // that trusts it would check.
    for package in artefacts.iter().skip(1) {
        run(Command::new(staging.join("bin/vantage"))
            .args(["plugin", "verify"])
            .arg(package)
            .arg("--trust")
            .arg(dist.join("plugins/publisher.pub")))?;
    }
    eprintln!(
        "dist: {} and SHA256SUMS signed by key {}",
        archive.display(),
        key.public().id()
    );
    crate::deploy::image_sources(root, &staging)?;
    Ok(staging)
}

/// One CycloneDX SBOM per binary (every crate it links, with licences and
/// checksums; build-time crates left out) into `out/<binary>.cdx.json`.
fn sbom(root: &Path, out: &Path) -> anyhow::Result<()> {
    let tool = crate::prepare::cargo_tool(root, crate::prepare::CYCLONEDX)?;
    run(Command::new(&tool)
        .current_dir(root)
        .args([
            "cyclonedx",
            "-q",
            "--format",
            "json",
            "--spec-version",
            "1.5",
        ])
        .args(["--no-build-deps", "--describe", "binaries", "--target"])
        .arg(host_triple()?))?;
    std::fs::create_dir_all(out)?;
    // It writes `<bin>_bin.cdx.json` beside each crate's Cargo.toml.
    for entry in walk_manifests(root)? {
        for file in std::fs::read_dir(&entry)? {
            let file = file?.path();
            let Some(name) = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix("_bin.cdx.json"))
                .map(str::to_owned)
            else {
                continue;
            };
            if BINS.contains(&name.as_str()) {
                let bom: serde_json::Value = serde_json::from_slice(&std::fs::read(&file)?)?;
                anyhow::ensure!(
                    bom["bomFormat"] == "CycloneDX"
                        && bom["components"].as_array().is_some_and(|c| !c.is_empty()),
                    "{} is not a CycloneDX SBOM with components",
                    file.display()
                );
                copy(&file, &out.join(format!("{name}.cdx.json")))?;
            }
            std::fs::remove_file(&file)?;
        }
    }
    for bin in BINS {
        anyhow::ensure!(
            out.join(format!("{bin}.cdx.json")).is_file(),
            "no SBOM for {bin}"
        );
    }
    Ok(())
}

/// The folders of the workspace's crates.
fn walk_manifests(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let dir = entry?.path();
        if dir.join("Cargo.toml").is_file() && !dir.ends_with("plugins") {
            dirs.push(dir.clone());
            for inner in std::fs::read_dir(&dir)? {
                let inner = inner?.path();
                if inner.join("Cargo.toml").is_file() {
                    dirs.push(inner);
                }
            }
        }
    }
    Ok(dirs)
}

/// The first-party plugins (`plugins/<name>/`, not the examples or the
/// test fixtures), packed afresh and signed by `key` alone into
/// `dist/plugins/<name>-<version>.vpkg`.
fn plugins(root: &Path, dist: &Path, key: &SigningKeyPair) -> anyhow::Result<Vec<PathBuf>> {
    let built = packages::build_plugins_with(root, packages::Plugins::Rust, None)?;
    let out = dist.join("plugins");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    std::fs::create_dir_all(&out)?;
    let mut written = Vec::new();
    for entry in std::fs::read_dir(root.join("plugins"))? {
        let dir = entry?.path();
        if !dir.join("manifest.json").is_file() {
            continue;
        }
        let manifest = Manifest::from_json(&std::fs::read(dir.join("manifest.json"))?)?;
        let dev = Package::from_bytes(&std::fs::read(
            built.join(format!("{}.vpkg", manifest.name)),
        )?)?;
        let mut package = Package::new(dev.manifest().clone(), dev.component().to_vec())?;
        package.sign(key);
        let file = out.join(format!("{}-{}.vpkg", manifest.name, manifest.version));
        std::fs::write(&file, package.to_bytes())?;
        written.push(file);
    }
    written.sort();
    anyhow::ensure!(!written.is_empty(), "no first-party plugins in plugins/");
    std::fs::write(out.join("publisher.pub"), key.public().to_file())?;
    Ok(written)
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
