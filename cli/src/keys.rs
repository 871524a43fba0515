//! `vantage keys …`: publisher signing keys, their endorsements and the
//! registry's keys.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use reqwest::Method;
use vantage_protocol::config::{AddKey, PublisherKey};
use vantage_protocol::keys::{Endorsement, KeyRole, SigningKeyPair};

use crate::server::ServerArgs;
use crate::{files, table};

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
    /// Endorse a publisher key with a root key, offline: the endorsement JSON.
    Endorse {
        /// The root's secret key file.
        #[arg(long, value_name = "ROOT.key")]
        root: PathBuf,
        /// The publisher's public key file.
        #[arg(value_name = "PUBLISHER.pub")]
        key: PathBuf,
        /// What the key may sign: plugin packages, or agent releases.
        #[arg(long, value_enum, default_value = "plugins")]
        role: Role,
        /// Write the endorsement to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Add a publisher key to the server's registry (admin).
    Add {
        /// The public key file.
        #[arg(value_name = "PUBLISHER.pub")]
        key: PathBuf,
        /// As a root key: agents that enroll from now on pin it.
        #[arg(
            long,
            required_unless_present = "endorsement",
            conflicts_with = "endorsement"
        )]
        root: bool,
        /// A root's endorsement of the key (`vantage keys endorse`).
        #[arg(long, value_name = "FILE")]
        endorsement: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Revoke a key in the server's registry (admin); agents honour it at once.
    Revoke {
        key_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the keys of the server's registry.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Sign a registry statement with a root key, offline: versions
    /// withdrawn, keys revoked, and an expiry after which agents report
    /// their trust metadata stale.
    Statement(crate::statement::StatementArgs),
    /// Upload a signed registry statement to the server (admin).
    PushStatement(crate::statement::PushArgs),
    /// Check a downloaded release: SHA256SUMS signed by the release key,
    /// and each archive it lists beside it against its sum.
    VerifyRelease(crate::release::verify::VerifyReleaseArgs),
}

const KEYS: &str = "/api/v1/registry/keys";

impl KeysCommand {
    pub(crate) fn run(self) -> Result<()> {
        match self {
            KeysCommand::Generate { name, out, force } => generate(&name, out, force),
            KeysCommand::Endorse {
                root,
                key,
                role,
                out,
            } => endorse(&root, &key, role.into(), out.as_deref()),
            KeysCommand::Add {
                key,
                root,
                endorsement,
                server,
            } => add(&key, root, endorsement.as_deref(), server),
            KeysCommand::Revoke { key_id, server } => {
                let server = server.connect()?;
                let url = server.url(KEYS, &[&key_id, "revoke"]);
                server.send(server.request(Method::POST, url))?;
                println!("revoked key {key_id}");
                Ok(())
            }
            KeysCommand::List { server } => list(server),
            KeysCommand::Statement(args) => crate::statement::sign(args),
            KeysCommand::PushStatement(args) => crate::statement::push(args),
            KeysCommand::VerifyRelease(args) => crate::release::verify::verify(args),
        }
    }
}

/// `--role`: what an endorsed key may sign.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum Role {
    /// Plugin packages.
    Plugins,
    /// Agent releases.
    Releases,
}

impl From<Role> for KeyRole {
    fn from(role: Role) -> KeyRole {
        match role {
            Role::Plugins => KeyRole::Plugins,
            Role::Releases => KeyRole::Releases,
        }
    }
}

fn endorse(root: &Path, key: &Path, role: KeyRole, out: Option<&Path>) -> Result<()> {
    let root = files::read_secret_key(root)?;
    let key = files::read_public_key(key)?;
    let text = endorsement_file(&root.endorse_for(&key, role));
    match out {
        Some(path) => {
            files::write_atomic(path, text.as_bytes())?;
            eprintln!(
                "endorsed key {} ({}) to sign {} with root {} ({}) in {}",
                key.id(),
                key.name,
                role.as_str(),
                root.public().id(),
                root.name,
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn endorsement_file(endorsement: &Endorsement) -> String {
    serde_json::to_string_pretty(endorsement).expect("an endorsement serialises") + "\n"
}

fn read_endorsement(path: &Path) -> Result<Endorsement> {
    let text = files::read_text(path, "endorsement file")?;
    serde_json::from_str(&text)
        .with_context(|| format!("reading endorsement file {}", path.display()))
}

fn add(key: &Path, root: bool, endorsement: Option<&Path>, server: ServerArgs) -> Result<()> {
    let public = files::read_public_key(key)?;
    let endorsement = endorsement.map(read_endorsement).transpose()?;
    let added = match &endorsement {
        Some(e) => format!(
            "key {} ({}), endorsed by {}",
            public.id(),
            public.name,
            e.by
        ),
        None => format!("root key {} ({})", public.id(), public.name),
    };
    let body = AddKey {
        key: public.to_file(),
        root,
        endorsement,
    };
    let server = server.connect()?;
    let request = server
        .request(Method::POST, server.url(KEYS, &[]))
        .json(&body);
    server
        .send(request)
        .with_context(|| format!("adding key {} ({})", public.id(), public.name))?;
    println!("added {added}");
    Ok(())
}

fn list(server: ServerArgs) -> Result<()> {
    let server = server.connect()?;
    let keys: Vec<PublisherKey> = server.get(server.url(KEYS, &[]))?;
    let mut rows = vec![
        ["KEY ID", "NAME", "TRUST", "REVOKED"]
            .map(String::from)
            .to_vec(),
    ];
    for k in keys {
        let trust = match (&k.endorsement, k.root) {
            (_, true) => "root".to_owned(),
            (Some(e), false) => format!("{} (endorsed by {})", e.role.as_str(), e.by),
            (None, false) => "-".to_owned(),
        };
        let revoked = k.revoked_at.map_or("-".to_owned(), |t| t.to_rfc3339());
        rows.push(vec![k.key_id.0, k.name, trust, revoked]);
    }
    table::print(&rows);
    Ok(())
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

#[cfg(test)]
mod tests {
    use vantage_protocol::keys::SigningKeyPair;

    use super::*;

    #[test]
    fn an_endorsement_file_reads_back_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let root = SigningKeyPair::from_seed("root", [1; 32]);
        let team = SigningKeyPair::from_seed("team", [2; 32]).public();
        let path = dir.path().join("team.endorsement.json");
        std::fs::write(&path, endorsement_file(&root.endorse(&team))).unwrap();

        let read = read_endorsement(&path).unwrap();
        assert_eq!(read.by, root.public().id());
        assert!(read.verify(&team, &root.public()));

        std::fs::write(&path, "{\"by\": \"x\"}").unwrap();
        let e = format!("{:#}", read_endorsement(&path).unwrap_err());
        assert!(
            e.contains("team.endorsement.json") && e.contains("signature"),
            "{e}"
        );
    }
}
