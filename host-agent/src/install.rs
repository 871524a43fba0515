//! `vantage-agent install` and `uninstall`: the agent as a systemd service.
//!
//! Install puts this binary at `/usr/local/bin/vantage-agent`, writes a
//! managed configuration to `/etc/vantage/agent.toml` (kept if present),
//! enrolls into `/var/lib/vantage-agent` (skipped when already enrolled with
//! the same server), writes the hardened unit of `deploy/systemd/`, and
//! enables and (re)starts it when systemd runs this host. Each step leaves
//! what is already right alone, so running it twice changes nothing.
//! Uninstall removes the unit and the binary; the configuration, the
//! credential and the outbox (results not yet sent) stay unless `purge`.
//!
//! Every path lives under `root` (`/` on a host; a folder for images,
//! packages and tests, where systemd is never touched).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::enroll::{Credential, Enrollment, enroll};

/// The unit, byte for byte as in `deploy/systemd/` (scored there by CI).
pub const UNIT: &str = include_str!("../../deploy/systemd/vantage-agent.service");
pub const UNIT_NAME: &str = "vantage-agent.service";
/// Where the unit expects each file, on the host.
pub const BIN: &str = "usr/local/bin/vantage-agent";
pub const CONFIG: &str = "etc/vantage/agent.toml";
pub const CA: &str = "etc/vantage/server-ca.pem";
pub const UNIT_FILE: &str = "etc/systemd/system/vantage-agent.service";
/// The unit's `StateDirectory`; with `DynamicUser`, systemd moves it to
/// `private/` on first start and leaves a link here.
pub const STATE: &str = "var/lib/vantage-agent";
const PRIVATE_STATE: &str = "var/lib/private/vantage-agent";

/// What `install` was asked to do.
#[derive(Debug, Clone)]
pub struct Install {
    pub root: PathBuf,
    pub enrollment: Enrollment,
    /// Write everything, but neither enable nor start the unit.
    pub no_start: bool,
}

/// What a step did, for the report printed at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Wrote(PathBuf),
    Kept(PathBuf),
    Removed(PathBuf),
    Enrolled {
        name: String,
        server: String,
        /// The pinned roots' ids (`Credential::pinned_ids`).
        roots: String,
    },
    AlreadyEnrolled {
        name: String,
        server: String,
    },
    Ran(String),
    Note(String),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Wrote(p) => write!(f, "wrote {}", p.display()),
            Step::Kept(p) => write!(f, "kept {} (already as it should be)", p.display()),
            Step::Removed(p) => write!(f, "removed {}", p.display()),
            Step::Enrolled {
                name,
                server,
                roots,
            } => write!(
                f,
                "enrolled as {name} with {server}; pinned root keys: {roots}"
            ),
            Step::AlreadyEnrolled { name, server } => {
                write!(f, "already enrolled as {name} with {server}")
            }
            Step::Ran(c) => write!(f, "ran {c}"),
            Step::Note(n) => f.write_str(n),
        }
    }
}

/// The configuration `install` writes when there is none.
pub fn managed_config() -> String {
    format!(
        "# Written by `vantage-agent install`: the agent takes its checks and plugins\n\
         # from the server it enrolled with. See docs/agent-config.md for the rest.\n\
         [agent]\n\
         data_dir = \"/{STATE}\"\n"
    )
}

