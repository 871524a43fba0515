//! The engine where its sockets are not built yet (docs/design/platforms.md
//! names each system's unprivileged path): every lane fails to open with a
//! sentence naming the system, so a probe is `denied`, never a false loss.
//! The types the Linux engine returns cannot be made here: they are empty.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::{Answer, Family, IcmpMode, Pacer, ProbeError};

fn why() -> String {
    format!(
        "the agent has no ICMP engine on {} yet (docs/design/platforms.md)",
        crate::platform::SYSTEM
    )
}

#[derive(Debug)]
pub(crate) enum EchoLane {}

impl EchoLane {
    pub(super) fn open(
        _family: Family,
        _mode: IcmpMode,
        _salt: u32,
    ) -> Result<(Arc<EchoLane>, String), String> {
        Err(why())
    }

    pub(crate) fn is_raw(&self) -> bool {
        match *self {}
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn probe(
        &self,
        _pacer: &Pacer,
        _target: IpAddr,
        _ttl: Option<u8>,
        _payload_size: usize,
        _flow: u16,
        _timeout: Duration,
    ) -> Result<Answer, ProbeError> {
        match *self {}
    }
}

#[derive(Debug)]
pub(crate) enum TcpLane {}

impl TcpLane {
    pub(super) fn open(_family: Family) -> Result<Arc<TcpLane>, String> {
        Err(why())
    }
}

#[derive(Debug)]
pub(crate) enum RawFlow {}

impl RawFlow {
    pub(super) fn open(
        lane: Arc<TcpLane>,
        _target: SocketAddr,
        _salt: u32,
        _pacer: Arc<Pacer>,
    ) -> Result<RawFlow, ProbeError> {
        match *lane {}
    }
}

/// The Linux engine's two kinds of TCP flow; neither sends here.
#[derive(Debug)]
pub(crate) enum TcpFlow {
    #[allow(dead_code)]
    Raw(RawFlow),
    Connect(SocketAddr),
}

impl TcpFlow {
    pub(crate) async fn probe(
        &self,
        _pacer: &Pacer,
        _ttl: Option<u8>,
        _timeout: Duration,
    ) -> Result<Answer, ProbeError> {
        match self {
            TcpFlow::Raw(flow) => match *flow {},
            TcpFlow::Connect(_) => Err(ProbeError::Unavailable(why())),
        }
    }
}

#[derive(Debug)]
pub(crate) enum UdpFlow {}

impl UdpFlow {
    pub(super) fn open(
        _target: SocketAddr,
        _salt: u32,
        _pacer: Arc<Pacer>,
    ) -> Result<UdpFlow, ProbeError> {
        Err(ProbeError::Unavailable(why()))
    }

    pub(crate) async fn probe(
        &self,
        _ttl: Option<u8>,
        _payload_size: usize,
        _timeout: Duration,
    ) -> Result<Answer, ProbeError> {
        match *self {}
    }
}
