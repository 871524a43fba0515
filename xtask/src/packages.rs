//! Builds, packs and signs the plugins in `plugins/`: the Rust ones with
//! cargo, the others (Python, JavaScript, C under `plugins/examples/` and
//! `plugins/testing/`) with their own `build.sh`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use vantage_protocol::keys::SigningKeyPair;
use vantage_protocol::manifest::Manifest;
use vantage_protocol::package::Package;

use std::process::Command;

use crate::{cargo, run};

/// Which plugins to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plugins {
    /// The Rust ones (first-party and test fixtures): only cargo and the
    /// `wasm32-wasip2` target, no other toolchain.
    Rust,
    /// Every plugin, the Python, JavaScript and C examples too.
    All,
}

/// Builds `which` plugins and returns the folder of signed packages
/// (`target/plugins`), which also holds the development key pair. The C
/// plugins need the `vantage` CLI: it is built unless `cli` names one.
pub(crate) fn build_plugins_with(
    root: &Path,
    which: Plugins,
    cli: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    crate::prepare::wasm_target()?;
    let plugins = root.join("plugins");
    // Cargo itself skips plugins whose sources did not change.
    run(cargo().current_dir(&plugins).args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--workspace",
    ]))?;
    let out = root.join("target/plugins");
    std::fs::create_dir_all(&out)?;
    let key = dev_key(&out)?;
    let wasm_dir = plugins.join("target/wasm32-wasip2/release");
    let mut foreign = Foreign::new(root, cli);
    let mut packed = 0;
    for dir in plugin_dirs(&plugins)? {
        let rust = dir.join("Cargo.toml").is_file();
        if which == Plugins::Rust && !rust {
            continue;
        }
        let manifest_path = dir.join("manifest.json");
        let manifest = Manifest::from_json(&std::fs::read(&manifest_path)?)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let wasm = if rust {
            let crate_name = crate_name(&dir)?;
            wasm_dir.join(format!("{}.wasm", crate_name.replace('-', "_")))
        } else {
            foreign.build(&dir)?
        };
        let component =
            std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
        let mut package = Package::new(manifest.clone(), component)
            .with_context(|| format!("packing {}", wasm.display()))?;
        let target = out.join(format!("{}.vpkg", manifest.name));
        let unchanged = std::fs::read(&target)
            .ok()
            .and_then(|b| Package::from_bytes(&b).ok())
            .is_some_and(|old| {
                old.digest() == package.digest()
                    && old
                        .signatures()
                        .iter()
                        .any(|s| s.key_id == key.public().id())
            });
        if unchanged {
            continue;
        }
        package.sign(&key);
        std::fs::write(&target, package.to_bytes())?;
        eprintln!("packed {} → {}", manifest.id(), target.display());
        packed += 1;
    }
    eprintln!("plugins ready in {} ({packed} repacked)", out.display());
    Ok(out)
}

