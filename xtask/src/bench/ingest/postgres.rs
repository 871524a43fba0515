//! A throw-away PostgreSQL cluster from the Debian binaries
//! (docs/design/server.md § 1.6): `initdb` into a folder of its own,
//! `postgres` on a free loopback port with durability off, and on drop a
//! fast shutdown (SIGINT) and the folder removed, also after an error.

use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::proc;

const BIN: &str = "/usr/lib/postgresql/15/bin";
/// The role every connection uses (`initdb -U`, trust authentication).
pub(super) const USER: &str = "vantage";
/// The longest `initdb`, the start and a `psql` command may take.
const STEP_LIMIT: Duration = Duration::from_secs(120);

pub(super) struct Cluster {
    dir: PathBuf,
    pub(super) port: u16,
    postmaster: Option<Child>,
}

impl Cluster {
    /// Checks that the binaries are there, before anything is built.
    pub(super) fn preflight() -> anyhow::Result<()> {
        for tool in ["initdb", "postgres", "pg_isready"] {
            if !Path::new(BIN).join(tool).exists() {
                bail!("{BIN}/{tool} is missing: apt-get install postgresql-15");
            }
        }
        if which("psql").is_none() {
            bail!("psql is missing: apt-get install postgresql-client-15");
        }
        Ok(())
    }

    /// Creates and starts a cluster in `<parent>/pg-<pid>`.
    pub(super) fn start(parent: &Path) -> anyhow::Result<Cluster> {
        Cluster::start_with(parent, &[])
    }

    /// [`Cluster::start`] with more `-c name=value` settings.
    pub(super) fn start_with(parent: &Path, settings: &[&str]) -> anyhow::Result<Cluster> {
        let dir = parent.join(format!("pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        // The guard exists from here on, so that every later failure removes
        // the folder (and stops the server once it runs).
        let mut cluster = Cluster {
            dir,
            port: 0,
            postmaster: None,
        };
        let owner = unprivileged_owner()?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&cluster.dir, Some(uid), Some(gid))?;
        }
        let as_owner = |cmd: &mut Command| {
            if let Some((uid, gid)) = owner {
                cmd.uid(uid).gid(gid);
            }
        };
        let data = cluster.dir.join("data");
        let mut initdb = Command::new(format!("{BIN}/initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(cluster.dir.join("initdb.log"))?);
        as_owner(&mut initdb);
        let status = initdb.status().context("starting initdb")?;
        if !status.success() {
            bail!(
                "initdb failed ({status}): see {}/initdb.log",
                cluster.dir.display()
            );
        }
        // A port probed free can be taken before postgres binds it: retry.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let log = std::fs::File::create(cluster.dir.join("postgres.log"))?;
            let mut postgres = Command::new(format!("{BIN}/postgres"));
            postgres
                .arg("-D")
                .arg(&data)
                .arg("-p")
                .arg(port.to_string())
                .arg("-k")
                .arg(&cluster.dir)
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args([
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ])
                .args(["-c", "max_connections=200"])
                .args(settings.iter().flat_map(|s| ["-c", *s]))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            as_owner(&mut postgres);
            cluster.postmaster = Some(postgres.spawn().context("starting postgres")?);
            cluster.port = port;
            if cluster.wait_ready()? {
                return Ok(cluster);
            }
            cluster.stop();
        }
        bail!(
            "postgres did not start: see {}/postgres.log",
            cluster.dir.display()
        )
    }

    /// Polls `pg_isready` until the server answers (true) or exits (false).
    fn wait_ready(&mut self) -> anyhow::Result<bool> {
        let start = Instant::now();
        while start.elapsed() < STEP_LIMIT {
            if let Some(child) = &mut self.postmaster
                && child.try_wait()?.is_some()
            {
                return Ok(false);
            }
            let ready = Command::new(format!("{BIN}/pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()?;
            if ready.success() {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("postgres was not ready after {STEP_LIMIT:?}")
    }

    pub(super) fn pid(&self) -> u32 {
        self.postmaster.as_ref().map_or(0, Child::id)
    }

    /// User + system CPU ticks of the postmaster and every backend, those
    /// that exited included (the postmaster reaps them into `cutime`).
    pub(super) fn cpu_ticks(&self) -> u64 {
        proc::tree_ticks(self.pid())
    }

    pub(super) fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    pub(super) fn create_database(&self, db: &str) -> anyhow::Result<()> {
        self.psql("postgres", &format!("CREATE DATABASE {db}"))
            .map(drop)
    }

    /// Runs one `psql -c` command in `db` and returns its unaligned output.
    pub(super) fn psql(&self, db: &str, command: &str) -> anyhow::Result<String> {
        let out = self
            .psql_command(db, command)
            .output()
            .context("starting psql")?;
        if !out.status.success() {
            bail!(
                "psql -c {command:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// `psql … -c command`, for callers that time it.
    pub(super) fn psql_command(&self, db: &str, command: &str) -> Command {
        let mut cmd = Command::new("psql");
        cmd.args([
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
        ])
        .args([
            "-p",
            &self.port.to_string(),
            "-U",
            USER,
            "-d",
            db,
            "-c",
            command,
        ])
        .stdin(Stdio::null());
        cmd
    }

    /// The server's version line, for the report.
    pub(super) fn version(&self) -> String {
        self.psql("postgres", "SHOW server_version")
            .unwrap_or_else(|_| "?".into())
    }

    fn stop(&mut self) {
        let Some(mut child) = self.postmaster.take() else {
            return;
        };
        // SIGINT is the fast shutdown: abort transactions, checkpoint, exit.
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `initdb` refuses to run as root: as root, the `postgres` user (or
/// `nobody`) owns the cluster; otherwise the current user does.
fn unprivileged_owner() -> anyhow::Result<Option<(u32, u32)>> {
    if std::fs::metadata("/proc/self")?.uid() != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    for name in ["postgres", "nobody"] {
        let ids = passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name) && f.len() > 3)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        });
        if let Some(ids) = ids {
            return Ok(Some(ids));
        }
    }
    bail!("running as root, and neither a `postgres` nor a `nobody` user exists to own the cluster")
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.exists())
}
