//! Builds, packs and signs the plugins in `plugins/`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use vantage_protocol::keys::SigningKeyPair;
use vantage_protocol::manifest::Manifest;
use vantage_protocol::package::Package;

use crate::{cargo, run};

/// Builds every plugin and returns the folder of signed packages
/// (`target/plugins`), which also holds the development key pair.
pub(crate) fn build_plugins(root: &Path) -> anyhow::Result<PathBuf> {
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
    let mut packed = 0;
    for dir in plugin_dirs(&plugins)? {
        let manifest_path = dir.join("manifest.json");
        let manifest = Manifest::from_json(&std::fs::read(&manifest_path)?)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let crate_name = crate_name(&dir)?;
        let wasm = wasm_dir.join(format!("{}.wasm", crate_name.replace('-', "_")));
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
            if path.join("manifest.json").is_file() && path.join("Cargo.toml").is_file() {
                dirs.push(path);
            }
        }
    }
    dirs.sort();
    Ok(dirs)
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
