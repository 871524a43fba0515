//! `vantage plugin new`: scaffold a working plugin (a TCP-connect probe) in
//! Rust, Python, JavaScript or C, with its manifest, build script, a test and
//! (for the languages whose toolchain reads WIT) the plugin contract.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use vantage_protocol::manifest::Manifest;

use crate::files;
use crate::plugin::toolchain::PLUGIN_WIT;

/// The manifest every template starts from (a TCP-connect probe).
const MANIFEST: &str = include_str!("template/manifest.json");

/// One file of a template: its path in the new plugin, its text, whether it
/// is executable.
type TemplateFile = (&'static str, &'static str, bool);

const RUST: &[TemplateFile] = &[
    ("Cargo.toml", include_str!("template/Cargo.toml.in"), false),
    (
        ".cargo/config.toml",
        include_str!("template/cargo-config.toml"),
        false,
    ),
    (".gitignore", include_str!("template/gitignore"), false),
    ("src/lib.rs", include_str!("template/lib.rs"), false),
    ("README.md", include_str!("template/README.md"), false),
];

const PYTHON: &[TemplateFile] = &[
    ("app.py", include_str!("template/python/app.py"), false),
    ("logic.py", include_str!("template/python/logic.py"), false),
    (
        "test_logic.py",
        include_str!("template/python/test_logic.py"),
        false,
    ),
    ("build.sh", include_str!("template/python/build.sh"), true),
    (
        ".gitignore",
        include_str!("template/python/gitignore"),
        false,
    ),
    (
        "README.md",
        include_str!("template/python/README.md"),
        false,
    ),
];

const JS: &[TemplateFile] = &[
    ("src/probe.js", include_str!("template/js/probe.js"), false),
    (
        "src/connect.js",
        include_str!("template/js/connect.js"),
        false,
    ),
    (
        "test/connect.test.js",
        include_str!("template/js/connect.test.js"),
        false,
    ),
    (
        "package.json",
        include_str!("template/js/package.json.in"),
        false,
    ),
    (
        "package-lock.json",
        include_str!("template/js/package-lock.json.in"),
        false,
    ),
    ("build.sh", include_str!("template/js/build.sh"), true),
    (".gitignore", include_str!("template/js/gitignore"), false),
    ("README.md", include_str!("template/js/README.md"), false),
];

const C: &[TemplateFile] = &[
    ("probe.c", include_str!("template/c/probe.c"), false),
    ("config.c", include_str!("template/c/config.c"), false),
    ("config.h", include_str!("template/c/config.h"), false),
    (
        "test_config.c",
        include_str!("template/c/test_config.c"),
        false,
    ),
    ("build.sh", include_str!("template/c/build.sh"), true),
    (".gitignore", include_str!("template/c/gitignore"), false),
    ("README.md", include_str!("template/c/README.md"), false),
];

/// The languages `vantage plugin new` scaffolds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Lang {
    /// Rust with vantage-plugin-sdk, built by cargo for wasm32-wasip2.
    Rust,
    /// Python, built by componentize-py.
    Python,
    /// JavaScript, built by jco.
    Js,
    /// C, built by clang with wasi-libc and `vantage plugin bindgen` / `componentize`.
    C,
}

impl Lang {
    fn files(self) -> &'static [TemplateFile] {
        match self {
            Lang::Rust => RUST,
            Lang::Python => PYTHON,
            Lang::Js => JS,
            Lang::C => C,
        }
    }

    /// Whether the scaffold carries `wit/plugin.wit` (the SDK carries it for Rust).
    fn needs_wit(self) -> bool {
        self != Lang::Rust
    }

    fn next_step(self) -> &'static str {
        match self {
            Lang::Rust => "cargo build --release",
            Lang::Python | Lang::Js | Lang::C => "./build.sh --test && ./build.sh",
        }
    }
}

#[derive(Args)]
pub(crate) struct NewArgs {
    /// The plugin's name: lower-case letters, digits and `-`, starting with a letter.
    name: String,
    /// The plugin's language.
    #[arg(long, value_enum, default_value = "rust")]
    lang: Lang,
    /// The directory to create the plugin's directory in.
    #[arg(long, value_name = "PARENT", default_value = ".")]
    dir: PathBuf,
    /// Depend on a local checkout of vantage-plugin-sdk instead of the published crate (Rust).
    #[arg(long, value_name = "PATH")]
    sdk_path: Option<PathBuf>,
}

pub(crate) fn run(args: NewArgs) -> Result<()> {
    check_name(&args.name)?;
    let dest = args.dir.join(&args.name);
    if dest.exists() {
        bail!("{} already exists", dest.display());
    }
    if args.sdk_path.is_some() && args.lang != Lang::Rust {
        bail!("--sdk-path is for Rust plugins only");
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

    let written = write_plugin(&dest, args.lang, &vars);
    if written.is_err() {
        // Everything below `dest` is ours: it did not exist a moment ago.
        let _ = fs::remove_dir_all(&dest);
    }
    written?;
    println!("created plugin {} in {}", args.name, dest.display());
    println!(
        "next: cd {} && {} (see README.md)",
        dest.display(),
        args.lang.next_step()
    );
    Ok(())
}

fn write_plugin(dest: &Path, lang: Lang, vars: &[(&str, &str)]) -> Result<()> {
    fs::create_dir(dest).with_context(|| format!("creating directory {}", dest.display()))?;
    let templates = lang
        .files()
        .iter()
        .copied()
        .chain([("manifest.json", MANIFEST, false)]);
    for (path, template, executable) in templates {
        write_file(&dest.join(path), &render(template, vars), executable)?;
    }
    if lang.needs_wit() {
        // The contract, as it is: not a template.
        write_file(&dest.join("wit/plugin.wit"), PLUGIN_WIT, false)?;
    }
    Ok(())
}

fn write_file(path: &Path, text: &str, executable: bool) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("creating directory {}", parent.display()))?;
    }
    let mode = if executable { 0o755 } else { 0o644 };
    files::write_new(path, text.as_bytes(), mode, false)
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
        let all = [Lang::Rust, Lang::Python, Lang::Js, Lang::C];
        for lang in all {
            assert!(!lang.files().is_empty(), "{lang:?} has no template");
            for (path, template, _) in lang.files() {
                assert!(!render(template, &vars).contains("{{"), "{lang:?} {path}");
            }
        }
        assert!(!render(MANIFEST, &vars).contains("{{"));
        assert!(check_name("my-probe").is_ok());
    }
}