pub async fn install(request: Install) -> anyhow::Result<Vec<Step>> {
    systemd_system()?;
    let root = &request.root;
    let mut steps = Vec::new();
    let state = root.join(STATE);
    let mut enrollment = request.enrollment.clone();
    let server = enrollment.server.trim_end_matches('/').to_owned();
    // Whether to enroll is settled before anything is written.
    let enrolled = Credential::load(&state)?;
    match &enrolled {
        Some(c) if !same_server(&c.server, &server) => anyhow::bail!(
            "this host is enrolled with {} already (as {}); run `vantage-agent uninstall --purge` \
             first to enroll it with {server}",
            c.server,
            c.name
        ),
        Some(_) => {}
        None => anyhow::ensure!(
            !enrollment.token.is_empty(),
            "--token (or VANTAGE_ENROLL_TOKEN) is needed: this host is not enrolled yet"
        ),
    }
    let exe = std::env::current_exe().context("finding this program's path")?;
    let bin_bytes = std::fs::read(&exe).with_context(|| format!("reading {}", exe.display()))?;
    steps.push(put(&root.join(BIN), &bin_bytes, 0o755)?);
    steps.push(put_if_missing(
        &root.join(CONFIG),
        managed_config().as_bytes(),
    )?);
    match enrolled {
        Some(c) => steps.push(Step::AlreadyEnrolled {
            name: c.name,
            server: c.server,
        }),
        None => {
            // The service reads the CA from /etc/vantage, not from wherever
            // the file was given (its home is out of the unit's reach).
            let installed_ca = match enrollment.ca_file.take() {
                Some(given) => {
                    let pem = std::fs::read(&given)
                        .with_context(|| format!("reading {}", given.display()))?;
                    steps.push(put(&root.join(CA), &pem, 0o644)?);
                    enrollment.ca_file = Some(root.join(CA));
                    Some(Path::new("/").join(CA))
                }
                None => None,
            };
            let mut credential = enroll(&state, enrollment).await?;
            if credential.ca_file.is_some() {
                credential.ca_file = installed_ca;
                credential.save(&state)?;
            }
            steps.push(Step::Enrolled {
                roots: credential.pinned_ids(),
                name: credential.name,
                server: credential.server,
            });
        }
    }

    let unit = put(&root.join(UNIT_FILE), UNIT.as_bytes(), 0o644)?;
    let changed = steps
        .iter()
        .chain([&unit])
        .any(|s| matches!(s, Step::Wrote(_)));
    steps.push(unit);
    if request.no_start {
        steps.push(Step::Note(format!(
            "not started (--no-start): `systemctl enable --now {UNIT_NAME}` starts it"
        )));
    } else if let Some(why) = no_systemd(root) {
        steps.push(Step::Note(format!(
            "{why}: enable and start {UNIT_NAME} with the init system"
        )));
    } else {
        steps.push(systemctl(&["daemon-reload"])?);
        steps.push(systemctl(&["enable", UNIT_NAME])?);
        // A new binary, configuration or unit takes a restart; else `start`
        // leaves a running agent alone.
        steps.push(systemctl(&[
            if changed { "restart" } else { "start" },
            UNIT_NAME,
        ])?);
    }
    Ok(steps)
}

pub fn uninstall(root: &Path, purge: bool) -> anyhow::Result<Vec<Step>> {
    systemd_system()?;
    let mut steps = Vec::new();
    let unit = root.join(UNIT_FILE);
    let systemd = no_systemd(root).is_none();
    if systemd && unit.exists() {
        steps.push(systemctl(&["disable", "--now", UNIT_NAME])?);
    }
    for path in [unit, root.join(BIN)] {
        steps.extend(remove(&path)?);
    }
    if systemd {
        steps.push(systemctl(&["daemon-reload"])?);
    }
    if purge {
        for path in [root.join(CONFIG), root.join(CA)] {
            steps.extend(remove(&path)?);
        }
        for dir in [root.join(STATE), root.join(PRIVATE_STATE)] {
            steps.extend(remove(&dir)?);
        }
    } else {
        let state = root.join(STATE);
        if state.exists() {
            steps.push(Step::Note(format!(
                "kept {} and {} (credential and unsent results): --purge removes them",
                root.join(CONFIG).display(),
                state.display()
            )));
        }
    }
    Ok(steps)
}

