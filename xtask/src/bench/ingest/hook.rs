//! A webhook receiver on 127.0.0.1 for `bench alerts`: HTTP/1.1 with
//! keep-alive, every request's body recorded with the time it was read
//! whole, answered `204`. Threads end with the process (the benchmark
//! stops its server first).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Got = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

pub(super) struct Hook {
    pub(super) url: String,
    got: Got,
}

impl Hook {
    pub(super) fn start() -> anyhow::Result<Hook> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let got: Got = Arc::default();
        let shared = Arc::clone(&got);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let got = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(stream, &got);
                });
            }
        });
        Ok(Hook { url, got })
    }

    /// Every request so far: when it was read, and its body.
    pub(super) fn received(&self) -> Vec<(Instant, Vec<u8>)> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

/// Requests on one connection until the peer closes it.
fn serve(stream: TcpStream, got: &Got) -> anyhow::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let at = Instant::now();
        if let Ok(mut g) = got.lock() {
            g.push((at, body));
        }
        writer.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")?;
    }
}
