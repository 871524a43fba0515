//! `vantage plugin new`: scaffold a Rust plugin crate.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use vantage_protocol::manifest::Manifest;

use crate::files;

const CARGO_TOML: &str = include_str!("template/Cargo.toml.in");
const CARGO_CONFIG: &str = include_str!("template/cargo-config.toml");
const GITIGNORE: &str = include_str!("template/gitignore");
const LIB_RS: &str = include_str!("template/lib.rs");
const MANIFEST: &str = include_str!("template/manifest.json");
const README: &str = include_str!("template/README.md");

#[derive(Args)]
pub(crate) struct NewArgs {
    /// The plugin's name: lower-case letters, digits and `-`, starting with a letter.
    name: String,
    /// The directory to create the plugin's directory in.
    #[arg(long, value_name = "PARENT", default_value = ".")]
    dir: PathBuf,
    /// Depend on a local checkout of vantage-plugin-sdk instead of the published crate.
    #[arg(long, value_name = "PATH")]
    sdk_path: Option<PathBuf>,
}

pub(crate) fn run(args: NewArgs) -> Result<()> {
    check_name(&args.name)?;
    let dest = args.dir.join(&args.name);
    if dest.exists() {
        bail!("{} already exists", dest.display());
    }
    let sdk = args.sdk_path.as_deref().map(sdk_checkout).transpose()?;
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating directory {}", args.dir.display()))?;
    let sdk_dependency = match &sdk {
        Some(sdk) => local_sdk_dependency(sdk, &args.dir, &args.name)?,
        None => r#"vantage-plugin-sdk = "0.1""#.to_owned(),
    };
    let vars = [
        ("name", args.name.as_str()),
        ("crate_name", &args.name.replace('-', "_")),
        ("sdk_dependency", &sdk_dependency),
    ];

    let written = write_crate(&dest, &vars);
    if written.is_err() {
        // Everything below `dest` is ours: it did not exist a moment ago.
        let _ = fs::remove_dir_all(&dest);
    }
    written?;
    println!("created plugin {} in {}", args.name, dest.display());
    println!(
        "next: cd {} && cargo build --release (see README.md)",
        dest.display()
    );
    Ok(())
}

fn write_crate(dest: &Path, vars: &[(&str, &str)]) -> Result<()> {
    for dir in [dest.to_path_buf(), dest.join("src"), dest.join(".cargo")] {
        fs::create_dir(&dir).with_context(|| format!("creating directory {}", dir.display()))?;
    }
    let files = [
        ("Cargo.toml", CARGO_TOML),
        (".cargo/config.toml", CARGO_CONFIG),
        (".gitignore", GITIGNORE),
        ("src/lib.rs", LIB_RS),
        ("manifest.json", MANIFEST),
        ("README.md", README),
    ];
    for (path, template) in files {
        files::write_new(
            &dest.join(path),
            render(template, vars).as_bytes(),
            0o644,
            false,
        )?;
    }
    Ok(())
}

/// Checks `name` with the manifest's own rule, by validating the template
/// manifest under that name.
fn check_name(name: &str) -> Result<()> {
    let mut manifest = Manifest::from_json(render(MANIFEST, &[("name", "template")]).as_bytes())
        .expect("the template manifest is valid");
    manifest.name = name.to_owned();
    manifest.validate().context("invalid plugin name")?;
    Ok(())
}

/// Replaces each `{{key}}` of `template` with its value.
fn render(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_owned(), |text, (key, value)| {
        text.replace(&format!("{{{{{key}}}}}"), value)
    })
}

/// The absolute path of an SDK checkout.
fn sdk_checkout(path: &Path) -> Result<PathBuf> {
    let sdk = path
        .canonicalize()
        .with_context(|| format!("sdk path {}", path.display()))?;
    if !sdk.join("Cargo.toml").is_file() {
        bail!("sdk path {} holds no Cargo.toml", path.display());
    }
    Ok(sdk)
}

/// The dependency line for the SDK checkout at absolute `sdk`, as a path
/// relative to the new crate at `parent/name` (so that the two can move together).
fn local_sdk_dependency(sdk: &Path, parent: &Path, name: &str) -> Result<String> {
    let parent = parent
        .canonicalize()
        .with_context(|| format!("directory {}", parent.display()))?;
    let relative = relative_path(&parent.join(name), sdk);
    let relative = relative
        .to_str()
        .with_context(|| format!("sdk path {} is not valid UTF-8", sdk.display()))?;
    // A JSON string literal is also a valid TOML basic string.
    let quoted = serde_json::to_string(relative).expect("a string serialises");
    Ok(format!("vantage-plugin-sdk = {{ path = {quoted} }}"))
}

/// The path that leads from directory `from` to `to`; both absolute.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path: PathBuf = from[common..].iter().map(|_| "..").collect();
    path.extend(&to[common..]);
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_ancestor() {
        let rel = |a: &str, b: &str| relative_path(Path::new(a), Path::new(b));
        assert_eq!(
            rel("/w/plugins/x", "/w/plugin-sdk"),
            Path::new("../../plugin-sdk")
        );
        assert_eq!(rel("/w/x", "/w/x/sdk"), Path::new("sdk"));
        assert_eq!(rel("/w/x", "/w/x"), Path::new("."));
    }

    #[test]
    fn templates_render_every_placeholder() {
        let vars = [
            ("name", "my-probe"),
            ("crate_name", "my_probe"),
            ("sdk_dependency", "x = 1"),
        ];
        for template in [
            CARGO_TOML,
            CARGO_CONFIG,
            GITIGNORE,
            LIB_RS,
            MANIFEST,
            README,
        ] {
            assert!(!render(template, &vars).contains("{{"), "{template}");
        }
        assert!(check_name("my-probe").is_ok());
    }
}
