//! `vantage:plugin/icmp`: echo requests and path probes through the agent's
//! shared ICMP engine ([`crate::icmp`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::net::{nanos, resolve};
use super::{Access, MAX_BATCH};
use crate::bindings::NetError;
use crate::bindings::vantage::plugin::icmp::{
    self, Answer, Family, Method, ProbeReply, ProbeRequest,
};
use crate::icmp::{IcmpService, Kind, ProbeError, TcpFlow, UdpFlow};

/// The largest payload a probe may carry (an IPv4 datagram's limit, less
/// headers, rounded down).
const MAX_PAYLOAD: u16 = 65_000;

pub(crate) struct IcmpCap {
    access: Access,
    service: Arc<IcmpService>,
}

impl IcmpCap {
    pub(crate) fn new(access: Access, service: Arc<IcmpService>) -> Self {
        IcmpCap { access, service }
    }
}

impl icmp::Host for IcmpCap {
    async fn probe(
        &mut self,
        request: ProbeRequest,
    ) -> wasmtime::Result<Result<ProbeReply, NetError>> {
        Ok(self.probe_many(vec![request]).await?.remove(0))
    }

    async fn probe_many(
        &mut self,
        requests: Vec<ProbeRequest>,
    ) -> wasmtime::Result<Vec<Result<ProbeReply, NetError>>> {
        let access = &self.access;
        let service = &self.service;
        // Each distinct (host, family) is resolved once, so every probe of a
        // trace goes to the same address; each (target, method, flow) gets
        // one flow, so its probes share their ports.
        let mut targets: HashMap<(String, u8), Result<IpAddr, NetError>> = HashMap::new();
        let mut udp: HashMap<(IpAddr, u16, u16), Result<Arc<UdpFlow>, NetError>> = HashMap::new();
        let mut tcp: HashMap<(IpAddr, u16, u16), Result<Arc<TcpFlow>, NetError>> = HashMap::new();
        if requests.len() > MAX_BATCH {
            // Refused by `batch` below, before anything is resolved or opened.
            return access
                .batch(requests, |_| 0, |_| async { Err(NetError::Timeout) })
                .await;
        }
        let mut plan = Vec::with_capacity(requests.len());
        {
            for r in &requests {
                let key = (r.host.clone(), family_code(r.family));
                if !targets.contains_key(&key) {
                    let resolved = match access.reach(&r.host) {
                        Ok(()) => pick(&r.host, r.family).await,
                        Err(e) => Err(e),
                    };
                    targets.insert(key.clone(), resolved);
                }
                let target = targets[&key].clone();
                let flow_key = |ip, port| (ip, port, r.flow);
                let route = match (target, r.method) {
                    (Err(e), _) => Route::Fail(e),
                    (Ok(ip), Method::Echo) => Route::Echo(ip),
                    (Ok(ip), Method::Udp(port)) => {
                        let flow = udp
                            .entry(flow_key(ip, port))
                            .or_insert_with(|| {
                                service
                                    .udp_flow(SocketAddr::new(ip, port))
                                    .map(Arc::new)
                                    .map_err(probe_error)
                            })
                            .clone();
                        match flow {
                            Ok(flow) => Route::Udp(ip, flow),
                            Err(e) => Route::Fail(e),
                        }
                    }
                    (Ok(ip), Method::Tcp(port)) => {
                        let flow = tcp
                            .entry(flow_key(ip, port))
                            .or_insert_with(|| {
                                service
                                    .tcp_flow(SocketAddr::new(ip, port))
                                    .map(Arc::new)
                                    .map_err(probe_error)
                            })
                            .clone();
                        match flow {
                            Ok(flow) => Route::Tcp(ip, flow),
                            Err(e) => Route::Fail(e),
                        }
                    }
                };
                plan.push(route);
            }
        }
        let items: Vec<(ProbeRequest, Route)> = requests.into_iter().zip(plan).collect();
        access
            .batch(
                items,
                |(r, _)| r.delay_ms,
                |(r, route)| async move {
                    validate(&r)?;
                    let timeout = access.timeout(r.timeout_ms);
                    let payload = usize::from(r.payload_size);
                    let (target, result) = match route {
                        Route::Fail(e) => return Err(e),
                        Route::Echo(ip) => {
                            (ip, service.echo(ip, r.ttl, payload, r.flow, timeout).await)
                        }
                        Route::Udp(ip, flow) => (ip, flow.probe(r.ttl, payload, timeout).await),
                        Route::Tcp(ip, flow) => {
                            (ip, flow.probe(service.pacer(), r.ttl, timeout).await)
                        }
                    };
                    let a = result.map_err(probe_error)?;
                    Ok(ProbeReply {
                        answer: match a.kind {
                            Kind::EchoReply => Answer::EchoReply,
                            Kind::TimeExceeded(code) => Answer::TimeExceeded(code),
                            Kind::Unreachable(code) => Answer::Unreachable(code),
                            Kind::TcpOpen => Answer::TcpOpen,
                            Kind::TcpClosed => Answer::TcpClosed,
                            Kind::Other(t, c) => Answer::Other((t, c)),
                        },
                        from: a.from.to_string(),
                        target: target.to_string(),
                        rtt_ns: nanos(a.rtt),
                        reply_ttl: a.ttl,
                        size: u32::try_from(a.size).unwrap_or(u32::MAX),
                    })
                },
            )
            .await
    }
}

