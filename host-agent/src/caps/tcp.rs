//! `vantage:plugin/tcp`: connect with timing, optionally send and read.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use wasmtime::component::{HasSelf, Linker};

use super::{Access, net_error, within};
use crate::bindings::NetError;
use crate::bindings::vantage::plugin::tcp::{self, ConnectRequest, ConnectResponse};
use crate::run::RunState;

pub(crate) struct TcpCap {
    pub(crate) access: Access,
}

impl tcp::Host for TcpCap {
    async fn connect(
        &mut self,
        request: ConnectRequest,
    ) -> wasmtime::Result<Result<ConnectResponse, NetError>> {
        Ok(self.connect_many(vec![request]).await?.remove(0))
    }

    async fn connect_many(
        &mut self,
        requests: Vec<ConnectRequest>,
    ) -> wasmtime::Result<Vec<Result<ConnectResponse, NetError>>> {
        let access = &self.access;
        access
            .batch(requests, |r| r.delay_ms, |r| connect(access, r))
            .await
    }
}

async fn connect(access: &Access, r: ConnectRequest) -> Result<ConnectResponse, NetError> {
    access.reach(&r.host)?;
    if r.port == 0 {
        return Err(NetError::Invalid("port 0 cannot be connected to".into()));
    }
    let timeout = access.timeout(r.timeout_ms);
    let start = Instant::now();
    within(timeout, async {
        let (addrs, dns) = resolve(&r.host, r.port).await?;
        let (stream, addr, connect) = connect_first(&addrs).await?;
        let (received, first_byte) = exchange(stream, r.send.as_deref(), r.read_max).await?;
        Ok(ConnectResponse {
            address: addr.to_string(),
            dns_ns: nanos(dns),
            connect_ns: nanos(connect),
            received,
            first_byte_ns: first_byte.map(nanos),
        })
    })
    .await
    .inspect(|_| tracing::trace!(host = r.host, elapsed = ?start.elapsed(), "TCP connect done."))
}

/// Resolves `host` (an address literal costs nothing), returning the addresses
/// and how long resolution took.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
) -> Result<(Vec<SocketAddr>, Duration), NetError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok((vec![SocketAddr::new(ip, port)], Duration::ZERO));
    }
    let start = Instant::now();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| NetError::Dns(format!("cannot resolve `{bare}`: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(NetError::Dns(format!("`{bare}` has no addresses")));
    }
    Ok((addrs, start.elapsed()))
}

/// Connects to the first address that accepts, returning the stream, the
/// address and the handshake time of the successful attempt.
pub(crate) async fn connect_first(
    addrs: &[SocketAddr],
) -> Result<(TcpStream, SocketAddr, Duration), NetError> {
    let mut last = NetError::Io("no address to connect to".into());
    for addr in addrs {
        let start = Instant::now();
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let elapsed = start.elapsed();
                let _ = stream.set_nodelay(true);
                return Ok((stream, *addr, elapsed));
            }
            Err(e) => last = net_error(&e),
        }
    }
    Err(last)
}

async fn exchange(
    mut stream: TcpStream,
    send: Option<&[u8]>,
    read_max: u32,
) -> Result<(Vec<u8>, Option<Duration>), NetError> {
    let connected = Instant::now();
    if let Some(bytes) = send {
        stream.write_all(bytes).await.map_err(|e| net_error(&e))?;
    }
    let read_max = (read_max as usize).min(1 << 20);
    if read_max == 0 {
        return Ok((Vec::new(), None));
    }
    let mut buf = vec![0u8; read_max];
    let n = stream.read(&mut buf).await.map_err(|e| net_error(&e))?;
    let first = connected.elapsed();
    buf.truncate(n);
    Ok((buf, Some(first)))
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

pub(crate) fn add_to_linker(
    linker: &mut Linker<RunState>,
    get: fn(&mut RunState) -> &mut TcpCap,
) -> wasmtime::Result<()> {
    tcp::add_to_linker::<_, HasSelf<TcpCap>>(linker, get)
}