/// Folders under `plugins/` (one level, or two under `testing/` and
/// `examples/`) that hold a `manifest.json`.
fn plugin_dirs(plugins: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for group in [
        plugins.to_owned(),
        plugins.join("testing"),
        plugins.join("examples"),
    ] {
        let Ok(entries) = std::fs::read_dir(&group) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            if path.join("manifest.json").is_file()
                && (path.join("Cargo.toml").is_file() || path.join("build.sh").is_file())
            {
                dirs.push(path);
            }
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// The plugins built by their own `build.sh OUT.wasm`, and what they need:
/// componentize-py (a venv under `target/toolchains`), npm, clang and the
/// `vantage` CLI (for C bindings and componentizing).
struct Foreign<'a> {
    root: &'a Path,
    cli: Option<PathBuf>,
    python: Option<PathBuf>,
}

impl<'a> Foreign<'a> {
    fn new(root: &'a Path, cli: Option<&Path>) -> Self {
        Foreign {
            root,
            cli: cli.map(Path::to_owned),
            python: None,
        }
    }

    /// Builds the plugin in `dir` unless its sources, the WIT and the
    /// toolchain versions are those of the last build; returns the component.
    fn build(&mut self, dir: &Path) -> anyhow::Result<PathBuf> {
        if std::env::var_os(crate::demo::smoke::RUST_ONLY).is_some() {
            anyhow::bail!(
                "{} needs a toolchain other than cargo, and {} is set",
                dir.display(),
                crate::demo::smoke::RUST_ONLY
            );
        }
        let name = dir.file_name().context("a plugin folder has a name")?;
        let out_dir = self.root.join("target/plugins/build");
        std::fs::create_dir_all(&out_dir)?;
        let wasm = out_dir.join(name).with_extension("wasm");
        let stamp_path = out_dir.join(name).with_extension("stamp");
        let stamp = sources_digest(dir, &self.root.join("wit"))?;
        if wasm.is_file() && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
            return Ok(wasm);
        }
        let cli = self.cli()?;
        let python = self.python()?;
        let path = std::env::join_paths(std::iter::once(python).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))?;
        if has_file_with_extension(dir, "c")? {
            crate::prepare::c_toolchain()?;
        }
        let start = std::time::Instant::now();
        run(Command::new(dir.join("build.sh"))
            .arg(&wasm)
            .current_dir(dir)
            .env("PATH", path)
            .env("VANTAGE", cli)
            .env("VANTAGE_WIT_DIR", self.root.join("wit")))?;
        eprintln!(
            "built {} in {:.1} s",
            dir.display(),
            start.elapsed().as_secs_f64()
        );
        std::fs::write(&stamp_path, stamp)?;
        Ok(wasm)
    }

    /// Runs `build.sh --test`: the plugin's native unit tests.
    fn test(&mut self, dir: &Path) -> anyhow::Result<()> {
        let python = self.python()?;
        let path = std::env::join_paths(std::iter::once(python).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))?;
        run(Command::new(dir.join("build.sh"))
            .arg("--test")
            .current_dir(dir)
            .env("PATH", path)
            .env("VANTAGE_WIT_DIR", self.root.join("wit")))
    }

    fn cli(&mut self) -> anyhow::Result<PathBuf> {
        if let Some(cli) = &self.cli {
            return Ok(cli.clone());
        }
        run(cargo().current_dir(self.root).args([
            "build",
            "--package",
            "vantage-cli",
            "--bin",
            "vantage",
        ]))?;
        let cli = self.root.join("target/debug/vantage");
        self.cli = Some(cli.clone());
        Ok(cli)
    }

    fn python(&mut self) -> anyhow::Result<PathBuf> {
        if let Some(bin) = &self.python {
            return Ok(bin.clone());
        }
        let bin = crate::prepare::python_toolchain(self.root)?;
        self.python = Some(bin.clone());
        Ok(bin)
    }
}

/// Runs the native unit tests of every plugin built by `build.sh`.
pub(crate) fn test_foreign_plugins(root: &Path) -> anyhow::Result<()> {
    let mut foreign = Foreign::new(root, None);
    for dir in plugin_dirs(&root.join("plugins"))? {
        if !dir.join("Cargo.toml").is_file() {
            foreign.test(&dir)?;
        }
    }
    Ok(())
}

/// A digest of what a `build.sh` build reads: the plugin's own files (not
/// what builds leave behind), the WIT, and the build tools' versions.
fn sources_digest(dir: &Path, wit: &Path) -> anyhow::Result<String> {
    use sha2::{Digest as _, Sha256};
    let mut files = Vec::new();
    collect_sources(dir, &mut files)?;
    collect_sources(wit, &mut files)?;
    files.sort();
    let mut hash = Sha256::new();
    for file in &files {
        hash.update(file.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update(std::fs::read(file)?);
        hash.update([0]);
    }
    hash.update(crate::prepare::COMPONENTIZE_PY);
    Ok(hex::encode(hash.finalize()))
}

/// Files under `dir`, leaving out build output and installed dependencies.
fn collect_sources(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if matches!(
            name.as_ref(),
            "build" | "node_modules" | "__pycache__" | "target" | ".venv"
        ) || name.ends_with(".wasm")
            || name.ends_with(".vpkg")
        {
            continue;
        }
        if entry.file_type()?.is_dir() {
            collect_sources(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn has_file_with_extension(dir: &Path, ext: &str) -> anyhow::Result<bool> {
    let mut files = Vec::new();
    collect_sources(dir, &mut files)?;
    Ok(files
        .iter()
        .any(|f| f.extension().is_some_and(|e| e == ext)))
}

fn crate_name(dir: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml"))?;
    text.lines()
        .find_map(|l| {
            l.trim().strip_prefix("name").map(|r| {
                r.trim_start_matches([' ', '='])
                    .trim()
                    .trim_matches('"')
                    .to_owned()
            })
        })
        .with_context(|| format!("{}/Cargo.toml has no package name", dir.display()))
}

/// The development signing key: made once per checkout, never committed.
pub(crate) fn dev_key(out: &Path) -> anyhow::Result<SigningKeyPair> {
    let secret = out.join("dev.key");
    if let Ok(text) = std::fs::read_to_string(&secret) {
        return SigningKeyPair::from_file(&text)
            .with_context(|| format!("reading {}", secret.display()));
    }
    let key = SigningKeyPair::generate("vantage-dev");
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&secret)?;
        file.write_all(key.to_file().as_bytes())?;
    }
    std::fs::write(out.join("dev.pub"), key.public().to_file())?;
    Ok(key)
}
