//! `vantage-server backup` and `restore` for the embedded SQLite database.
//!
//! A backup is taken online: `VACUUM INTO` writes a consistent snapshot of
//! the database while the server runs (readers and the writer go on), into
//! a temporary file renamed into place once SQLite's integrity check passes.
//! The secrets key that sits beside the database goes with it
//! (`FILE.secrets.key`, 0600): without it the sealed check and channel
//! secrets of the copy cannot be opened. Restore puts both into an empty
//! data folder, after the same integrity check. PostgreSQL has its own
//! tools (`pg_dump`), which the errors name.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::config::ServerConfig;

/// The name of the key file a backup carries, beside the backup.
pub fn key_beside(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".secrets.key");
    PathBuf::from(name)
}

/// A problem the operator must fix (exit code 2), not a failure to retry.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The SQLite database file `config` uses (the one the server opens), or
/// why there is none.
fn sqlite_file(config: &ServerConfig, what: &str) -> anyhow::Result<PathBuf> {
    match crate::store::sqlite_path(&config.database()) {
        Some(path) => Ok(path.to_owned()),
        None => Err(Refused(format!(
            "{what} is for the embedded SQLite database; back PostgreSQL up with pg_dump \
             and restore it with pg_restore (see docs/operations.md)"
        ))
        .into()),
    }
}

/// Writes a consistent copy of the running server's database to `to`;
/// returns what it did, a line each.
pub async fn backup(config: &ServerConfig, to: &Path) -> anyhow::Result<Vec<String>> {
    let db = sqlite_file(config, "backup")?;
    if !db.is_file() {
        return Err(Refused(format!("there is no database at {}", db.display())).into());
    }
    if to.exists() {
        return Err(Refused(format!(
            "{} exists: a backup never overwrites a file",
            to.display()
        ))
        .into());
    }
    let tmp = temporary(to);
    let _ = std::fs::remove_file(&tmp);
    let mut source = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&db)
            .read_only(true)
            .busy_timeout(std::time::Duration::from_secs(30)),
    )
    .await
    .with_context(|| format!("opening {}", db.display()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(tmp.to_string_lossy().as_ref())
        .execute(&mut source)
        .await
        .with_context(|| format!("copying {} to {}", db.display(), tmp.display()))?;
    source.close().await?;
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    if let Err(e) = intact(&tmp).await {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, to).with_context(|| format!("writing {}", to.display()))?;
    let size = std::fs::metadata(to)?.len();
    let mut said = vec![format!(
        "backed up {} to {} ({size} bytes, integrity ok)",
        db.display(),
        to.display()
    )];
    match crate::secrets::beside_database(config) {
        Some(key) if key.is_file() => {
            copy_private(&key, &key_beside(to))?;
            said.push(format!(
                "copied the secrets key to {} (keep it as safe as the backup: it opens its secrets)",
                key_beside(to).display()
            ));
        }
        Some(_) => {}
        None => said.push(format!(
            "the secrets key is {} (secrets_key_file): keep it with the backup",
            config
                .secrets_key_file
                .as_deref()
                .unwrap_or(Path::new("?"))
                .display()
        )),
    }
    Ok(said)
}

/// Puts the backup `from` (and its key) into an empty data folder.
pub async fn restore(config: &ServerConfig, from: &Path) -> anyhow::Result<Vec<String>> {
    let db = sqlite_file(config, "restore")?;
    if db.exists() {
        return Err(Refused(format!(
            "a database is at {} already: restore into an empty data folder",
            db.display()
        ))
        .into());
    }
    intact(from).await?;
    let folder = db.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
    }
    let mut said = Vec::new();
    let key = key_beside(from);
    match crate::secrets::beside_database(config) {
        Some(target) if key.is_file() => {
            let theirs = std::fs::read(&key)?;
            match std::fs::read(&target) {
                Ok(ours) if ours != theirs => {
                    return Err(Refused(format!(
                        "{} holds another secrets key than the backup's {}: the restored secrets \
                         could not be opened",
                        target.display(),
                        key.display()
                    ))
                    .into());
                }
                Ok(_) => {}
                Err(_) => {
                    copy_private(&key, &target)?;
                    said.push(format!("restored the secrets key to {}", target.display()));
                }
            }
        }
        _ => {}
    }
    let tmp = temporary(&db);
    copy_private(from, &tmp)?;
    std::fs::rename(&tmp, &db).with_context(|| format!("writing {}", db.display()))?;
    said.insert(
        0,
        format!(
            "restored {} to {} (integrity ok): start the server on it",
            from.display(),
            db.display()
        ),
    );
    Ok(said)
}

/// Fails unless `file` is a SQLite database that passes its integrity check.
async fn intact(file: &Path) -> anyhow::Result<()> {
    let mut conn =
        SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(file).read_only(true))
            .await
            .with_context(|| format!("opening {}", file.display()))?;
    let mut verdict: Result<Vec<String>, _> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await;
    if verdict.is_ok() {
        // Vantage's own: its migrations ran there.
        if let Err(e) = sqlx::query("SELECT key FROM meta LIMIT 1")
            .fetch_optional(&mut conn)
            .await
        {
            verdict = Err(e);
        }
    }
    conn.close().await.ok();
    match verdict {
        Ok(lines) if lines == ["ok"] => Ok(()),
        Ok(lines) => Err(Refused(format!(
            "{} fails SQLite's integrity check: {}",
            file.display(),
            lines.join("; ")
        ))
        .into()),
        Err(e) => Err(Refused(format!(
            "{} is not a Vantage SQLite database: {e}",
            file.display()
        ))
        .into()),
    }
}

fn temporary(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Copies `from` to a new file `to`, readable by its owner only.
fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(to)
        .with_context(|| format!("creating {}", to.display()))?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    Ok(())
}
