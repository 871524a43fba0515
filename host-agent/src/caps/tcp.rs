//! `vantage:plugin/tcp`: connect with timing, optionally send and read.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use wasmtime::component::{HasSelf, Linker};

use super::Access;
use super::net::{connect_first, nanos, net_error, within};
use crate::bindings::NetError;
use crate::bindings::vantage::plugin::tcp::{self, ConnectRequest, ConnectResponse};

pub(crate) struct TcpCap {
    access: Access,
}

impl TcpCap {
    pub(crate) fn new(access: Access) -> Self {
        TcpCap { access }
    }
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
    access.granted()?;
    if r.port == 0 {
        return Err(NetError::Invalid("port 0 cannot be connected to".into()));
    }
    let timeout = access.timeout(r.timeout_ms);
    let start = Instant::now();
    within(timeout, async {
        let (addrs, dns) = access.resolve(&r.host, r.port).await?;
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

/// Adds `vantage:plugin/tcp` to `linker`, served by the [`TcpCap`] that `get`
/// finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut TcpCap,
) -> wasmtime::Result<()> {
    tcp::add_to_linker::<T, HasSelf<TcpCap>>(linker, get)
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;
    use vantage_protocol::manifest::Capability;

    use super::*;
    use crate::caps::access::tests::{bounds, bounds_allowing, granted};

    fn request(host: &str, port: u16) -> ConnectRequest {
        ConnectRequest {
            host: host.into(),
            port,
            timeout_ms: 2000,
            delay_ms: 0,
            send: Some(b"ping".to_vec()),
            read_max: 16,
        }
    }

    #[tokio::test]
    async fn connects_sends_and_reads_from_a_local_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&[b"pong:", &buf[..]].concat()).await.unwrap();
        });
        let mut tcp = TcpCap::new(granted(Capability::Tcp, &bounds(10, "127.0.0.1")));
        let r = tcp::Host::connect(&mut tcp, request("127.0.0.1", port))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.address, format!("127.0.0.1:{port}"));
        assert_eq!(r.received, b"pong:ping");
        assert_eq!(r.dns_ns, 0);
        assert!(r.first_byte_ns.is_some());
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_and_port_zero_invalid() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut tcp = TcpCap::new(granted(Capability::Tcp, &bounds(10, "127.0.0.1")));
        let out = tcp::Host::connect_many(
            &mut tcp,
            vec![request("127.0.0.1", closed), request("127.0.0.1", 0)],
        )
        .await
        .unwrap();
        assert!(matches!(out[0], Err(NetError::Refused)), "{:?}", out[0]);
        assert!(matches!(out[1], Err(NetError::Invalid(_))), "{:?}", out[1]);
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_reaches_it_only_when_the_address_is_listed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // `localhost` is in scope by name, but resolves to loopback.
        let named = bounds_allowing("localhost", &[]);
        let mut tcp = TcpCap::new(granted(Capability::Tcp, &named));
        let r = tcp::Host::connect(&mut tcp, request("localhost", port))
            .await
            .unwrap();
        assert!(
            matches!(&r, Err(NetError::Denied(m)) if m.contains("(loopback)")),
            "{r:?}"
        );
        let pending = tokio::time::timeout(Duration::from_millis(50), listener.accept()).await;
        assert!(pending.is_err(), "the listener was contacted");
        // `*` does not list it either; naming the address does.
        let any = bounds_allowing("localhost", &["*", "0.0.0.0/0"]);
        let r = tcp::Host::connect(
            &mut TcpCap::new(granted(Capability::Tcp, &any)),
            request("localhost", port),
        )
        .await
        .unwrap();
        assert!(matches!(r, Err(NetError::Denied(_))), "{r:?}");
        let listed = bounds_allowing("localhost", &["127.0.0.1", "::1"]);
        let accept = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let r = tcp::Host::connect(
            &mut TcpCap::new(granted(Capability::Tcp, &listed)),
            request("localhost", port),
        )
        .await
        .unwrap();
        assert_eq!(r.unwrap().received, b"ping");
        accept.await.unwrap();
    }

    #[tokio::test]
    async fn a_host_outside_the_scope_is_never_contacted() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut tcp = TcpCap::new(granted(Capability::Tcp, &bounds(10, "127.0.0.2")));
        let r = tcp::Host::connect(&mut tcp, request("127.0.0.1", port))
            .await
            .unwrap();
        assert!(matches!(r, Err(NetError::Denied(_))), "{r:?}");
        let pending = tokio::time::timeout(Duration::from_millis(50), listener.accept()).await;
        assert!(pending.is_err(), "the listener was contacted");
    }
}
