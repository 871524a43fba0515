//! The key that seals secrets: `secrets_key_file`, else `secrets.key`
//! beside the SQLite database (made 0600 on first start), else none (a
//! PostgreSQL server whose replicas would not share one).

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use ring::aead::{CHACHA20_POLY1305, LessSafeKey, UnboundKey};
use ring::rand::{SecureRandom as _, SystemRandom};

use super::KEY_BYTES;
use crate::config::ServerConfig;

/// The key `config` names, or why there is none.
pub(super) fn configured(config: &ServerConfig) -> anyhow::Result<Result<LessSafeKey, String>> {
    Ok(match (&config.secrets_key_file, beside_database(config)) {
        (Some(path), _) => Ok(read_key(path)?),
        (None, Some(file)) => Ok(read_or_create(&file)?),
        (None, None) => Err(
            "this server has no `secrets_key_file`, which every replica must share: set one to store secrets"
                .to_owned(),
        ),
    })
}

pub(super) fn key_of(bytes: &[u8]) -> anyhow::Result<LessSafeKey> {
    anyhow::ensure!(
        bytes.len() == KEY_BYTES,
        "a secrets key is {KEY_BYTES} bytes"
    );
    let key = UnboundKey::new(&CHACHA20_POLY1305, bytes)
        .map_err(|_| anyhow::anyhow!("not a ChaCha20-Poly1305 key"))?;
    Ok(LessSafeKey::new(key))
}

/// `secrets.key` beside the SQLite database, when the server uses SQLite
/// and names no `secrets_key_file` (it is backed up with the database).
pub(crate) fn beside_database(config: &ServerConfig) -> Option<std::path::PathBuf> {
    if config.secrets_key_file.is_some() {
        return None;
    }
    let url = config.database();
    let file = crate::store::sqlite_path(&url)?;
    Some(match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join("secrets.key"),
        _ => std::path::PathBuf::from("secrets.key"),
    })
}

fn read_key(path: &Path) -> anyhow::Result<LessSafeKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the secrets key {}", path.display()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .with_context(|| format!("{}: not base64", path.display()))?;
    key_of(&bytes).with_context(|| {
        format!(
            "{}: make one with `head -c 32 /dev/urandom | base64`",
            path.display()
        )
    })
}

fn read_or_create(path: &Path) -> anyhow::Result<LessSafeKey> {
    if path.exists() {
        return read_key(path);
    }
    let mut bytes = [0u8; KEY_BYTES];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode_0600()
        .open(path)
        .with_context(|| format!("creating the secrets key {}", path.display()))?;
    writeln!(file, "{text}")?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "Created the key that seals secrets in check configuration: back it up with the database.");
    key_of(&bytes)
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(self, 0o600);
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::Sealer;
    use super::*;

    fn spec(config: serde_json::Value) -> vantage_protocol::config::CheckSpec {
        serde_json::from_value(json!({
            "name": "api", "plugin": "http", "targets": ["https://a.example"], "interval": "30s",
            "config": config, "grants": []
        }))
        .unwrap()
    }

    fn schema() -> serde_json::Value {
        json!({"type": "object", "properties": {"pin": {"type": "integer", "writeOnly": true}}})
    }

    #[test]
    fn with_sqlite_the_key_lives_beside_the_database_and_postgres_needs_one_named() {
        let config: ServerConfig =
            toml::from_str("database_url = 'sqlite:///var/lib/vantage/db/vantage.db'").unwrap();
        assert_eq!(
            beside_database(&config).unwrap(),
            Path::new("/var/lib/vantage/db/secrets.key")
        );
        let config: ServerConfig = toml::from_str("data_dir = '/srv/v'").unwrap();
        assert_eq!(
            beside_database(&config).unwrap(),
            Path::new("/srv/v/secrets.key")
        );
        let named: ServerConfig =
            toml::from_str("data_dir = '/srv/v'\nsecrets_key_file = '/etc/k'").unwrap();
        assert!(beside_database(&named).is_none());
        let config: ServerConfig = toml::from_str("database_url = 'postgres://u@h/db'").unwrap();
        assert!(beside_database(&config).is_none());
        assert!(Sealer::load(&config).unwrap().key.is_err());
    }

    #[test]
    fn a_key_file_is_made_once_with_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        let first = Sealer {
            key: Ok(read_or_create(&path).unwrap()),
            rng: SystemRandom::new(),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = Sealer {
            key: Ok(read_or_create(&path).unwrap()),
            rng: SystemRandom::new(),
        };
        let mut s = spec(json!({"pin": 7}));
        first.seal_spec(&mut s, &schema(), None).unwrap();
        second.open_spec(&mut s).unwrap();
        assert_eq!(s.config["pin"], 7);
        std::fs::write(&path, "short").unwrap();
        assert!(read_key(&path).is_err());
    }
}
