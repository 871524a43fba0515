//! `vantage:plugin/dns`: one query to one server, timed, without caching or
//! retries, so that what is measured is the server's own answer.

use std::net::SocketAddr;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;
use wasmtime::component::{HasSelf, Linker};

use super::Access;
use super::access::CallBytes;
use super::net::{nanos, net_error, within};
use crate::bindings::NetError;
use crate::bindings::vantage::plugin::dns::{self, Answer, Query as WitQuery, Response};

pub(crate) struct DnsCap {
    access: Access,
}

impl DnsCap {
    pub(crate) fn new(access: Access) -> Self {
        DnsCap { access }
    }
}

impl dns::Host for DnsCap {
    async fn resolve(&mut self, query: WitQuery) -> wasmtime::Result<Result<Response, NetError>> {
        Ok(self.resolve_many(vec![query]).await?.remove(0))
    }

    async fn resolve_many(
        &mut self,
        queries: Vec<WitQuery>,
    ) -> wasmtime::Result<Vec<Result<Response, NetError>>> {
        let access = &self.access;
        let held = access.bounds.bytes.call();
        access
            .batch(queries, |q| q.delay_ms, |q| lookup(access, &held, q))
            .await
    }
}

async fn lookup(access: &Access, held: &CallBytes, q: WitQuery) -> Result<Response, NetError> {
    access.granted()?;
    let server = match &q.server {
        Some(server) => {
            let (host, port) = split_server(server)?;
            let (addrs, _) = access.resolve(&host, port).await?;
            addrs[0]
        }
        None => system_server()?,
    };
    let record_type: RecordType = q
        .record_type
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| NetError::Invalid(format!("unknown record type `{}`", q.record_type)))?;
    let name = Name::from_utf8(&q.name)
        .map_err(|e| NetError::Invalid(format!("`{}` is not a valid DNS name: {e}", q.name)))?;
    let mut message = Message::new();
    message
        .set_id(rand::random())
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(name, record_type));
    let bytes = message
        .to_vec()
        .map_err(|e| NetError::Invalid(e.to_string()))?;
    within(access.timeout(q.timeout_ms), async {
        let start = Instant::now();
        let reply = if q.tcp {
            ask_tcp(server, &bytes).await?
        } else {
            ask_udp(server, &bytes).await?
        };
        let elapsed = start.elapsed();
        // The answers handed on take about what the message did.
        held.charge(reply.len())?;
        let reply = Message::from_vec(&reply)
            .map_err(|e| NetError::Io(format!("malformed DNS reply from {server}: {e}")))?;
        if reply.id() != message.id() {
            return Err(NetError::Io(format!(
                "DNS reply from {server} has the wrong id"
            )));
        }
        Ok(Response {
            rcode: rcode_name(u16::from(reply.response_code())),
            answers: reply
                .answers()
                .iter()
                .map(|r| Answer {
                    name: r.name().to_string(),
                    record_type: r.record_type().to_string(),
                    ttl: r.ttl(),
                    data: r.data().to_string(),
                })
                .collect(),
            elapsed_ns: nanos(elapsed),
        })
    })
    .await
}

async fn ask_udp(server: SocketAddr, query: &[u8]) -> Result<Vec<u8>, NetError> {
    let local: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse()
    } else {
        "[::]:0".parse()
    }
    .expect("literal");
    let socket = UdpSocket::bind(local).await.map_err(|e| net_error(&e))?;
    socket.connect(server).await.map_err(|e| net_error(&e))?;
    socket.send(query).await.map_err(|e| net_error(&e))?;
    let mut buf = vec![0u8; 4096];
    let n = socket.recv(&mut buf).await.map_err(|e| net_error(&e))?;
    buf.truncate(n);
    Ok(buf)
}

async fn ask_tcp(server: SocketAddr, query: &[u8]) -> Result<Vec<u8>, NetError> {
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| net_error(&e))?;
    let len = u16::try_from(query.len()).map_err(|_| NetError::Invalid("query too long".into()))?;
    stream
        .write_all(&len.to_be_bytes())
        .await
        .map_err(|e| net_error(&e))?;
    stream.write_all(query).await.map_err(|e| net_error(&e))?;
    let len = stream.read_u16().await.map_err(|e| net_error(&e))?;
    let mut buf = vec![0u8; usize::from(len)];
    stream
        .read_exact(&mut buf)
        .await
        .map_err(|e| net_error(&e))?;
    Ok(buf)
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to 53.
fn split_server(server: &str) -> Result<(String, u16), NetError> {
    let bad = || NetError::Invalid(format!("`{server}` is not a DNS server address"));
    if let Some(rest) = server.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').ok_or_else(bad)?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if tail.is_empty() => 53,
            None => return Err(bad()),
        };
        return Ok((host.to_owned(), port));
    }
    match server.matches(':').count() {
        0 => Ok((server.to_owned(), 53)),
        1 => {
            let (host, port) = server.split_once(':').expect("one colon");
            Ok((host.to_owned(), port.parse().map_err(|_| bad())?))
        }
        _ => Ok((server.to_owned(), 53)),
    }
}

