//! Parsing a `host:port` check target.

/// Splits a check target into host and port.
///
/// Accepts `host:port`, `[v6]:port`, `host`, `[v6]` and a bare IPv6 address;
/// a target without a port gets `default_port`, and when `default_port` is 0
/// the port is required. IPv6 hosts come back without brackets, ready for a
/// capability request.
///
/// ```
/// use vantage_plugin_sdk::target_host_port;
///
/// assert_eq!(target_host_port("example.com:8080", 80), Ok(("example.com".into(), 8080)));
/// assert_eq!(target_host_port("[2001:db8::1]:53", 0), Ok(("2001:db8::1".into(), 53)));
/// assert_eq!(target_host_port("example.com", 443), Ok(("example.com".into(), 443)));
/// assert!(target_host_port("example.com", 0).is_err());
/// ```
pub fn target_host_port(target: &str, default_port: u16) -> Result<(String, u16), String> {
    let target = target.trim();
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("target `{target}` has `[` without a closing `]`"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => {
                    return Err(format!(
                        "target `{target}` has text after `]` that is not `:port`"
                    ));
                }
            },
        }
    } else {
        match target.split_once(':') {
            // More than one colon without brackets: a bare IPv6 address.
            Some((_, rest)) if rest.contains(':') => (target, None),
            Some((host, port)) => (host, Some(port)),
            None => (target, None),
        }
    };
    if host.is_empty() {
        return Err(format!("target `{target}` has no host"));
    }
    let port = match port {
        Some(port) => match port.parse::<u16>() {
            Ok(0) | Err(_) => {
                return Err(format!(
                    "target `{target}` has port `{port}`, expected 1–65535"
                ));
            }
            Ok(port) => port,
        },
        None if default_port == 0 => {
            return Err(format!("target `{target}` needs a port (host:port)"));
        }
        None => default_port,
    };
    Ok((host.to_owned(), port))
}

/// The host of a target that must be a bare host name or address (IPv6 with
/// or without brackets), for probes such as ping and traceroute that take no
/// port from the target. A target with a port is refused.
///
/// ```
/// use vantage_plugin_sdk::target_host;
///
/// assert_eq!(target_host("[2001:db8::1]"), Ok("2001:db8::1".into()));
/// assert_eq!(target_host("example.com"), Ok("example.com".into()));
/// assert!(target_host("example.com:80").unwrap_err().contains("has a port"));
/// ```
pub fn target_host(target: &str) -> Result<String, String> {
    let (host, _) = target_host_port(target, 1)?;
    let bare = target.trim();
    let bare = bare
        .strip_prefix('[')
        .and_then(|b| b.strip_suffix(']'))
        .unwrap_or(bare);
    if host != bare {
        return Err(format!(
            "target `{}` has a port; this check takes a host name or address",
            target.trim()
        ));
    }
    Ok(host)
}

/// Checks a configuration value against its range, with an error naming
/// the field: `config: count must be 1–1000, got 0`.
///
/// The host has already validated the config against the manifest's
/// schema; plugins repeat the bounds they rely on so that a plugin run with
/// a schema that drifted still fails clearly.
///
/// ```
/// use vantage_plugin_sdk::config_in_range;
///
/// assert!(config_in_range("count", 5, 1..=1000).is_ok());
/// assert_eq!(
///     config_in_range("count", 0, 1..=1000),
///     Err("config: count must be 1–1000, got 0".into())
/// );
/// ```
pub fn config_in_range(
    field: &str,
    value: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "config: {field} must be {}–{}, got {value}",
            range.start(),
            range.end()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(target: &str, default_port: u16) -> (String, u16) {
        target_host_port(target, default_port).unwrap()
    }

    #[test]
    fn parses_every_accepted_form() {
        assert_eq!(ok("example.com:22", 0), ("example.com".into(), 22));
        assert_eq!(ok("192.0.2.1:65535", 0), ("192.0.2.1".into(), 65535));
        assert_eq!(ok("[::1]:8080", 0), ("::1".into(), 8080));
        assert_eq!(ok("[::1]", 53), ("::1".into(), 53));
        assert_eq!(ok("2001:db8::1", 53), ("2001:db8::1".into(), 53));
        assert_eq!(ok(" localhost ", 80), ("localhost".into(), 80));
    }

    #[test]
    fn refuses_what_is_not_a_target() {
        for (target, default_port, expected) in [
            ("", 80, "no host"),
            (":80", 80, "no host"),
            ("[]:80", 80, "no host"),
            ("host:", 80, "port ``"),
            ("host:http", 80, "port `http`"),
            ("host:0", 80, "port `0`"),
            ("host:70000", 80, "port `70000`"),
            ("[::1", 80, "closing"),
            ("[::1]80", 80, "after `]`"),
            ("host", 0, "needs a port"),
            ("2001:db8::1", 0, "needs a port"),
        ] {
            let error = target_host_port(target, default_port).unwrap_err();
            assert!(error.contains(expected), "{target}: {error}");
        }
    }
}