/// Where one probe goes.
enum Route {
    Fail(NetError),
    Echo(IpAddr),
    Udp(IpAddr, Arc<UdpFlow>),
    Tcp(IpAddr, Arc<TcpFlow>),
}

fn family_code(f: Family) -> u8 {
    match f {
        Family::Any => 0,
        Family::Ipv4 => 4,
        Family::Ipv6 => 6,
    }
}

fn validate(r: &ProbeRequest) -> Result<(), NetError> {
    if r.ttl == Some(0) {
        return Err(NetError::Invalid("ttl must be 1–255".into()));
    }
    if matches!(r.method, Method::Udp(0) | Method::Tcp(0)) {
        return Err(NetError::Invalid("port 0 cannot be probed".into()));
    }
    if r.payload_size > MAX_PAYLOAD {
        return Err(NetError::Invalid(format!(
            "payload of {} bytes exceeds the {MAX_PAYLOAD}-byte limit",
            r.payload_size
        )));
    }
    Ok(())
}

/// Resolves `host` to one address of the requested family.
async fn pick(host: &str, family: Family) -> Result<IpAddr, NetError> {
    let (addrs, _) = resolve(host, 0).await?;
    let wanted = |a: &&SocketAddr| match family {
        Family::Any => true,
        Family::Ipv4 => a.is_ipv4(),
        Family::Ipv6 => a.is_ipv6(),
    };
    addrs.iter().find(wanted).map(|a| a.ip()).ok_or_else(|| {
        let name = match family {
            Family::Ipv6 => "IPv6",
            _ => "IPv4",
        };
        NetError::Dns(format!("`{host}` has no {name} address"))
    })
}

fn probe_error(e: ProbeError) -> NetError {
    match e {
        ProbeError::Timeout => NetError::Timeout,
        ProbeError::Unavailable(why) => NetError::Denied(format!("ICMP unavailable: {why}")),
        ProbeError::Unreachable(why) => NetError::Unreachable(why),
        ProbeError::Io(why) => NetError::Io(why),
    }
}

/// Adds `vantage:plugin/icmp` to `linker`, served by the [`IcmpCap`] that `get`
/// finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut IcmpCap,
) -> wasmtime::Result<()> {
    icmp::add_to_linker::<T, HasSelf<IcmpCap>>(linker, get)
}

#[cfg(test)]
mod tests {
    use vantage_protocol::manifest::Capability;

    use super::*;
    use crate::caps::access::tests::{bounds, granted};
    use crate::icmp::{IcmpMode, IcmpOptions};

    fn probe(host: &str, method: Method) -> ProbeRequest {
        ProbeRequest {
            host: host.into(),
            family: Family::Any,
            method,
            ttl: Some(64),
            payload_size: 56,
            flow: 0,
            timeout_ms: 2000,
            delay_ms: 0,
        }
    }

    fn cap(target: &str) -> IcmpCap {
        let service = IcmpService::new(IcmpOptions {
            mode: IcmpMode::Raw,
            max_pps: 0,
        });
        IcmpCap::new(
            granted(Capability::Icmp, &bounds(100, target)),
            Arc::new(service),
        )
    }

    /// Raw sockets: run as root, as the engine's own tests are.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn loopback_answers_an_echo_and_a_tcp_syn() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut icmp = cap("127.0.0.1");
        let out = icmp::Host::probe_many(
            &mut icmp,
            vec![
                probe("127.0.0.1", Method::Echo),
                probe("127.0.0.1", Method::Tcp(port)),
            ],
        )
        .await
        .unwrap();
        let replies: Vec<ProbeReply> = out.into_iter().map(Result::unwrap).collect();
        assert!(matches!(replies[0].answer, Answer::EchoReply));
        assert!(matches!(replies[1].answer, Answer::TcpOpen));
        assert!(
            replies
                .iter()
                .all(|r| r.target == "127.0.0.1" && r.rtt_ns > 0)
        );
    }

    #[cfg(not(target_os = "linux"))]
    #[tokio::test]
    async fn where_there_is_no_engine_every_method_is_denied_naming_the_system() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut icmp = cap("127.0.0.1");
        let out = icmp::Host::probe_many(
            &mut icmp,
            vec![
                probe("127.0.0.1", Method::Echo),
                probe("127.0.0.1", Method::Tcp(port)),
                probe("127.0.0.1", Method::Udp(port)),
            ],
        )
        .await
        .unwrap();
        for reply in out {
            match reply {
                Err(NetError::Denied(why)) => {
                    assert!(why.contains(crate::platform::SYSTEM), "{why}")
                }
                other => panic!("not denied: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn out_of_scope_and_malformed_probes_send_nothing() {
        let mut icmp = cap("127.0.0.1");
        let mut no_ttl = probe("127.0.0.1", Method::Echo);
        no_ttl.ttl = Some(0);
        let out = icmp::Host::probe_many(
            &mut icmp,
            vec![
                probe("127.0.0.2", Method::Echo),
                no_ttl,
                probe("127.0.0.1", Method::Udp(0)),
            ],
        )
        .await
        .unwrap();
        assert!(matches!(&out[0], Err(NetError::Denied(_))), "{:?}", out[0]);
        assert!(matches!(&out[1], Err(NetError::Invalid(_))), "{:?}", out[1]);
        assert!(matches!(&out[2], Err(NetError::Invalid(_))), "{:?}", out[2]);
    }
}
