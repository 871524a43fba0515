//! Channels checked whole (their secrets merged in): every bad field
//! named.

use vantage_protocol::config::{ChannelKind, ChannelSpec};
use vantage_protocol::ingest::FieldError;

use super::route::field_error;
use crate::remote::validate::is_name;

/// Checks a channel (its secrets merged in): its name, URLs, headers,
/// and the secrets its kind needs.
pub fn check_channel(spec: &ChannelSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !is_name(&spec.name) {
        errors.push(field_error(
            "name".into(),
            "must be 1–64 letters, digits, `-`, `_` or `.`",
        ));
    }
    if let Some(template) = &spec.template
        && let Err(reason) = super::notify::template::check(template)
    {
        errors.push(field_error("template".into(), reason));
    }
    for (field, url) in spec.kind.urls() {
        if let Err(reason) = check_url(url) {
            errors.push(field_error(field.into(), reason));
        }
    }
    let mut kind = spec.kind.clone();
    let secrets = kind.secrets_mut();
    for name in spec.kind.required_secrets() {
        let set = secrets
            .iter()
            .any(|(n, v)| n == name && v.as_deref().is_some_and(|v| !v.is_empty()));
        if !set {
            errors.push(field_error((*name).into(), "is required"));
        }
    }
    for (name, value) in secrets {
        if value.as_ref().is_some_and(|s| s.len() > 1024) {
            errors.push(field_error(name.into(), "must be at most 1024 bytes"));
        }
    }
    match &spec.kind {
        ChannelKind::Webhook { headers, .. } => {
            for (name, value) in headers {
                let field = format!("headers.{name}");
                if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    errors.push(field_error(field, "is not a header name"));
                } else if name.to_ascii_lowercase().starts_with("x-vantage-")
                    || ["content-type", "content-length", "host"]
                        .contains(&name.to_ascii_lowercase().as_str())
                {
                    errors.push(field_error(field, "is set by the server"));
                } else if axum::http::HeaderValue::from_str(value).is_err() {
                    errors.push(field_error(field, "is not a header value"));
                }
            }
        }
        ChannelKind::Email {
            host,
            port,
            username,
            password,
            from,
            to,
            ca,
            ..
        } => {
            for (field, problem) in super::notify::email::problems(
                host,
                *port,
                username.is_some(),
                password.is_some(),
                from,
                to,
                ca.as_deref(),
            ) {
                errors.push(field_error(field, problem));
            }
        }
        ChannelKind::Telegram { chat_id, .. } if chat_id.is_empty() || chat_id.len() > 64 => {
            errors.push(field_error("chat_id".into(), "must be 1–64 characters"));
        }
        ChannelKind::Ntfy { topic, .. } if !is_name(topic) => {
            errors.push(field_error(
                "topic".into(),
                "must be 1–64 letters, digits, `-`, `_` or `.`",
            ));
        }
        _ => {}
    }
    errors
}

/// An `http://` or `https://` URL with a host.
fn check_url(url: &str) -> Result<(), String> {
    let uri: axum::http::Uri = url.parse().map_err(|e| format!("is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must start with http:// or https://".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if url.len() > 2048 {
        return Err("must be at most 2048 bytes".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_channels_are_named() {
        let hook = |url: &str, header: &str| ChannelSpec {
            template: None,
            name: "bad name".into(),
            kind: ChannelKind::Webhook {
                url: url.into(),
                secret: None,
                headers: [(header.to_owned(), "v".to_owned())].into(),
            },
        };
        let fields = |spec: &ChannelSpec| -> Vec<String> {
            check_channel(spec).into_iter().map(|e| e.field).collect()
        };
        assert_eq!(fields(&hook("ftp://x", "X-Api-Key")), ["name", "url"]);
        assert_eq!(
            fields(&hook("http://", "bad header")),
            ["name", "url", "headers.bad header"]
        );
        assert_eq!(
            fields(&hook("https://hooks.example.net/a", "X-Vantage-Signature")),
            ["name", "headers.X-Vantage-Signature"]
        );
    }
}
