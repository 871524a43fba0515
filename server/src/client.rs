//! Who a request comes from: the connection's peer, or — when that peer
//! is one of the `trusted_proxies` — the client the proxy names in
//! `X-Forwarded-For`. The login throttle, the rate limit, the audit log
//! and the session list all read it from here, so a server behind a
//! reverse proxy tells its clients apart, and a client that is not a
//! trusted proxy cannot choose its address with a header.

use std::net::{IpAddr, SocketAddr};

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::IncomingStream;
use vantage_protocol::net::Network;

use crate::AppState;

/// The client a trusted proxy named (see the module's documentation).
#[derive(Debug, Clone, Copy)]
struct Forwarded(IpAddr);

/// The client's address as the throttles key it: IPv4 (IPv4-mapped IPv6
/// included) whole, IPv6 by its /64, which one host usually holds whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    pub fn of(ip: IpAddr) -> ClientAddr {
        match vantage_protocol::net::canonical(ip) {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                ClientAddr(IpAddr::V6(bits.into()))
            }
            v4 => ClientAddr(v4),
        }
    }
}

/// The peer address of a connection, as `axum::serve` records it for any
/// listener (plain TCP or TLS) with `into_make_service_with_connect_info`.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> PeerAddr {
        PeerAddr(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, crate::tls::TlsListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, crate::tls::TlsListener>) -> PeerAddr {
        PeerAddr(*stream.remote_addr())
    }
}

/// The connection's peer address, exactly (IPv4-mapped forms as IPv4);
/// `None` when the server was not started with connection info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub Option<IpAddr>);

impl Peer {
    /// The client: the one a trusted proxy named, else the peer.
    pub fn of(extensions: &axum::http::Extensions) -> Peer {
        if let Some(Forwarded(ip)) = extensions.get::<Forwarded>() {
            return Peer(Some(*ip));
        }
        Peer(
            extensions
                .get::<ConnectInfo<PeerAddr>>()
                .map(|c| vantage_protocol::net::canonical(c.0.0.ip())),
        )
    }

    /// The address as logs and lists show it; empty when unknown.
    pub fn shown(self) -> String {
        self.0.map(|ip| ip.to_string()).unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer::of(&parts.extensions))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    /// The client ([`Peer`]); unspecified when the server was not started
    /// with connection info (then every client shares one key).
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = Peer::of(&parts.extensions)
            .0
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientAddr::of(ip))
    }
}

/// The client `X-Forwarded-For` names when `peer` is a trusted proxy: the
/// rightmost address that is not itself a trusted proxy (each proxy
/// appends the address it got the request from).
fn forwarded_client(peer: IpAddr, header: Option<&str>, proxies: &[Network]) -> Option<IpAddr> {
    let trusted = |ip: IpAddr| proxies.iter().any(|n| n.contains(ip));
    if !trusted(peer) {
        return None;
    }
    let mut hops = header?.split(',').rev().map(|h| h.trim());
    hops.find_map(|hop| {
        let ip = hop
            .parse::<IpAddr>()
            .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
            .ok()
            .map(vantage_protocol::net::canonical)?;
        (!trusted(ip)).then_some(ip)
    })
}

/// The middleware (`lib.rs` puts it outside the rate limit): records the
/// client a trusted proxy names.
pub async fn forwarded(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if !state.proxies.is_empty()
        && let Some(peer) = request
            .extensions()
            .get::<ConnectInfo<PeerAddr>>()
            .map(|c| vantage_protocol::net::canonical(c.0.0.ip()))
    {
        let header = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        if let Some(client) = forwarded_client(peer, header, &state.proxies) {
            request.extensions_mut().insert(Forwarded(client));
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client_and_its_own_hops_are_skipped() {
        let proxies = [Network::parse("10.0.0.0/8").unwrap()];
        let xff = Some("198.51.100.9, 203.0.113.7, 10.0.0.3");
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), xff, &proxies),
            Some(ip("203.0.113.7")),
            "the rightmost hop that is not a proxy"
        );
        assert_eq!(
            forwarded_client(ip("192.0.2.1"), xff, &proxies),
            None,
            "not a proxy: ignored"
        );
        assert_eq!(forwarded_client(ip("10.0.0.2"), None, &proxies), None);
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), Some("nonsense"), &proxies),
            None
        );
        assert_eq!(
            forwarded_client(
                ip("10.0.0.2"),
                Some("[2001:db8::1]:443, ::ffff:203.0.113.8"),
                &proxies
            ),
            Some(ip("203.0.113.8"))
        );
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), xff, &[]),
            None,
            "no proxies: never"
        );
    }
}