/// Whether two server URLs name the same server (`HTTP://Host:443/` is
/// `https://host`).
fn same_server(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Why systemd is not to be driven here, if it is not.
fn no_systemd(root: &Path) -> Option<String> {
    if root != Path::new("/") {
        return Some(format!("installed under {}", root.display()));
    }
    // sd_booted(): systemd is PID 1.
    if !Path::new("/run/systemd/system").is_dir() {
        return Some("systemd is not running on this host".into());
    }
    None
}

fn systemctl(args: &[&str]) -> anyhow::Result<Step> {
    let line = format!("systemctl {}", args.join(" "));
    let out = Command::new("systemctl")
        .args(args)
        .output()
        .with_context(|| format!("starting {line}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{line} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(Step::Ran(line))
}

/// The unit is systemd's: elsewhere the agent runs under the system's own
/// service manager (docs/design/platforms.md).
fn systemd_system() -> anyhow::Result<()> {
    if !crate::platform::SYSTEMD {
        anyhow::bail!(
            "`install` sets the agent up as a systemd service, and {} has no systemd: run `vantage-agent run --config FILE` under the system's service manager",
            crate::platform::SYSTEM
        );
    }
    Ok(())
}

/// Writes `path` with `bytes` and `mode` unless it holds them already.
fn put(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<Step> {
    let same = std::fs::read(path).is_ok_and(|b| b == bytes)
        && std::fs::metadata(path)
            .is_ok_and(|m| crate::platform::mode(&m).is_none_or(|m| m == mode));
    if same {
        return Ok(Step::Kept(path.to_owned()));
    }
    let dir = path.parent().context("a file has a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Through a temporary file: a running binary is replaced, not rewritten.
    let tmp = crate::files::private_tmp(path, bytes)?;
    crate::platform::set_mode(&tmp, mode)?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(Step::Wrote(path.to_owned()))
}

/// Writes `path` only when there is no such file: an operator's edits stay.
fn put_if_missing(path: &Path, bytes: &[u8]) -> anyhow::Result<Step> {
    if path.exists() {
        return Ok(Step::Kept(path.to_owned()));
    }
    put(path, bytes, 0o644)
}

fn remove(path: &Path) -> anyhow::Result<Option<Step>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
    .with_context(|| format!("removing {}", path.display()))?;
    Ok(Some(Step::Removed(path.to_owned())))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_written_configuration_is_a_valid_managed_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(&path, managed_config()).unwrap();
        let config = crate::config::AgentConfig::load(&path).unwrap();
        assert_eq!(
            config.resolve(&config.agent.data_dir),
            Path::new("/var/lib/vantage-agent")
        );
    }

    #[test]
    fn the_unit_runs_the_installed_binary_on_the_installed_configuration() {
        assert!(
            UNIT.contains(&format!("ExecStart=/{BIN} run --config /{CONFIG}\n")),
            "{UNIT}"
        );
        assert!(UNIT.contains("StateDirectory=vantage-agent\n"));
    }

    #[test]
    fn server_urls_compare_as_urls() {
        assert!(same_server(
            "http://127.0.0.1:8080",
            "HTTP://127.0.0.1:8080/"
        ));
        assert!(same_server("https://v.example", "https://v.example:443"));
        assert!(!same_server("https://v.example", "https://w.example"));
    }

    #[test]
    fn putting_the_same_bytes_twice_keeps_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/file");
        assert_eq!(put(&path, b"x", 0o644).unwrap(), Step::Wrote(path.clone()));
        assert_eq!(put(&path, b"x", 0o644).unwrap(), Step::Kept(path.clone()));
        assert_eq!(put(&path, b"x", 0o755).unwrap(), Step::Wrote(path.clone()));
        assert_eq!(put(&path, b"y", 0o755).unwrap(), Step::Wrote(path.clone()));
        assert_eq!(std::fs::read(&path).unwrap(), b"y");
        assert_eq!(
            put_if_missing(&path, b"z").unwrap(),
            Step::Kept(path.clone())
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"y");
    }
}
