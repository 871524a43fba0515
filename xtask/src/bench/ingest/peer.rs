//! The peers: the same rows the server stored, loaded by the database's own
//! bulk path into copies of the tables (same columns, same indexes), in the
//! same database, right after the server's run.
//!
//! - PostgreSQL: `psql \copy … FROM file` into `samples_copy (LIKE samples
//!   INCLUDING ALL)` and `results_copy (LIKE results INCLUDING ALL)`.
//! - SQLite: python3's `sqlite3` module, `executemany` in one transaction
//!   with WAL and `synchronous=FULL` (as the server), into copies made from
//!   the tables' own `CREATE` statements. The sqlite3 CLI's `.import` reads
//!   text only, so it could not load the results' BLOB ids.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};

use super::postgres::Cluster;

/// Rows and seconds of one table's bulk load.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Load {
    pub(super) rows: u64,
    pub(super) seconds: f64,
}

impl Load {
    pub(super) fn rate(&self) -> f64 {
        self.rows as f64 / self.seconds.max(1e-9)
    }
}

/// The peer's figures for one run.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Peer {
    pub(super) samples: Load,
    pub(super) results: Load,
    /// PostgreSQL's CPU during the samples load, % of one core.
    pub(super) db_cpu: Option<f64>,
}

impl Peer {
    /// Samples per second when the peer also loads the results, as the
    /// server does.
    pub(super) fn combined_rate(&self) -> f64 {
        self.samples.rows as f64 / (self.samples.seconds + self.results.seconds).max(1e-9)
    }
}

/// `\copy` the stored rows out to TSV files in `dir`, then time `\copy` of
/// each into its copy table.
pub(super) fn postgres(cluster: &Cluster, db: &str, dir: &Path) -> anyhow::Result<Peer> {
    let mut peer = Peer::default();
    cluster.psql(
        db,
        "CREATE TABLE samples_copy (LIKE samples INCLUDING ALL); CREATE TABLE results_copy (LIKE results INCLUDING ALL)",
    )?;
    for (table, columns) in [("samples", "series_id, ts, value"), ("results", "*")] {
        let copy = format!("{table}_copy");
        let indexes: u64 = cluster
            .psql(
                db,
                &format!("SELECT count(*) FROM pg_indexes WHERE tablename = '{copy}'"),
            )?
            .parse()?;
        let expected: u64 = cluster
            .psql(
                db,
                &format!("SELECT count(*) FROM pg_indexes WHERE tablename = '{table}'"),
            )?
            .parse()?;
        if indexes != expected {
            bail!("{copy} has {indexes} indexes, {table} {expected}");
        }
        let file = dir.join(format!("{db}-{table}.tsv"));
        cluster.psql(
            db,
            &format!(
                "\\copy (SELECT {columns} FROM {table}) TO '{}'",
                file.display()
            ),
        )?;
        cluster.psql(db, "CHECKPOINT")?;
        let cpu0 = cluster.cpu_ticks();
        let started = Instant::now();
        let out = cluster
            .psql_command(db, &format!("\\copy {copy} FROM '{}'", file.display()))
            .output()
            .context("starting psql")?;
        let seconds = started.elapsed().as_secs_f64();
        let cpu1 = cluster.cpu_ticks();
        if !out.status.success() {
            bail!(
                "\\copy into {copy} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let rows: u64 = cluster
            .psql(db, &format!("SELECT count(*) FROM {copy}"))?
            .parse()?;
        let stored: u64 = cluster
            .psql(db, &format!("SELECT count(*) FROM {table}"))?
            .parse()?;
        if rows != stored {
            bail!("{copy} holds {rows} rows, {table} {stored}");
        }
        let _ = std::fs::remove_file(&file);
        let load = Load { rows, seconds };
        if table == "samples" {
            peer.samples = load;
            peer.db_cpu =
                Some((cpu1 - cpu0) as f64 / super::super::procfs::clock_ticks() / seconds * 100.0);
        } else {
            peer.results = load;
        }
    }
    Ok(peer)
}

/// Copies `samples` and `results` of a stopped server's database file (see
/// the module comment); returns the peer and python's SQLite version.
pub(super) fn sqlite(db: &Path) -> anyhow::Result<(Peer, String)> {
    let out = Command::new("python3")
        .args(["-c", SQLITE_PEER])
        .arg(db)
        .output()
        .context("starting python3")?;
    if !out.status.success() {
        bail!(
            "the SQLite peer failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut peer = Peer::default();
    let mut version = String::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            [table, rows, seconds] => {
                let load = Load {
                    rows: rows.parse()?,
                    seconds: seconds.parse()?,
                };
                match *table {
                    "samples" => peer.samples = load,
                    _ => peer.results = load,
                }
            }
            [v] => version = (*v).to_owned(),
            _ => bail!("the SQLite peer printed {line:?}"),
        }
    }
    Ok((peer, version))
}

/// argv[1] = the database. Reads every row first (untimed), then times
/// `BEGIN; executemany(INSERT …); COMMIT` into `<table>_copy`.
const SQLITE_PEER: &str = r#"
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=FULL")
for table in ("samples", "results"):
    copy = table + "_copy"
    con.execute("DROP TABLE IF EXISTS " + copy)
    ddl = con.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                      "ORDER BY type = 'table' DESC", (table,)).fetchall()
    for kind, name, sql in ddl:
        if kind == "table":
            sql = sql.replace(table, copy, 1)
        else:
            head, on, rest = sql.partition(" ON ")
            sql = head.replace(name, name + "_copy", 1) + on + rest.replace(table, copy, 1)
        con.execute(sql)
    rows = con.execute("SELECT * FROM " + table).fetchall()
    width = len(con.execute("SELECT * FROM " + table + " LIMIT 0").description)
    insert = "INSERT INTO %s VALUES (%s)" % (copy, ",".join("?" * width))
    started = time.perf_counter()
    con.execute("BEGIN")
    con.executemany(insert, rows)
    con.execute("COMMIT")
    print(table, len(rows), "%.6f" % (time.perf_counter() - started))
print(sqlite3.sqlite_version)
"#;
