//! `vantage keys …`: publisher signing keys.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use vantage_protocol::keys::SigningKeyPair;

use crate::files;

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate an ed25519 key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub.
    Generate {
        /// The key's name, recorded in both files and shown by `plugin verify`.
        #[arg(long)]
        name: String,
        /// Directory to write the key files to (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Overwrite existing key files.
        #[arg(long)]
        force: bool,
    },
}

impl KeysCommand {
    pub(crate) fn run(self) -> Result<()> {
        match self {
            KeysCommand::Generate { name, out, force } => generate(&name, out, force),
        }
    }
}

fn generate(name: &str, dir: PathBuf, force: bool) -> Result<()> {
    check_key_name(name)?;
    let secret_path = dir.join(format!("{name}.key"));
    let public_path = dir.join(format!("{name}.pub"));
    if !force {
        for path in [&secret_path, &public_path] {
            if path.exists() {
                bail!(
                    "key file {} already exists (pass --force to replace it)",
                    path.display()
                );
            }
        }
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating directory {}", dir.display()))?;

    let pair = SigningKeyPair::generate(name);
    files::write_new(&secret_path, pair.to_file().as_bytes(), 0o600, force)?;
    files::write_new(
        &public_path,
        pair.public().to_file().as_bytes(),
        0o644,
        force,
    )?;
    eprintln!(
        "wrote secret key {} (keep it private) and public key {}",
        secret_path.display(),
        public_path.display()
    );
    println!("{}", pair.public().id());
    Ok(())
}

/// A key name becomes a file name: keep it to a safe, portable set.
fn check_key_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        bail!(
            "key name `{name}` must be 1–64 letters, digits, `-`, `_` or `.`, starting with a letter or digit"
        )
    }
}