/// The first name server of `/etc/resolv.conf`.
fn system_server() -> Result<SocketAddr, NetError> {
    let conf = std::fs::read_to_string("/etc/resolv.conf")
        .map_err(|e| NetError::Io(format!("cannot read /etc/resolv.conf: {e}")))?;
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .find_map(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .ok_or_else(|| NetError::Io("/etc/resolv.conf names no name server".into()))
}

fn rcode_name(code: u16) -> String {
    const NAMES: [&str; 11] = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",
    ];
    NAMES
        .get(usize::from(code))
        .map_or_else(|| format!("RCODE{code}"), |s| (*s).to_owned())
}

/// Adds `vantage:plugin/dns` to `linker`, served by the [`DnsCap`] that `get`
/// finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut DnsCap,
) -> wasmtime::Result<()> {
    dns::add_to_linker::<T, HasSelf<DnsCap>>(linker, get)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, Record};
    use vantage_protocol::manifest::Capability;

    use super::*;
    use crate::caps::access::tests::{bounds, granted};

    /// A name server on loopback that answers one query over UDP with
    /// `192.0.2.7`.
    async fn responder() -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            let query = Message::from_vec(&buf[..n]).unwrap();
            let mut reply = query.clone();
            reply.set_message_type(MessageType::Response);
            let name = query.queries()[0].name().clone();
            reply.add_answer(Record::from_rdata(
                name,
                60,
                RData::A(A(Ipv4Addr::new(192, 0, 2, 7))),
            ));
            socket
                .send_to(&reply.to_vec().unwrap(), from)
                .await
                .unwrap();
        });
        addr
    }

    fn query(server: &str) -> WitQuery {
        WitQuery {
            name: "probe.example.".into(),
            record_type: "a".into(),
            server: Some(server.into()),
            tcp: false,
            timeout_ms: 2000,
            delay_ms: 0,
        }
    }

    #[tokio::test]
    async fn a_local_responder_answers_a_timed_query() {
        let server = responder().await;
        let mut dns = DnsCap::new(granted(Capability::Dns, &bounds(10, "127.0.0.1")));
        let r = dns::Host::resolve(&mut dns, query(&server.to_string()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.rcode, "NOERROR");
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].name, "probe.example.");
        assert_eq!(r.answers[0].record_type, "A");
        assert_eq!(r.answers[0].data, "192.0.2.7");
        assert!(r.elapsed_ns > 0);
    }

    #[tokio::test]
    async fn a_server_outside_the_scope_is_refused() {
        let server = responder().await;
        let mut dns = DnsCap::new(granted(Capability::Dns, &bounds(10, "127.0.0.2")));
        let r = dns::Host::resolve(&mut dns, query(&server.to_string()))
            .await
            .unwrap();
        assert!(matches!(r, Err(NetError::Denied(_))), "{r:?}");
        let mut bad = query(&server.to_string());
        bad.record_type = "NOPE".into();
        let mut dns = DnsCap::new(granted(Capability::Dns, &bounds(10, "127.0.0.1")));
        let r = dns::Host::resolve(&mut dns, bad).await.unwrap();
        assert!(matches!(r, Err(NetError::Invalid(_))), "{r:?}");
    }

    #[test]
    fn server_addresses_parse_with_default_port() {
        assert_eq!(split_server("127.0.0.1").unwrap(), ("127.0.0.1".into(), 53));
        assert_eq!(
            split_server("127.0.0.1:5353").unwrap(),
            ("127.0.0.1".into(), 5353)
        );
        assert_eq!(split_server("[::1]:5353").unwrap(), ("::1".into(), 5353));
        assert_eq!(split_server("::1").unwrap(), ("::1".into(), 53));
        assert!(split_server("host:notaport").is_err());
        assert_eq!(rcode_name(3), "NXDOMAIN");
        assert_eq!(rcode_name(23), "RCODE23");
    }
}
