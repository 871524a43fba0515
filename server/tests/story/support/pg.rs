//! A throw-away PostgreSQL cluster from the distribution's binaries
//! (docs/design/server.md § 1.6): one per test binary, a fresh database per
//! test.
//!
//! Lifecycle. The first [`fresh_database`] starts the cluster: a temp folder
//! (chowned to `postgres`, else `nobody`, when running as root, since initdb
//! refuses root), `initdb` and `postgres` run as that user, `postgres` on a
//! free loopback port with durability off. A static holds it, and a static's
//! `Drop` never runs, so a **watchdog** cleans up: `sh` in its own process
//! group, blocked reading a pipe whose only write end this process holds.
//! When this process ends, however it ends (success, panic, `kill -9`), the
//! kernel closes that end; `read` returns, and the watchdog sends SIGINT
//! (fast shutdown) to the postmaster named in `postmaster.pid`, waits for it
//! and removes the folder. Started before initdb, it also cleans up after a
//! failed start. Its own process group keeps a terminal's Ctrl-C from killing
//! it before it has cleaned up.
//!
//! Environment:
//! - `CI`, `VANTAGE_REQUIRE_PG` or `VANTAGE_REQUIRE_ALL`: no PostgreSQL is a
//!   failure; otherwise the PostgreSQL tests print why and pass.
//! - `VANTAGE_TEST_PG_BIN`: the folder of `initdb` and `postgres` (default:
//!   the newest `/usr/lib/postgresql/*/bin`).
//! - `VANTAGE_TEST_PG_PRELOAD`: `shared_preload_libraries`, e.g.
//!   `timescaledb` for the manual TimescaleDB check.
//! - `VANTAGE_TEST_PG_SETTINGS`: more `name=value` settings, space-separated,
//!   e.g. `timescaledb.license=apache`.
//! - `VANTAGE_REQUIRE_TIMESCALEDB`: a machine without TimescaleDB fails the
//!   TimescaleDB legs ([`Flavour::Timescale`], a second cluster started
//!   whenever the extension is installed) instead of skipping them.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;

/// The database superuser initdb creates.
const SUPERUSER: &str = "vantage";

#[derive(Debug)]
pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
    /// The watchdog's stdin: closed by the kernel when this process exits.
    _watchdog: ChildStdin,
}

static CLUSTER: OnceLock<Result<Option<Cluster>, String>> = OnceLock::new();
static TIMESCALE: OnceLock<Result<Option<Cluster>, String>> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// Which cluster: the plain one (whatever `VANTAGE_TEST_PG_PRELOAD` says),
/// or one with TimescaleDB preloaded under its Timescale license, started
/// whenever the machine has the extension installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Plain,
    Timescale,
}

/// The cluster, started on first use; `None` when PostgreSQL (or, for
/// [`Flavour::Timescale`], TimescaleDB) is missing and not required.
pub fn cluster_of(flavour: Flavour) -> Option<&'static Cluster> {
    let cell = match flavour {
        Flavour::Plain => &CLUSTER,
        Flavour::Timescale => &TIMESCALE,
    };
    match cell.get_or_init(|| start(flavour)) {
        Ok(cluster) => cluster.as_ref(),
        Err(e) => panic!("{e}"),
    }
}

/// The plain cluster (see [`cluster_of`]).
pub fn cluster() -> Option<&'static Cluster> {
    cluster_of(Flavour::Plain)
}

/// The URL of a new, empty database, or `None` (PostgreSQL tests skip).
pub async fn fresh_database() -> Option<String> {
    fresh_database_of(Flavour::Plain).await
}

/// The URL of a new, empty database of the `flavour` cluster, or `None`.
pub async fn fresh_database_of(flavour: Flavour) -> Option<String> {
    // Starting takes a second or two of blocking work; keep it off the runtime.
    let started = tokio::task::spawn_blocking(move || cluster_of(flavour)).await;
    let cluster = started.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
    let name = format!("test_{}", DATABASES.fetch_add(1, Ordering::Relaxed));
    let mut admin = sqlx::PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    Some(cluster.url(&name))
}

impl Cluster {
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }
}

fn required() -> bool {
    super::required() || std::env::var_os("VANTAGE_REQUIRE_PG").is_some()
}

/// `VANTAGE_TEST_PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin`;
/// only if it has an initdb.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VANTAGE_TEST_PG_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").is_file().then_some(dir);
    }
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

#[allow(unsafe_code)]
fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions, touches no memory and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// uid and gid of `postgres`, else `nobody`, from /etc/passwd.
fn unprivileged_user() -> Result<(u32, u32), String> {
    let passwd =
        std::fs::read_to_string("/etc/passwd").map_err(|e| format!("reading /etc/passwd: {e}"))?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() > 3
                && fields[0] == wanted
                && let (Ok(uid), Ok(gid)) = (fields[2].parse(), fields[3].parse())
            {
                return Ok((uid, gid));
            }
        }
    }
    Err(
        "running as root, and /etc/passwd has neither `postgres` nor `nobody` to run PostgreSQL as"
            .into(),
    )
}

/// Where the Debian packages put an extension's library and control file:
/// `/usr/lib/postgresql/<v>/lib` and `/usr/share/postgresql/<v>/extension`.
fn timescale_installed(bin: &Path) -> bool {
    let Some(home) = bin.parent() else {
        return false;
    };
    let version = home.file_name().unwrap_or_default();
    home.join("lib/timescaledb.so").is_file()
        && Path::new("/usr/share/postgresql")
            .join(version)
            .join("extension/timescaledb.control")
            .is_file()
}

