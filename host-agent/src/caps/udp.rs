//! `vantage:plugin/udp`: one datagram out and, optionally, one back.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::UdpSocket;
use tokio::time::Instant;
use wasmtime::component::{HasSelf, Linker};

use super::Access;
use super::access::CallBytes;
use super::net::{nanos, net_error, within};
use crate::bindings::NetError;
use crate::bindings::vantage::plugin::udp::{self, ExchangeRequest, ExchangeResponse};

/// The largest datagram a plugin may send.
const MAX_PAYLOAD: usize = 65_507;

pub(crate) struct UdpCap {
    access: Access,
}

impl UdpCap {
    pub(crate) fn new(access: Access) -> Self {
        UdpCap { access }
    }
}

impl udp::Host for UdpCap {
    async fn exchange(
        &mut self,
        request: ExchangeRequest,
    ) -> wasmtime::Result<Result<ExchangeResponse, NetError>> {
        Ok(self.exchange_many(vec![request]).await?.remove(0))
    }

    async fn exchange_many(
        &mut self,
        requests: Vec<ExchangeRequest>,
    ) -> wasmtime::Result<Vec<Result<ExchangeResponse, NetError>>> {
        let access = &self.access;
        let held = access.bounds.bytes.call();
        access
            .batch(requests, |r| r.delay_ms, |r| exchange(access, &held, r))
            .await
    }
}

async fn exchange(
    access: &Access,
    held: &CallBytes,
    r: ExchangeRequest,
) -> Result<ExchangeResponse, NetError> {
    access.reach(&r.host)?;
    if r.port == 0 {
        return Err(NetError::Invalid("port 0 cannot be sent to".into()));
    }
    if r.payload.len() > MAX_PAYLOAD {
        return Err(NetError::Invalid(format!(
            "payload of {} bytes exceeds the {MAX_PAYLOAD}-byte datagram limit",
            r.payload.len()
        )));
    }
    within(access.timeout(r.timeout_ms), async {
        let (addrs, _) = access.resolve(&r.host, r.port).await?;
        let addr = addrs[0];
        let local: IpAddr = match addr {
            SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let socket = UdpSocket::bind((local, 0))
            .await
            .map_err(|e| net_error(&e))?;
        // A connected socket receives only from the peer, and reports ICMP
        // port-unreachable as a refused receive.
        socket.connect(addr).await.map_err(|e| net_error(&e))?;
        let sent = Instant::now();
        socket.send(&r.payload).await.map_err(|e| net_error(&e))?;
        if !r.expect_reply {
            return Ok(ExchangeResponse {
                address: addr.to_string(),
                rtt_ns: 0,
                reply: Vec::new(),
            });
        }
        let read_max = (r.read_max as usize).clamp(1, MAX_PAYLOAD);
        held.charge(read_max)?;
        let mut buf = vec![0u8; read_max];
        let n = socket.recv(&mut buf).await.map_err(|e| net_error(&e))?;
        let rtt = sent.elapsed();
        buf.truncate(n);
        Ok(ExchangeResponse {
            address: addr.to_string(),
            rtt_ns: nanos(rtt),
            reply: buf,
        })
    })
    .await
}

/// Adds `vantage:plugin/udp` to `linker`, served by the [`UdpCap`] that `get`
/// finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut UdpCap,
) -> wasmtime::Result<()> {
    udp::add_to_linker::<T, HasSelf<UdpCap>>(linker, get)
}

#[cfg(test)]
mod tests {
    use vantage_protocol::manifest::Capability;

    use super::*;
    use crate::caps::access::tests::{bounds, granted};

    fn request(port: u16, expect_reply: bool) -> ExchangeRequest {
        ExchangeRequest {
            host: "127.0.0.1".into(),
            port,
            payload: b"hello".to_vec(),
            timeout_ms: 2000,
            delay_ms: 0,
            expect_reply,
            read_max: 64,
        }
    }

    #[tokio::test]
    async fn a_datagram_goes_to_a_local_echo_socket_and_comes_back() {
        let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = echo.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let (n, from) = echo.recv_from(&mut buf).await.unwrap();
            echo.send_to(&buf[..n], from).await.unwrap();
        });
        let mut udp = UdpCap::new(granted(Capability::Udp, &bounds(10, "127.0.0.1")));
        let r = udp::Host::exchange(&mut udp, request(port, true))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.reply, b"hello");
        assert!(r.rtt_ns > 0);
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_and_oversize_payloads_invalid() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut udp = UdpCap::new(granted(Capability::Udp, &bounds(10, "127.0.0.1")));
        let mut big = request(closed, true);
        big.payload = vec![0; MAX_PAYLOAD + 1];
        let out = udp::Host::exchange_many(&mut udp, vec![request(closed, true), big])
            .await
            .unwrap();
        assert!(matches!(out[0], Err(NetError::Refused)), "{:?}", out[0]);
        assert!(matches!(out[1], Err(NetError::Invalid(_))), "{:?}", out[1]);
    }

    #[tokio::test]
    async fn an_ungranted_udp_sends_nothing() {
        let b = bounds(10, "127.0.0.1");
        let mut udp = UdpCap::new(Access::new(Capability::Udp, &Default::default(), &b));
        let r = udp::Host::exchange(&mut udp, request(9, false))
            .await
            .unwrap();
        assert!(matches!(r, Err(NetError::Denied(_))), "{r:?}");
    }
}
