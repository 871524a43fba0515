//! The real `vantage-server` binary, for stories that stop, kill and restart
//! it, and what such stories read straight from its database.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use uuid::Uuid;

/// The real server binary on a fixed port (so a restart keeps its address).
#[derive(Debug)]
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
}

/// The server binary listening on `listen`, storing in `database_url`, with
/// the admin's `password`, logging warnings and errors only.
pub fn server_command(listen: &str, database_url: &str, password: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vantage-server"));
    command
        .args(["--listen", listen, "--database-url", database_url])
        .env("VANTAGE_ADMIN_PASSWORD", password)
        .env("RUST_LOG", "warn");
    command
}

impl ServerProcess {
    pub fn start(database_url: &str, port: u16, password: &str) -> ServerProcess {
        ServerProcess::start_with(database_url, port, password, &[])
    }

    /// With extra flags (e.g. `--tls-cert`); the URL's scheme is what the server announces.
    pub fn start_with(
        database_url: &str,
        port: u16,
        password: &str,
        extra: &[&str],
    ) -> ServerProcess {
        let mut child = server_command(&format!("127.0.0.1:{port}"), database_url, password)
            .args(["--jobs-interval", "1s"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut first).unwrap();
        // The rest (warnings, errors) to the test's output, where a failing
        // story shows it.
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                eprintln!("server {port}: {line}");
            }
        });
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("server said {first:?}"))
            .to_owned();
        ServerProcess { child, url }
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Kills it and holds its port until it starts again on it.
    pub fn kill9_holding_port(self) -> HeldPort {
        let port: u16 = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {}", self.url));
        self.kill9();
        HeldPort::bind(port)
    }
}

/// A killed server's port, bound but not listening: an agent's connection
/// is refused as by no server, and no other story's server (which takes a
/// free port from the kernel) can take it before this one starts again.
pub struct HeldPort {
    socket: socket2::Socket,
    port: u16,
}

impl HeldPort {
    fn bind(port: u16) -> HeldPort {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        // The dead server's connections may linger in TIME_WAIT.
        socket.set_reuse_address(true).expect("SO_REUSEADDR");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        socket
            .bind(&addr.into())
            .unwrap_or_else(|e| panic!("holding port {port}: {e}"));
        HeldPort { socket, port }
    }

    /// Lets go of the port and starts the server on it again.
    pub fn restart(self, database_url: &str, password: &str) -> ServerProcess {
        self.restart_with(database_url, password, &[])
    }

    /// As [`HeldPort::restart`], with extra flags.
    pub fn restart_with(self, database_url: &str, password: &str, extra: &[&str]) -> ServerProcess {
        let port = self.port;
        drop(self.socket);
        ServerProcess::start_with(database_url, port, password, extra)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every result id stored, read straight from the database.
pub async fn stored_ids(database_url: &str) -> Vec<Uuid> {
    if database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(database_url).await.unwrap();
        let ids = sqlx::query_scalar::<_, Uuid>("SELECT id FROM results")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        ids
    } else {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(database_url.trim_start_matches("sqlite://"))
            .read_only(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let ids = sqlx::query_scalar::<_, Uuid>("SELECT id FROM results")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        ids
    }
}
