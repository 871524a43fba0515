//! Email over SMTP (lettre): STARTTLS (the default), implicit TLS, or —
//! for a relay on a trusted network — none; with a login when one is set,
//! and an extra root certificate for a relay with a private CA.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MessageBuilder, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use vantage_protocol::config::{ChannelKind, Notification, SmtpSecurity};

use super::services::facts;

/// A send's deadline, as for the other channels.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to send.
pub struct Relay<'a> {
    pub host: &'a str,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub from: &'a str,
    pub to: &'a [String],
    pub ca_pem: Option<&'a str>,
}

impl<'a> Relay<'a> {
    /// An email channel's relay; none for other kinds.
    pub fn of(kind: &'a ChannelKind) -> Option<Relay<'a>> {
        let ChannelKind::Email {
            host,
            port,
            security,
            username,
            password,
            from,
            to,
            ca,
        } = kind
        else {
            return None;
        };
        Some(Relay {
            host,
            port: port.unwrap_or(security.default_port()),
            security: *security,
            username: username.as_deref(),
            password: password.as_deref(),
            from,
            to,
            ca_pem: ca.as_deref(),
        })
    }
}

/// The mail for a notification: the summary as subject, the facts below.
pub fn message(relay: &Relay<'_>, n: &Notification) -> Result<Message, String> {
    let mut body = format!("{}\n\n", n.summary);
    for (name, value) in facts(n) {
        body.push_str(&format!("{name}: {value}\n"));
    }
    body.push_str(&format!("\nRule: {}\nEvent: {}\n", n.rule, n.event_id));
    let subject = n.summary.lines().next().unwrap_or_default();
    addressed(relay, subject)?
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())
}

/// A mail with a text and a file attached: (name, media type, bytes).
pub fn with_attachment(
    relay: &Relay<'_>,
    subject: &str,
    text: String,
    (name, kind, bytes): (String, &str, Vec<u8>),
) -> Result<Message, String> {
    let kind = ContentType::parse(kind).map_err(|e| format!("attachment type: {e}"))?;
    addressed(relay, subject)?
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(text))
                .singlepart(Attachment::new(name).body(bytes, kind)),
        )
        .map_err(|e| e.to_string())
}

/// A message's sender, recipients and subject (its first line, cut).
fn addressed(relay: &Relay<'_>, subject: &str) -> Result<MessageBuilder, String> {
    let from: Mailbox = relay.from.parse().map_err(|e| format!("from: {e}"))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(vantage_protocol::text::clip(
            subject.lines().next().unwrap_or_default().to_owned(),
            200,
        ));
    for address in relay.to {
        let to: Mailbox = address
            .parse()
            .map_err(|e| format!("to `{address}`: {e}"))?;
        builder = builder.to(to);
    }
    Ok(builder)
}

/// Sends one mail: the relay's reply code (250), or why it failed.
pub async fn send(relay: &Relay<'_>, n: &Notification) -> Result<u16, String> {
    deliver(relay, message(relay, n)?).await
}

/// Sends a mail made here: the relay's reply code, or why it failed.
pub async fn deliver(relay: &Relay<'_>, mail: Message) -> Result<u16, String> {
    let tls = || -> Result<TlsParameters, String> {
        let mut params = TlsParameters::builder(relay.host.to_owned());
        if let Some(pem) = relay.ca_pem {
            let ca = Certificate::from_pem(pem.as_bytes()).map_err(|e| format!("ca: {e}"))?;
            params = params.add_root_certificate(ca);
        }
        params.build_rustls().map_err(|e| e.to_string())
    };
    let tls = match relay.security {
        SmtpSecurity::Starttls => Tls::Required(tls()?),
        SmtpSecurity::Tls => Tls::Wrapper(tls()?),
        SmtpSecurity::None => Tls::None,
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(relay.host)
        .port(relay.port)
        .tls(tls)
        .timeout(Some(TIMEOUT));
    if let (Some(user), Some(password)) = (relay.username, relay.password) {
        transport = transport.credentials(Credentials::new(user.to_owned(), password.to_owned()));
    }
    let reply = transport
        .build()
        .send(mail)
        .await
        .map_err(|e| super::describe(&e))?;
    Ok(reply.code().to_string().parse().unwrap_or(250))
}

/// Every problem of an email channel's settings, as (field, reason).
pub fn problems(
    host: &str,
    port: Option<u16>,
    has_username: bool,
    has_password: bool,
    from: &str,
    to: &[String],
    ca: Option<&str>,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if host.is_empty()
        || host.len() > 253
        || host.contains(['/', ' ', ':']) && host.parse::<std::net::IpAddr>().is_err()
    {
        problems.push((
            "host".to_owned(),
            "must be a host name or an address".to_owned(),
        ));
    }
    if port == Some(0) {
        problems.push(("port".to_owned(), "must be 1–65535".to_owned()));
    }
    if has_password && !has_username {
        problems.push((
            "username".to_owned(),
            "is needed with a password".to_owned(),
        ));
    }
    if let Err(e) = from.parse::<Mailbox>() {
        problems.push(("from".to_owned(), format!("is not an address: {e}")));
    }
    if to.is_empty() || to.len() > 50 {
        problems.push(("to".to_owned(), "must list 1–50 addresses".to_owned()));
    }
    for (i, address) in to.iter().enumerate() {
        if let Err(e) = address.parse::<Mailbox>() {
            problems.push((format!("to[{i}]"), format!("is not an address: {e}")));
        }
    }
    if let Some(pem) = ca {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
        if !certs.is_ok_and(|c| !c.is_empty()) {
            problems.push(("ca".to_owned(), "is not a PEM certificate".to_owned()));
        }
    }
    problems
}
