//! File reads and writes whose errors name the file.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use vantage_protocol::keys::{PublicKey, SigningKeyPair};
use vantage_protocol::package::Package;

/// Reads a whole file; `what` says what the file is for ("manifest file").
pub(crate) fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("reading {what} {}", path.display()))
}

/// Reads a whole UTF-8 file.
pub(crate) fn read_text(path: &Path, what: &str) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {what} {}", path.display()))
}

/// Reads a `.vpkg` package (its format, not its signatures).
pub(crate) fn read_package(path: &Path) -> Result<Package> {
    let bytes = read(path, "package")?;
    Package::from_bytes(&bytes).with_context(|| format!("reading package {}", path.display()))
}

/// Reads a secret key file, warning when others may read it.
pub(crate) fn read_secret_key(path: &Path) -> Result<SigningKeyPair> {
    let text = read_text(path, "key file")?;
    warn_if_shared(path);
    SigningKeyPair::from_file(&text).with_context(|| format!("reading key file {}", path.display()))
}

/// Reads a public key file.
pub(crate) fn read_public_key(path: &Path) -> Result<PublicKey> {
    let text = read_text(path, "public key file")?;
    PublicKey::from_file(&text)
        .with_context(|| format!("reading public key file {}", path.display()))
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "warning: secret key file {} is readable by other users (chmod 600 it)",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

/// Replaces (or creates) `path` with `bytes` through a temporary sibling and a
/// rename, so that a reader never sees half a file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("writing {}: not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

/// Writes a file that must not exist yet unless `overwrite`, with Unix
/// permissions `mode` (also applied when an existing file is overwritten).
pub(crate) fn write_new(path: &Path, bytes: &[u8], mode: u32, overwrite: bool) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    let context = || format!("writing {}", path.display());
    let mut file = options.open(path).with_context(context)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(mode))
            .with_context(context)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(bytes).with_context(context)
}
