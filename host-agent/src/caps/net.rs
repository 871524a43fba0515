//! Network helpers the network capabilities share: name resolution, the
//! first connect that succeeds, I/O errors as WIT errors, timeouts, and
//! durations as WIT nanoseconds.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::bindings::NetError;

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

/// Maps an I/O error to the WIT error a plugin handles.
pub(crate) fn net_error(e: &std::io::Error) -> NetError {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused | K::ConnectionReset => NetError::Refused,
        K::TimedOut => NetError::Timeout,
        K::HostUnreachable | K::NetworkUnreachable => NetError::Unreachable(e.to_string()),
        _ => match e.raw_os_error() {
            Some(113) => NetError::Unreachable("no route to host".into()),
            Some(101) => NetError::Unreachable("network is unreachable".into()),
            _ => NetError::Io(e.to_string()),
        },
    }
}

/// Runs `fut` within `timeout`, mapping expiry to [`NetError::Timeout`].
pub(crate) async fn within<T>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or(Err(NetError::Timeout))
}

/// A duration in WIT nanoseconds (saturating).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn address_literals_resolve_without_a_lookup() {
        let (addrs, took) = resolve("[::1]", 53).await.unwrap();
        assert_eq!(addrs, ["[::1]:53".parse::<SocketAddr>().unwrap()]);
        assert_eq!(took, Duration::ZERO);
        let (addrs, _) = resolve("localhost", 7).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 7));
    }

    #[tokio::test]
    async fn the_first_address_that_accepts_wins() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let (_, addr, _) = connect_first(&[closed, open]).await.unwrap();
        assert_eq!(addr, open);
        assert!(matches!(
            connect_first(&[closed]).await,
            Err(NetError::Refused)
        ));
    }

    #[tokio::test]
    async fn expiry_is_a_timeout() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        };
        assert!(matches!(
            within(Duration::from_millis(10), slow).await,
            Err(NetError::Timeout)
        ));
        assert_eq!(nanos(Duration::from_micros(3)), 3_000);
        assert_eq!(nanos(Duration::MAX), u64::MAX);
    }
}
