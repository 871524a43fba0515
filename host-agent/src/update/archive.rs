//! A release archive's files: read whole from the downloaded `.tar.gz`
//! (what is wrong with it refuses the release), then written into a new
//! staging folder (what fails there is the disk's, for now).

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, bail};

use super::BINARY;

/// The files of a `.tar.gz` the agent keeps: its `vantage-agent` (and a
/// `FAULT` file, which only a test build reads, see `fault.rs`).
pub(super) fn files_of(archive: &[u8]) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut files: Vec<(&'static str, Vec<u8>)> = Vec::new();
    for entry in tar.entries().context("reading the archive")? {
        let mut entry = entry.context("reading the archive")?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().context("a path in the archive")?.into_owned();
        let name = path.file_name().and_then(|n| n.to_str());
        // `FAULT` only matters to a test build of the new version; the
        // build that unpacks it may be any.
        let Some(name) = [BINARY, "FAULT"].into_iter().find(|w| name == Some(*w)) else {
            continue;
        };
        if files.iter().any(|(n, _)| *n == name) {
            bail!("the archive holds more than one `{name}`");
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .context("reading the archive")?;
        files.push((name, bytes));
    }
    if !files.iter().any(|(n, _)| *n == BINARY) {
        bail!("the archive holds no `{BINARY}`");
    }
    Ok(files)
}

/// Writes `files` into a new folder `dir`, each 0755 and synced.
pub(super) fn write_files(files: &[(&str, Vec<u8>)], dir: &Path) -> anyhow::Result<()> {
    crate::files::private_dir(dir)?;
    for (name, bytes) in files {
        let out = dir.join(name);
        let mut file = crate::platform::executable_options()
            .write(true)
            .create_new(true)
            .open(&out)
            .with_context(|| format!("creating {}", out.display()))?;
        std::io::Write::write_all(&mut file, bytes)
            .with_context(|| format!("writing {}", out.display()))?;
        file.sync_all()
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.tar.gz` of `files` (path, content).
    fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o755);
            header.set_cksum();
            tar.append_data(&mut header, path, *bytes).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn an_archive_yields_its_binary_and_fault_and_nothing_else() {
        let archive = tar_gz(&[
            ("vantage-9.0.0/bin/vantage-agent", b"binary"),
            ("vantage-9.0.0/bin/FAULT", b"crash"),
            ("vantage-9.0.0/README.md", b"words"),
        ]);
        let files = files_of(&archive).unwrap();
        assert_eq!(
            files,
            [(BINARY, b"binary".to_vec()), ("FAULT", b"crash".to_vec())]
        );
    }

    #[test]
    fn an_archive_without_one_binary_or_not_an_archive_is_refused() {
        let none = tar_gz(&[("bin/vantage-server", b"other")]);
        let err = files_of(&none).unwrap_err().to_string();
        assert!(err.contains("holds no `vantage-agent`"), "{err}");
        let two = tar_gz(&[("a/vantage-agent", b"1"), ("b/vantage-agent", b"2")]);
        let err = files_of(&two).unwrap_err().to_string();
        assert!(err.contains("more than one `vantage-agent`"), "{err}");
        assert!(files_of(b"not gzip at all").is_err());
    }

    #[test]
    fn written_files_are_executable_and_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("staging");
        write_files(&[(BINARY, b"bin".to_vec())], &out).unwrap();
        let mode = crate::platform::mode(&std::fs::metadata(out.join(BINARY)).unwrap());
        assert!(mode.is_none_or(|m| m & 0o777 == 0o755), "{mode:?}");
        assert!(write_files(&[(BINARY, b"again".to_vec())], &out).is_err());
        assert_eq!(std::fs::read(out.join(BINARY)).unwrap(), b"bin");
    }
}