fn start(flavour: Flavour) -> Result<Option<Cluster>, String> {
    let Some(bin) = bin_dir() else {
        if required() {
            return Err("PostgreSQL is required (CI, VANTAGE_REQUIRE_PG or VANTAGE_REQUIRE_ALL is set), \
                        but there is no initdb in VANTAGE_TEST_PG_BIN or /usr/lib/postgresql/*/bin: \
                        install postgresql (Debian: postgresql-15)"
                .into());
        }
        eprintln!(
            "Skipping the PostgreSQL tests: no initdb in VANTAGE_TEST_PG_BIN or /usr/lib/postgresql/*/bin. \
             Install postgresql, or set VANTAGE_REQUIRE_PG=1 to fail instead."
        );
        return Ok(None);
    };
    if flavour == Flavour::Timescale && !timescale_installed(&bin) {
        if std::env::var_os("VANTAGE_REQUIRE_TIMESCALEDB").is_some() {
            return Err(format!(
                "TimescaleDB is required (VANTAGE_REQUIRE_TIMESCALEDB is set), but {} has no \
                 lib/timescaledb.so with its control file",
                bin.display()
            ));
        }
        eprintln!(
            "Skipping the TimescaleDB legs: the extension is not installed for {} \
             (it is not in Debian; see docs/operations.md). Set VANTAGE_REQUIRE_TIMESCALEDB=1 to fail instead.",
            bin.display()
        );
        return Ok(None);
    }
    let user = if running_as_root() {
        Some(unprivileged_user()?)
    } else {
        None
    };
    let as_user = |command: &mut Command| {
        if let Some((uid, gid)) = user {
            command.uid(uid).gid(gid);
        }
    };

    let dir = tempfile::Builder::new()
        .prefix("vantage-pg-")
        .tempdir()
        .map_err(|e| format!("creating a temp folder: {e}"))?
        .keep();
    let watchdog = spawn_watchdog(&dir)?;
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", dir.display()))?;
    }

    let data = dir.join("data");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ])
        .current_dir(&dir);
    as_user(&mut initdb);
    let out = initdb
        .output()
        .map_err(|e| format!("running {}: {e}", bin.join("initdb").display()))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }

    // A free port may be taken between probing and binding: retry then.
    for _ in 0..5 {
        let port = free_port()?;
        let log_path = dir.join(format!("postgres-{port}.log"));
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("creating {}: {e}", log_path.display()))?;
        let mut postgres = Command::new(bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(&dir)
            .args(settings(flavour).iter().flat_map(|s| ["-c", s.as_str()]))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        as_user(&mut postgres);
        let mut child = postgres
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        match wait_ready(&bin, port, &mut child) {
            Ok(()) => {
                return Ok(Some(Cluster {
                    port,
                    dir,
                    _watchdog: watchdog,
                }));
            }
            Err(exited) => {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                if exited && log.contains("could not bind") {
                    continue;
                }
                let _ = child.kill();
                return Err(format!("postgres did not start:\n{log}"));
            }
        }
    }
    Err("postgres found no free port in five tries".into())
}

/// The `-c` settings: durability off (a throw-away cluster), loopback only.
fn settings(flavour: Flavour) -> Vec<String> {
    let mut settings: Vec<String> = [
        "listen_addresses=127.0.0.1",
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
        "max_connections=300",
    ]
    .map(String::from)
    .into();
    if flavour == Flavour::Timescale {
        settings.extend(
            [
                "shared_preload_libraries=timescaledb",
                "timescaledb.license=timescale",
                "timescaledb.telemetry_level=off",
            ]
            .map(String::from),
        );
        return settings;
    }
    if let Ok(preload) = std::env::var("VANTAGE_TEST_PG_PRELOAD") {
        if preload.contains("timescaledb") {
            settings.push("timescaledb.telemetry_level=off".into());
        }
        settings.push(format!("shared_preload_libraries={preload}"));
    }
    if let Ok(more) = std::env::var("VANTAGE_TEST_PG_SETTINGS") {
        settings.extend(more.split_whitespace().map(String::from));
    }
    settings
}

/// The watchdog described in the module docs. `$1` is the cluster folder.
fn spawn_watchdog(dir: &Path) -> Result<ChildStdin, String> {
    const SCRIPT: &str = r#"
        trap '' INT HUP
        read -r _ || true
        pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
        if [ -n "$pid" ] && grep -qs postgres "/proc/$pid/comm"; then
            kill -INT "$pid"
            i=0
            while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        fi
        rm -rf "$1"
    "#;
    let mut child = Command::new("sh")
        .args(["-c", SCRIPT, "vantage-pg-watchdog"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting the cluster's watchdog (sh): {e}"))?;
    child
        .stdin
        .take()
        .ok_or_else(|| "the watchdog has no stdin".to_string())
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("finding a free port: {e}"))?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Polls `pg_isready` every 20 ms for up to 60 s. `Err(true)`: postgres exited.
fn wait_ready(bin: &Path, port: u16, child: &mut Child) -> Result<(), bool> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return Err(true);
        }
        let ready = Command::new(bin.join("pg_isready"))
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                SUPERUSER,
            ])
            .stdin(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(false)
}
