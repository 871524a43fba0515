//! `vantage:plugin/udp`: one datagram out and, optionally, one back.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::UdpSocket;
use tokio::time::Instant;
use wasmtime::component::{HasSelf, Linker};

use super::tcp::{nanos, resolve};
use super::{Access, net_error, within};
use crate::bindings::NetError;
use crate::bindings::vantage::plugin::udp::{self, ExchangeRequest, ExchangeResponse};
use crate::run::RunState;

/// The largest datagram a plugin may send.
const MAX_PAYLOAD: usize = 65_507;

pub(crate) struct UdpCap {
    pub(crate) access: Access,
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
        access
            .batch(requests, |r| r.delay_ms, |r| exchange(access, r))
            .await
    }
}

async fn exchange(access: &Access, r: ExchangeRequest) -> Result<ExchangeResponse, NetError> {
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
        let (addrs, _) = resolve(&r.host, r.port).await?;
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
        let mut buf = vec![0u8; (r.read_max as usize).clamp(1, MAX_PAYLOAD)];
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

pub(crate) fn add_to_linker(
    linker: &mut Linker<RunState>,
    get: fn(&mut RunState) -> &mut UdpCap,
) -> wasmtime::Result<()> {
    udp::add_to_linker::<_, HasSelf<UdpCap>>(linker, get)
}
