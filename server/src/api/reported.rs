//! What agents report about themselves (host facts, addresses), checked
//! before it is stored: mesh peers probe the addresses, so special ones
//! are refused unless the server's `agent_addresses` lists them.

use vantage_protocol::ingest::AgentInfo;

use crate::config::ServerConfig;
use crate::error::{ApiError, ApiResult};

pub(super) fn check_info(config: &ServerConfig, info: &AgentInfo) -> ApiResult<()> {
    for (field, value, max) in [
        ("agent.hostname", &info.hostname, 255),
        ("agent.os", &info.os, 64),
        ("agent.arch", &info.arch, 64),
        ("agent.version", &info.version, 64),
    ] {
        if value.is_empty() || value.len() > max || value.chars().any(char::is_control) {
            return Err(ApiError::field(
                field,
                format!("must be 1–{max} printable bytes"),
            ));
        }
    }
    check_addresses(config, "agent.addresses", &info.addresses)
}

/// `addresses` as reported under `field`: at most 64, each an ordinary
/// unicast IP address.
pub(super) fn check_addresses(
    config: &ServerConfig,
    field: &str,
    addresses: &[String],
) -> ApiResult<()> {
    if addresses.len() > 64 {
        return Err(ApiError::field(field, "at most 64"));
    }
    for (i, a) in addresses.iter().enumerate() {
        let Ok(ip) = a.parse::<std::net::IpAddr>() else {
            return Err(ApiError::field(
                &format!("{field}[{i}]"),
                "is not an IP address",
            ));
        };
        // Mesh peers probe what agents report: never loopback, the cloud
        // metadata address and the like.
        if let Some(why) = vantage_protocol::net::special(ip)
            && !config.agent_address_allowed(ip)
        {
            return Err(ApiError::field(
                &format!("{field}[{i}]"),
                format!("is {why}: peers cannot be sent to probe it"),
            ));
        }
    }
    Ok(())
}
